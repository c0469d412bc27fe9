"""Build and refresh the catalog of EMR on EC2 that validation reads (``emr_platform/spec/data/emr-catalog.json.gz``).

The catalog holds, for every release label EMR lists (emr-4.x to emr-7.x and the emr-spark-8.x Spark runtime):
the regions that offer it, the applications it installs (with versions where known), the table formats it bundles,
the configuration classifications it accepts, and the instance types it supports, each with its architecture.

Two ways to make it, both deterministic:

- ``python -m emr_platform.tools.catalog build`` (``make catalog``), offline, from data well-kept packages ship:
  moto's copies of EMR's ListReleaseLabels (per region) and ListSupportedInstanceTypes (per release) answers, the
  archived EMR Release Guide (``catalog/release-guide-2023.json``) and a cited supplement for later releases
  (``catalog/supplement.yaml``).
- ``python -m emr_platform.tools.catalog refresh`` (``make refresh-catalog``), with AWS credentials: the same
  sections from EMR's own API (ListReleaseLabels in every region given, DescribeReleaseLabel,
  ListSupportedInstanceTypes), keeping the seeds' classifications (no API lists them).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import boto3
import yaml

from emr_platform.spec.catalog import CATALOG_PATH, ReleaseRecord, catalog, version_of

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "catalog"
ARCHITECTURES = {
    "X86_64": "x86_64",
    "AARCH64": "arm64",
    "arm64": "arm64",
    "x86_64": "x86_64",
    "arm64_mac": "arm64",
    "x86_64_mac": "x86_64",
}


@dataclass
class Release:
    """One release while the catalog is built: applications (name -> version or None), bundled, classifications."""

    applications: dict[str, str | None] = field(default_factory=dict)
    bundled: dict[str, str | None] = field(default_factory=dict)
    classifications: set[str] = field(default_factory=set)
    instance_types: list[str] = field(default_factory=list)
    instance_type_details: list[dict[str, Any]] = field(default_factory=list)
    """ListSupportedInstanceTypes' records (refresh only): architecture, vCPUs, memory."""
    regions: set[str] = field(default_factory=set)
    source: str = ""


@dataclass
class Sources:
    """What each section of the catalog was read from."""

    releases: str
    applications: str
    classifications: str
    instance_types: str


def _moto_resource(name: str) -> Any:
    folder = resources.files("moto") / "emr" / "resources"
    return json.loads(gzip.decompress((folder / f"{name}.json.gz").read_bytes()))


def _moto_ec2_types() -> dict[str, Any]:
    data = gzip.decompress((resources.files("moto") / "ec2" / "resources" / "instance_types.json.gz").read_bytes())
    return dict(json.loads(data))


def _moto_regions() -> list[str]:
    folder = resources.files("moto") / "emr" / "resources"
    names = (p.name for p in folder.iterdir())
    return sorted(n.removeprefix("release-labels-").removesuffix(".json.gz") for n in names if "release-labels-" in n)


def _apply_change(release: Release, change: dict[str, Any]) -> None:
    for name in change.get("add_applications", ()):
        release.applications.setdefault(name, None)
    for name in change.get("remove_applications", ()):
        release.applications.pop(name, None)
    for name in change.get("add_bundled", ()):
        release.bundled.setdefault(name, None)
    release.classifications |= set(change.get("add_classifications", ()))
    release.classifications -= set(change.get("remove_classifications", ()))


