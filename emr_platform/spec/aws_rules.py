"""AWS's own rules for the values the settings and specs name: ranges, names and tags, regions and zones, VPC
sizes, EBS volume types, endpoint services, schedule expressions and the networks nodes need.

Each rule cites where AWS states it: botocore's service models and endpoint data (read here at run time: boto3 is a
dependency), the data files under ``emr_platform/data/`` written by ``scripts/aws_rules_data.py`` from moto and
aws-cdk-lib (checked against them by tests/test_aws_rules.py), or, where AWS ships no data, the named documentation
page. Every check raises :func:`emr_platform.spec.model.invalid` so that the settings loader prints one line with
the field, the value and the fix. The data files are read lazily, once, and only by the rules that need them.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import botocore
from pydantic import AfterValidator, Field

from emr_platform.spec.model import INT32_MAX, invalid, known, vcpus_of

if TYPE_CHECKING:
    from emr_platform.spec.cluster import EmrClusterSpec
    from emr_platform.spec.settings import EnvironmentSettings

__all__ = ["INT32_MAX"]

_BOTOCORE_DATA = Path(botocore.__file__).parent / "data"
_PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"


@cache
def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _did_you_mean(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- names -------------------------------------------------------------------------------------------------------

EMR_STRING_MAX = 256
"""botocore's EMR model, shape ``XmlStringMaxLen256`` (cluster, step, bootstrap action, fleet and group names)."""
EMR_STRING_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*$"
"""The same shape's pattern ``[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*``: printable text,
tab, CR and LF, no other control character."""
_EMR_STRING = re.compile(EMR_STRING_PATTERN)


def _check_emr_string(value: str) -> str:
    if not _EMR_STRING.match(value):
        raise invalid(
            "contains a control character, which EMR refuses in names (botocore's XmlStringMaxLen256)",
            "use printable characters only",
        )
    return value


EmrName = Annotated[str, Field(min_length=1, max_length=EMR_STRING_MAX), AfterValidator(_check_emr_string)]
"""A name EMR takes (cluster, step, bootstrap action, fleet, group, scaling rule): 1-256 characters, no control
characters."""

STEP_FUNCTIONS_EXECUTION_NAME_MAX = 80
"""botocore's Step Functions model, StartExecutionInput ``name`` (shape ``Name``, max 80)."""
TRANSIENT_CLUSTER_NAME_MAX = EMR_STRING_MAX - 1 - STEP_FUNCTIONS_EXECUTION_NAME_MAX
"""A transient run names its cluster ``<name>-<execution name>`` (constructs/transient.py): 175 characters are left."""

MAX_BOOTSTRAP_ACTIONS = 16
"""EMR Management Guide, "Create bootstrap actions to install additional software": up to 16 per cluster."""

GLUE_NAME = re.compile(r"^[a-z0-9_]{1,255}$")
"""AWS Glue Developer Guide, "Database, table, and column names": lower case letters, digits and underscores, at
most 255 characters (AWS::Glue::Database DatabaseInput.Name maxLength 255 in cfn-lint's schema); Glue lowercases
what it is given, so names that differ only by case would be one database."""


def check_glue_database_name(name: str, *, at: tuple[str | int, ...]) -> None:
    """A Glue database name the package derives is one Glue keeps as written."""
    if not GLUE_NAME.match(name):
        raise invalid(
            f"the Glue database name {name!r} is not 1-255 lower-case letters, digits or underscores",
            "shorten or lower-case the field (Glue database names follow the Glue Developer Guide's naming rule)",
            at=at,
        )


