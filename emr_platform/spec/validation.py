"""Turning pydantic's validation errors into the project's own: one line per problem, each with where, the
value and the fix (file and line for settings files, construct path and prop for the construct API)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import yaml
from pydantic import ValidationError

from emr_platform.spec.errors import PropError, SettingsError


def settings_error(error: ValidationError, *, file: str, text: str | None = None) -> SettingsError:
    """One :class:`SettingsError` for every problem pydantic found, each on a line with its fix."""
    lines: list[str] = []
    first: dict[str, Any] | None = None
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        # A union's branch name (e.g. 'str' or 'function-after[...]') is noise to the reader.
        loc = tuple(part for part in loc if not (isinstance(part, str) and ("[" in part or part in _TYPE_NAMES)))
        at = str((item.get("ctx") or {}).get("at") or "")
        if at:  # a rule over several fields names the one at fault
            loc = (*loc, *(int(p) if p.isdigit() else p for p in at.split(".")))
        field = _dotted(loc)
        line = line_of(text, loc) if text is not None else ""
        message, fix = _message_and_fix(item)
        # A rule over a whole section states the values in its message; the section itself is noise.
        shows_value = "input" in item and item["type"] != "missing" and not isinstance(item["input"], dict)
        value = f" (got {item['input']!r})" if shows_value else ""
        lines.append(f"{file}{line}: {field}: {message}{value}. Fix: {fix}")
        if first is None:
            first = {"where": f"{file}{line}: {field}", "value": item.get("input"), "message": message, "fix": fix}
    if first is None:  # pydantic never raises an empty ValidationError; be explicit rather than assert
        return SettingsError(where=file, problem=str(error), show_value=False, fix="correct the settings")
    err = SettingsError(where=first["where"], problem=first["message"], value=first["value"], fix=first["fix"])
    err.args = ("\n".join(lines),)
    return err


_TYPE_NAMES = {"str", "int", "float", "bool", "dict", "list", "tuple", "none", "EmrClusterSpec"}


_SETTINGS_REFERENCE = "(see the settings reference, docs/settings.md)"

_FIXES: tuple[tuple[tuple[str, ...], str | None, str], ...] = (
    (("missing",), "required setting is missing", f"add it {_SETTINGS_REFERENCE}"),
    (("extra_forbidden",), "unknown setting", f"remove it or correct its spelling {_SETTINGS_REFERENCE}"),
    (("literal_error",), None, "use {expected}"),
    (("string_pattern_mismatch",), "does not have the expected form", "match the pattern {pattern}"),
    (("greater_than*", "less_than*", "too_short", "too_long"), None, "use a value in the allowed range"),
    (("*_type", "*_parsing"), None, "write the value with that type in YAML (quote strings, no quotes around numbers)"),
)
"""pydantic's error kinds (``fnmatch`` patterns of ``type``), first match first: the problem (``None``: pydantic's
message) and the fix, a template of the error's context."""

_CONTEXT_DEFAULTS: dict[str, Any] = {"expected": "one of the allowed values", "pattern": None}


def _message_and_fix(item: Any) -> tuple[str, str]:
    kind = item["type"]
    message = str(item["msg"])
    ctx = item.get("ctx") or {}
    if kind == "emr_platform":  # the project's own rules carry their problem and fix
        return str(ctx["problem"]), str(ctx["fix"])
    if kind == "value_error" and ". Fix: " in message:
        problem, fix = message.removeprefix("Value error, ").split(". Fix: ", 1)
        return problem, fix
    for patterns, known, template in _FIXES:
        if any(fnmatchcase(kind, pattern) for pattern in patterns):
            return known or message, template.format(**{**_CONTEXT_DEFAULTS, **ctx})
    return message, f"correct the value {_SETTINGS_REFERENCE}"


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def line_of(text: str | None, loc: tuple[Any, ...]) -> str:
    """``:N``, the 1-based line of ``loc`` in the YAML text (the deepest node that exists), or ``""``."""
    if text is None:
        return ""
    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return ""
    best = node
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    child = value if isinstance(value, yaml.CollectionNode) else key
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = best = child
    return f":{best.start_mark.line + 1}" if best is not None else ""


def prop_error(error: ValidationError, *, where: str) -> PropError:
    """The construct-API twin of :func:`settings_error`: ``where`` names the construct and prop."""
    found = settings_error(error, file=where)
    raised = PropError(where=found.where, problem=found.problem, value=found.value, fix=found.fix)
    raised.args = found.args
    return raised
