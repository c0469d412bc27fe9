"""AWS's own rules (emr_platform.spec.aws_rules): each class fails at settings time with one line naming the field,
the value and the fix, and the value at AWS's limit still passes. The data the rules read is checked against the
packages it was taken from (moto, aws-cdk-lib) and the constructs whose behaviour it describes."""

from __future__ import annotations

import copy
import json
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from pydantic import ValidationError

from emr_platform.constructs import EMR_MANAGED_POLICY_TAG, EmrNetwork
from emr_platform.constructs.transient import EXECUTION_TAG
from emr_platform.spec import aws_rules
from emr_platform.spec.settings import DEFAULT_INTERFACE_ENDPOINTS, EnvironmentSettings
from emr_platform.spec.transient import TRANSIENT_TAG
from emr_platform.spec.validation import settings_error
from tests.conftest import pinned_stack

Settings = dict[str, Any]
# The script that writes the data files (run as a module, not as __main__: it writes nothing).
DATA_SCRIPT = runpy.run_path(str(Path(__file__).resolve().parent.parent / "scripts" / "aws_rules_data.py"))


def _groups(core: int = 2) -> dict[str, Any]:
    return {
        "primary": {"instance_type": "m7g.xlarge", "instance_count": 1},
        "core": {"instance_type": "r7g.xlarge", "instance_count": core},
    }


BASE: Settings = {
    "environment": "dev",
    "account": "111111111111",
    "region": "eu-west-1",
    "availability_zones": ["eu-west-1a", "eu-west-1b"],
    "security": {"in_transit_encryption": {"disabled_reason": "tests: no certificate authority here"}},
    "clusters": {"etl": {"release_label": "emr-7.13.0", "instance_groups": _groups()}},
}


def _with(path: str, value: Any) -> Settings:
    """BASE with ``value`` at the dotted ``path`` (intermediate mappings created)."""
    settings = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = settings
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return settings


def _transient(cluster: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "cluster": {"release_label": "emr-7.13.0", "instance_groups": _groups(), **(cluster or {})},
        "steps": [{"name": "run", "script": "s3://bucket/job.py"}],
        **extra,
    }


def _fleet_cluster(**scaling: Any) -> dict[str, Any]:
    return {
        "release_label": "emr-7.13.0",
        "instance_fleets": {
            "primary": {"instance_types": [{"instance_type": "m7g.xlarge"}], "on_demand_capacity": 1},
            "core": {"instance_types": [{"instance_type": "r7g.xlarge"}], "on_demand_capacity": 2},
        },
        "managed_scaling": {"unit_type": "InstanceFleetUnits", "minimum_capacity_units": 2, **scaling},
    }


def _one_line(settings: Settings) -> str:
    """The settings' error as the loader prints it: exactly one line, with a fix."""
    with pytest.raises(ValidationError) as raised:
        EnvironmentSettings.model_validate(settings)
    message = str(settings_error(raised.value, file="dev.yaml"))
    assert len(message.splitlines()) == 1, message
    assert ". Fix: " in message, message
    return message


def _tags(count: int, prefix: str = "t") -> dict[str, str]:
    return {f"{prefix}{i}": "v" for i in range(count)}


CLUSTER = "clusters.etl"
CORE = f"{CLUSTER}.instance_groups.core"
GP3 = {"instance_type": "r7g.xlarge", "instance_count": 2}

