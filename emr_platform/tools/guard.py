"""Replacement guard: which changes against a baseline would make CloudFormation replace (or delete) a resource.

``python -m emr_platform.tools.guard cdk.out baseline`` (``make guard``) compares each stack template of a synthesis with
the committed baseline of the same name, and names, in plain words per environment, every change to a property
that CloudFormation can only apply by replacing the resource, and every resource that would disappear. It exits
1 while there are any, so that a replacement is always a deliberate act: ``make guard-accept`` makes the current
synthesis the new baseline.

Which properties replace a resource comes from the CloudFormation resource schemas that cfn-lint ships
(``createOnlyProperties``). The EMR cluster's schema does not list the parts of ``Instances`` that replace it;
those come from :data:`SCHEMA_GAPS` (the EMR documentation of ``JobFlowInstancesConfig``).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from emr_platform.tools.assembly import AssemblyError, load_manifest, stack_artifacts

STATEFUL_TYPES = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::Glue::Database",
        "AWS::Logs::LogGroup",
        "AWS::SecretsManager::Secret",
        "AWS::EMR::Cluster",
    }
)
"""Resources whose loss loses data or a running platform: their logical IDs must never change."""

SCHEMA_GAPS: dict[str, tuple[str, ...]] = {
    "AWS::EMR::Cluster": tuple(
        f"/properties/Instances/{name}"
        for name in (
            "Ec2SubnetId",
            "Ec2SubnetIds",
            "Ec2KeyName",
            "EmrManagedMasterSecurityGroup",
            "EmrManagedSlaveSecurityGroup",
            "ServiceAccessSecurityGroup",
            "AdditionalMasterSecurityGroups",
            "AdditionalSlaveSecurityGroups",
            "MasterInstanceFleet",
            "MasterInstanceGroup",
            "CoreInstanceFleet",
            "CoreInstanceGroup",
            "Placement",
            "HadoopVersion",
        )
    )
}

# Settings names for the properties people change most, so that a message speaks the settings' language.
_SETTINGS_NAMES = {
    ("AWS::EMR::Cluster", "ReleaseLabel"): "release_label",
    ("AWS::EMR::Cluster", "Applications"): "applications",
    ("AWS::EMR::Cluster", "Configurations"): "configurations (or a setting that adds one)",
    ("AWS::EMR::Cluster", "BootstrapActions"): "bootstrap_actions (or a bootstrap script's content)",
    ("AWS::EMR::Cluster", "SecurityConfiguration"): "security (the security configuration)",
    ("AWS::EMR::Cluster", "EbsRootVolumeSize"): "ebs_root_volume_size_gib",
    ("AWS::EMR::Cluster", "EbsRootVolumeIops"): "ebs_root_volume_iops",
    ("AWS::EMR::Cluster", "EbsRootVolumeThroughput"): "ebs_root_volume_throughput_mibps",
    ("AWS::EMR::Cluster", "CustomAmiId"): "custom_ami_id",
    ("AWS::EMR::Cluster", "OSReleaseLabel"): "os_release_label",
    ("AWS::EMR::Cluster", "ScaleDownBehavior"): "scale_down_behavior",
    ("AWS::EMR::Cluster", "PlacementGroupConfigs"): "primary_placement_strategy",
    ("AWS::EMR::Cluster", "KerberosAttributes"): "security.kerberos",
    ("AWS::EMR::Cluster", "Name"): "the cluster's name",
    ("AWS::EMR::Cluster", "Instances/MasterInstanceFleet"): "instance_fleets.primary",
    ("AWS::EMR::Cluster", "Instances/CoreInstanceFleet"): "instance_fleets.core",
    ("AWS::EMR::Cluster", "Instances/MasterInstanceGroup"): "instance_groups.primary",
    ("AWS::EMR::Cluster", "Instances/CoreInstanceGroup"): "instance_groups.core",
    ("AWS::EMR::Cluster", "Instances/Ec2SubnetIds"): "network (the subnets)",
    ("AWS::EMR::Cluster", "Instances/Ec2SubnetId"): "network (the subnet)",
    ("AWS::EMR::SecurityConfiguration", "SecurityConfiguration"): "security",
    ("AWS::EC2::VPC", "CidrBlock"): "network.vpc_cidr",
    ("AWS::EC2::Subnet", "CidrBlock"): "network.vpc_cidr",
    ("AWS::EC2::Subnet", "AvailabilityZone"): "availability_zones",
}

_NOUNS = {
    "AWS::EMR::Cluster": "the cluster",
    "AWS::EMR::SecurityConfiguration": "the security configuration (and so every cluster using it)",
    "AWS::S3::Bucket": "the bucket",
    "AWS::Glue::Database": "the Glue database",
    "AWS::KMS::Key": "the KMS key",
    "AWS::EC2::VPC": "the VPC (and everything in it)",
    "AWS::EC2::Subnet": "the subnet",
}


NO_BASELINE = "no baseline"


@dataclass(frozen=True)
class Change:
    """One change that replaces or deletes a resource."""

    stack: str
    logical_id: str
    resource_type: str
    what: str  # the property path, or "removed"

    def __str__(self) -> str:
        noun = _NOUNS.get(self.resource_type, f"{self.resource_type} {self.logical_id}")
        if self.what == NO_BASELINE:
            return (
                f"{self.stack}: no baseline to compare with (a new environment?): review it, then 'make guard-accept'"
            )
        if self.what == "removed":
            lost = " and its data" if self.resource_type in STATEFUL_TYPES else ""
            return (
                f"{self.stack}: {self.logical_id} ({self.resource_type}) is no longer in the template: "
                f"CloudFormation would delete {noun}{lost} (a renamed construct changes the logical ID; keep the old "
                "one with overrideLogicalId, or make the deletion deliberate)"
            )
        setting = _SETTINGS_NAMES.get((self.resource_type, self.what))
        changed = f"`{setting}`" if setting else f"{self.what}"
        return f"{self.stack}: changing {changed} replaces {noun} ({self.logical_id})"


@cache
def replacing_properties(resource_type: str) -> tuple[str, ...]:
    """JSON pointers (``/properties/...``) of the properties whose change replaces a resource of this type."""
    # cfn-lint ships the schemas: a guard and test dependency, found without importing it (no type stubs)
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or spec.origin is None:
        raise RuntimeError("cfn-lint is not installed: run 'make setup' (it comes with requirements-dev.txt)")
    schemas = Path(spec.origin).parent / "data" / "schemas"
    providers = json.loads((schemas / "providers" / "us-east-1.json").read_text(encoding="utf-8"))
    digest = providers.get(resource_type)
    found: tuple[str, ...] = ()
    if digest is not None:
        schema = json.loads((schemas / "resources" / f"{digest}.json").read_text(encoding="utf-8"))
        found = tuple(schema.get("createOnlyProperties", ()))
    return found + SCHEMA_GAPS.get(resource_type, ())


def _at(properties: dict[str, Any], pointer: str) -> Any:
    value: Any = properties
    for part in pointer.removeprefix("/properties/").split("/"):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def compare(stack: str, baseline: dict[str, Any], current: dict[str, Any]) -> list[Change]:
    """The replacing and deleting changes from ``baseline`` to ``current`` (two templates of ``stack``)."""
    changes: list[Change] = []
    old, new = baseline.get("Resources", {}), current.get("Resources", {})
    for logical_id, before in sorted(old.items()):
        kind = before["Type"]
        if kind.startswith("AWS::CDK::"):  # the CDK's version-reporting metadata: not a resource of the platform
            continue
        after = new.get(logical_id)
        if after is None or after["Type"] != kind:
            changes.append(Change(stack, logical_id, kind, "removed"))
            continue
        for pointer in replacing_properties(kind):
            was, now = _at(before.get("Properties", {}), pointer), _at(after.get("Properties", {}), pointer)
            if json.dumps(was, sort_keys=True) != json.dumps(now, sort_keys=True):
                changes.append(Change(stack, logical_id, kind, pointer.removeprefix("/properties/")))
    return changes


def stack_templates(assembly_dir: Path) -> dict[str, Path]:
    """Stack name -> template file of a cloud assembly: the app's (``cdk.out``) or a pipeline stage's
    (``cdk.out/assembly-<pipeline>-<env>``), whose artifacts are named after the stage but deploy the same stack."""
    stacks = {
        artifact["properties"].get("stackName", name): assembly_dir / artifact["properties"]["templateFile"]
        for name, artifact in stack_artifacts(load_manifest(assembly_dir)).items()
    }
    return dict(sorted(stacks.items()))


def check(assembly_dir: Path, baseline_dir: Path) -> list[Change]:
    """Every replacing or deleting change of the assembly's stacks against the baseline templates."""
    changes: list[Change] = []
    for name, path in stack_templates(assembly_dir).items():
        baseline = baseline_dir / f"{name}.template.json"
        if baseline.is_file():
            changes += compare(name, _load(baseline), _load(path))
        else:  # never a silent pass: an unguarded stack is reported until it has a baseline
            changes.append(Change(name, "", "", NO_BASELINE))
    return changes


