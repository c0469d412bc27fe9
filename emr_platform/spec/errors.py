"""The package's own error type: every bad setting or prop ends here, with one readable message.

A message always names *where* (a settings file and field path, or a construct and its prop), the offending
*value*, and the *fix*. The app prints it without a traceback; tests assert on it. Whatever the input, a message
stays short: the value's ``repr`` is cut at :data:`MAX_VALUE_CHARS` and the other parts at :data:`MAX_PART_CHARS`
(a 10 MB string in a settings file must not become a 10 MB error).
"""

from __future__ import annotations

import reprlib
from typing import Any

MAX_VALUE_CHARS = 80
"""Longest ``(got ...)`` value shown in a message; longer ones end with an ellipsis."""
MAX_PART_CHARS = 200
"""Longest *where* or *problem* part of a message (both may quote what the user wrote)."""

_REPR = reprlib.Repr()
# reprlib bounds the work as well as the text: a deeply nested or huge value is never rendered in full.
_REPR.maxlevel = 3
_REPR.maxstring = MAX_VALUE_CHARS
_REPR.maxother = MAX_VALUE_CHARS
_REPR.maxlong = 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 6


def clip(text: str, limit: int = MAX_PART_CHARS) -> str:
    """``text`` cut to ``limit`` characters (default :data:`MAX_PART_CHARS`), ending with ``…`` when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_value(value: Any) -> str:
    """``repr(value)`` for a message, at most :data:`MAX_VALUE_CHARS` characters (types stay visible: ``'3'``)."""
    try:
        text = _REPR.repr(value)
    except Exception:  # a value's own __repr__ may fail; the message must still be printed
        text = f"<{type(value).__name__}>"
    return clip(text, MAX_VALUE_CHARS)


class EmrPlatformError(Exception):
    """A configuration error the user can fix: raised at synth, never a jsii stack trace.

    :param where: the file and field (``config/dev.yaml: cluster.release_label``) or the construct path and
        prop (``EmrCluster Default/Cluster: idle_timeout``) that is wrong.
    :param problem: what is wrong with it, in one sentence.
    :param value: the offending value, shown with ``repr`` so that types are visible (``'3'`` vs ``3``), cut
        to :data:`MAX_VALUE_CHARS`. Default ``None``.
    :param fix: what to change to make it right.
    :param show_value: whether the message shows ``value``. Default true.
    """

    def __init__(self, *, where: str, problem: str, value: Any = None, fix: str, show_value: bool = True) -> None:
        self.where = where
        self.problem = problem
        self.value = value
        self.fix = fix
        shown = f" (got {shown_value(value)})" if show_value else ""
        super().__init__(f"{clip(where)}: {clip(problem)}{shown}. Fix: {clip(fix, 2 * MAX_PART_CHARS)}")


class SettingsError(EmrPlatformError):
    """A settings file is missing, unreadable, or does not match the schema."""


class PropError(EmrPlatformError):
    """A construct was given a prop it cannot use."""