# (id, settings, parts the one line must contain: the field, the value, the problem or the fix)
FAILING: list[tuple[str, Settings, list[str]]] = [
    # 1. ranges of the EMR and EC2 APIs
    ("int32 count", _with(f"{CORE}.instance_count", 2**31), [f"{CORE}.instance_count", "2147483648", "2147483647"]),
    (
        "int32 scaling",
        _with("clusters.etl", _fleet_cluster(maximum_capacity_units=2**31)),
        ["managed_scaling.maximum_capacity_units", "2147483648"],
    ),
    ("step concurrency", _with(f"{CLUSTER}.step_concurrency", 257), [f"{CLUSTER}.step_concurrency", "257"]),
    ("idle timeout", _with(f"{CLUSTER}.idle_timeout_minutes", 10081), [f"{CLUSTER}.idle_timeout_minutes", "10081"]),
    (
        "bootstrap actions",
        _with(f"{CLUSTER}.bootstrap_actions", [{"name": f"b{i}", "script": "s3://bucket/b.sh"} for i in range(17)]),
        [f"{CLUSTER}.bootstrap_actions", "at most 16"],
    ),
    # 2. names and tags
    ("tag newline", _with("tags", {"team": "a\nb"}), ["tags.team", "not a valid AWS tag value"]),
    ("tag key length", _with("tags", {"k" * 129: "v"}), ["tags.kkkk", "not a valid AWS tag key"]),
    ("cluster tag aws:", _with(f"{CLUSTER}.tags", {"aws:x": "v"}), [f"{CLUSTER}.tags.aws:x", "reserved 'aws:'"]),
    ("tag case", _with("tags", {"Team": "a", "team": "b"}), ["tags.team", "differ only by case"]),
    (
        "package tag",
        _with("tags", {EMR_MANAGED_POLICY_TAG[0]: "false"}),
        [f"tags.{EMR_MANAGED_POLICY_TAG[0]}", "set by the package itself"],
    ),
    (
        "50 tags on a cluster",
        {**_with("tags", _tags(25, "e")), "clusters": {"etl": {**BASE["clusters"]["etl"], "tags": _tags(25, "c")}}},
        [f"{CLUSTER}.tags", "51 tags (1 set by the package)", "remove at least 1"],
    ),
    (
        "50 tags on a transient cluster",
        {**_with("tags", _tags(48)), "transient_clusters": {"run": _transient()}},
        ["transient_clusters.run.cluster.tags", "51 tags (3 set by the package)"],
    ),
    (
        "step name control",
        _with(
            "transient_clusters",
            {
                "run": _transient(
                    steps=[{"name": "bell\x07", "script": "s3://b/j.py"}, {"name": "ok", "script": "s3://b/j.py"}]
                )
            },
        ),
        # Two steps: with one, pydantic also reports the tuple's min_length (a second line, not this rule's).
        ["transient_clusters.run.steps[0].name", "control character"],
    ),
    (
        "fleet name control",
        _with(
            "clusters.etl",
            {**_fleet_cluster(maximum_capacity_units=4), "managed_scaling": None}
            | {
                "instance_fleets": {
                    **_fleet_cluster()["instance_fleets"],
                    "core": {**_fleet_cluster()["instance_fleets"]["core"], "name": "core\x00"},
                }
            },
        ),
        ["instance_fleets.core.name", "control character"],
    ),
    (
        "bootstrap name length",
        _with(f"{CLUSTER}.bootstrap_actions", [{"name": "b" * 257, "script": "s3://bucket/b.sh"}]),
        [f"{CLUSTER}.bootstrap_actions[0].name", "256"],
    ),
    (
        "transient name length",
        _with("transient_clusters", {"run": _transient({"name": "n" * 176})}),
        ["transient_clusters.run.cluster.name", "at most 175 characters", "got 176"],
    ),
    # 3. regions and zones
    ("region", _with("region", "eu-wst-1"), ["region", "'eu-wst-1'", "not an AWS region", "did you mean 'eu-west-1'"]),
    ("zone", _with("availability_zones", ["eu-west-1d"]), ["availability_zones[0]", "'eu-west-1d'", "eu-west-1a"]),
    ("zone id", _with("availability_zones", ["euw1-az1"]), ["availability_zones[0]", "zone ID", "eu-west-1a"]),
    ("zone twice", _with("availability_zones", ["eu-west-1a", "eu-west-1a"]), ["availability_zones[1]", "twice"]),
    # 4. VPC CIDR and subnet sizing
    ("vpc /8", _with("network.vpc_cidr", "10.0.0.0/8"), ["network.vpc_cidr", "'10.0.0.0/8'", "/16 to /28"]),
    ("vpc host bits", _with("network.vpc_cidr", "10.0.0.1/16"), ["network.vpc_cidr", "'10.0.0.1/16'", "CIDR"]),
    ("subnets fit", _with("network.vpc_cidr", "10.0.0.0/20"), ["network.vpc_cidr", "2 zone(s)", "use a /19"]),
    (
        "existing vpc /29",
        _with(
            "network.existing_vpc",
            {
                "vpc_id": "vpc-0123456789abcdef0",
                "vpc_cidr": "10.0.0.0/29",
                "private_subnet_ids": ["subnet-01234567", "subnet-89abcdef"],
            },
        ),
        ["network.existing_vpc.vpc_cidr", "/29"],
    ),
    (
        "existing vpc subnet twice",
        _with(
            "network.existing_vpc",
            {
                "vpc_id": "vpc-0123456789abcdef0",
                "vpc_cidr": "10.0.0.0/16",
                "private_subnet_ids": ["subnet-01234567", "subnet-01234567"],
            },
        ),
        ["network.existing_vpc.private_subnet_ids", "twice"],
    ),
    (
        "subnet addresses",
        _with("clusters.etl", _fleet_cluster(maximum_capacity_units=5000)),
        ["clusters.etl", "4091 usable addresses"],
    ),
    # 5. EBS volume types
    *(
        (f"ebs {name}", _with(CORE, {**GP3, "ebs_volumes": [volume]}), [f"{CORE}.ebs_volumes[0]", problem])
        for name, volume, problem in (
            ("gp3 iops", {"size_gib": 500, "iops": 80001}, "3000-80000 IOPS, got 80001"),
            ("gp3 per gib", {"size_gib": 10, "iops": 6000}, "above gp3's 500 IOPS per GiB"),
            ("gp3 per iops", {"size_gib": 100, "iops": 4000, "throughput_mibps": 1001}, "0.25 MiB/s per IOPS"),
            ("gp2 size", {"size_gib": 16385, "volume_type": "gp2"}, "gp2 volumes are 1-16384 GiB, got 16385"),
            ("io1 size", {"size_gib": 3, "volume_type": "io1", "iops": 100}, "io1 volumes are 4-16384 GiB"),
            ("io1 iops", {"size_gib": 2000, "volume_type": "io1", "iops": 64001}, "100-64000 IOPS"),
            ("io1 per gib", {"size_gib": 100, "volume_type": "io1", "iops": 5001}, "50 IOPS per GiB"),
            ("io2 per gib", {"size_gib": 100, "volume_type": "io2", "iops": 100001}, "1000 IOPS per GiB"),
            ("st1 size", {"size_gib": 124, "volume_type": "st1"}, "st1 volumes are 125-16384 GiB"),
            ("sc1 iops", {"size_gib": 500, "volume_type": "sc1", "iops": 500}, "iops is set on a sc1 volume"),
            ("standard size", {"size_gib": 1025, "volume_type": "standard"}, "standard volumes are 1-1024 GiB"),
        )
    ),
    (
        "gp3 throughput",
        _with(CORE, {**GP3, "ebs_volumes": [{"size_gib": 100, "iops": 16000, "throughput_mibps": 2001}]}),
        ["throughput_mibps", "2001"],
    ),
    # 6. endpoint services
    (
        "endpoint typo",
        _with("network.interface_endpoints", [*DEFAULT_INTERFACE_ENDPOINTS, "secretmanager"]),
        [f"network.interface_endpoints[{len(DEFAULT_INTERFACE_ENDPOINTS)}]", "did you mean 'secretsmanager'"],
    ),
    ("endpoint s3", _with("network.interface_endpoints", [*DEFAULT_INTERFACE_ENDPOINTS, "s3"]), ["gateway endpoint"]),
    (
        "endpoint twice",
        _with("network.interface_endpoints", [*DEFAULT_INTERFACE_ENDPOINTS, "sts"]),
        ["interface endpoint 'sts' and 'sts'", "rename one"],
    ),
    # 7. schedules
    *(
        (f"glue {expr}", _with("catalog.crawler_schedule", expr), ["catalog.crawler_schedule", repr(expr), fix])
        for expr, fix in (
            ("cron(0 3 * * *)", "cron(0 3 * * ? *)"),
            ("rate(1 day)", "Glue takes cron() schedules only"),
            ("cron(0 3 * * MON *)", "exactly one of day-of-month and day-of-week"),
            ("cron(60 3 * * ? *)", "minutes '60'"),
            ("cron(0 3 ? * 8 *)", "day-of-week '8'"),
            ("cron(0 3 * FOO ? *)", "month 'FOO'"),
            ("0 3 * * ? *", "not a Glue schedule expression"),
        )
    ),
    (
        "eventbridge rate",
        _with("transient_clusters", {"run": _transient(schedule="rate(1 days)")}),
        ["transient_clusters.run.schedule", "'rate(1 days)'", "rate(1 day)"],
    ),
    # 8. networks nodes cannot work from
    ("no endpoints", _with("network.interface_endpoints", []), ["network.interface_endpoints", "'elasticmapreduce'"]),
    (
        "no session manager endpoints",
        _with("network.interface_endpoints", [s for s in DEFAULT_INTERFACE_ENDPOINTS if s != "ssmmessages"]),
        ["'ssmmessages'", "Session Manager"],
    ),
    (
        "no secrets endpoint",
        _with("network.interface_endpoints", [s for s in DEFAULT_INTERFACE_ENDPOINTS if s != "secretsmanager"])
        | {
            "integrations": {
                "databases": [
                    {
                        "security_group_id": "sg-0123456789abcdef0",
                        "port": 5432,
                        "secret_arn": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db",
                    }
                ]
            }
        },
        ["'secretsmanager'", "integrations.databases"],
    ),
    (
        "no redshift endpoint",
        _with("integrations", {"redshift": {"cluster_identifier": "dw", "database": "db", "db_user": "emr"}}),
        ["'redshift'", "integrations.redshift"],
    ),
    # 9. settings the compliance gates can never pass
    ("nat gateways", _with("network.nat_gateways", 1), ["network.nat_gateways", "(got 1)", "PCI DSS"]),
    # 10. names that collide once normalized
    (
        "clusters collide",
        {**BASE, "clusters": {"etl-a": BASE["clusters"]["etl"], "etla": BASE["clusters"]["etl"]}},
        ["clusters.etla", "'etla' and 'etl-a' (clusters.etl-a)", "rename one"],
    ),
    (
        "cluster and transient collide",
        {**BASE, "clusters": {"etl-a": BASE["clusters"]["etl"]}, "transient_clusters": {"etla": _transient()}},
        ["transient_clusters.etla", "'etl-a'"],
    ),
]


