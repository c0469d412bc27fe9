"""Property-based: any settings file either synthesizes to templates cfn-lint accepts, or is rejected with the
project's own error (file, field, value, fix). Never a traceback of any other kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from emr_platform.spec.errors import EmrPlatformError
from emr_platform.spec.settings import EnvironmentSettings
from emr_platform.spec.validation import settings_error
from emr_platform.stacks import EmrPlatformStack

from .conftest import PROPERTY_CASES, cfn_lint_errors

GRAVITON = ["m7g.xlarge", "m7g.2xlarge", "r7g.2xlarge", "c7g.4xlarge", "m6g.xlarge"]
X86 = ["m7i.xlarge", "r6i.2xlarge", "m5.xlarge", "c7i.2xlarge"]
APPS = ["Hadoop", "Spark", "Hive", "Livy", "HBase", "Flink", "Tez"]

# One mistake a user might make, applied to an otherwise valid environment: (path, bad value).
FAULTS: list[tuple[tuple[str, ...], Any]] = [
    (("clusters", "etl", "release_label"), "emr-9.9.9"),
    (("clusters", "etl", "applications"), ["Hadoop", "Sqoop"]),
    (("clusters", "etl", "idle_timeout_minutes"), 0),
    (("clusters", "etl", "step_concurrency"), 300),
    (("clusters", "etl", "architecture"), "arm"),
    (("clusters", "etl", "tags"), {"team": 3}),
    (("security", "in_transit_encryption"), {}),
    (("account",), "12345"),
    (("availability_zones",), ["us-west-2a"]),
    (("clusters", "etl", "unknown_setting"), True),
]


@st.composite
def environments(draw: st.DrawFn) -> dict[str, Any]:
    architecture = draw(st.sampled_from(["graviton", "x86"]))
    types = GRAVITON if architecture == "graviton" else X86
    release = draw(st.sampled_from(["emr-7.13.0", "emr-7.12.0", "emr-6.15.0"]))
    cluster: dict[str, Any] = {
        "release_label": release,
        "architecture": architecture,
        "applications": draw(st.lists(st.sampled_from(APPS), min_size=1, max_size=4, unique=True)),
        "idle_timeout_minutes": draw(st.sampled_from([None, 30, 600])),
        "step_concurrency": draw(st.integers(1, 256)),
    }
    fleets = draw(st.booleans())
    if fleets:

        def fleet(on_demand: int, spot: int, role: str) -> dict[str, Any]:
            chosen = draw(st.lists(st.sampled_from(types), max_size=4, unique=True))  # empty: the defaults
            weights = st.just(1) if role == "primary" else st.integers(1, 4)
            return {
                "instance_types": [{"instance_type": t, "weighted_capacity": draw(weights)} for t in chosen],
                "on_demand_capacity": on_demand,
                "spot_capacity": spot,
            }

        cluster["instance_fleets"] = {
            "primary": fleet(draw(st.sampled_from([1, 3])), 0, "primary"),
            "core": fleet(draw(st.integers(1, 6)), 0, "core"),
            "tasks": [fleet(0, draw(st.integers(0, 20)), "task") for _ in range(draw(st.integers(0, 1)))],
        }
    else:
        cluster["instance_groups"] = {
            "primary": {"instance_type": draw(st.sampled_from(types)), "instance_count": 1},
            "core": {"instance_type": draw(st.sampled_from(types)), "instance_count": draw(st.integers(1, 4))},
            "tasks": [
                {
                    "instance_type": draw(st.sampled_from(types)),
                    "instance_count": draw(st.integers(0, 4)),
                    "market": "SPOT",
                }
                for _ in range(draw(st.integers(0, 2)))
            ],
        }
    if draw(st.booleans()):
        low = draw(st.integers(1, 20))
        high = low + draw(st.integers(0, 40))
        cluster["managed_scaling"] = {
            "unit_type": "InstanceFleetUnits" if fleets else draw(st.sampled_from(["Instances", "VCPU"])),
            "minimum_capacity_units": low,
            "maximum_capacity_units": high,
        }
    region = draw(st.sampled_from(["eu-west-1", "us-east-1"]))
    data: dict[str, Any] = {
        "environment": "prop",
        "account": "555555555555",
        "region": region,
        "availability_zones": [f"{region}a", f"{region}b"],
        "security": {
            "in_transit_encryption": draw(
                st.sampled_from(
                    [
                        {"certificates_zip": "s3://pki-bucket/emr/certs.zip"},
                        {"disabled_reason": "property-based test environment without a CA"},
                    ]
                )
            ),
            **({"kerberos": {}} if draw(st.booleans()) else {}),
        },
        "clusters": {"etl": cluster},
    }
    if draw(st.integers(0, 2)) == 0:  # a third of the cases carry one mistake
        path, value = draw(st.sampled_from(FAULTS))
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return data


def test_settings_synthesize_or_fail_with_the_projects_error(context: dict[str, object], tmp_path: Path) -> None:
    synthesized: list[Path] = []

    @settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(environments())
    def case(data: dict[str, Any]) -> None:
        PROPERTY_CASES["generated"] += 1
        try:
            parsed = EnvironmentSettings.model_validate(data)
        except ValidationError as error:
            message = str(settings_error(error, file="prop.yaml"))
            assert message.startswith("prop.yaml") and ". Fix: " in message, message
            PROPERTY_CASES["rejected"] += 1
            return
        app = App(context=context)
        try:
            stack = EmrPlatformStack(app, f"prop-{len(synthesized)}", settings=parsed)
        except EmrPlatformError as error:
            assert ". Fix: " in str(error), error
            PROPERTY_CASES["rejected"] += 1
            return
        path = tmp_path / f"prop-{len(synthesized)}.template.json"
        path.write_text(json.dumps(Template.from_stack(stack).to_json()), encoding="utf-8")
        synthesized.append(path)
        PROPERTY_CASES["synthesized"] += 1

    case()
    assert synthesized, "no generated settings were valid: the strategy needs more valid cases"
    assert cfn_lint_errors(*synthesized) == []