def normalized(name: str) -> str:
    """The name as CloudFormation logical ids (and construct ids of outputs) and Glue see it: alphanumerics only,
    lower case."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def check_no_normalized_collisions(names: Mapping[tuple[str | int, ...], str], *, what: str) -> None:
    """Two names (at their field paths) that differ only by case or punctuation would clash once normalized.

    Logical ids and output names keep only ``[A-Za-z0-9]`` (CloudFormation template anatomy, "Resources": logical
    IDs are alphanumeric), so clusters ``etl-a`` and ``etla`` both give output ``etlaClusterId``.
    """
    seen: dict[str, tuple[tuple[str | int, ...], str]] = {}
    for at, name in names.items():
        key = normalized(name)
        if key in seen:
            first_at, first = seen[key]
            raise invalid(
                f"{what} {name!r} and {first!r} ({'.'.join(map(str, first_at))}) become the same id {key!r} once "
                "case and punctuation are dropped (CloudFormation logical ids and outputs keep only letters and "
                "digits)",
                "rename one of them",
                at=at,
            )
        seen[key] = (at, name)


# --- tags --------------------------------------------------------------------------------------------------------

TAG_KEY_LENGTH = (1, 128)
TAG_VALUE_MAX = 256
MAX_TAGS_PER_RESOURCE = 50
"""Tagging AWS Resources (User Guide), "Tag naming limits and requirements": keys 1-128 and values 0-256 Unicode
characters of ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``, the prefix ``aws:`` reserved, at most 50 user tags per resource."""
_TAG_PUNCTUATION = frozenset("_.:/=+-@")

PACKAGE_TAGS = {
    "for-use-with-amazon-emr-managed-policies": "every cluster and the subnets it creates (EMR's v2 policy)",
    "emr-platform:transient": "every transient cluster (its state machine's IAM conditions)",
    "emr-platform:execution": "every transient cluster (its reaper)",
}
"""The tag keys the package sets itself (constructs/shared.py EMR_MANAGED_POLICY_TAG, constructs/transient.py
TRANSIENT_TAG and EXECUTION_TAG; tests/test_aws_rules.py checks they agree)."""
TAGS_ADDED_TO_CLUSTERS = 1
TAGS_ADDED_TO_TRANSIENT_CLUSTERS = 3


def _tag_text(text: str) -> bool:
    return all(c in _TAG_PUNCTUATION or unicodedata.category(c)[0] in "LZN" for c in text)


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    """Every key and value as the tagging APIs accept them, no key the package sets, and no two keys that differ
    only by case (IAM User Guide, "Tagging IAM resources": tag keys are case-insensitive for IAM, and the stack's
    tags reach its roles)."""
    seen: dict[str, str] = {}
    for key, value in tags.items():
        if not TAG_KEY_LENGTH[0] <= len(key) <= TAG_KEY_LENGTH[1] or not _tag_text(key):
            raise invalid(
                f"tag key {key[:140]!r} is not a valid AWS tag key",
                "use 1-128 letters, digits, spaces or _ . : / = + - @",
                at=(key,),
            )
        if key.lower().startswith("aws:"):
            raise invalid(f"tag key {key!r} uses the reserved 'aws:' prefix", "choose another key", at=(key,))
        if key in PACKAGE_TAGS:
            raise invalid(
                f"tag key {key!r} is set by the package itself, on {PACKAGE_TAGS[key]}",
                "remove it (the package already sets it)",
                at=(key,),
            )
        if not isinstance(value, str) or len(value) > TAG_VALUE_MAX or not _tag_text(value):
            raise invalid(
                f"the value of tag {key!r} is not a valid AWS tag value",
                "use up to 256 letters, digits, spaces or _ . : / = + - @",
                at=(key,),
            )
        if value == "":
            # The stack's tags reach every resource, and CloudFormation's schemas of AWS::CloudWatch::Alarm and
            # AWS::CloudWatch::Dashboard (cfn-lint's copies) give Tags.Value a minLength of 1.
            raise invalid(
                f"the value of tag {key!r} is empty, which CloudWatch alarms and dashboards refuse",
                "give the tag a value (or remove it)",
                at=(key,),
            )
        if key.lower() in seen:
            raise invalid(
                f"tag keys {seen[key.lower()]!r} and {key!r} differ only by case, which IAM refuses on one role",
                "keep one of them",
                at=(key,),
            )
        seen[key.lower()] = key
    return tags


ResourceTags = Annotated[dict[str, str], AfterValidator(check_tags)]
"""Tags for AWS resources, checked as the tagging APIs would check them at deploy time."""


def check_tag_count(*layers: Mapping[str, str], added: int, at: tuple[str | int, ...], where: str) -> None:
    """The tags a resource ends up with (``layers`` merged, plus ``added`` by the package) are at most 50."""
    count = len({key for layer in layers for key in layer}) + added
    if count > MAX_TAGS_PER_RESOURCE:
        raise invalid(
            f"{where} would carry {count} tags ({added} set by the package), above AWS's "
            f"{MAX_TAGS_PER_RESOURCE} per resource",
            f"remove at least {count - MAX_TAGS_PER_RESOURCE} tags",
            at=at,
        )


# --- regions and zones -------------------------------------------------------------------------------------------


@cache
def aws_regions() -> frozenset[str]:
    """Every region of every partition, from botocore's ``data/partitions.json`` (no ``aws-global`` pseudo-regions)."""
    data = _json(_BOTOCORE_DATA / "partitions.json")
    return frozenset(r for p in data["partitions"] for r in p["regions"] if not r.endswith("-global"))


