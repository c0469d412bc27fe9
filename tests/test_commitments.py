"""Declared commitments (Savings Plans, reservations) and a transient run's typical duration: checked in the settings,
carried by the clusters' template metadata (which CloudFormation ignores), priced by the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from emr_platform.constructs import EmrCluster
from emr_platform.spec.cluster import EmrClusterSpec
from emr_platform.spec.cost import COST_METADATA
from emr_platform.spec.errors import PropError, SettingsError
from emr_platform.spec.settings import CONFIG_DIR, load_settings
from emr_platform.tools.cost import estimate
from emr_platform.tools.pricing import PriceTable
from emr_platform.tools.verdicts import compare

from .conftest import base_stack, placement_of

SP = "{name: compute-sp, kind: compute_savings_plan, discount_percent: 28}"


def _dev_with(tmp_path: Path, text: str, edit: str = "", replacement: str = "") -> Path:
    settings = (CONFIG_DIR / "dev.yaml").read_text()
    if edit:
        assert edit in settings, edit
        settings = settings.replace(edit, replacement, 1)
    (tmp_path / "dev.yaml").write_text(settings + text)
    return tmp_path


def test_commitments_are_read_from_the_settings_and_cover_the_long_running_clusters_by_default(tmp_path: Path) -> None:
    named = "{name: runs, kind: compute_savings_plan, discount_percent: 20, clusters: [weblogs]}"
    config = _dev_with(tmp_path, f"cost:\n  commitments:\n    - {SP}\n    - {named}\n")
    settings = load_settings("dev", config)
    always_on, runs = settings.cost.commitments
    assert always_on.covers == ("primary", "core"), "by default, the nodes that run all the time"
    assert settings.commitments_for("analytics") == (always_on,)
    assert settings.commitments_for("weblogs") == (runs,), "a transient cluster is covered only when named"


@pytest.mark.parametrize(
    ("commitment", "expected"),
    [
        (
            "{name: a, kind: compute_savings_plan, discount_percent: 70}",
            ["cost.commitments[0].discount_percent", "at most 66 %, not 70 %", "Fix: "],
        ),
        (
            "{name: a, kind: compute_savings_plan, discount_percent: 20, instance_types: [m7g]}",
            ["cost.commitments[0].instance_types", "covers every instance type", "Fix: remove instance_types"],
        ),
        (
            "{name: a, kind: reserved_instances, discount_percent: 30}",
            ["cost.commitments[0].instance_types", "covers given instance types or families only", "Fix: list them"],
        ),
        (
            "{name: a, kind: ec2_instance_savings_plan, discount_percent: 30, instance_types: [m7g.xlarge]}",
            ["covers one instance family in a region, not ['m7g.xlarge']", "Fix: give its one family"],
        ),
        (
            "{name: a, kind: ec2_instance_savings_plan, discount_percent: 30, instance_types: [m7g, r7g]}",
            ["covers one instance family", "declare one plan per family"],
        ),
        (
            "{name: a, kind: compute_savings_plan, discount_percent: 20, covers: [core, core]}",
            ["cost.commitments[0].covers", "lists ['core'] twice", "Fix: list each once"],
        ),
        (
            "{name: a, kind: compute_savings_plan, discount_percent: 20, clusters: [analytic]}",
            ["cost.commitments[0].clusters[0]", "'analytic', which is not defined", "Fix: use one of ['analytics'"],
        ),
        ("{name: a, kind: savings_plan, discount_percent: 20}", ["cost.commitments[0].kind", "savings_plan"]),
        ("{name: a, kind: compute_savings_plan, discount_percent: 0}", ["discount_percent", "greater than 0"]),
    ],
)
def test_a_bad_commitment_fails_naming_the_field_the_value_and_the_fix(
    tmp_path: Path, commitment: str, expected: list[str]
) -> None:
    config = _dev_with(tmp_path, f"cost:\n  commitments:\n    - {commitment}\n")
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", config)
    message = str(raised.value)
    assert "dev.yaml:" in message
    for part in expected:
        assert part in message, message


def test_two_commitments_with_one_name_fail(tmp_path: Path) -> None:
    config = _dev_with(tmp_path, f"cost:\n  commitments:\n    - {SP}\n    - {SP}\n")
    with pytest.raises(SettingsError, match=r"commitment name 'compute-sp' is used twice.*Fix: give each"):
        load_settings("dev", config)


def test_a_typical_run_longer_than_the_timeout_fails(tmp_path: Path) -> None:
    config = _dev_with(tmp_path, "", "typical_run_minutes: 20", "typical_run_minutes: 121")
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", config)
    message = str(raised.value)
    assert "transient_clusters.weblogs.typical_run_minutes" in message
    assert "a typical run of 121 minutes is longer than the 120-minute timeout" in message and "Fix: " in message


SPEC: dict[str, Any] = {
    "release_label": "emr-7.13.0",
    "applications": ["Hadoop", "Spark"],
    "instance_fleets": {
        "primary": {
            "instance_types": [{"instance_type": "m7g.xlarge"}, {"instance_type": "m6g.xlarge"}],
            "on_demand_capacity": 1,
        },
        "core": {"instance_types": [{"instance_type": "r7g.xlarge"}], "on_demand_capacity": 4},
    },
}


@pytest.fixture(scope="module")
def declared(context: dict[str, object]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One cluster's template without, and with, a declared commitment."""
    templates = []
    for commitments in (
        [],
        [{"name": "ri", "kind": "reserved_instances", "discount_percent": 40, "instance_types": ["r7g"]}],
    ):
        stack, storage, network = base_stack(context)
        cluster = EmrCluster(
            stack, "Cluster", spec=EmrClusterSpec.model_validate(SPEC), placement=placement_of(storage, network)
        )
        for commitment in commitments:
            cluster.declare_commitment(commitment)
        templates.append(dict(Template.from_stack(stack).to_json()))
    return templates[0], templates[1]


def _cluster(template: dict[str, Any]) -> dict[str, Any]:
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::EMR::Cluster"]
    return dict(resource)


def test_a_declared_commitment_is_metadata_the_summary_prices_and_changes_nothing_deployed(
    declared: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    before, after = declared
    resource = _cluster(after)
    (entry,) = resource["Metadata"][COST_METADATA]["commitments"]
    assert entry == {
        "name": "ri",
        "kind": "reserved_instances",
        "discount_percent": 40,
        "roles": ["primary", "core"],
        "instance_types": ["r7g"],
    }
    assert resource["Properties"] == _cluster(before)["Properties"], "no property changes"
    assert compare("s", before, after) == [], "the guard sees nothing to review"
    table = PriceTable.load()
    plain = estimate("c", "eu-west-1", _cluster(before)["Properties"], table)
    covered = estimate("c", "eu-west-1", resource["Properties"], table, metadata=resource["Metadata"][COST_METADATA])
    r7g = table.get("eu-west-1", "r7g.xlarge")
    assert r7g is not None
    saved = plain.points["floor"].hourly - covered.points["floor"].hourly
    assert saved == pytest.approx(4 * r7g.ec2 * 0.4), (
        "40 % off EC2 on the four r7g core nodes; not the m-family primary"
    )


def test_a_bad_commitment_prop_fails_naming_the_construct(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    cluster = EmrCluster(
        stack, "Cluster", spec=EmrClusterSpec.model_validate(SPEC), placement=placement_of(storage, network)
    )
    with pytest.raises(
        PropError, match=r"EmrCluster Test/Cluster: commitment: discount_percent: .*at most 66 %, not 80 %. Fix: "
    ):
        cluster.declare_commitment({"name": "x", "kind": "compute_savings_plan", "discount_percent": 80})