@pytest.mark.parametrize(("settings", "expected"), [c[1:] for c in FAILING], ids=[c[0] for c in FAILING])
def test_fails_on_what_aws_would_reject(settings: Settings, expected: list[str]) -> None:
    message = _one_line(settings)
    for part in expected:
        assert part in message, message


PASSING: list[tuple[str, Settings]] = [
    ("step concurrency 256", _with(f"{CLUSTER}.step_concurrency", 256)),
    ("idle timeout 7 days", _with(f"{CLUSTER}.idle_timeout_minutes", 10080)),
    ("int32 max", _with("clusters.etl", _fleet_cluster(maximum_capacity_units=4000))),
    ("tag limits", _with("tags", {"k" * 128: "v" * 256, "ünïcode ÿ": "a b_.:/=+-@ 7"})),
    (
        "50 tags",
        {**_with("tags", _tags(30, "e")), "clusters": {"etl": {**BASE["clusters"]["etl"], "tags": _tags(19, "c")}}},
    ),
    ("47 tags and a transient", {**_with("tags", _tags(47)), "transient_clusters": {"run": _transient()}}),
    ("transient name 175", _with("transient_clusters", {"run": _transient({"name": "n" * 175})})),
    ("vpc /20 one zone", {**_with("network.vpc_cidr", "10.0.0.0/20"), "availability_zones": ["eu-west-1a"]}),
    ("vpc /19 two zones", _with("network.vpc_cidr", "10.0.0.0/19")),
    ("gp3 limits", _with(CORE, {**GP3, "ebs_volumes": [{"size_gib": 16384, "iops": 80000, "throughput_mibps": 2000}]})),
    ("gp3 baseline on 1 GiB", _with(CORE, {**GP3, "ebs_volumes": [{"size_gib": 1, "iops": 3000}]})),
    ("io2 limits", _with(CORE, {**GP3, "ebs_volumes": [{"size_gib": 65536, "volume_type": "io2", "iops": 256000}]})),
    ("io1 limits", _with(CORE, {**GP3, "ebs_volumes": [{"size_gib": 1280, "volume_type": "io1", "iops": 64000}]})),
    ("sc1 minimum", _with(CORE, {**GP3, "ebs_volumes": [{"size_gib": 125, "volume_type": "sc1"}]})),
    ("more endpoints", _with("network.interface_endpoints", [*DEFAULT_INTERFACE_ENDPOINTS, "ecr.api", "states"])),
    ("glue cron steps", _with("catalog.crawler_schedule", "cron(0/15 2-5 ? * MON-FRI *)")),
    ("glue cron last day", _with("catalog.crawler_schedule", "cron(0 12 L * ? 2026)")),
    ("glue cron nth weekday", _with("catalog.crawler_schedule", "cron(0 10 ? * 6#3 *)")),
    ("glue cron list", _with("catalog.crawler_schedule", "cron(5,35 */2 1,15W JAN-MAR,DEC ? 2026-2030)")),
    ("eventbridge rate", _with("transient_clusters", {"run": _transient(schedule="rate(6 hours)")})),
    ("eventbridge rate 1", _with("transient_clusters", {"run": _transient(schedule="rate(1 day)")})),
    (
        "existing vpc without endpoints",
        _with(
            "network",
            {
                "interface_endpoints": [],
                "existing_vpc": {
                    "vpc_id": "vpc-0123456789abcdef0",
                    "vpc_cidr": "10.0.0.0/16",
                    "private_subnet_ids": ["subnet-01234567", "subnet-89abcdef"],
                },
            },
        ),
    ),
]