@cache
def _service_endpoints() -> dict[str, dict[str, Any]]:
    """Services by endpoint prefix, partitions merged, from botocore's ``data/endpoints.json`` (1.2 MB, read once)."""
    merged: dict[str, dict[str, Any]] = {}
    for partition in _json(_BOTOCORE_DATA / "endpoints.json")["partitions"]:
        for name, service in partition["services"].items():
            merged.setdefault(name, {"endpoints": {}, "global": False})
            merged[name]["endpoints"].update(service.get("endpoints", {}))
            merged[name]["global"] |= service.get("isRegionalized") is False
    return merged


def service_in_region(prefix: str, region: str) -> bool | None:
    """Whether botocore knows an endpoint of ``prefix`` in ``region``; None when it does not know the service or the
    service is global."""
    service = _service_endpoints().get(prefix)
    if service is None or service["global"]:
        return None
    return region in service["endpoints"]


def check_region(region: str) -> str:
    """A region botocore knows, where EMR has an endpoint."""
    regions = aws_regions()
    if region not in regions:
        raise invalid(
            f"not an AWS region (botocore {botocore.__version__} knows {len(regions)}){_did_you_mean(region, regions)}",
            "use a region such as eu-west-1 or us-east-1",
        )
    if service_in_region("elasticmapreduce", region) is False:
        raise invalid(
            f"Amazon EMR has no endpoint in {region} (botocore's endpoints data)",
            "choose a region where EMR is available",
        )
    return region


@cache
def _zones() -> dict[str, dict[str, list[str]]]:
    regions: dict[str, dict[str, list[str]]] = _json(_PACKAGE_DATA / "availability_zones.json")["regions"]
    return regions


_ZONE_ID = re.compile(r"^[a-z]{2,5}[0-9]-az[0-9]+$")


def zones_of(region: str) -> list[str] | None:
    """The availability zone names of ``region`` (moto's EC2 data, see emr_platform/data); None when not known."""
    entry = _zones().get(region)
    return None if entry is None else entry["names"]


