"""The settings reference and JSON Schemas, generated from the settings schema itself.

``python -m emr_platform.tools.reference docs`` (``make docs``) writes:

- ``docs/settings.md``: every settings model, its fields, types, defaults and meaning (the field descriptions);
- ``docs/settings.schema.json`` and ``docs/pipeline.schema.json``: JSON Schemas of ``config/<env>.yaml`` and
  ``config/pipeline.yaml``, which editors with a YAML language server use to complete and check the files.

The tests regenerate all three and fail when the committed copies are stale, so the docs cannot drift from code.
"""

from __future__ import annotations

import enum
import json
import sys
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from emr_platform.spec.settings import EnvironmentSettings, PipelineSettings

ROOTS: dict[str, type[BaseModel]] = {"settings": EnvironmentSettings, "pipeline": PipelineSettings}
"""The top-level models, by the name of their JSON Schema file (``docs/<name>.schema.json``)."""

HEADER = """# Settings reference

Generated from the settings schema (`emr_platform/spec/settings.py` and the specs it uses) by `make docs`; do not edit.
`config/<env>.yaml` is an `EnvironmentSettings`, `config/pipeline.yaml` a `PipelineSettings`. Editors validate and
complete both through the JSON Schemas next to this file (`settings.schema.json`, `pipeline.schema.json`), named
in the first line of each settings file.

Unknown keys are errors; lists may be written as YAML lists; "required" fields have no default.
"""


def models(*roots: type[BaseModel]) -> list[type[BaseModel]]:
    """Every model reachable from ``roots`` through their fields, roots first, then in order of first use."""
    seen: dict[type[BaseModel], None] = {}
    queue = list(roots)
    while queue:
        model = queue.pop(0)
        if model in seen:
            continue
        seen[model] = None
        for field in model.model_fields.values():
            queue.extend(m for m in _nested_models(field.annotation) if m not in seen)
    return list(seen)


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        yield from _nested_models(arg)


def _union_name(args: tuple[Any, ...]) -> str:
    names = [type_name(a) for a in args if a is not type(None)]
    return " or ".join(names) + (" or null" if type(None) in args else "")


_GENERIC_NAMES: dict[Any, Callable[[tuple[Any, ...]], str]] = {
    typing.Annotated: lambda args: type_name(args[0]),
    Union: _union_name,
    types.UnionType: _union_name,
    Literal: lambda args: " or ".join(f"`{json.dumps(a)}`" for a in args),
    tuple: lambda args: f"list of {type_name(args[0])}" if args else "list",
    dict: lambda args: f"map of {type_name(args[0])} to {type_name(args[1])}",
}
"""A reader's name of a generic type, by its origin (``get_origin``), from its arguments."""

_SIMPLE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def type_name(annotation: Any) -> str:
    """A reader's name for a field type: ``list of InstanceFleetSpec``, ``"SPREAD" or "NONE"``, ``integer``."""
    generic = _GENERIC_NAMES.get(get_origin(annotation))
    if generic is not None:
        return generic(get_args(annotation))
    if not isinstance(annotation, type):
        return str(annotation)
    if issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    if issubclass(annotation, enum.Enum):
        return " or ".join(f"`{json.dumps(m.value)}`" for m in annotation)
    return _SIMPLE_NAMES.get(annotation, annotation.__name__)


def default_text(field: FieldInfo) -> str:
    """The field's default as YAML would spell it, ``required``, or ``none`` for empty collections and null."""
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    value = field.get_default(call_default_factory=True, validated_data={})
    if isinstance(value, BaseModel):
        return "see its section"
    if value is None or value in ((), {}, []):
        return "none"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
        return f"{len(value)} built-in {type(value[0]).__name__}s, see its section"
    return f"`{json.dumps(value, default=str)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def markdown(*roots: type[BaseModel]) -> str:
    """The settings reference: one section per model with a table of its fields."""
    lines = [HEADER]
    for model in models(*roots):
        doc = (model.__doc__ or "").strip().split("\n\n")[0]
        lines += [f"## {model.__name__}", "", " ".join(doc.replace("``", "`").split()), ""]
        lines += ["| field | type | default | meaning |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            lines.append(
                f"| `{name}` | {_cell(type_name(field.annotation))} | {_cell(default_text(field))} | "
                f"{_cell(field.description or '')} |"
            )
        lines.append("")
    return "\n".join(lines)


def json_schema(model: type[BaseModel]) -> str:
    """The JSON Schema of ``model`` as validated input (what a settings file may hold), stable and indented."""
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def generated(docs: Path) -> dict[Path, str]:
    """Every generated file under ``docs`` and its content."""
    files = {docs / "settings.md": markdown(*ROOTS.values())}
    files.update({docs / f"{name}.schema.json": json_schema(model) for name, model in ROOTS.items()})
    return files


def main(argv: list[str] | None = None) -> int:
    """``reference.py DOCS_DIR``: write the reference and the schemas into ``DOCS_DIR`` (default ``docs``)."""
    args = sys.argv[1:] if argv is None else argv
    docs = Path(args[0] if args else "docs")
    docs.mkdir(parents=True, exist_ok=True)
    for path, content in generated(docs).items():
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