@pytest.mark.parametrize("settings", [c[1] for c in PASSING], ids=[c[0] for c in PASSING])
def test_values_at_aws_limits_pass(settings: Settings) -> None:
    EnvironmentSettings.model_validate(settings)


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (lambda: aws_rules.check_glue_database_name("Raw-Zone", at=("platform_name",)), "lower-case"),
        (lambda: aws_rules.check_glue_database_name("x" * 256, at=("platform_name",)), "1-255"),
        (lambda: aws_rules.check_zones("xx-nowhere-1", ("xx-nowhere-1-a",)), "not in region xx-nowhere-1"),
    ],
)
def test_fails_on_rules_the_settings_schema_already_prevents(check: Callable[[], None], expected: str) -> None:
    """Rules kept as a second line of defence (the settings' own patterns keep these values out today)."""
    with pytest.raises(Exception, match=expected):
        check()


def test_a_region_without_zone_data_takes_zones_of_its_shape() -> None:
    assert aws_rules.zones_of("ap-southeast-7") is None  # newer than moto's data
    aws_rules.check_zones("ap-southeast-7", ("ap-southeast-7a",))


# --- the data the rules read, against its sources --------------------------------------------------------------


def test_the_zone_data_matches_moto() -> None:
    shipped = json.loads(DATA_SCRIPT["ZONES_FILE"].read_text(encoding="utf-8"))
    assert shipped == DATA_SCRIPT["zone_data"](), "run python scripts/aws_rules_data.py"


