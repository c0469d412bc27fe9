"""Capacity, Spot and scaling: every rule fails with its field, value and fix; every feature reaches the template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import Token
from aws_cdk.assertions import Template
from pydantic import ValidationError

from emr_platform import EmrClusterSpec, EmrRelease
from emr_platform.constructs import EmrCluster
from emr_platform.spec.capacity import DEFAULT_INSTANCE_TYPES, MAX_TASK_FLEETS, architecture_of
from emr_platform.spec.errors import PropError
from emr_platform.spec.settings import DEFAULT_INTERFACE_ENDPOINTS, EnvironmentSettings
from emr_platform.spec.validation import settings_error

from .conftest import PROJECT, base_stack, cfn_lint_errors, placement_of


def fleet(*types: str, od: int = 0, spot: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "instance_types": [{"instance_type": t} for t in types],
        "on_demand_capacity": od,
        "spot_capacity": spot,
        **extra,
    }


def fleets_spec(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "release_label": "emr-7.13.0",
        "instance_fleets": {
            "primary": fleet("m7g.xlarge", od=1),
            "core": fleet("r7g.xlarge", "r6g.xlarge", od=2),
            "tasks": [fleet("m7g.xlarge", "m6g.xlarge", spot=4)],
        },
    }
    base.update(overrides)
    return base


def groups_spec(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "release_label": "emr-7.13.0",
        "instance_groups": {
            "primary": {"instance_type": "m7g.xlarge", "instance_count": 1},
            "core": {"instance_type": "r7g.xlarge", "instance_count": 2},
            "tasks": [
                {
                    "instance_type": "m7g.2xlarge",
                    "instance_count": 2,
                    "market": "SPOT",
                    "autoscaling": {"min_capacity": 0, "max_capacity": 10},
                }
            ],
        },
    }
    base.update(overrides)
    return base


def with_fleet(role: str, **fields: Any) -> dict[str, Any]:
    """A fleets spec whose ``role`` fleet (primary, core or task) gets ``fields``."""
    data = fleets_spec()
    if role == "task":
        data["instance_fleets"]["tasks"][0].update(fields)
    else:
        data["instance_fleets"][role].update(fields)
    return data


def rejects(data: dict[str, Any], message: str) -> str:
    with pytest.raises(ValidationError) as raised:
        EmrClusterSpec.model_validate(data)
    text = str(raised.value)
    assert message in text, text
    assert "Fix:" in text or "should" in text, text
    return text


# --- validation: one failing case per rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # fleets and groups not mixed
        ({**fleets_spec(), **{"instance_groups": groups_spec()["instance_groups"]}}, "(both are set)"),
        # primary fleet of 1 or 3
        (with_fleet("primary", on_demand_capacity=2), "must be 1 (or 3 for high availability), got 2"),
        (with_fleet("primary", spot_capacity=1), "sets both on_demand_capacity and spot_capacity"),
        # 3 primaries need a release that supports them
        (
            {
                **fleets_spec(release_label="emr-5.36.2", architecture="x86"),
                **{"instance_fleets": {"primary": fleet("m5.xlarge", od=3), "core": fleet("r5.xlarge", od=2)}},
            },
            "",  # 5.36.2 supports HA fleets: this one is valid, see test below
        ),
        # instance-type count limits, with and without an allocation strategy
        (
            with_fleet("task", instance_types=[{"instance_type": f"m7g.{i}xlarge"} for i in range(2, 33)]),
            "at most 30 instance types with an allocation strategy",
        ),
        (
            with_fleet(
                "task",
                instance_types=[{"instance_type": f"m7g.{i}xlarge"} for i in range(2, 8)],
                spot={"allocation_strategy": None},
            ),
            "at most 5 instance types without an allocation strategy",
        ),
        # weights >= 1, and 1 on primary
        (
            with_fleet("core", instance_types=[{"instance_type": "r7g.xlarge", "weighted_capacity": 0}]),
            "greater than or equal to 1",
        ),
        (
            with_fleet("primary", instance_types=[{"instance_type": "m7g.xlarge", "weighted_capacity": 2}]),
            "weighted_capacity 1",
        ),
        # too many task fleets
        (
            with_fleet("task")
            | {
                "instance_fleets": {
                    **fleets_spec()["instance_fleets"],
                    "tasks": [fleet("m7g.xlarge", spot=1)] * (MAX_TASK_FLEETS + 1),
                }
            },
            "task fleet(s)",
        ),
        # bid price twice, priority without a prioritized strategy
        (
            with_fleet(
                "task",
                instance_types=[
                    {"instance_type": "m7g.xlarge", "bid_price": "0.1", "bid_price_as_percentage_of_on_demand": 50}
                ],
            ),
            "bid_price and bid_price_as_percentage_of_on_demand are both set",
        ),
        (
            with_fleet("task", instance_types=[{"instance_type": "m7g.xlarge", "priority": 0}]),
            "only the prioritized allocation strategies read",
        ),
        # capacity reservations
        (
            with_fleet(
                "core",
                on_demand={
                    "capacity_reservations": {
                        "resource_group_arn": "arn:aws:resource-groups:eu-west-1:111111111111:group/g"
                    }
                },
            ),
            "resource_group_arn needs usage_strategy",
        ),
        (
            with_fleet(
                "core",
                on_demand={
                    "capacity_reservations": {"usage_strategy": "use-capacity-reservations-first", "preference": "none"}
                },
            ),
            "preference 'none' excludes every reservation",
        ),
        # resize: ranges, and not on primary
        (with_fleet("task", resize={"spot_timeout_minutes": 4}), "greater than or equal to 5"),
        (with_fleet("primary", resize={"spot_timeout_minutes": 10}), "the primary fleet cannot be resized"),
        # EBS volumes
        (
            with_fleet(
                "core",
                instance_types=[
                    {
                        "instance_type": "r7g.xlarge",
                        "ebs_volumes": [{"size_gib": 10, "volume_type": "st1", "iops": 3000}],
                    }
                ],
            ),
            "iops is set on a st1 volume",
        ),
        (
            with_fleet(
                "core",
                instance_types=[
                    {"instance_type": "r7g.xlarge", "ebs_volumes": [{"size_gib": 10, "volume_type": "io2"}]}
                ],
            ),
            "io2 volumes need iops",
        ),
        # managed scaling: unit type, limits, caps, strategy
        (
            fleets_spec(
                managed_scaling={"unit_type": "Instances", "minimum_capacity_units": 1, "maximum_capacity_units": 4}
            ),
            "does not fit instance fleets",
        ),
        (
            fleets_spec(
                managed_scaling={
                    "unit_type": "InstanceFleetUnits",
                    "minimum_capacity_units": 5,
                    "maximum_capacity_units": 4,
                }
            ),
            "is above maximum_capacity_units",
        ),
        (
            fleets_spec(
                managed_scaling={
                    "unit_type": "InstanceFleetUnits",
                    "minimum_capacity_units": 1,
                    "maximum_capacity_units": 4,
                    "maximum_core_capacity_units": 5,
                }
            ),
            "maximum_core_capacity_units (5) is above",
        ),
        (
            fleets_spec(
                managed_scaling={
                    "unit_type": "InstanceFleetUnits",
                    "minimum_capacity_units": 1,
                    "maximum_capacity_units": 4,
                    "utilization_performance_index": 50,
                }
            ),
            "needs scaling_strategy ADVANCED",
        ),
        (
            fleets_spec(
                managed_scaling={
                    "unit_type": "InstanceFleetUnits",
                    "minimum_capacity_units": 1,
                    "maximum_capacity_units": 4,
                    "scaling_strategy": "ADVANCED",
                    "utilization_performance_index": 40,
                }
            ),
            "Input should be 1, 25, 50, 75 or 100",
        ),
        (
            fleets_spec(
                release_label="emr-6.15.0",
                managed_scaling={
                    "unit_type": "InstanceFleetUnits",
                    "minimum_capacity_units": 1,
                    "maximum_capacity_units": 4,
                    "scaling_strategy": "ADVANCED",
                },
            ),
            "has no advanced managed scaling",
        ),
        (
            groups_spec(
                instance_groups={**groups_spec()["instance_groups"], "tasks": []},
                managed_scaling={
                    "unit_type": "Instances",
                    "minimum_capacity_units": 1,
                    "maximum_capacity_units": 8,
                    "maximum_core_capacity_units": 4,
                    "maximum_on_demand_capacity_units": 3,
                },
            ),
            "while the core group is On-Demand",
        ),
        # custom autoscaling and managed scaling are exclusive; limits; primary
        (
            groups_spec(
                managed_scaling={"unit_type": "Instances", "minimum_capacity_units": 1, "maximum_capacity_units": 8}
            ),
            "managed_scaling and custom autoscaling",
        ),
        (
            groups_spec(
                instance_groups={
                    **groups_spec()["instance_groups"],
                    "tasks": [
                        {
                            "instance_type": "m7g.xlarge",
                            "instance_count": 12,
                            "autoscaling": {"min_capacity": 0, "max_capacity": 10},
                        }
                    ],
                }
            ),
            "instance_count 12 is outside autoscaling's 0-10",
        ),
        (
            groups_spec(
                instance_groups={
                    **groups_spec()["instance_groups"],
                    "primary": {
                        "instance_type": "m7g.xlarge",
                        "instance_count": 1,
                        "autoscaling": {"min_capacity": 1, "max_capacity": 1},
                    },
                }
            ),
            "the primary group cannot autoscale",
        ),
        (
            groups_spec(
                instance_groups={
                    **groups_spec()["instance_groups"],
                    "tasks": [
                        {
                            "instance_type": "m7g.xlarge",
                            "instance_count": 1,
                            "autoscaling": {"min_capacity": 3, "max_capacity": 2},
                        }
                    ],
                }
            ),
            "min_capacity (3) is above max_capacity (2)",
        ),
        (
            groups_spec(
                instance_groups={
                    **groups_spec()["instance_groups"],
                    "tasks": [
                        {"instance_type": "m7g.xlarge", "instance_count": 1, "market": "ON_DEMAND", "bid_price": "0.2"}
                    ],
                }
            ),
            "bid_price is set on an On-Demand group",
        ),
        # idle timeout, step concurrency, root volume ranges
        (fleets_spec(idle_timeout_minutes=0), "greater than or equal to 1"),
        (fleets_spec(idle_timeout_minutes=10081), "less than or equal to 10080"),
        (fleets_spec(step_concurrency=257), "less than or equal to 256"),
        (fleets_spec(ebs_root_volume_size_gib=101), "less than or equal to 100"),
        (fleets_spec(ebs_root_volume_iops=2000), "greater than or equal to 3000"),
        (fleets_spec(ebs_root_volume_throughput_mibps=1001), "less than or equal to 1000"),
        (
            fleets_spec(
                release_label="emr-5.36.2",
                architecture="x86",
                instance_fleets={"primary": fleet("m5.xlarge", od=1), "core": fleet("r5.xlarge", od=1)},
                ebs_root_volume_iops=4000,
            ),
            "cannot set the root volume's IOPS",
        ),
        # an application the release does not ship
        (fleets_spec(applications=["Hadoop", "Presto"]), ""),  # 7.x still ships Presto: valid
        (
            fleets_spec(
                release_label="emr-5.36.2",
                architecture="x86",
                applications=["Trino"],
                instance_fleets={"primary": fleet("m5.xlarge", od=1), "core": fleet("r5.xlarge", od=1)},
            ),
            "does not ship the application 'Trino'",
        ),
        # architecture
        (  # Graviton since 5.31.0 / 6.1.0: every supported release runs it (the rule: see the test below)
            fleets_spec(
                release_label="emr-5.36.2",
                instance_fleets={"primary": fleet("m6g.xlarge", od=1), "core": fleet("r6g.xlarge", od=1)},
            ),
            "",
        ),
        (
            with_fleet("task", instance_types=[{"instance_type": "m7i.xlarge"}]),
            "task instance type 'm7i.xlarge' is x86, the cluster's architecture is graviton",
        ),
        (
            fleets_spec(architecture="x86"),
            "primary instance type 'm7g.xlarge' is graviton, the cluster's architecture is x86",
        ),
        # HDFS replication, placement, AMI
        (fleets_spec(hdfs_replication=3), "hdfs_replication 3 is above the fewest core nodes the cluster may run (2)"),
        (fleets_spec(primary_placement_strategy="SPREAD"), "SPREAD needs 3 primary nodes, the cluster has 1"),
        (
            fleets_spec(custom_ami_id="ami-0123456789abcdef0", os_release_label="2023.5.20240624.0"),
            "custom_ami_id and os_release_label are both set",
        ),
        (fleets_spec(custom_ami_id="ami-XYZ"), "should match pattern"),
        # high-availability primaries are On-Demand
        (
            with_fleet("primary", on_demand_capacity=0, spot_capacity=3),
            "3 primary nodes (high availability) must be On-Demand",
        ),
        (
            groups_spec(
                instance_groups={
                    **groups_spec()["instance_groups"],
                    "primary": {"instance_type": "m7g.xlarge", "instance_count": 3, "market": "SPOT"},
                }
            ),
            "3 primary nodes (high availability) must be On-Demand",
        ),
        # EBS limits
        (
            with_fleet(
                "core",
                instance_types=[{"instance_type": "r7g.xlarge", "ebs_volumes": [{"size_gib": 100, "iops": 2000}]}],
            ),
            "gp3 volumes take 3000-80000 IOPS, got 2000",
        ),
        (
            with_fleet(
                "core", instance_types=[{"instance_type": "r7g.xlarge", "ebs_volumes": [{"size_gib": 8, "iops": 5000}]}]
            ),
            "above gp3's 500 IOPS per GiB",
        ),
        (
            with_fleet(
                "core",
                instance_types=[
                    {"instance_type": "r7g.xlarge", "ebs_volumes": [{"size_gib": 100, "throughput_mibps": 1000}]}
                ],
            ),
            "above gp3's 0.25 MiB/s per IOPS",
        ),
        (fleets_spec(ebs_root_volume_iops=16000), "16000 IOPS on 15 GiB is above gp3's 500 IOPS per GiB"),
        # autoscaling rule values
        (
            groups_spec(
                instance_groups={
                    **groups_spec()["instance_groups"],
                    "tasks": [
                        {
                            "instance_type": "m7g.xlarge",
                            "instance_count": 1,
                            "autoscaling": {
                                "min_capacity": 0,
                                "max_capacity": 4,
                                "rules": [
                                    {
                                        "name": "x",
                                        "adjustment": -1,
                                        "adjustment_type": "EXACT_CAPACITY",
                                        "metric_name": "IsIdle",
                                        "comparison_operator": "GREATER_THAN",
                                        "threshold": 0,
                                    }
                                ],
                            },
                        }
                    ],
                }
            ),
            "EXACT_CAPACITY of -1 instances",
        ),
        (
            groups_spec(
                instance_groups={
                    **groups_spec()["instance_groups"],
                    "tasks": [
                        {
                            "instance_type": "m7g.xlarge",
                            "instance_count": 1,
                            "autoscaling": {
                                "min_capacity": 0,
                                "max_capacity": 4,
                                "rules": [
                                    {
                                        "name": "x",
                                        "adjustment": 1,
                                        "metric_name": "IsIdle",
                                        "comparison_operator": "GREATER_THAN",
                                        "threshold": 0,
                                        "unit": "percent",
                                    }
                                ],
                            },
                        }
                    ],
                }
            ),
            "Input should be 'NONE'",
        ),
        # managed scaling: VCPU is for groups; an unset cap counts as the maximum
        (
            fleets_spec(
                managed_scaling={"unit_type": "VCPU", "minimum_capacity_units": 4, "maximum_capacity_units": 40}
            ),
            "'VCPU' does not fit instance fleets",
        ),
        (
            groups_spec(
                instance_groups={**groups_spec()["instance_groups"], "tasks": []},
                managed_scaling={
                    "unit_type": "Instances",
                    "minimum_capacity_units": 1,
                    "maximum_capacity_units": 8,
                    "maximum_on_demand_capacity_units": 3,
                },
            ),
            "core cap (8) is above its On-Demand cap (3)",
        ),
    ],
)
def test_fails_on_what_emr_would_reject(data: dict[str, Any], message: str) -> None:
    if not message:  # documented valid neighbours of failing cases
        EmrClusterSpec.model_validate(data)
        return
    rejects(data, message)


def test_release_feature_minimums_follow_each_release_line() -> None:
    assert EmrRelease.of("emr-7.14.0").supports_high_availability_fleets
    assert not EmrRelease.of("emr-6.8.0").supports_high_availability_fleets
    assert EmrRelease.of("emr-6.8.1").supports_high_availability_fleets
    assert not EmrRelease.of("emr-5.30.0").supports_graviton
    assert EmrRelease.of("emr-spark-8.1.0").supports_graviton
    assert EmrRelease.of("emr-5.36.2").at_least((5, 36, 1), (6, 8, 1))
    assert not EmrRelease.of("emr-5.36.2").at_least((5, 37, 0), (6, 8, 1))


SECURITY = {"in_transit_encryption": {"disabled_reason": "tests: no certificate authority here"}}


def test_fails_on_spot_core_in_an_environment_that_forbids_it() -> None:
    settings: dict[str, Any] = {
        "environment": "prod",
        "account": "333333333333",
        "security": SECURITY,
        "region": "eu-west-1",
        "availability_zones": ["eu-west-1a"],
        "clusters": {"etl": with_fleet("core", on_demand_capacity=0, spot_capacity=2)},
    }
    with pytest.raises(ValidationError, match=r"Spot capacity on core nodes, which this environment forbids") as raised:
        EnvironmentSettings.model_validate(settings)
    assert "capacity_policy.allow_spot_on_primary_and_core" in str(raised.value)
    allowed = {**settings, "capacity_policy": {"allow_spot_on_primary_and_core": True}}
    assert EnvironmentSettings.model_validate(allowed).clusters["etl"].uses_spot("core")


def test_fails_on_core_growing_onto_spot_through_managed_scaling_caps() -> None:
    data = fleets_spec(
        managed_scaling={
            "unit_type": "InstanceFleetUnits",
            "minimum_capacity_units": 3,
            "maximum_capacity_units": 40,
            "maximum_core_capacity_units": 20,
            "maximum_on_demand_capacity_units": 10,
        }
    )
    settings = {
        "environment": "prod",
        "account": "333333333333",
        "security": SECURITY,
        "region": "eu-west-1",
        "availability_zones": ["eu-west-1a"],
        "clusters": {"etl": data},
    }
    with pytest.raises(ValidationError, match=r"may grow core nodes to 20 units but On-Demand only to 10") as raised:
        EnvironmentSettings.model_validate(settings)
    message = str(settings_error(raised.value, file="prod.yaml"))
    assert message.startswith("prod.yaml: clusters.etl.managed_scaling.maximum_on_demand_capacity_units: "), message


def test_fails_on_a_spot_primary_group_in_an_environment_that_forbids_it() -> None:
    data = groups_spec()
    data["instance_groups"]["primary"]["market"] = "SPOT"
    settings = {
        "environment": "prod",
        "account": "333333333333",
        "security": SECURITY,
        "region": "eu-west-1",
        "availability_zones": ["eu-west-1a"],
        "clusters": {"etl": data},
    }
    with pytest.raises(ValidationError, match=r"Spot capacity on primary nodes"):
        EnvironmentSettings.model_validate(settings)


def test_the_typed_release_is_accepted_for_its_label() -> None:
    assert (
        EmrClusterSpec.model_validate(fleets_spec(release_label=EmrRelease.of("emr-7.12.0"))).release_label
        == "emr-7.12.0"
    )


def test_construct_api_errors_name_field_value_and_fix(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    with pytest.raises(PropError) as raised:
        EmrCluster(
            stack,
            "Cluster",
            spec=fleets_spec(step_concurrency=300, idle_timeout_minutes="soon"),
            placement=placement_of(storage, network),
        )
    lines = str(raised.value).splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("EmrCluster Test/Cluster: spec: idle_timeout_minutes: ")
    assert all("(got " in line and ". Fix: " in line for line in lines), lines


def test_core_fleet_gets_no_spot_specification_unless_spot_is_allowed(
    fleets_cluster: tuple[Template, dict[str, Any]],
) -> None:
    _, props = fleets_cluster
    assert "SpotSpecification" not in props["Instances"]["CoreInstanceFleet"]["LaunchSpecifications"]
    assert "SpotSpecification" in props["Instances"]["TaskInstanceFleets"][0]["LaunchSpecifications"]


def test_tokens_are_not_validated() -> None:
    parsed = EmrClusterSpec.model_validate(
        fleets_spec(
            release_label=Token.as_string("${Token[TOKEN.1]}"),
            instance_fleets={
                "primary": fleet("m7g.xlarge", od=1),
                "core": {
                    "instance_types": [{"instance_type": "${Token[TOKEN.2]}"}],
                    "on_demand_capacity": Token.as_number(-1.8881545897087626e289),
                },
            },
        )
    )
    assert parsed.release is None
    assert parsed.min_core_nodes is None


# --- defaults ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("architecture", ["graviton", "x86"])
def test_fleets_without_instance_types_get_the_architectures_diversified_defaults(architecture: str) -> None:
    data = fleets_spec(
        architecture=architecture,
        instance_fleets={
            "primary": {"on_demand_capacity": 1},
            "core": {"on_demand_capacity": 2},
            "tasks": [{"spot_capacity": 4}],
        },
    )
    parsed = EmrClusterSpec.model_validate(data)
    fleets = parsed.fleets
    assert fleets is not None
    assert len(fleets.tasks[0].instance_types) >= 10
    families = {t.instance_type.split(".")[0] for t in fleets.tasks[0].instance_types}
    assert len(families) >= 5, "diversified across families and generations"
    assert {architecture_of(name) for _, name in parsed.instance_types()} == {architecture}
    assert all(t.weighted_capacity == 1 for t in fleets.primary.instance_types)
    for name, weight in DEFAULT_INSTANCE_TYPES[architecture]["task"]:  # type: ignore[index]
        assert weight == {"2xlarge": 2, "4xlarge": 4, "xlarge": 1}[name.split(".")[1]], "weights follow size"


def test_application_masters_go_to_on_demand_nodes_only_when_both_markets_run_yarn() -> None:
    mixed = EmrClusterSpec.model_validate(fleets_spec())
    [labels] = mixed.resilience_configurations()
    assert labels.properties["yarn.node-labels.am.default-node-label-expression"] == "ON_DEMAND"
    all_spot = EmrClusterSpec.model_validate(with_fleet("core", on_demand_capacity=0, spot_capacity=2))
    assert all_spot.resilience_configurations() == [], "with no On-Demand YARN node, AMs would never start"
    older = EmrClusterSpec.model_validate(fleets_spec(release_label="emr-6.15.0"))
    assert older.application_master_label == "CORE", "before 7.2: on the (On-Demand) core nodes"
    five = EmrClusterSpec.model_validate(
        fleets_spec(
            release_label="emr-5.36.2",
            instance_fleets={
                "primary": fleet("m6g.xlarge", od=1),
                "core": fleet("r6g.xlarge", od=1),
                "tasks": [fleet("m6g.xlarge", spot=2)],
            },
        )
    )
    assert five.resilience_configurations() == [], "5.x keeps AMs on core nodes by default"


# --- templates -----------------------------------------------------------------------------------------------------


FLEETS = fleets_spec(
    primary_placement_strategy=None,
    unhealthy_node_replacement=True,
    ebs_root_volume_size_gib=40,
    ebs_root_volume_iops=4000,
    ebs_root_volume_throughput_mibps=300,
    os_release_label="2023.5.20240624.0",
    hdfs_replication=2,
    instance_fleets={
        "primary": fleet("m7g.xlarge", "m6g.xlarge", od=3),
        "core": {
            "instance_types": [
                {
                    "instance_type": "r7g.2xlarge",
                    "weighted_capacity": 2,
                    "priority": 0,
                    "ebs_volumes": [{"size_gib": 200, "iops": 6000, "throughput_mibps": 250}],
                },
                {
                    "instance_type": "r6g.2xlarge",
                    "weighted_capacity": 2,
                    "priority": 1,
                    "configurations": [
                        {"classification": "yarn-site", "properties": {"yarn.nodemanager.resource.memory-mb": 57344}}
                    ],
                },
            ],
            "on_demand_capacity": 4,
            "on_demand": {
                "allocation_strategy": "prioritized",
                "capacity_reservations": {
                    "usage_strategy": "use-capacity-reservations-first",
                    "resource_group_arn": "arn:aws:resource-groups:eu-west-1:111111111111:group/emr",
                },
            },
            "resize": {"on_demand_timeout_minutes": 30},
        },
        "tasks": [
            {
                "instance_types": [
                    {
                        "instance_type": "m7g.2xlarge",
                        "weighted_capacity": 2,
                        "bid_price_as_percentage_of_on_demand": 80,
                    },
                    {"instance_type": "c7g.2xlarge", "weighted_capacity": 2, "bid_price": "0.30"},
                ],
                "spot_capacity": 8,
                "on_demand_capacity": 2,
                "spot": {
                    "allocation_strategy": "capacity-optimized",
                    "timeout_minutes": 15,
                    "timeout_action": "TERMINATE_CLUSTER",
                },
                "resize": {"spot_timeout_minutes": 20},
            }
        ],
    },
    managed_scaling={
        "unit_type": "InstanceFleetUnits",
        "minimum_capacity_units": 7,
        "maximum_capacity_units": 40,
        "maximum_core_capacity_units": 4,
        "maximum_on_demand_capacity_units": 9,
        "scaling_strategy": "ADVANCED",
        "utilization_performance_index": 25,
    },
)


def _cluster_template(context: dict[str, object], data: dict[str, Any]) -> tuple[Template, dict[str, Any]]:
    stack, storage, network = base_stack(context)
    EmrCluster(
        stack,
        "Cluster",
        spec=EmrClusterSpec.model_validate(data),
        placement=placement_of(storage, network),
    )
    template = Template.from_stack(stack)
    [cluster] = template.find_resources("AWS::EMR::Cluster").values()
    return template, cluster["Properties"]


@pytest.fixture(scope="module")
def fleets_cluster(context: dict[str, object]) -> tuple[Template, dict[str, Any]]:
    return _cluster_template(context, FLEETS)


@pytest.fixture(scope="module")
def groups_cluster(context: dict[str, object]) -> tuple[Template, dict[str, Any]]:
    return _cluster_template(context, groups_spec(architecture="graviton"))


def test_fleet_features_reach_the_template(fleets_cluster: tuple[Template, dict[str, Any]]) -> None:
    _, props = fleets_cluster
    instances = props["Instances"]
    core, task = instances["CoreInstanceFleet"], instances["TaskInstanceFleets"][0]
    assert core["LaunchSpecifications"]["OnDemandSpecification"] == {
        "AllocationStrategy": "prioritized",
        "CapacityReservationOptions": {
            "UsageStrategy": "use-capacity-reservations-first",
            "CapacityReservationResourceGroupArn": "arn:aws:resource-groups:eu-west-1:111111111111:group/emr",
        },
    }
    assert [t["Priority"] for t in core["InstanceTypeConfigs"]] == [0, 1]
    assert core["InstanceTypeConfigs"][0]["EbsConfiguration"]["EbsBlockDeviceConfigs"][0]["VolumeSpecification"] == {
        "SizeInGB": 200,
        "VolumeType": "gp3",
        "Iops": 6000,
        "Throughput": 250,
    }
    assert core["InstanceTypeConfigs"][1]["Configurations"] == [
        {"Classification": "yarn-site", "ConfigurationProperties": {"yarn.nodemanager.resource.memory-mb": "57344"}}
    ]
    assert core["ResizeSpecifications"]["OnDemandResizeSpecification"]["TimeoutDurationMinutes"] == 30
    assert task["ResizeSpecifications"] == {
        "SpotResizeSpecification": {"TimeoutDurationMinutes": 20, "AllocationStrategy": "capacity-optimized"}
    }
    assert task["LaunchSpecifications"]["SpotSpecification"] == {
        "AllocationStrategy": "capacity-optimized",
        "TimeoutAction": "TERMINATE_CLUSTER",
        "TimeoutDurationMinutes": 15,
    }
    assert task["InstanceTypeConfigs"][0]["BidPriceAsPercentageOfOnDemandPrice"] == 80
    assert task["InstanceTypeConfigs"][1]["BidPrice"] == "0.30"
    assert (task["TargetOnDemandCapacity"], task["TargetSpotCapacity"]) == (2, 8)
    assert instances["MasterInstanceFleet"]["TargetOnDemandCapacity"] == 3
    assert "SpotSpecification" not in instances["MasterInstanceFleet"]["LaunchSpecifications"]


def test_cluster_features_reach_the_template(fleets_cluster: tuple[Template, dict[str, Any]]) -> None:
    _, props = fleets_cluster
    assert props["Instances"]["UnhealthyNodeReplacement"] is True
    assert props["PlacementGroupConfigs"] == [{"InstanceRole": "MASTER", "PlacementStrategy": "SPREAD"}], (
        "3 primaries are spread over distinct hardware by default"
    )
    assert (props["EbsRootVolumeSize"], props["EbsRootVolumeIops"], props["EbsRootVolumeThroughput"]) == (40, 4000, 300)
    assert props["OSReleaseLabel"] == "2023.5.20240624.0"
    assert props["ManagedScalingPolicy"] == {
        "ComputeLimits": {
            "UnitType": "InstanceFleetUnits",
            "MinimumCapacityUnits": 7,
            "MaximumCapacityUnits": 40,
            "MaximumCoreCapacityUnits": 4,
            "MaximumOnDemandCapacityUnits": 9,
        },
        "ScalingStrategy": "ADVANCED",
        "UtilizationPerformanceIndex": 25,
    }
    by_class = {c["Classification"]: c.get("ConfigurationProperties", {}) for c in props["Configurations"]}
    assert by_class["hdfs-site"] == {"dfs.replication": "2"}
    assert by_class["yarn-site"]["yarn.node-labels.am.default-node-label-expression"] == "ON_DEMAND"
    assert "AutoScalingRole" not in props


def test_custom_ami_reaches_the_template(context: dict[str, object]) -> None:
    _, props = _cluster_template(context, fleets_spec(custom_ami_id="ami-0123456789abcdef0"))
    assert props["CustomAmiId"] == "ami-0123456789abcdef0"


def test_group_autoscaling_reaches_the_template_with_its_role(groups_cluster: tuple[Template, dict[str, Any]]) -> None:
    template, props = groups_cluster
    [task] = props["Instances"]["TaskInstanceGroups"]
    policy = task["AutoScalingPolicy"]
    assert policy["Constraints"] == {"MinCapacity": 0, "MaxCapacity": 10}
    out, scale_in = policy["Rules"]
    assert out["Action"]["SimpleScalingPolicyConfiguration"] == {
        "AdjustmentType": "CHANGE_IN_CAPACITY",
        "ScalingAdjustment": 1,
        "CoolDown": 300,
    }
    alarm = out["Trigger"]["CloudWatchAlarmDefinition"]
    assert (alarm["MetricName"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "YARNMemoryAvailablePercentage",
        "LESS_THAN",
        15,
    )
    # CloudFormation turns "${!x}" into the literal "${x}", which EMR replaces with the cluster's ID.
    assert alarm["Dimensions"] == [{"Key": "JobFlowId", "Value": {"Fn::Sub": "${!emr.clusterId}"}}]
    assert scale_in["Trigger"]["CloudWatchAlarmDefinition"]["EvaluationPeriods"] == 3
    assert task["Market"] == "SPOT"
    assert "AutoScalingRole" in props
    roles = template.find_resources("AWS::IAM::Role")
    [autoscaling] = [r for r in roles.values() if "AmazonElasticMapReduceforAutoScalingRole" in json.dumps(r)]
    services = {s["Principal"]["Service"] for s in autoscaling["Properties"]["AssumeRolePolicyDocument"]["Statement"]}
    assert services == {"elasticmapreduce.amazonaws.com", "application-autoscaling.amazonaws.com"}


def test_cfn_lint_reports_no_errors_on_fleets_and_groups(
    fleets_cluster: tuple[Template, dict[str, Any]],
    groups_cluster: tuple[Template, dict[str, Any]],
    tmp_path: Path,
) -> None:
    paths = []
    for name, (template, _) in (("fleets", fleets_cluster), ("groups", groups_cluster)):
        path = tmp_path / f"{name}.template.json"
        path.write_text(json.dumps(template.to_json()), encoding="utf-8")
        paths.append(path)
    assert cfn_lint_errors(*paths) == []


def test_the_docs_capacity_examples_are_valid_settings() -> None:
    # docs/capacity.md documents one example per feature: each must pass the schema it documents.
    page = (PROJECT / "docs" / "capacity.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b.split("```", 1)[0]) for b in page.split("```yaml\n")[1:]]
    assert len(blocks) == 3
    fleets, groups, scaling = blocks
    base = {"release_label": "emr-7.13.0"}
    EmrClusterSpec.model_validate({**base, **fleets, **scaling})
    EmrClusterSpec.model_validate({**base, **groups})


def test_fails_on_runtime_roles_with_a_release_without_them() -> None:
    settings = {
        "environment": "prod",
        "account": "333333333333",
        "region": "eu-west-1",
        "availability_zones": ["eu-west-1a"],
        "security": {
            **SECURITY,
            "runtime_roles": {"role_arns": ["arn:aws:iam::333333333333:role/steps"], "lake_formation": True},
        },
        # Lake Formation needs its endpoint in a VPC without NAT (tests/test_aws_rules.py).
        "network": {"interface_endpoints": [*DEFAULT_INTERFACE_ENDPOINTS, "lakeformation"]},
        "clusters": {"etl": fleets_spec(release_label="emr-6.15.0")},
    }
    EnvironmentSettings.model_validate(settings)  # 6.15 has both
    settings["clusters"] = {
        "etl": fleets_spec(
            release_label="emr-5.36.2",
            instance_fleets={"primary": fleet("m6g.xlarge", od=1), "core": fleet("r6g.xlarge", od=1)},
        )
    }
    with pytest.raises(ValidationError) as raised:
        EnvironmentSettings.model_validate(settings)
    message = str(settings_error(raised.value, file="prod.yaml"))
    assert message.startswith("prod.yaml: clusters.etl.release_label: emr-5.36.2 has no runtime roles with Lake"), (
        message
    )