def check_zones(region: str, zones: tuple[str, ...]) -> None:
    """Each zone is a zone name of ``region`` (not a zone ID), listed once."""
    known_zones = zones_of(region)
    for index, zone in enumerate(zones):
        if _ZONE_ID.match(zone):
            raise invalid(
                f"{zone!r} is a zone ID; the settings take zone names (IDs map to different names per account)",
                f"write the zone name, e.g. {(known_zones or [region + 'a'])[0]} (aws ec2 describe-availability-zones "
                "shows both)",
                at=("availability_zones", index),
            )
        if known_zones is not None:
            in_region = zone in known_zones
        else:  # a region newer than the data: its zones are the region's name and a letter
            in_region = zone.startswith(region) and re.fullmatch(r"[a-z]", zone[len(region) :]) is not None
        if not in_region:
            raise invalid(
                f"availability zone {zone!r} is not in region {region}",
                f"use zones of {region}: {', '.join(known_zones)}"
                if known_zones
                else f"use zones of {region}, e.g. {region}a",
                at=("availability_zones", index),
            )
        if zone in zones[:index]:
            raise invalid(
                f"availability zone {zone!r} is listed twice", "list each zone once", at=("availability_zones", index)
            )


# --- VPC and subnets ---------------------------------------------------------------------------------------------

VPC_MASK = (16, 28)
"""Amazon VPC User Guide, "VPC CIDR blocks": an IPv4 block between /16 and /28 (EC2 CreateVpc)."""
RESERVED_PER_SUBNET = 5
"""Amazon VPC User Guide, "Subnet CIDR blocks": the first four addresses and the last one of each subnet."""
EMR_SUBNET_MASK = 20
NAT_SUBNET_MASK = 26
"""The masks constructs/network.py carves per zone: one /20 for EMR nodes and, with NAT gateways, one /26 for them."""


def check_vpc_cidr(cidr: str) -> str:
    """An IPv4 network (no host bits) with a mask EC2 accepts for a VPC."""
    try:
        network = ipaddress.IPv4Network(cidr)
    except ValueError:
        raise invalid("not an IPv4 network in CIDR notation (no host bits set)", "write it like 10.20.0.0/16") from None
    if not VPC_MASK[0] <= network.prefixlen <= VPC_MASK[1]:
        raise invalid(
            f"a VPC's mask must be /{VPC_MASK[0]} to /{VPC_MASK[1]} (Amazon VPC User Guide), got /{network.prefixlen}",
            "use e.g. 10.20.0.0/16",
        )
    return cidr


def check_subnets_fit(cidr: str, zones: int, nat_gateways: int) -> None:
    """The subnets the network carves (a /20 per zone, and a /26 per zone with NAT) fit in the VPC's range."""
    size = ipaddress.IPv4Network(cidr).num_addresses
    needed = zones * 2 ** (32 - EMR_SUBNET_MASK) + (zones * 2 ** (32 - NAT_SUBNET_MASK) if nat_gateways else 0)
    if needed > size:
        fitting = next(m for m in range(VPC_MASK[1], VPC_MASK[0] - 1, -1) if 2 ** (32 - m) >= needed)
        raise invalid(
            f"{cidr} holds {size} addresses; {zones} zone(s) need {needed} (a /{EMR_SUBNET_MASK} subnet per zone"
            + (f" and a /{NAT_SUBNET_MASK} for NAT" if nat_gateways else "")
            + ")",
            f"use a /{fitting} or larger network, or fewer availability zones",
            at=("network", "vpc_cidr"),
        )


