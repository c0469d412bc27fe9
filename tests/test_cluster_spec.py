"""The typed cluster spec rejects what EMR would reject at launch, each with the field, the value and the fix."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from emr_platform import EmrClusterSpec, EmrRelease
from emr_platform.spec.capacity import InstanceFleetSpec, ManagedScalingSpec
from emr_platform.spec.catalog import catalog


def fleet(*types: str, od: int = 0, spot: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "instance_types": [{"instance_type": t} for t in types],
        "on_demand_capacity": od,
        "spot_capacity": spot,
        **extra,
    }


def spec(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "release_label": "emr-7.13.0",
        "instance_fleets": {
            "primary": fleet("m7g.xlarge", od=1),
            "core": fleet("r7g.xlarge", "r6g.xlarge", od=2),
            "tasks": [fleet("m7g.xlarge", spot=4)],
        },
    }
    base.update(overrides)
    return base


def groups(primary: int = 1, core: int = 2) -> dict[str, Any]:
    return {
        "primary": {"instance_type": "m7g.xlarge", "instance_count": primary},
        "core": {"instance_type": "r7g.xlarge", "instance_count": core},
    }


def test_a_valid_spec_keeps_its_values_and_safe_defaults() -> None:
    parsed = EmrClusterSpec.model_validate(spec())
    assert parsed.release == EmrRelease.of("emr-7.13.0")
    assert parsed.termination_protection is True
    assert parsed.idle_timeout_minutes == 60
    assert parsed.canonical_applications == ("Hadoop", "Spark", "Hive", "Livy")
    assert parsed.instance_fleets is not None
    assert parsed.instance_fleets.tasks[0].spot.allocation_strategy == "price-capacity-optimized"
    assert parsed.instance_fleets.tasks[0].spot.timeout_action == "SWITCH_TO_ON_DEMAND"


def test_application_names_are_matched_case_insensitively() -> None:
    parsed = EmrClusterSpec.model_validate(spec(applications=["hadoop", "SPARK", "trino"]))
    assert parsed.canonical_applications == ("Hadoop", "Spark", "Trino")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"instance_groups": groups()}, "set exactly one of instance_fleets and instance_groups (both are set)"),
        ({"instance_fleets": None}, "(neither is set)"),
        (
            {"instance_fleets": {"primary": fleet("m7g.xlarge", od=2), "core": fleet("r7g.xlarge", od=1)}},
            "the primary fleet's target capacity must be 1 (or 3 for high availability), got 2",
        ),
        (
            {"instance_fleets": {"primary": fleet("m7g.xlarge", od=1, spot=1), "core": fleet("r7g.xlarge", od=1)}},
            "sets both on_demand_capacity and spot_capacity",
        ),
        (
            {"instance_fleets": {"primary": fleet("m7g.xlarge", od=1), "core": fleet("r7g.xlarge")}},
            "the core fleet has no capacity",
        ),
        (
            {
                "instance_fleets": {
                    "primary": fleet("m7g.xlarge", od=1),
                    "core": fleet("r7g.xlarge", od=1),
                    "tasks": [fleet("m7g.xlarge", spot=1), fleet("c7g.xlarge", spot=1)],
                }
            },
            "a cluster takes at most 1 task fleet(s)",
        ),
        (
            {"release_label": "emr-5.36.2", "applications": ["Spark", "Trino"]},
            "emr-5.36.2 does not ship the application 'Trino'",
        ),
        ({"applications": ["Spark", "PrestoSQL"]}, "ships Presto's successor as 'Trino'"),
        ({"applications": ["Spark", "spark"]}, "an application is listed twice"),
        ({"release_label": "emr-6.0.9"}, "'emr-6.0.9' is not an EMR release label"),
        ({"release_label": "emr-7.14"}, "did you mean emr-7.14.0"),
        ({"release_label": "emr-6.0.0"}, "emr-6.0.0 does not run on Graviton"),
        ({"applications": ["Spark", "Iceberg"]}, "switch it on with the classification iceberg-defaults"),
        ({"configurations": [{"classification": "spark-default"}]}, "did you mean spark-defaults"),
        ({"idle_timeout_minutes": 10081}, "less than or equal to 10080"),
        ({"step_concurrency": 257}, "less than or equal to 256"),
        ({"step_concurrency": 0}, "greater than or equal to 1"),
        ({"ebs_root_volume_size_gib": 101}, "less than or equal to 100"),
        ({"ebs_root_volume_size_gib": 10}, "greater than or equal to 15"),
        (
            {"managed_scaling": {"unit_type": "Instances", "minimum_capacity_units": 1, "maximum_capacity_units": 4}},
            "managed_scaling.unit_type 'Instances' does not fit instance fleets",
        ),
        (
            {
                "instance_fleets": None,
                "instance_groups": groups(),
                "managed_scaling": {
                    "unit_type": "InstanceFleetUnits",
                    "minimum_capacity_units": 1,
                    "maximum_capacity_units": 4,
                },
            },
            "does not fit instance groups",
        ),
        ({"instance_fleets": None, "instance_groups": groups(primary=2)}, "primary group must have 1 (or 3"),
        ({"instance_fleets": None, "instance_groups": groups(core=0)}, "the core group has no instances"),
        ({"configurations": [{"classification": "spark defaults"}]}, "should match pattern"),
        ({"bootstrap_actions": [{"name": "x", "script": "../etc/passwd"}]}, "neither an s3:// URI nor a relative path"),
        ({"bootstrap_actions": [{"name": "x", "script": "s3://B/x.sh"}]}, "not a valid S3 URI"),
    ],
)
def test_fails_on_what_emr_would_reject(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        EmrClusterSpec.model_validate(spec(**overrides))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"instance_types": [{"instance_type": f"m7g.{i}xlarge"} for i in range(2, 33)]}, "at most 30 instance types"),
        ({"instance_types": [{"instance_type": "m7g.xlarge"}, {"instance_type": "m7g.xlarge"}]}, "listed twice"),
        ({"instance_types": [{"instance_type": "m7g.xlarge", "weighted_capacity": 0}]}, "greater than or equal to 1"),
        ({"instance_types": [{"instance_type": "M7G.XLARGE"}]}, "not an EC2 instance type"),
        (
            {"instance_types": [{"instance_type": "m7g.xlarge"}], "spot": {"timeout_minutes": 4}},
            "greater than or equal to 5",
        ),
        ({"instance_types": [{"instance_type": "m7g.xlarge"}], "spot_capacity": True}, "valid integer"),
    ],
)
def test_fleet_fails_on_bad_instance_types(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        InstanceFleetSpec.model_validate(fields)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"minimum_capacity_units": 5, "maximum_capacity_units": 4}, "minimum_capacity_units (5) is above maximum"),
        ({"maximum_core_capacity_units": 9}, "maximum_core_capacity_units (9) is above maximum_capacity_units (8)"),
        ({"maximum_on_demand_capacity_units": 9}, "maximum_on_demand_capacity_units (9) is above"),
    ],
)
def test_managed_scaling_fails_on_inconsistent_limits(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"unit_type": "InstanceFleetUnits", "minimum_capacity_units": 2, "maximum_capacity_units": 8}
    with pytest.raises(ValidationError) as raised:
        ManagedScalingSpec.model_validate({**base, **fields})
    assert message in str(raised.value)


def test_every_emr_release_ships_hadoop_and_spark_and_the_spark_runtime_ships_spark() -> None:
    for label in catalog().labels:
        release = EmrRelease.of(label)
        wanted = {"Hadoop", "Spark", "Hive"} if release.family == "emr" and release.version >= (5, 0, 0) else {"Spark"}
        assert wanted <= release.applications, label
    assert "Trino" not in EmrRelease.of("emr-5.36.2").applications
    assert "Sqoop" not in EmrRelease.of("emr-7.13.0").applications
