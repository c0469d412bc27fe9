"""The CI workflow, the pre-commit hooks and the Makefile agree: a pull request is checked as a developer checks.

Quick tests on the files themselves: no synthesis, no fixture of conftest.py.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parent.parent
WORKFLOW = PROJECT / ".github" / "workflows" / "pull-request.yml"
PRE_COMMIT = PROJECT / ".pre-commit-config.yaml"
ACTIONLINT = Path(sys.executable).parent / "actionlint"
LINT_COMMANDS = ("ruff check", "ruff format --check", "mypy")


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    return data


def _steps() -> list[dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = _load(WORKFLOW)["jobs"]
    return [step for job in jobs.values() for step in job["steps"]]


def _make_step(target: str) -> tuple[int, dict[str, Any]]:
    """The position and the step that runs ``make ... <target>``."""
    pattern = re.compile(rf"^\s*make\b[^|;&\n]*\s{re.escape(target)}(?![\w-])", re.MULTILINE)
    found = [(i, step) for i, step in enumerate(_steps()) if pattern.search(step.get("run", ""))]
    assert len(found) == 1, f"expected one step running `make {target}`, found {len(found)}"
    return found[0]


def _hooks() -> dict[str, dict[str, Any]]:
    return {hook["id"]: hook for repo in _load(PRE_COMMIT)["repos"] for hook in repo["hooks"]}


def _succeeds(command: list[str], env: dict[str, str] | None = None) -> str:
    """Run ``command`` in the project; assert it exits 0 (its output is the failure message); return its stdout."""
    result = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _dry_run(target: str) -> list[str]:
    """The commands ``make <target>`` runs, setup taken as done (a sub-make's variables stripped)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return _succeeds(["make", "--dry-run", "--no-print-directory", "--old-file=setup", target], env=env).splitlines()


def test_actionlint_accepts_the_workflow() -> None:
    assert ACTIONLINT.is_file(), f"actionlint is not in {ACTIONLINT.parent}: run 'make setup' (requirements-dev.txt)"
    _succeeds([str(ACTIONLINT), "-no-color", str(WORKFLOW.relative_to(PROJECT))])


def test_workflow_runs_the_make_targets_in_order() -> None:
    positions = [_make_step(target)[0] for target in ("setup", "lint", "unit", "synth", "guard")]
    assert positions == sorted(positions), "steps must run setup, lint, unit, synth, guard in that order"


def test_a_failing_guard_fails_the_job_and_still_writes_its_report() -> None:
    _, step = _make_step("guard")
    run = step["run"]
    assert "| tee guard-report.txt" in run
    # tee exits 0: only pipefail (set in the step, or by an explicit `shell: bash`) passes the guard's code on.
    job = next(iter(_load(WORKFLOW)["jobs"].values()))
    shell = step.get("shell") or job.get("defaults", {}).get("run", {}).get("shell")
    assert "set -o pipefail" in run or shell == "bash"
    assert step.get("continue-on-error") is not True


def test_a_pull_request_is_guarded_against_its_base_branch_with_a_summary() -> None:
    position, step = _make_step("guard-base")
    assert position > _make_step("guard")[0]
    assert step["if"] == "github.event_name == 'pull_request'"
    assert "${{" not in step["run"], "the base ref reaches the script through env only (no injection)"
    assert step["env"]["BASE_REF"] == "${{ github.base_ref }}" and "GITHUB_STEP_SUMMARY" in step["run"]
    checkout = next(s for s in _steps() if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0, "the base branch must be in the clone"
    assert any(
        ("guard-base" in line and "--base base.out" in line) or "--base" in line for line in _dry_run("guard-base")
    )


def test_workflow_uploads_cdk_out_and_the_guard_report_always() -> None:
    uploads = [s for s in _steps() if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert len(uploads) == 1
    upload = uploads[0]
    condition = str(upload.get("if", "")).strip()
    assert re.fullmatch(r"(\$\{\{\s*)?always\(\)(\s*\}\})?", condition), f"upload on failure too, not if: {condition!r}"
    paths = {line.strip().rstrip("/") for line in upload["with"]["path"].splitlines() if line.strip()}
    assert {"cdk.out", "guard-report.txt", "guard-report.md"} <= paths


def test_workflow_is_read_only_and_uses_no_credentials() -> None:
    workflow = _load(WORKFLOW)
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert "permissions" not in job, "a job must not widen the workflow's read-only permissions"
    text = WORKFLOW.read_text(encoding="utf-8")
    for forbidden in ("secrets.", "aws-actions/", "id-token", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert forbidden not in text, f"the pull-request workflow must use no credentials: found {forbidden!r}"


def test_workflow_triggers_and_limits() -> None:
    workflow = _load(WORKFLOW)
    triggers: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1: bare on is True
    assert "pull_request" in triggers
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in workflow["concurrency"]["group"]
    assert workflow["env"]["CI"] == "true"
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        assert 0 < job["timeout-minutes"] <= 90
    for step in _steps():
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), f"pin to a major tag: {step['uses']}"


def test_make_test_runs_the_same_lint_as_ci() -> None:
    lint = _dry_run("lint")
    for command in LINT_COMMANDS:
        assert any(command in line for line in lint), f"make lint does not run {command!r}: {lint}"
    test = _dry_run("test")
    assert test[: len(lint)] == lint, f"make test must start with make lint: {test}"
    assert any("pytest" in line for line in test[len(lint) :])
    assert _make_step("lint")[1]["run"].strip() == "make lint"


def test_pre_commit_hooks_are_local_and_cover_lint() -> None:
    repos = _load(PRE_COMMIT)["repos"]
    assert repos
    assert all(repo["repo"] == "local" for repo in repos), "remote hook repositories need the network"
    hooks = _hooks()
    assert {"ruff-check", "ruff-format", "mypy", "actionlint", "settings"} <= hooks.keys()
    for hook in hooks.values():
        assert hook["language"] == "system"
        assert hook["entry"].startswith(".venv/bin/"), f"{hook['id']}: use the venv's pinned tool"
    assert hooks["ruff-check"]["entry"].split()[1] == "check"
    assert hooks["ruff-format"]["entry"].split()[1] == "format"
    assert hooks["mypy"]["pass_filenames"] is False, "mypy checks the project, as make lint does"
    assert re.search(hooks["actionlint"]["files"], WORKFLOW.relative_to(PROJECT).as_posix())


def test_settings_hook_passes() -> None:
    hook = _hooks()["settings"]
    _succeeds([*shlex.split(hook["entry"]), *hook.get("args", [])])
    assert re.search(hook["files"], "config/dev.yaml")