def seeded_release(label: str, archive: dict[str, Any], supplement: dict[str, Any]) -> Release:
    """The applications and classifications of ``label`` from the archived Release Guide or the supplement."""
    if label in archive:
        record = archive[label]
        return Release(
            applications=dict(record["applications"]),
            bundled=dict(record["bundled"]),
            classifications=set(record["classifications"]),
            source="release-guide",
        )
    version = version_of(label)
    if label.startswith("emr-spark-"):
        runtime = supplement["spark_runtime"]
        return Release(
            applications=dict.fromkeys(runtime["applications"]),
            bundled=dict.fromkeys(runtime["bundled"]),
            classifications=set(runtime["classifications"]),
            source="supplement",
        )
    # The newest archived release of the same line not newer than this one (6.6.0 -> 6.5.0); a line the archive
    # does not reach (7.x) starts from the base the supplement names.
    same_line = [k for k in archive if version_of(k)[0] == version[0]]
    older = [k for k in same_line if version_of(k) <= version]
    line = next((x["base"] for x in supplement["lines"] if x["major"] == version[0]), None)
    base = max(older, key=version_of) if older else (line or min(same_line or archive, key=version_of))
    record = archive[base]
    release = Release(
        applications=dict.fromkeys(record["applications"]),
        bundled=dict.fromkeys(record["bundled"]),
        classifications=set(record["classifications"]),
        source=f"supplement (from {base})",
    )
    for change in supplement["changes"]:
        if version_of("emr-" + change["from"]) <= version < version_of("emr-" + change["until"]):
            _apply_change(release, change)
    return release


def build_offline() -> tuple[dict[str, Release], dict[str, Any], Sources]:
    """Every release moto's data lists, with its seeded applications, classifications and instance types."""
    archive_file = json.loads((SEEDS / "release-guide-2023.json").read_text(encoding="utf-8"))
    supplement = yaml.safe_load((SEEDS / "supplement.yaml").read_text(encoding="utf-8"))
    releases: dict[str, Release] = {}
    for region in _moto_regions():
        for label in _moto_resource(f"release-labels-{region}"):
            if label not in releases:
                releases[label] = seeded_release(label, archive_file["releases"], supplement)
            releases[label].regions.add(region)
    emr_types = _moto_resource("instance_types")
    for label, release in releases.items():
        release.instance_types = list(_moto_resource(f"instance-types-{label}"))
    moto_version = metadata.version("moto")  # a development dependency: `make catalog` runs in the dev venv
    moto_source = f"moto {moto_version} (moto/emr/resources, answers of EMR's API)"
    sources = Sources(
        releases=f"ListReleaseLabels per region, from {moto_source}",
        applications=f"{archive_file['source']}; later releases: {supplement['source']}",
        classifications=f"{archive_file['source']}; later releases: {supplement['source']}",
        instance_types=f"ListSupportedInstanceTypes per release, from {moto_source}; architectures of other EC2 "
        f"types from moto {moto_version} (moto/ec2/resources/instance_types.json.gz)",
    )
    return releases, _instance_type_data(emr_types.values(), _moto_ec2_types().values()), sources


