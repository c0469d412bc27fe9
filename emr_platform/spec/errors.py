"""The package's own error type: every bad setting or prop ends here, with one readable message.

A message always names *where* (a settings file and field path, or a construct and its prop), the offending
*value*, and the *fix*. The app prints it without a traceback; tests assert on it.
"""

from __future__ import annotations

from typing import Any


class EmrPlatformError(Exception):
    """A configuration error the user can fix: raised at synth, never a jsii stack trace.

    :param where: the file and field (``config/dev.yaml: cluster.release_label``) or the construct path and
        prop (``EmrCluster Default/Cluster: idle_timeout``) that is wrong.
    :param problem: what is wrong with it, in one sentence.
    :param value: the offending value, shown with ``repr`` so that types are visible (``'3'`` vs ``3``).
    :param fix: what to change to make it right.
    """

    def __init__(self, *, where: str, problem: str, value: Any = None, fix: str, show_value: bool = True) -> None:
        self.where = where
        self.problem = problem
        self.value = value
        self.fix = fix
        shown = f" (got {value!r})" if show_value else ""
        super().__init__(f"{where}: {problem}{shown}. Fix: {fix}")


class SettingsError(EmrPlatformError):
    """A settings file is missing, unreadable, or does not match the schema."""


class PropError(EmrPlatformError):
    """A construct was given a prop it cannot use."""
