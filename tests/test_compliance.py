"""The acknowledged findings: each one still raised by its rule pack, scoped, explained; nothing else raised."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from aws_cdk import App, CfnResource, Validations

from emr_platform.app import cdk_json_context
from emr_platform.constructs import compliance
from emr_platform.constructs.compliance import (
    ACKNOWLEDGE_CONTEXT,
    CHECKOV,
    GUARD_RULES_DIR,
    RULE_PACKS,
    Finding,
    cloudformation_validation_plugin,
    guard_rules,
    reviewed_findings,
)
from emr_platform.spec.errors import EmrPlatformError
from emr_platform.spec.settings import load_settings
from emr_platform.stacks import EmrPlatformStack

from .conftest import ENVIRONMENTS, PROJECT, Synthesized


@dataclass
class Raised:
    """What the rule packs report on a stack nobody acknowledged anything of."""

    stack: EmrPlatformStack
    findings: list[Finding]
    violations: set[tuple[str, str]]  # (granular finding id, construct path)


_REPORTED = re.compile(r"^\s+(?P<path>\S+)(?: \(\S+\))? \S+\n\s+Acknowledge with '(?P<id>[^']+)'", re.MULTILINE)


CHECKOV_BIN = PROJECT / ".venv-checkov" / "bin" / "checkov"


def checkov_failures(outdir: Path) -> list[tuple[str, str]]:
    """checkov's failed checks on the templates in ``outdir``: (check id, logical id)."""
    assert CHECKOV_BIN.exists(), "checkov is not installed: run 'make setup' (it creates .venv-checkov)"
    result = subprocess.run(
        [str(CHECKOV_BIN), "-d", str(outdir), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(outdir), "BC_SKIP_MAPPING": "TRUE"},
    )
    reports = json.loads(result.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    return [
        (c["check_id"], c["resource"].split(".", 1)[1])
        for report in reports
        for c in report.get("results", {}).get("failed_checks", [])
    ]


def _cloudformation_validation(env: str, outdir: Path) -> set[tuple[str, str]]:
    """What the CDK's CloudFormation validation (default rules and Guard rules) reports with no acknowledgement:
    it reports through a failed synthesis, whose message names each construct path and finding id."""
    app = App(context={**cdk_json_context(), ACKNOWLEDGE_CONTEXT: False}, outdir=str(outdir))
    EmrPlatformStack(app, f"emr-platform-{env}", settings=load_settings(env))
    Validations.of(app).add_plugins(cloudformation_validation_plugin())
    try:
        app.synth()
    except RuntimeError as error:
        # Construct annotations (warnings the app itself writes, e.g. about data protection) are not findings.
        return {(m["id"], m["path"]) for m in _REPORTED.finditer(str(error)) if not m["id"].startswith("Annotation::")}
    return set()


@pytest.fixture(scope="module")
def raised(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Raised]:
    result = {}
    for env in ENVIRONMENTS:
        app = App(context=cdk_json_context())
        stack = EmrPlatformStack(app, f"emr-platform-{env}", settings=load_settings(env))
        violations = {
            (v.rule_name, r.construct_path or "")
            for pack in RULE_PACKS
            for v in pack(app).validate_scope(stack).violations
            for r in v.violating_resources
        }
        outdir = tmp_path_factory.mktemp(env)
        violations |= _cloudformation_validation(env, outdir)
        # checkov reports logical IDs: name them by construct path, as the other tools do
        paths = {stack.resolve(c.logical_id): c.node.path for c in stack.node.find_all() if isinstance(c, CfnResource)}
        violations |= {
            (f"{CHECKOV}{check}", paths.get(logical, logical)) for check, logical in checkov_failures(outdir)
        }
        result[env] = Raised(stack, reviewed_findings(stack), violations)
    return result


def _covers(finding: Finding, violation: tuple[str, str]) -> bool:
    rule, path = violation
    scope = finding.scope.node.path
    return rule == finding.finding_id and (path == scope or path.startswith(f"{scope}/"))


def test_the_cloudformation_validation_is_read(raised: dict[str, Raised]) -> None:
    # Guards the parser above: the dev environment states why it has no TLS, and Control Tower's CT.EMR.PR.4 says so.
    assert any(rule.endswith("emr_sec_config_encryption_in_transit_check") for rule, _ in raised["dev"].violations)


def test_every_acknowledgement_is_still_needed(raised: dict[str, Raised]) -> None:
    stale = []
    for env, found in raised.items():
        for finding in found.findings:
            if finding.finding_id == "CloudFormation-Validate::W3010":
                continue  # a warning, reported only when there are errors too: see the next test
            if not any(_covers(finding, v) for v in found.violations):
                stale.append(f"{env}: {finding.finding_id} on {finding.scope.node.path}")
    assert stale == [], (
        "acknowledged but no longer raised, remove from the construct's reviewed_findings:\n" + "\n".join(stale)
    )


def test_the_pinned_zone_acknowledgement_is_still_needed(raised: dict[str, Raised]) -> None:
    for found in raised.values():
        if any(f.finding_id == "CloudFormation-Validate::W3010" for f in found.findings):
            subnets = [s for s in found.stack.network.subnets if not s.availability_zone.startswith("${Token")]
            assert subnets, "W3010 (hard-coded zones) is acknowledged, so subnets must name their zones"


def test_nothing_is_raised_that_is_not_acknowledged(raised: dict[str, Raised]) -> None:
    for env, found in raised.items():
        unexplained = sorted(v for v in found.violations if not any(_covers(f, v) for f in found.findings))
        assert unexplained == [], f"{env}: {unexplained}"


def test_acknowledgements_are_scoped_and_explained(raised: dict[str, Raised]) -> None:
    for found in raised.values():
        for finding in found.findings:
            assert finding.scope is not found.stack, f"{finding.finding_id}: scoped to a construct, not the stack"
            assert len(finding.reason) >= 20, finding
            assert "[" in finding.finding_id or not finding.finding_id.startswith(
                ("AwsSolutions-IAM4", "AwsSolutions-IAM5")
            ), f"{finding.finding_id}: IAM findings are acknowledged per policy or resource, not wholesale"


def test_checkov_passes_on_every_template(synthesized: Synthesized) -> None:
    assert checkov_failures(synthesized.outdir) == []
    for template in synthesized.outdir.glob("*.template.json"):
        for resource in json.loads(template.read_text(encoding="utf-8"))["Resources"].values():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert len(skip["comment"]) >= 20, skip


def test_the_guard_rules_are_the_copied_ones() -> None:
    readme = (GUARD_RULES_DIR / "README.md").read_text(encoding="utf-8")
    for path in sorted(GUARD_RULES_DIR.glob("*.guard")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"{digest}  {path.name}" in readme, f"{path.name} differs from the copy the README records"


def test_no_guard_rules_is_an_error_not_a_missing_gate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(compliance, "GUARD_RULES_DIR", tmp_path)
    with pytest.raises(EmrPlatformError, match=r"no Control Tower Guard rules .* Fix: reinstall"):
        guard_rules()
