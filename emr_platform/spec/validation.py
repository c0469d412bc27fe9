"""Turning pydantic's validation errors into the project's own: one line per problem, each with where, the
value and the fix (file and line for settings files, construct path and prop for the construct API).

However many problems and however large the input, the message stays readable: at most :data:`MAX_PROBLEMS`
lines (then a count of the rest), each part cut to a bounded length (see :mod:`emr_platform.spec.errors`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from fnmatch import fnmatchcase
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from emr_platform.spec.errors import MAX_PART_CHARS, PropError, SettingsError, clip, shown_value

MAX_PROBLEMS = 20
"""Problems listed in one message; the rest are counted on a last line (fixing the first ones often fixes them)."""

_MAX_FIELD_CHARS = 120


def settings_error(
    error: ValidationError, *, file: str, text: str | None = None, node: yaml.Node | None = None
) -> SettingsError:
    """One :class:`SettingsError` for every problem pydantic found, each on a line with its fix.

    :param file: the file (or construct and prop) every line starts with.
    :param text: the YAML text, to name each problem's line. Default: no line numbers (unless ``node``).
    :param node: the composed YAML document (faster than ``text``, and what the settings loader passes).
    """
    source: str | yaml.Node | None = node if node is not None else text
    lines: list[str] = []
    first: dict[str, Any] | None = None
    for item in _items(error):
        loc = tuple(item["loc"])
        # A union's branch name (e.g. 'str' or 'function-after[...]') is noise to the reader.
        loc = tuple(part for part in loc if not (isinstance(part, str) and ("[" in part or part in _TYPE_NAMES)))
        at = str((item.get("ctx") or {}).get("at") or "")
        if at:  # a rule over several fields names the one at fault
            loc = (*loc, *(int(p) if p.isdigit() else p for p in at.split(".")))
        field = clip(_dotted(loc), _MAX_FIELD_CHARS)
        line = line_of(source, loc)
        message, fix = _message_and_fix(item)
        # A rule over a whole section states the values in its message; the section itself is noise.
        shows_value = "input" in item and item["type"] != "missing" and not isinstance(item["input"], dict)
        value = f" (got {shown_value(item['input'])})" if shows_value else ""
        lines.append(f"{file}{line}: {field}: {clip(message)}{value}. Fix: {clip(fix, 2 * MAX_PART_CHARS)}")
        if first is None:
            first = {"where": f"{file}{line}: {field}", "value": item.get("input"), "message": message, "fix": fix}
    if first is None:  # pydantic never raises an empty ValidationError; be explicit rather than assert
        return SettingsError(where=file, problem=str(error), show_value=False, fix="correct the settings")
    err = SettingsError(where=first["where"], problem=first["message"], value=first["value"], fix=first["fix"])
    err.args = ("\n".join(capped(lines, where=file)),)
    return err


def capped(lines: list[str], *, where: str) -> list[str]:
    """The first :data:`MAX_PROBLEMS` of ``lines``, then one line counting the others (if any)."""
    if len(lines) <= MAX_PROBLEMS:
        return lines
    rest = len(lines) - MAX_PROBLEMS
    return [
        *lines[:MAX_PROBLEMS],
        f"{where}: ... and {rest} more problem{'s' if rest > 1 else ''} not shown. Fix: correct the ones above "
        "and run again",
    ]


def _items(error: ValidationError) -> Iterator[dict[str, Any]]:
    """pydantic's errors, minus the echoes of others, plus the problems a cross-field rule bundled together."""
    for item in error.errors(include_url=False):
        ctx = item.get("ctx") or {}
        # pydantic-core counts only the items that validated when it checks a tuple's min_length, so one bad
        # step of a one-step list also reports "should have at least 1 item": an echo of the real error.
        echo = item["type"] == "too_short" and isinstance(item.get("input"), (list, tuple))
        if echo and len(item["input"]) >= int(ctx.get("min_length", 0)):
            continue
        yield dict(item)
        for also in ctx.get("also", ()):
            yield {**item, "ctx": also, "msg": f"{also['problem']}. Fix: {also['fix']}"}


def every_problem(checks: Iterable[Callable[[], None]]) -> None:
    """Run independent checks (each raising a project ``invalid(...)`` error) and raise all their problems as one.

    A model validator that raises at its first problem hides the others until that one is fixed; running each
    check and bundling what they raise reports them all in one run (:func:`settings_error` unpacks the bundle).
    """
    found: list[PydanticCustomError] = []
    for check in checks:
        try:
            check()
        except PydanticCustomError as error:
            found.append(error)
    if not found:
        return
    first, *others = found
    context = dict(first.context or {})
    context["also"] = tuple(dict(other.context or {}) for other in others)
    raise PydanticCustomError(first.type, first.message_template, context)


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


def line_of(source: str | yaml.Node | None, loc: tuple[Any, ...]) -> str:
    """``:N``, the 1-based line of ``loc`` in a YAML document (the deepest part of it that exists), or ``""``.

    :param source: the composed document, or its text (composed here; text that is not YAML gives ``""``).
    :param loc: the field's path: mapping keys and sequence indexes. A field is found through merge keys
        (``<<: *defaults``) too, and its line is the one its key is written on (inside the anchored mapping for a
        merged field); a list item's line is the item's.
    """
    node: Any = source
    if isinstance(source, str):
        try:
            node = yaml.compose(source, Loader=yaml.SafeLoader)
        except (yaml.YAMLError, RecursionError):
            return ""
    if not isinstance(node, yaml.Node):
        return ""
    mark = node.start_mark
    for part in loc:
        found = _child(node, part)
        if found is None:
            break
        node, mark = found
    return f":{mark.line + 1}"


def _child(node: yaml.Node, part: Any, depth: int = 0) -> tuple[yaml.Node, Any] | None:
    """The node at ``part`` below ``node`` and the mark of where it is named, or None."""
    if isinstance(node, yaml.SequenceNode):
        if isinstance(part, int) and 0 <= part < len(node.value):
            return node.value[part], node.value[part].start_mark
        return None
    if not isinstance(node, yaml.MappingNode) or depth > 20:  # merges of merges: the loader bounds them anyway
        return None
    merged: list[yaml.Node] = []
    found: tuple[yaml.Node, Any] | None = None
    for key, value in node.value:
        if key.tag == _MERGE_TAG:
            merged.extend(value.value if isinstance(value, yaml.SequenceNode) else [value])
        elif isinstance(key, yaml.ScalarNode) and key.value == str(part):
            # The last one, as in the built mapping: once built, PyYAML has moved merged pairs in front of the
            # explicit ones (which override them, as YAML's merge key says).
            found = value, key.start_mark
    if found is not None:
        return found
    for source in merged:  # not built yet: the first merged mapping that has the key wins
        found = _child(source, part, depth + 1)
        if found is not None:
            return found
    return None


_MERGE_TAG = "tag:yaml.org,2002:merge"


def prop_error(error: ValidationError, *, where: str) -> PropError:
    """The construct-API twin of :func:`settings_error`: ``where`` names the construct and prop."""
    found = settings_error(error, file=where)
    raised = PropError(where=found.where, problem=found.problem, value=found.value, fix=found.fix)
    raised.args = found.args
    return raised