def max_instances(cluster: EmrClusterSpec) -> int | None:
    """The most instances ``cluster`` may run at once (managed scaling's maximum when set); None when unknown."""
    primary = cluster.primary_count or 1
    scaling = cluster.managed_scaling
    if (fleets := cluster.fleets) is not None:
        growing = [fleets.core, *fleets.tasks]
        weights = [t.weighted_capacity for f in growing for t in f.instance_types]
        units = scaling.maximum_capacity_units if scaling is not None else sum(f.total_capacity for f in growing)
        if not weights or not known(units, *weights):
            return None
        # EMR may overshoot a target by one instance per fleet.
        return primary + units // min(weights) + len(growing)
    groups = cluster.instance_groups
    if groups is None:
        return None
    growing_groups = [groups.core, *groups.tasks]
    if scaling is not None and scaling.unit_type == "VCPU":
        vcpus = [vcpus_of(g.instance_type) or 1 for g in growing_groups]
        return (
            primary + -(-scaling.maximum_capacity_units // min(vcpus))
            if known(scaling.maximum_capacity_units)
            else None
        )
    if scaling is not None:
        return primary + scaling.maximum_capacity_units if known(scaling.maximum_capacity_units) else None
    counts = [g.autoscaling.max_capacity if g.autoscaling else g.instance_count for g in growing_groups]
    return primary + sum(counts) if known(*counts) else None


def check_subnet_addresses(settings: EnvironmentSettings) -> None:
    """Every cluster, at its largest and all in one subnet (EMR picks one subnet per cluster), plus one address per
    interface endpoint, fits in one of the network's /20 subnets less AWS's 5 reserved addresses."""
    usable = 2 ** (32 - EMR_SUBNET_MASK) - RESERVED_PER_SUBNET
    total = len(settings.network.interface_endpoints)
    every: list[tuple[tuple[str | int, ...], EmrClusterSpec]] = [
        (("clusters", n), c) for n, c in settings.clusters.items()
    ]
    every += [(("transient_clusters", n, "cluster"), t.cluster) for n, t in settings.transient_clusters.items()]
    for at, cluster in every:
        count = max_instances(cluster)
        total += count or 0
        if total > usable:
            raise invalid(
                f"the clusters (up to {total} instances with the interface endpoints' addresses, up to here) do not "
                f"fit in a /{EMR_SUBNET_MASK} subnet's {usable} usable addresses (EMR places each cluster in one "
                "subnet; AWS reserves 5 per subnet)",
                "lower managed_scaling.maximum_capacity_units or the target capacities, or split the clusters into "
                "environments",
                at=at,
            )


# --- EBS ---------------------------------------------------------------------------------------------------------

EBS_LIMITS: dict[str, dict[str, Any]] = {
    "gp3": {"size": (1, 16384), "iops": (3000, 80000), "iops_per_gib": 500, "throughput": (125, 2000)},
    "gp2": {"size": (1, 16384)},
    "io1": {"size": (4, 16384), "iops": (100, 64000), "iops_per_gib": 50},
    "io2": {"size": (4, 65536), "iops": (100, 256000), "iops_per_gib": 1000},
    "st1": {"size": (125, 16384)},
    "sc1": {"size": (125, 16384)},
    "standard": {"size": (1, 1024)},
}
"""Amazon EBS User Guide, "Amazon EBS volume types" (and EC2 API Reference, CreateVolume: Size, Iops, Throughput):
size in GiB, IOPS and IOPS per GiB for the types that take IOPS, gp3 throughput in MiB/s (at most 0.25 MiB/s per
provisioned IOPS)."""
GP3_BASELINE_IOPS = 3000
GP3_MIBPS_PER_IOPS = 0.25


def check_ebs_volume(volume_type: str, size_gib: int, iops: int | None, throughput_mibps: int | None) -> None:
    """The volume type's size range, IOPS range and IOPS per GiB, and gp3's throughput range and per-IOPS cap."""
    limits = EBS_LIMITS[volume_type]
    low, high = limits["size"]
    if known(size_gib) and not low <= size_gib <= high:
        raise invalid(
            f"{volume_type} volumes are {low}-{high} GiB, got {size_gib}", f"set size_gib within {low}-{high}"
        )
    if iops is not None and "iops" not in limits:
        raise invalid(f"{volume_type} volumes take no iops", "use gp3, io1 or io2, or remove iops")
    if iops is not None and known(iops, size_gib):
        low, high = limits["iops"]
        per_gib = limits["iops_per_gib"]
        if not low <= iops <= high:
            raise invalid(f"{volume_type} volumes take {low}-{high} IOPS, got {iops}", f"set iops within {low}-{high}")
        if iops > per_gib * size_gib and not (volume_type == "gp3" and iops <= GP3_BASELINE_IOPS):
            raise invalid(
                f"{iops} IOPS on {size_gib} GiB is above {volume_type}'s {per_gib} IOPS per GiB",
                f"grow the volume to at least {-(-iops // per_gib)} GiB, or lower iops to "
                f"{max(per_gib * size_gib, low)}",
            )
    if throughput_mibps is not None and known(throughput_mibps):
        if "throughput" not in limits:
            raise invalid(f"{volume_type} volumes take no throughput_mibps", "use gp3, or remove it")
        low, high = limits["throughput"]
        if not low <= throughput_mibps <= high:
            raise invalid(
                f"gp3 throughput is {low}-{high} MiB/s, got {throughput_mibps}",
                f"set throughput_mibps within {low}-{high}",
            )
        effective = iops if iops is not None else GP3_BASELINE_IOPS
        if known(effective) and throughput_mibps > effective * GP3_MIBPS_PER_IOPS:
            raise invalid(
                f"{throughput_mibps} MiB/s is above gp3's 0.25 MiB/s per IOPS ({effective} IOPS allow "
                f"{int(effective * GP3_MIBPS_PER_IOPS)})",
                f"raise iops to at least {throughput_mibps * 4}, or lower the throughput",
            )


# --- VPC endpoint services ---------------------------------------------------------------------------------------


@cache
def endpoint_services() -> frozenset[str]:
    """Services with an interface VPC endpoint (aws-cdk-lib's InterfaceVpcEndpointAwsService, see emr_platform/data)."""
    return frozenset(_json(_PACKAGE_DATA / "endpoint_services.json")["services"])


def check_interface_endpoints(services: tuple[str, ...], region: str) -> None:
    """Each interface endpoint names a service that has one, in the region, once; S3 is the gateway endpoint."""
    known_services = endpoint_services()
    ids: dict[tuple[str | int, ...], str] = {}
    for index, service in enumerate(services):
        at = ("network", "interface_endpoints", index)
        if service == "s3":
            raise invalid(
                "s3 is always reached through the network's S3 gateway endpoint; an interface endpoint with private "
                "DNS beside it is refused",
                "remove s3 from interface_endpoints",
                at=at,
            )
        if service not in known_services:
            raise invalid(
                f"{service!r} is not an AWS service with an interface VPC endpoint{_did_you_mean(service, known_services)}",
                "use the service's endpoint name as in com.amazonaws.<region>.<name> (AWS PrivateLink guide, \"AWS "
                'services that integrate with AWS PrivateLink")',
                at=at,
            )
        if service_in_region(service, region) is False:
            raise invalid(
                f"{service!r} has no endpoint in {region} (botocore's endpoints data)",
                "remove it, or use a region where the service runs",
                at=at,
            )
        ids[at] = service
    check_no_normalized_collisions(ids, what="interface endpoint")


# --- networks nodes can work from --------------------------------------------------------------------------------


def required_endpoints(settings: EnvironmentSettings) -> dict[str, str]:
    """The interface endpoints nodes need in a VPC without NAT, each with why (S3 has the gateway endpoint).

    Amazon EMR Management Guide, "Configure networking in a VPC" (private subnets: S3 gateway endpoint, and
    endpoints for the services the cluster calls) and "Connect to Amazon EMR using an interface VPC endpoint";
    AWS Systems Manager User Guide, "Use VPC endpoints" (ssm, ssmmessages, ec2messages for Session Manager).
    """
    needed = {
        "elasticmapreduce": "the nodes call the EMR API",
        "kms": "every volume, bucket and log of the platform is encrypted with its KMS key",
        "glue": "the clusters use the Glue Data Catalog as their metastore",
    }
    every = [*settings.clusters.values(), *(t.cluster for t in settings.transient_clusters.values())]
    if any(c.session_manager for c in every):
        for service in ("ssm", "ssmmessages", "ec2messages"):
            needed[service] = "Session Manager reaches the nodes (session_manager is on)"
    runtime = settings.security.runtime_roles
    if runtime is not None:
        needed["sts"] = "steps assume their runtime roles (security.runtime_roles)"
        if runtime.lake_formation:
            needed["lakeformation"] = "Lake Formation checks the runtime roles' access"
    integrations = settings.integrations
    if integrations.databases:
        needed["secretsmanager"] = "the nodes read the databases' JDBC secrets (integrations.databases)"
    # DynamoDB tables need no interface endpoint: the network creates a gateway endpoint limited to them
    # (EmrNetwork's dynamodb_tables); an existing VPC must route to DynamoDB itself.
    if integrations.redshift is not None:
        needed["redshift"] = "the nodes get Redshift credentials (integrations.redshift)"
    return needed


def check_reachability(settings: EnvironmentSettings) -> None:
    """A new VPC without NAT gateways has an interface endpoint for every service the nodes call."""
    network = settings.network
    if network.existing_vpc is not None or network.nat_gateways:
        return
    missing = {s: why for s, why in required_endpoints(settings).items() if s not in network.interface_endpoints}
    if missing:
        service, why = next(iter(missing.items()))
        raise invalid(
            f"the VPC has no NAT gateway and no {service!r} interface endpoint, yet {why}: the nodes could not reach "
            "it" + (f" (also missing: {', '.join(list(missing)[1:])})" if len(missing) > 1 else ""),
            f"add {', '.join(missing)} to network.interface_endpoints",
            at=("network", "interface_endpoints"),
        )


# --- schedules ---------------------------------------------------------------------------------------------------

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, ()),
)
"""AWS Glue Developer Guide, "Time-based schedules for jobs and crawlers" (and EventBridge's "Schedule expressions
for rules", the same grammar): six fields, their ranges, month and day names; ``, - * /`` everywhere, ``?`` in
day-of-month or day-of-week, ``L`` and ``W`` in day-of-month, ``L`` and ``#`` in day-of-week."""
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if text.upper() in names:
        return True
    return text.isdigit() and low <= int(text) <= high