def _instance_type_data(emr_types: Iterable[dict[str, Any]], ec2_types: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``type -> [architecture, vCPUs, memory GiB]``: EMR's own record first, EC2's for types EMR does not run."""
    data: dict[str, Any] = {}
    for item in ec2_types:
        arch = next(ARCHITECTURES[a] for a in item["ProcessorInfo"]["SupportedArchitectures"] if a in ARCHITECTURES)
        memory = round(item["MemoryInfo"]["SizeInMiB"] / 1024, 2)
        data[item["InstanceType"]] = [arch, item["VCpuInfo"]["DefaultVCpus"], memory]
    for item in emr_types:
        data[item["Type"]] = [ARCHITECTURES[item["Architecture"]], item["VCPU"], round(float(item["MemoryGB"]), 2)]
    return dict(sorted(data.items()))


def refresh_from_aws(session: Any, regions: Sequence[str]) -> tuple[dict[str, Release], dict[str, Any], Sources]:
    """The catalog from EMR's API in ``regions`` (credentials needed); classifications still come from the seeds.

    ``session`` is a ``boto3.Session`` (tests pass one whose clients are stubbed).
    """
    offline, instance_types, _ = build_offline()
    releases: dict[str, Release] = {}
    for region in regions:
        emr = session.client("emr", region_name=region)
        for label in _paged(emr.list_release_labels, "ReleaseLabels", "NextToken", "NextToken"):
            if label not in releases:
                releases[label] = _described(emr, label, offline.get(label))
            releases[label].regions.add(region)
    today = datetime.date.today().isoformat()
    sources = Sources(
        releases=f"EMR ListReleaseLabels in {', '.join(regions)}, {today}",
        applications=f"EMR DescribeReleaseLabel, {today}",
        classifications=f"the seeds (no EMR API lists classifications): {SEEDS.name}/",
        instance_types=f"EMR ListSupportedInstanceTypes, {today}",
    )
    for release in releases.values():
        for item in release.instance_type_details:
            instance_types[item["Type"]] = [
                ARCHITECTURES[item["Architecture"]],
                item["VCPU"],
                round(float(item["MemoryGB"]), 2),
            ]
    return releases, dict(sorted(instance_types.items())), sources


def _paged(call: Any, items: str, token_in: str, token_out: str, **params: Any) -> Iterable[Any]:
    """Every item of an EMR list call that botocore has no paginator for (ListReleaseLabels takes NextToken,
    ListSupportedInstanceTypes a Marker, per the EMR API model)."""
    token: str | None = None
    while True:
        answer = call(**params, **({token_in: token} if token else {}))
        yield from answer.get(items, [])
        token = answer.get(token_out)
        if not token:
            return


def _described(emr: Any, label: str, seeded: Release | None) -> Release:
    applications: dict[str, str | None] = {
        a["Name"]: a.get("Version")
        for a in _paged(emr.describe_release_label, "Applications", "NextToken", "NextToken", ReleaseLabel=label)
    }
    bundled = {k: v for k, v in applications.items() if k in {"Delta", "Hudi", "Iceberg"}}
    release = Release(
        applications={k: v for k, v in applications.items() if k not in bundled},
        bundled=bundled,
        classifications=set(seeded.classifications) if seeded else set(),
        source="aws",
    )
    types = list(
        _paged(emr.list_supported_instance_types, "SupportedInstanceTypes", "Marker", "Marker", ReleaseLabel=label)
    )
    release.instance_types = [t["Type"] for t in types]
    release.instance_type_details = types
    return release


def catalog_document(releases: dict[str, Release], instance_types: dict[str, Any], sources: Sources) -> dict[str, Any]:
    """The catalog as stored: shared sets (instance types, classifications) stored once and referenced by index."""
    type_sets: list[list[str]] = []
    class_sets: list[list[str]] = []

    def index(pool: list[list[str]], values: list[str]) -> int:
        if values not in pool:
            pool.append(values)
        return pool.index(values)

    records: dict[str, Any] = {}
    for label in sorted(releases, key=lambda k: (version_of(k), k), reverse=True):
        release = releases[label]
        records[label] = {
            "applications": dict(sorted(release.applications.items())),
            "bundled": dict(sorted(release.bundled.items())),
            "classifications": index(class_sets, sorted(release.classifications)),
            "instance_types": index(type_sets, sorted(release.instance_types)),
            "regions": sorted(release.regions),
            "source": release.source,
        }
    return {
        "schema": 1,
        "sources": sources.__dict__,
        "releases": records,
        "classification_sets": class_sets,
        "instance_type_sets": type_sets,
        "instance_types": instance_types,
    }


def write(document: dict[str, Any], path: Path = CATALOG_PATH) -> None:
    """Write the catalog, gzip with a fixed timestamp so that the same data gives the same bytes."""
    text = json.dumps(document, separators=(",", ":"), sort_keys=False).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))


_LABEL = re.compile(r"^emr-(?:spark-)?\d+\.\d+\.\d+")


def release_list_markdown(document: dict[str, Any]) -> str:
    """``docs/releases.md``: every release in the catalog, newest first, with its applications and sources."""
    lines = [
        "# EMR releases the package knows",
        "",
        "Generated from the package's catalog (`emr_platform/spec/data/emr-catalog.json.gz`) by `make docs`; do not",
        "edit. A release label outside this list fails at synth. Refresh the catalog from AWS with",
        "`make refresh-catalog` (needs credentials) or rebuild it offline with `make catalog`.",
        "",
        "Sources:",
        "",
        *(f"- {name.replace('_', ' ')}: {text}" for name, text in document["sources"].items()),
        "",
        "| Release | Applications (Spark version where known) | Bundled table formats | Instance types | Regions "
        "| Source of applications and classifications |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, record in document["releases"].items():
        if not _LABEL.match(label):
            continue
        spark = record["applications"].get("Spark")
        apps = ", ".join(record["applications"]) + (f" (Spark {spark})" if spark else "")
        bundled = ", ".join(record["bundled"]) or "-"
        count = len(document["instance_type_sets"][record["instance_types"]])
        lines.append(f"| {label} | {apps} | {bundled} | {count} | {len(record['regions'])} | {record['source']} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``build`` (offline), ``refresh`` (AWS) or ``docs FILE`` (the generated release list)."""
    parser = argparse.ArgumentParser(prog="python -m emr_platform.tools.catalog", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="rebuild the catalog offline from moto's EMR data and the seeds in catalog/")
    refresh = commands.add_parser("refresh", help="rebuild the catalog from EMR's API (AWS credentials needed)")
    refresh.add_argument("--regions", nargs="+", default=None, help="regions to list (default: moto's list)")
    docs = commands.add_parser("docs", help="write the release list (docs/releases.md)")
    docs.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    if args.command == "docs":
        document = json.loads(gzip.decompress(CATALOG_PATH.read_bytes()))
        args.output.write_text(release_list_markdown(document), encoding="utf-8")
        return 0
    if args.command == "build":
        write(catalog_document(*build_offline()))
    else:
        write(catalog_document(*refresh_from_aws(boto3.Session(), args.regions or _moto_regions())))
    print(f"wrote {CATALOG_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def template_violations(template: dict[str, Any], region: str) -> list[str]:
    """What a synthesized template asks of EMR that the catalog says EMR would refuse: per ``AWS::EMR::Cluster``
    and ``AWS::EMR::InstanceFleetConfig``, a release not offered in ``region``, an application the release does
    not install, an instance type it does not run, a classification it does not accept. Empty when none."""
    resources = template.get("Resources", {})
    problems: list[str] = []
    releases: dict[str, str] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::EMR::Cluster":
            continue
        props = resource.get("Properties", {})
        label = props.get("ReleaseLabel")
        if not isinstance(label, str):
            continue
        record = catalog().release(label)
        if record is None:
            problems.append(f"{logical_id}: unknown release {label}")
            continue
        releases[logical_id] = label
        if region not in record.regions:
            problems.append(f"{logical_id}: {label} is not offered in {region}")
        for app in props.get("Applications", []):
            if app.get("Name") not in record.applications:
                problems.append(f"{logical_id}: {label} does not install {app.get('Name')}")
        problems += _classification_problems(logical_id, record, props.get("Configurations", []))
        problems += _type_problems(logical_id, record, props.get("Instances", {}))
    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::EMR::InstanceFleetConfig":
            cluster = resource.get("Properties", {}).get("ClusterId", {}).get("Ref")
            record = catalog().release(releases.get(cluster, ""))
            if record is not None:
                fleet = {"TaskInstanceFleets": [resource.get("Properties", {})]}
                problems += _type_problems(logical_id, record, fleet)
    return problems


def _classification_problems(where: str, record: ReleaseRecord, configurations: list[Any]) -> list[str]:
    return [
        f"{where}: {record.label} does not accept the classification {c.get('Classification')}"
        for c in configurations
        if isinstance(c.get("Classification"), str) and c["Classification"] not in record.classifications
    ]


def _type_problems(where: str, record: ReleaseRecord, instances: dict[str, Any]) -> list[str]:
    fleets = [instances.get(k) for k in ("MasterInstanceFleet", "CoreInstanceFleet")]
    fleets += list(instances.get("TaskInstanceFleets", []))
    groups = [instances.get(k) for k in ("MasterInstanceGroup", "CoreInstanceGroup")]
    groups += list(instances.get("TaskInstanceGroups", []))
    configs = [t for f in fleets if f for t in f.get("InstanceTypeConfigs", [])] + [g for g in groups if g]
    problems: list[str] = []
    for config in configs:
        name = config.get("InstanceType")
        if isinstance(name, str) and name not in record.instance_types:
            problems.append(f"{where}: {record.label} does not run {name}")
        problems += _classification_problems(where, record, config.get("Configurations", []))
    return problems