def test_the_endpoint_service_data_matches_aws_cdk_lib() -> None:
    shipped = json.loads(DATA_SCRIPT["ENDPOINTS_FILE"].read_text(encoding="utf-8"))
    assert shipped == DATA_SCRIPT["endpoint_data"](), "run python scripts/aws_rules_data.py"


def test_the_default_endpoints_are_services_with_endpoints() -> None:
    assert set(DEFAULT_INTERFACE_ENDPOINTS) <= aws_rules.endpoint_services()


def test_the_package_tags_are_the_constructs_tags() -> None:
    assert set(aws_rules.PACKAGE_TAGS) == {EMR_MANAGED_POLICY_TAG[0], TRANSIENT_TAG, EXECUTION_TAG}
    assert aws_rules.TAGS_ADDED_TO_CLUSTERS == 1
    assert aws_rules.TAGS_ADDED_TO_TRANSIENT_CLUSTERS == 3


def test_the_subnet_masks_are_the_networks() -> None:
    """The masks the sizing rule assumes are the ones EmrNetwork carves (with NAT, to see both)."""
    app = App()
    stack = pinned_stack(app)
    EmrNetwork(stack, "Network", encryption_key=kms.Key(stack, "Key"), nat_gateways=1)
    subnets = Template.from_stack(stack).find_resources("AWS::EC2::Subnet")
    masks = {int(s["Properties"]["CidrBlock"].split("/")[1]) for s in subnets.values()}
    assert masks == {aws_rules.EMR_SUBNET_MASK, aws_rules.NAT_SUBNET_MASK}


def test_the_botocore_ranges_the_rules_cite() -> None:
    """EMR's names are XmlStringMaxLen256 and Step Functions' execution names at most 80, as botocore ships them."""
    import botocore.session  # noqa: PLC0415 - only this test reads the models
    from botocore.model import StructureShape  # noqa: PLC0415

    session = botocore.session.get_session()
    emr = session.get_service_model("emr")
    assert emr.shape_for("XmlStringMaxLen256").metadata["max"] == aws_rules.EMR_STRING_MAX
    fleet = emr.shape_for("InstanceFleetConfig")
    assert isinstance(fleet, StructureShape)
    assert fleet.members["TargetOnDemandCapacity"].type_name == "integer"
    states = session.get_service_model("stepfunctions")
    start = states.operation_model("StartExecution").input_shape
    assert start is not None
    name = start.members["name"]
    assert name.metadata["max"] == aws_rules.STEP_FUNCTIONS_EXECUTION_NAME_MAX
