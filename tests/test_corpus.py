"""A corpus of mistakes, hand-written (tests/corpus/mistakes.yaml) and generated (every value of config/dev.yaml
made hostile in turn): each case is either rejected with the project's one-line error naming its field, or it
synthesizes with 0 cfn-lint errors, every compliance gate green, and nothing the catalog says EMR would refuse.
Never a traceback. The counts per outcome are printed at the end of the run."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App

from emr_platform.constructs.compliance import add_compliance_checks
from emr_platform.spec.errors import EmrPlatformError
from emr_platform.spec.settings import CONFIG_DIR, EnvironmentSettings, load_settings
from emr_platform.stacks import EmrPlatformStack
from emr_platform.tools.catalog import template_violations

from .conftest import CORPUS_COUNTS, cfn_lint_errors

CASES = yaml.safe_load((Path(__file__).parent / "corpus" / "mistakes.yaml").read_text(encoding="utf-8"))
DEV_TEXT = (CONFIG_DIR / "dev.yaml").read_text(encoding="utf-8")
MAX_MESSAGE = 600
"""No line of an error is longer, whatever the input (the value shown is cut)."""

_WHERE = re.compile(r"^dev\.yaml(?::\d+)?: (?P<field>.*?)(?:: |$)")


@dataclass
class Case:
    """One corpus entry, as the file text it produces."""

    name: str
    kind: str
    text: bytes
    where: str | None = None
    says: str | None = None
    accept: bool = False
    changes: dict[str, Any] = field(default_factory=dict)
    """A generated case's change to dev.yaml (path -> value): accepted ones are synthesized together."""


def _set(data: Any, dotted: str, value: Any) -> None:
    parts: list[Any] = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    target = data
    for part in parts[:-1]:
        target = target[part] if isinstance(part, int) else target.setdefault(part, {})
    if value == "~DELETE":
        del target[parts[-1]]
    else:
        target[parts[-1]] = value


def _dev_with(changes: dict[str, Any]) -> bytes:
    data = yaml.safe_load(DEV_TEXT)
    for dotted, value in changes.items():
        _set(data, dotted, value)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")


def _hand_written() -> list[Case]:
    cases: list[Case] = []
    for index, raw in enumerate(CASES):
        if "set" in raw:
            text = _dev_with(raw["set"])
        elif "text" in raw:
            old, new = raw["text"]
            assert old in DEV_TEXT, old
            text = DEV_TEXT.replace(old, new, 1).encode("utf-8")
        else:
            text = str(raw["file"]).encode(raw.get("encoding", "utf-8"))
        name = f"{index:02d}-{raw['class']}"
        changes = dict(raw.get("set", {}))
        kind, where, says, accept = raw["class"], raw.get("field"), raw.get("says"), bool(raw.get("accept"))
        cases.append(Case(name, kind, text, where, says, accept, changes=changes))
    return cases


_HOSTILE_INTS = (-1, 2**31, 10**15)
_HOSTILE_STRINGS = ("", "x" * 5000, "\u202eevil", "a b")


def _leaves(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        return [leaf for key, value in data.items() for leaf in _leaves(value, f"{prefix}.{key}" if prefix else key)]
    if isinstance(data, list):
        return [leaf for i, value in enumerate(data) for leaf in _leaves(value, f"{prefix}.{i}")]
    return [(prefix, data)]


def _generated() -> list[Case]:
    """Every scalar of dev.yaml replaced in turn by hostile values of its own type (and one of another type)."""
    cases: list[Case] = []
    for path, value in _leaves(yaml.safe_load(DEV_TEXT)):
        if isinstance(value, bool):
            hostile: tuple[Any, ...] = ("yes",)
        elif isinstance(value, int):
            hostile = _HOSTILE_INTS
        elif isinstance(value, str):
            hostile = _HOSTILE_STRINGS
        else:
            continue
        for i, bad in enumerate(hostile):
            change = {path: bad}
            cases.append(Case(f"gen-{path}-{i}", "generated", _dev_with(change), where=path, changes=change))
    return cases


ALL_CASES = _hand_written() + _generated()


@dataclass
class Outcomes:
    """What happened to every case; filled by the per-case test, checked by the last one."""

    accepted: dict[str, Case] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)


OUTCOMES = Outcomes()


def _dotted(field_name: str) -> str:
    return re.sub(r"\[(\d+)\]", r".\1", field_name)


