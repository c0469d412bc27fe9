"""The acknowledged findings: each one still raised by its rule pack, scoped, explained; nothing else raised."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from aws_cdk import App

from emr_platform.app import cdk_json_context
from emr_platform.compliance import RULE_PACKS, Finding, findings_for
from emr_platform.settings import load_settings
from emr_platform.stacks import EmrPlatformStack

from .conftest import ENVIRONMENTS


@dataclass
class Raised:
    """What the rule packs report on a stack nobody acknowledged anything of."""

    stack: EmrPlatformStack
    findings: list[Finding]
    violations: set[tuple[str, str]]  # (granular finding id, construct path)


@pytest.fixture(scope="module")
def raised() -> dict[str, Raised]:
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
        result[env] = Raised(stack, list(findings_for(stack)), violations)
    return result


def _covers(finding: Finding, violation: tuple[str, str]) -> bool:
    rule, path = violation
    scope = finding.scope.node.path
    return rule == finding.finding_id and (path == scope or path.startswith(f"{scope}/"))


def test_every_acknowledgement_is_still_needed(raised: dict[str, Raised]) -> None:
    stale = []
    for env, found in raised.items():
        for finding in found.findings:
            if finding.finding_id.startswith("CloudFormation-Validate::"):
                continue  # the CDK's own validation: see the next test
            if not any(_covers(finding, v) for v in found.violations):
                stale.append(f"{env}: {finding.finding_id} on {finding.scope.node.path}")
    assert stale == [], "acknowledged but no longer raised, remove from compliance.py:\n" + "\n".join(stale)


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