def _cron_special(part: str, index: int, low: int, high: int, names: tuple[str, ...]) -> bool:
    """The L, W and # forms of day-of-month (``L``, ``LW``, ``15W``) and day-of-week (``L``, ``6L``, ``2#1``)."""
    if index == 2:
        return part in ("L", "LW") or (part.endswith("W") and _cron_value(part[:-1], low, high, ()))
    if index == 4:
        day, hash_sign, nth = part.partition("#")
        if hash_sign:
            return _cron_value(day, low, high, names) and nth in ("1", "2", "3", "4", "5")
        return part == "L" or (part.endswith("L") and _cron_value(part[:-1], low, high, names))
    return False


def _cron_part(part: str, index: int) -> bool:
    """One comma-separated part of a cron field: ``*``, a value, a range, a step (``*/5``, ``0-30/10``) or a special."""
    _, low, high, names = _CRON_FIELDS[index]
    if part == "*" or _cron_special(part, index, low, high, names):
        return True
    base, slash, step = part.partition("/")
    if slash and not (step.isdigit() and int(step) > 0):
        return False
    start, dash, end = base.partition("-")
    return (base == "*" and bool(slash)) or (
        _cron_value(start, low, high, names) and (not dash or _cron_value(end, low, high, names))
    )


def check_schedule(value: str, *, allow_rate: bool, service: str) -> str:
    """A ``cron(...)`` expression of six valid fields (and, where ``allow_rate``, a ``rate(...)`` expression)."""
    example = "cron(0 3 * * ? *)"
    rate = _RATE.match(value)
    if rate is not None and allow_rate:
        amount, unit = int(rate.group(1)), rate.group(2)
        if amount < 1 or (amount == 1) != (not unit.endswith("s")):
            raise invalid(
                f"rate({amount} {unit}): EventBridge wants a positive value, the unit singular for 1 and plural above",
                f"write rate(1 {unit.rstrip('s')}) or rate({max(amount, 2)} {unit.rstrip('s')}s)",
            )
        return value
    if value.startswith("rate("):
        raise invalid(
            f"{service} takes cron() schedules only, not rate()", f"write it as a cron expression, e.g. {example}"
        )
    if not (value.startswith("cron(") and value.endswith(")")):
        raise invalid(
            f"not a {service} schedule expression",
            f"write cron(minutes hours day-of-month month day-of-week year), e.g. {example}"
            + (" or rate(6 hours)" if allow_rate else ""),
        )
    fields = value[len("cron(") : -1].split()
    if len(fields) != len(_CRON_FIELDS):
        raise invalid(
            f"a {service} cron expression has 6 fields (minutes hours day-of-month month day-of-week year), this one "
            f"has {len(fields)}",
            "add the year (usually *) and write ? in day-of-month or day-of-week, e.g. "
            + (f"cron({' '.join(fields[:4])} ? *)" if len(fields) == 5 else example),
        )
    for index, field in enumerate(fields):
        name = _CRON_FIELDS[index][0]
        if field == "?" and index in (2, 4):
            continue
        if not all(_cron_part(part, index) for part in field.split(",")):
            low, high = _CRON_FIELDS[index][1:3]
            raise invalid(
                f"cron field {name} {field!r} is not valid",
                f"use values {low}-{high}"
                + (f" or {_CRON_FIELDS[index][3][0]}-{_CRON_FIELDS[index][3][-1]}" if _CRON_FIELDS[index][3] else "")
                + " with , - * / (? L W # where the field allows them)",
            )
    if (fields[2] == "?") == (fields[4] == "?"):
        raise invalid(
            "exactly one of day-of-month and day-of-week must be ? (AWS cron cannot set both, nor leave both open)",
            f"write ? in day-of-week, e.g. cron({' '.join(fields[:4])} ? {fields[5]})"
            if fields[4] != "?"
            else f"write * in day-of-month, e.g. cron({fields[0]} {fields[1]} * {fields[3]} ? {fields[5]})",
        )
    return value