def _names_the_field(message: str, case: Case) -> bool:
    found = _WHERE.match(message)
    if found is None or case.where is None:
        return False
    named = _dotted(found["field"])
    expected = _dotted(case.where)
    if case.kind == "loader":
        return message.startswith("dev.yaml")
    if case.kind != "generated":
        return named.startswith(expected) or expected.startswith(named)
    # A generated value may break a rule of its section (named at the section) or a sibling's rule.
    top = ".".join(expected.split(".")[:2])
    return named.startswith(top) or expected.startswith(named)


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_a_mistake_is_rejected_on_its_field_or_is_valid(case: Case, tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").write_bytes(case.text)
    try:
        settings = load_settings("dev", tmp_path)
    except EmrPlatformError as error:
        message = str(error).replace(str(tmp_path / "dev.yaml"), "dev.yaml").replace(f"{tmp_path}/", "")
        lines = message.splitlines()
        assert all(len(line) <= MAX_MESSAGE for line in lines), f"{len(max(lines, key=len))} characters"
        assert all(". Fix: " in line for line in lines if not line.startswith("...")), message
        assert not case.accept, f"a valid case was rejected: {message}"
        assert _names_the_field(lines[0], case), f"expected the field {case.where}: {message}"
        if case.says:
            assert case.says in message, message
        OUTCOMES.counts["rejected on its field"] += 1
        CORPUS_COUNTS["rejected"] += 1
        return
    except Exception as error:  # anything else is a traceback a user would see
        CORPUS_COUNTS["traceback"] += 1
        raise AssertionError(f"traceback: {type(error).__name__}: {str(error)[:300]}") from error
    assert isinstance(settings, EnvironmentSettings)
    # A hand-written mistake states the field it must be rejected on: accepting it is a regression.
    assert case.kind == "generated" or case.accept, f"accepted, expected a rejection on {case.where}"
    OUTCOMES.accepted[case.name] = case
    CORPUS_COUNTS["accepted"] += 1


def _to_synthesize(accepted: dict[str, Case], tmp_path: Path) -> dict[str, tuple[list[str], EnvironmentSettings]]:
    """The settings to synthesize: accepted cases merged into as few files as stay valid (a case joins the first
    file whose changes touch none of its paths and that validates with it), so that a few stacks cover them all;
    a case that edits the text itself is synthesized alone."""
    groups: list[tuple[dict[str, Any], list[Case], EnvironmentSettings]] = []
    alone: list[Case] = []
    for case in accepted.values():
        if not case.changes:
            alone.append(case)
            continue
        for index, (changes, cases, _) in enumerate(groups):
            if any(p == q or p.startswith(f"{q}.") or q.startswith(f"{p}.") for p in case.changes for q in changes):
                continue
            candidate = {**changes, **case.changes}
            try:
                settings = _valid(tmp_path / f"try-{case.name}-{index}", _dev_with(candidate))
            except EmrPlatformError:  # valid alone, not together with this file's changes
                continue
            groups[index] = (candidate, [*cases, case], settings)
            break
        else:
            groups.append((dict(case.changes), [case], _valid(tmp_path / f"group-{case.name}", case.text)))
    result = {f"merged-{i}": ([c.name for c in cases], settings) for i, (_, cases, settings) in enumerate(groups)}
    for case in alone:
        result[case.name] = ([case.name], _valid(tmp_path / case.name, case.text))
    return result


def _valid(folder: Path, text: bytes) -> EnvironmentSettings:
    folder.mkdir(parents=True)
    (folder / "dev.yaml").write_bytes(text)
    return load_settings("dev", folder)


def test_every_accepted_case_synthesizes_clean_and_passes_the_catalog(
    context: dict[str, object], tmp_path: Path
) -> None:
    accepted = dict(OUTCOMES.accepted)
    if not accepted:
        pytest.fail("no case was accepted: run the whole module (the accepted cases come from the per-case test)")
    app = App(context=context, outdir=str(tmp_path / "cdk.out"))
    groups = _to_synthesize(accepted, tmp_path)
    stacks = {key: EmrPlatformStack(app, f"case-{i}", settings=s) for i, (key, (_, s)) in enumerate(groups.items())}
    add_compliance_checks(app)
    failures: list[str] = []
    try:
        app.synth()
    except RuntimeError as error:
        failures.append(f"a compliance gate failed: {str(error)[:2000]}")
    templates = sorted((tmp_path / "cdk.out").glob("case-*.template.json"))
    lint = cfn_lint_errors(*templates)
    failures += lint
    for name, stack in stacks.items():
        path = tmp_path / "cdk.out" / f"{stack.artifact_id}.template.json"
        if path.is_file():
            failures += [f"{name}: {v}" for v in template_violations(json.loads(path.read_text()), stack.region)]
    keys = list(groups)
    named = {int(n) for failure in failures for n in re.findall(r"\bcase-(\d+)\b", failure)}
    invalid = {keys[n] for n in named} | {f.split(":")[0] for f in failures if f.split(":")[0] in groups}
    CORPUS_COUNTS["accepted but invalid"] = sum(len(groups[k][0]) for k in invalid) or len(failures)
    CORPUS_COUNTS["synthesized clean"] = len(accepted) - CORPUS_COUNTS["accepted but invalid"]
    CORPUS_COUNTS["stacks synthesized"] = len(stacks)
    cases = {k: groups[k][0] for k in sorted(invalid)}
    assert failures == [], f"cases {cases}:\n" + "\n".join(failures[:20])
