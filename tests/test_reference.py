"""The settings reference and JSON Schemas in docs/ are generated from the schema and kept current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from emr_platform.spec.settings import CONFIG_DIR, PIPELINE_FILE, available_environments
from emr_platform.tools.reference import ROOTS, generated, models

from .conftest import PROJECT

DOCS = PROJECT / "docs"
CONFIG_FILES = [*(CONFIG_DIR / f"{env}.yaml" for env in available_environments()), CONFIG_DIR / "pipeline.yaml"]


def _schema_for(path: Path) -> tuple[str, dict[str, Any]]:
    name = "pipeline" if path.stem == PIPELINE_FILE else "settings"
    return name, json.loads((DOCS / f"{name}.schema.json").read_text(encoding="utf-8"))


def test_committed_reference_and_schemas_are_current() -> None:
    stale = [
        str(path.relative_to(PROJECT))
        for path, content in generated(DOCS).items()
        if not path.is_file() or path.read_text(encoding="utf-8") != content
    ]
    assert stale == [], f"stale generated docs: {stale}. Fix: run make docs and commit docs/"


def test_every_settings_field_is_described() -> None:
    missing = [
        f"{m.__name__}.{name}"
        for m in models(*ROOTS.values())
        for name, f in m.model_fields.items()
        if not f.description
    ]
    assert missing == []


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_settings_files_validate_against_their_json_schema_and_name_it(path: Path) -> None:
    name, schema = _schema_for(path)
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# yaml-language-server: $schema=../docs/{name}.schema.json"
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(text))]
    assert errors == []


def test_json_schema_rejects_what_the_loader_rejects() -> None:
    _, schema = _schema_for(CONFIG_DIR / "dev.yaml")
    data = yaml.safe_load((CONFIG_DIR / "dev.yaml").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert not validator.is_valid({**data, "unknown_key": 1})
    assert not validator.is_valid({**data, "account": "12345"})
    cluster = next(iter(data["clusters"]))
    bad = {**data, "clusters": {cluster: {**data["clusters"][cluster], "idle_timeout_minutes": "30"}}}
    assert not validator.is_valid(bad)