def _glue_schedule(value: str) -> str:
    return check_schedule(value, allow_rate=False, service="Glue")


def _eventbridge_schedule(value: str) -> str:
    return check_schedule(value, allow_rate=True, service="EventBridge")


GlueSchedule = Annotated[str, AfterValidator(_glue_schedule)]
"""A Glue crawler or job schedule: ``cron(...)`` with six fields."""
EventBridgeSchedule = Annotated[str, AfterValidator(_eventbridge_schedule)]
"""An EventBridge schedule: ``cron(...)`` with six fields, or ``rate(N unit)``."""


# --- settings the compliance gates can never pass ----------------------------------------------------------------


def check_passes_compliance(nat_gateways: int) -> int:
    """NAT gateways need public subnets, which the PCI DSS 3.2.1 pack (run on every stack, constructs/compliance.py)
    flags and the package does not acknowledge: VPCSubnetAutoAssignPublicIpDisabled and VPCNoUnrestrictedRouteToIGW
    on the NAT subnets. Such a synth can never pass, so the setting fails here instead of after a full synth."""
    if nat_gateways:
        raise invalid(
            f"{nat_gateways} NAT gateway(s) need public subnets with a route to an internet gateway, which the PCI "
            "DSS pack every stack runs refuses (VPCSubnetAutoAssignPublicIpDisabled, VPCNoUnrestrictedRouteToIGW)",
            "keep nat_gateways: 0 and reach AWS services through network.interface_endpoints (packages: an S3 or "
            "CodeArtifact mirror), or bring a VPC whose egress you control (network.existing_vpc)",
        )
    return nat_gateways
