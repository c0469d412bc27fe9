"""The cost and resilience advisor: every rule triggers on the shape it warns about, and stays silent otherwise."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from emr_platform.tools.advisor import advise

from .conftest import Synthesized


def _fleet(types: list[str], on_demand: int = 0, spot: int = 0, weight: int = 1, name: str = "f") -> dict[str, Any]:
    return {
        "Name": name,
        "TargetOnDemandCapacity": on_demand,
        "TargetSpotCapacity": spot,
        "InstanceTypeConfigs": [{"InstanceType": t, "WeightedCapacity": weight} for t in types],
    }


GOOD: dict[str, Any] = {
    "Instances": {
        "TerminationProtected": False,
        "MasterInstanceFleet": _fleet(["m7g.xlarge", "m6g.xlarge"], on_demand=1),
        "CoreInstanceFleet": _fleet(["r7g.xlarge", "r6g.xlarge"], on_demand=4),
        "TaskInstanceFleets": [_fleet(["m7g.xlarge", "m6g.xlarge", "c7g.2xlarge", "r7g.xlarge"], spot=4, name="spot")],
    },
    "AutoTerminationPolicy": {"IdleTimeout": 3600},
    "ManagedScalingPolicy": {
        "ComputeLimits": {
            "UnitType": "InstanceFleetUnits",
            "MinimumCapacityUnits": 8,
            "MaximumCapacityUnits": 40,
            "MaximumCoreCapacityUnits": 4,
            "MaximumOnDemandCapacityUnits": 4,
        }
    },
}


def _with(change: Any) -> dict[str, Any]:
    props = copy.deepcopy(GOOD)
    change(props)
    return props


def test_a_well_shaped_cluster_gets_no_advice() -> None:
    assert advise(GOOD) == []


@pytest.mark.parametrize(
    ("rule", "change"),
    [
        ("launch-below-floor", lambda p: p["ManagedScalingPolicy"]["ComputeLimits"].update(MinimumCapacityUnits=12)),
        (
            "core-without-redundancy",
            lambda p: p["Instances"].update(CoreInstanceFleet=_fleet(["r7g.4xlarge"], 4, weight=2)),
        ),
        (
            "core-below-replication",
            lambda p: p.update(
                Configurations=[{"Classification": "hdfs-site", "ConfigurationProperties": {"dfs.replication": "5"}}]
            ),
        ),
        ("single-primary-type", lambda p: p["Instances"].update(MasterInstanceFleet=_fleet(["m7g.xlarge"], 1))),
        (
            "narrow-spot",
            lambda p: p["Instances"].update(TaskInstanceFleets=[_fleet(["m7g.xlarge", "m7g.2xlarge"], spot=4)]),
        ),
        ("no-idle-timeout", lambda p: p.pop("AutoTerminationPolicy")),
        ("on-demand-growth", lambda p: p["ManagedScalingPolicy"]["ComputeLimits"].pop("MaximumOnDemandCapacityUnits")),
        (
            "on-demand-growth",
            lambda p: p["ManagedScalingPolicy"]["ComputeLimits"].update(MaximumOnDemandCapacityUnits=20),
        ),
    ],
)
def test_each_rule_triggers_on_what_it_warns_about(rule: str, change: Any) -> None:
    found = advise(_with(change))
    assert [a.rule for a in found] == [rule], found
    assert "Fix:" in str(found[0])


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p["Instances"].update(TerminationProtected=True) or p.pop("AutoTerminationPolicy"),  # protected prod
        # On-Demand tasks: no Spot advice
        lambda p: p["Instances"]["TaskInstanceFleets"][0].update(TargetSpotCapacity=0, TargetOnDemandCapacity=4),
        lambda p: p.update(  # replication within the core fleet
            Configurations=[{"Classification": "hdfs-site", "ConfigurationProperties": {"dfs.replication": "2"}}]
        ),
        lambda p: p["ManagedScalingPolicy"]["ComputeLimits"].update(MinimumCapacityUnits={"Ref": "Unknown"}),
    ],
)
def test_rules_stay_silent_where_the_fact_does_not_hold(change: Any) -> None:
    assert advise(_with(change)) == []


def test_the_summary_prints_each_clusters_advice(synthesized: Synthesized) -> None:
    """Whatever the presets are, the summary shows exactly what the advisor finds on each synthesized cluster."""
    from emr_platform.tools.summary import summarize  # noqa: PLC0415 - the summary reads the session's synthesis

    text = summarize(synthesized.outdir)
    printed = [line.strip() for line in text.splitlines() if line.strip().startswith("advice [")]
    expected = [
        str(advice)
        for template in synthesized.stack_templates.values()
        for resource in template.find_resources("AWS::EMR::Cluster").values()
        for advice in advise(resource["Properties"])
    ]
    assert sorted(printed) == sorted(expected)
    assert all("Fix:" in line for line in printed)


def test_a_transient_cluster_gets_no_hdfs_redundancy_advice_but_every_other_rule() -> None:
    """A run's HDFS holds only its intermediate data: a small core fleet is no risk there; a single primary type
    still is."""
    props = _with(
        lambda p: p["Instances"].update(
            CoreInstanceFleet=_fleet(["r7g.xlarge"], 2), MasterInstanceFleet=_fleet(["m7g.xlarge"], 1)
        )
    )
    props.pop("ManagedScalingPolicy")  # a run's cluster is fixed size
    assert {a.rule for a in advise(props)} >= {"core-without-redundancy", "single-primary-type"}
    assert {a.rule for a in advise(props, transient=True)} == {"single-primary-type"}
