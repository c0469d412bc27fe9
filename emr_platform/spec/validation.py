"""Turning pydantic's validation errors into the project's own: one line per problem, each with where, the
value and the fix (file and line for settings files, construct path and prop for the construct API)."""

from __future__ import annotations

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


def _message_and_fix(item: Any) -> tuple[str, str]:
    kind = item["type"]
    message = str(item["msg"])
    ctx = item.get("ctx") or {}
    if kind == "emr_platform":
        return str(ctx["problem"]), str(ctx["fix"])
    if kind == "value_error" and ". Fix: " in message:
        problem, fix = message.removeprefix("Value error, ").split(". Fix: ", 1)
        return problem, fix
    if kind == "missing":
        return "required setting is missing", "add it (see the settings reference in README.md)"
    if kind == "extra_forbidden":
        return "unknown setting", "remove it or correct its spelling (see the settings reference in README.md)"
    if kind == "literal_error":
        return message, f"use {ctx.get('expected', 'one of the allowed values')}"
    if kind == "string_pattern_mismatch":
        return "does not have the expected form", f"match the pattern {ctx.get('pattern')}"
    if kind.startswith(("greater_than", "less_than")) or kind in ("too_short", "too_long"):
        return message, "use a value in the allowed range"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return message, "write the value with that type in YAML (quote strings, no quotes around numbers)"
    return message, "correct the value (see the settings reference in README.md)"


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