STATEFUL_IDS = "stateful-ids.json"


def stateful_ids(template: dict[str, Any]) -> dict[str, str]:
    """Logical ID -> type of every stateful resource of a template."""
    return {
        logical_id: resource["Type"]
        for logical_id, resource in sorted(template.get("Resources", {}).items())
        if resource["Type"] in STATEFUL_TYPES
    }


def accept(assembly_dir: Path, baseline_dir: Path) -> list[Path]:
    """Make the assembly's templates the baseline, and record their stateful logical IDs; returns the files."""
    baseline_dir.mkdir(parents=True, exist_ok=True)
    written = []
    ids = {}
    for name, path in stack_templates(assembly_dir).items():
        target = baseline_dir / f"{name}.template.json"
        shutil.copyfile(path, target)
        written.append(target)
        ids[name] = stateful_ids(_load(path))
    record = baseline_dir / STATEFUL_IDS
    record.write_text(json.dumps(ids, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return [*written, record]


def _load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    """``guard.py ASSEMBLY BASELINE [--accept]``: report replacements (exit 1 if any), or accept the synthesis."""
    args = sys.argv[1:] if argv is None else argv
    accepting = "--accept" in args
    paths = [a for a in args if a != "--accept"]
    assembly, baseline = (Path(p) for p in [*paths, "cdk.out", "baseline"][:2])
    try:
        if accepting:
            for path in accept(assembly, baseline):
                print(f"baseline updated: {path}")
            return 0
        changes = check(assembly, baseline)
    except AssemblyError as error:  # no assembly there, or an unreadable manifest
        print(f"error: {error}", file=sys.stderr)
        return 2
    for change in changes:
        print(change)
    if changes:
        print(
            f"{len(changes)} change(s) would replace or delete resources. If that is intended, run "
            "'make guard-accept' and commit the new baseline with the change.",
            file=sys.stderr,
        )
        return 1
    print(f"no replacement: {', '.join(stack_templates(assembly))} match {baseline}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
