"""The replacement guard's verdicts, in the settings' words: one per root cause, with what CloudFormation will do,
what follows, and what is at risk. Built from :mod:`emr_platform.tools.replacement`'s analysis of two templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emr_platform.tools.replacement import (
    CUSTOM_NAMES,
    STATEFUL_TYPES,
    Action,
    Replaced,
    at,
    digest,
    replacements,
)
from emr_platform.tools.topology import environment_of

_SETTINGS_NAMES = {
    "ReleaseLabel": "release_label",
    "Applications": "applications",
    "Configurations": "configurations (or a setting that adds one)",
    "BootstrapActions": "bootstrap_actions (or a bootstrap script's content)",
    "SecurityConfiguration": "security",
    "EbsRootVolumeSize": "ebs_root_volume_size_gib",
    "EbsRootVolumeIops": "ebs_root_volume_iops",
    "EbsRootVolumeThroughput": "ebs_root_volume_throughput_mibps",
    "CustomAmiId": "custom_ami_id",
    "OSReleaseLabel": "os_release_label",
    "ScaleDownBehavior": "scale_down_behavior",
    "PlacementGroupConfigs": "primary_placement_strategy",
    "KerberosAttributes": "security.kerberos",
    "Name": "name",
    "Instances/MasterInstanceFleet": "instance_fleets.primary",
    "Instances/CoreInstanceFleet": "instance_fleets.core",
    "Instances/TaskInstanceFleets": "instance_fleets.tasks",
    "Instances/MasterInstanceGroup": "instance_groups.primary",
    "Instances/CoreInstanceGroup": "instance_groups.core",
    "Instances/TaskInstanceGroups": "instance_groups.tasks",
    "Instances/Ec2SubnetIds": "availability_zones / network (the subnets)",
    "Instances/Ec2SubnetId": "availability_zones / network (the subnet)",
    "CidrBlock": "network.vpc_cidr",
    "AvailabilityZone": "availability_zones",
    "DatabaseInput/Name": "platform_name / catalog.database_prefix / storage.data_zones (the database name)",
    "LifecycleConfiguration": "storage.log_expiration_days / storage.noncurrent_version_expiration_days",
    "RetentionInDays": "network.flow_logs_retention_days / monitoring (log retention)",
}
"""Property paths (their first one or two parts) as the settings name them."""

_NOUNS = {
    "AWS::EMR::Cluster": "the cluster",
    "AWS::EMR::SecurityConfiguration": "the security configuration",
    "AWS::S3::Bucket": "the bucket",
    "AWS::Glue::Database": "the Glue database",
    "AWS::KMS::Key": "the KMS key",
    "AWS::EC2::VPC": "the VPC",
    "AWS::EC2::Subnet": "the subnet",
    "AWS::EC2::SecurityGroup": "the security group",
    "AWS::Logs::LogGroup": "the log group",
    "AWS::SecretsManager::Secret": "the secret",
}

_AT_RISK = {
    "AWS::EMR::Cluster": "HDFS data, running steps and the state of cluster {name}",
    "AWS::S3::Bucket": "the objects of bucket {name}",
    "AWS::KMS::Key": "everything encrypted with key {name} (data in every bucket and log it protects)",
    "AWS::Glue::Database": "the table definitions of Glue database {name}",
    "AWS::Logs::LogGroup": "the log events of {name}",
    "AWS::SecretsManager::Secret": "the value of secret {name}",
}

_DOES = {
    "replace": "CloudFormation will REPLACE {noun} {what}, deleting the old one",
    "orphan": "CloudFormation will REPLACE {noun} {what} and KEEP the old one with its data, orphaned outside the "
    "stack (UpdateReplacePolicy Retain): the new one starts empty, and whatever used it loses the old data",
    "moved-orphan": "CloudFormation will KEEP {noun} {what} with its data outside the old stack, orphaned "
    "(DeletionPolicy Retain), and create a new, empty one in the new stack",
    "delete": "CloudFormation will DELETE {noun} {what}",
    "removed-orphan": "CloudFormation will stop managing {noun} {what} and KEEP it with its data (DeletionPolicy "
    "Retain), orphaned: nothing in the stack uses it any more",
    "fail": "the deploy will FAIL on {noun} {what} and roll back",
    "destroy-enabled": "{noun} {what} loses its retention: a later replacement or deletion DELETES it with its data",
    "expiry": "{noun} {what} keeps its data for less time, deleting what is older in place",
    "stack-removed": "the stack is no longer synthesized",
    "no-baseline": "there is no baseline to compare with (a new environment?): review it, then 'make guard-accept'",
}


@dataclass(frozen=True)
class Verdict:
    """One root cause: what changed (in the settings' words), what CloudFormation will do, what follows."""

    stack: str
    action: Action
    logical_id: str
    resource_type: str
    cause: str
    detail: str = ""
    followers: tuple[str, ...] = ()
    fingerprint: str = ""
    setting: str = ""
    at_risk: str = ""

    @property
    def id(self) -> str:
        """The acknowledgement ID: stack, resource, cause and a fingerprint of the new value, so that accepting
        one change never accepts the next one."""
        return f"{self.stack}:{self.logical_id}:{self.action}:{self.fingerprint}"

    def __str__(self) -> str:
        noun = _NOUNS.get(self.resource_type, self.resource_type)
        key: str = self.action
        if self.action == "orphan" and self.cause == "removed":
            key = "removed-orphan"
        elif self.action == "orphan" and self.cause.startswith("moves from stack "):
            key = "moved-orphan"
        does = _DOES[key].format(noun=noun, what=f"({self.logical_id})" if self.logical_id else "")
        if self.action == "no-baseline":
            return f"{self.stack}: {does}"
        joint = ", " if self.detail.startswith("because") else "; "
        lines = [
            f"{self.stack}: {self.setting or self.cause}",
            f"  {does}{joint + self.detail if self.detail else ''}.",
        ]
        if self.followers:
            lines.append(
                f"  Replaced with it, because their replacing properties refer to it: {', '.join(self.followers)}."
            )
        if self.at_risk:
            lines.append(f"  At risk: {self.at_risk}.")
        lines.append(f"  Acknowledge with: {self.id}")
        return "\n".join(lines)


def _path(resource: dict[str, Any]) -> list[str]:
    return str(resource.get("Metadata", {}).get("aws:cdk:path", "")).split("/")


def setting_of(template: dict[str, Any], logical_id: str, cause: str) -> str:
    """``config/<env>.yaml: clusters.analytics.release_label``: the settings field behind a change, as near as the
    construct path and the property tell."""
    environment = environment_of(template)
    resource = template.get("Resources", {}).get(logical_id, {})
    parts = _path(resource)
    section = parts[1] if len(parts) > 1 else ""
    types_under = {r["Type"] for r in template.get("Resources", {}).values() if _path(r)[1:2] == [section] and section}
    if "AWS::EMR::Cluster" in types_under:  # the cluster's own resources: its groups, roles, alarms
        prefix = f"clusters.{section}"
    elif "AWS::StepFunctions::StateMachine" in types_under and section not in {"Storage", "Network", "Catalog"}:
        prefix = f"transient_clusters.{section}"
    else:
        sections = {
            "Storage": "storage",
            "Network": "network",
            "Catalog": "catalog",
            "SecurityConfiguration": "security",
        }
        prefix = sections.get(section, f"the {section} construct" if section else "the stack")
    first = cause.split(", ", maxsplit=1)[0].split(" -> ", maxsplit=1)[0]
    words = next(
        (
            _SETTINGS_NAMES[k]
            for k in (first, "/".join(first.split("/")[:2]), first.split("/")[0])
            if k in _SETTINGS_NAMES
        ),
        first,
    )
    where = f"config/{environment}.yaml: " if environment else ""
    if cause == "removed":
        return f"{where}{prefix} (a resource no longer in the template)"
    return f"{where}{prefix}" if words == prefix else f"{where}{prefix}: {words}"


def _name(resource: dict[str, Any], logical_id: str) -> str:
    parts = _path(resource)
    return parts[-2] if len(parts) > 2 else logical_id


def _risk(resource: dict[str, Any], logical_id: str) -> str:
    template = _AT_RISK.get(resource.get("Type", ""))
    return template.format(name=_name(resource, logical_id)) if template else ""


def _retained(resource: dict[str, Any], policy: str) -> bool:
    return str(resource.get(policy, "Delete")) in {"Retain", "RetainExceptOnCreate"}


def compare(stack: str, old: dict[str, Any], new: dict[str, Any], moved: dict[str, str] | None = None) -> list[Verdict]:
    """Every verdict from template ``old`` to ``new`` of ``stack``: replacements (one per root cause, with what
    follows; ``moved`` resources change stacks), removals, retention dropped, data expiring sooner, and updates
    CloudFormation is known to refuse."""
    verdicts = [
        _replacement(stack, old, new, r) for r in replacements(old, new, moved).values() if r.root == r.logical_id
    ]
    verdicts += _removals(stack, old, new)
    verdicts += _retention_dropped(stack, old, new)
    verdicts += _expiry(stack, old, new)
    verdicts += _refused_updates(stack, old, new)
    return sorted(verdicts, key=lambda v: (v.stack, v.logical_id, v.action))


def _replacement(stack: str, old: dict[str, Any], new: dict[str, Any], replaced: Replaced) -> Verdict:
    resource = new["Resources"][replaced.logical_id]
    kind = resource["Type"]
    name_pointer = CUSTOM_NAMES.get(kind)
    name = at(resource.get("Properties", {}), name_pointer) if name_pointer else None
    was = at(old["Resources"][replaced.logical_id].get("Properties", {}), name_pointer) if name_pointer else None
    moving = replaced.cause.startswith("moves from stack ")
    detail = f"because it {replaced.cause.split(', ')[0]}" if moving else f"because {replaced.cause} changes"
    if name is not None and name == was and kind != "AWS::EMR::Cluster":
        action: Action = "fail"
        detail += f"; its custom name {name!r} stays, and CloudFormation cannot replace a resource with a custom name"
        if moving:
            detail += " (move it with cdk import instead: docs/topology.md#migrating)"
    else:
        # Leaving a stack follows the DeletionPolicy; a replacement in place the UpdateReplacePolicy.
        action = "orphan" if _retained(resource, "DeletionPolicy" if moving else "UpdateReplacePolicy") else "replace"
    followers = _summary(new, replaced.followers)
    risks = [_risk(resource, replaced.logical_id)]
    risks += [_risk(new["Resources"][f], f) for f in replaced.followers]
    return Verdict(
        stack,
        action,
        replaced.logical_id,
        kind,
        replaced.cause,
        detail=detail,
        followers=followers,
        fingerprint=digest([replaced.cause, resource.get("Properties")]),
        setting=setting_of(new, replaced.logical_id, replaced.cause),
        at_risk="; ".join(r for r in risks if r),
    )


def _removals(stack: str, old: dict[str, Any], new: dict[str, Any]) -> list[Verdict]:
    found: list[Verdict] = []
    for logical_id, before in old.get("Resources", {}).items():
        after = new.get("Resources", {}).get(logical_id)
        if before["Type"].startswith("AWS::CDK::") or (after is not None and after["Type"] == before["Type"]):
            continue
        kept = _retained(before, "DeletionPolicy")
        found.append(
            Verdict(
                stack,
                "orphan" if kept else "delete",
                logical_id,
                before["Type"],
                "removed",
                detail="it is no longer in the template (a renamed construct changes the logical ID: keep the old "
                "one with overrideLogicalId, or make the change deliberate)",
                fingerprint=digest(["removed", logical_id]),
                setting=setting_of(old, logical_id, "removed"),
                at_risk=_risk(before, logical_id) if not kept or before["Type"] in STATEFUL_TYPES else "",
            )
        )
    return found


def _retention_dropped(stack: str, old: dict[str, Any], new: dict[str, Any]) -> list[Verdict]:
    found: list[Verdict] = []
    for logical_id, after in new.get("Resources", {}).items():
        before = old.get("Resources", {}).get(logical_id)
        if before is None or after["Type"] not in STATEFUL_TYPES:
            continue
        dropped = [
            p for p in ("DeletionPolicy", "UpdateReplacePolicy") if _retained(before, p) and not _retained(after, p)
        ]
        if dropped:
            found.append(
                Verdict(
                    stack,
                    "destroy-enabled",
                    logical_id,
                    after["Type"],
                    "/".join(dropped),
                    detail=f"{' and '.join(dropped)} changes from Retain to {after.get(dropped[0], 'Delete')} (both "
                    "destroy switches are set: data_protection.allow_destroy and -c emr-platform:allow-destroy=true)",
                    fingerprint=digest([dropped, after.get("DeletionPolicy")]),
                    setting=setting_of(new, logical_id, "data_protection.allow_destroy"),
                    at_risk=_risk(after, logical_id),
                )
            )
    return found


def _lifecycle_days(bucket: dict[str, Any]) -> dict[str, int]:
    """``rule/kind -> days`` of a bucket's expiring lifecycle rules (current and noncurrent versions)."""
    days: dict[str, int] = {}
    rules = at(bucket.get("Properties", {}), "/properties/LifecycleConfiguration/Rules") or []
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict) or rule.get("Status", "Enabled") != "Enabled":
            continue
        name = str(rule.get("Id", index))
        if isinstance(rule.get("ExpirationInDays"), int):
            days[f"{name}/objects"] = rule["ExpirationInDays"]
        noncurrent = rule.get("NoncurrentVersionExpiration") or {}
        value = noncurrent.get("NoncurrentDays", rule.get("NoncurrentVersionExpirationInDays"))
        if isinstance(value, int):
            days[f"{name}/noncurrent versions"] = value
    return days


def _expiry(stack: str, old: dict[str, Any], new: dict[str, Any]) -> list[Verdict]:
    """Data kept for less time: a bucket's lifecycle expiry or a log group's retention shortened (or set where
    there was none), which deletes what is older in place, at the next lifecycle run."""
    found: list[Verdict] = []
    for logical_id, after in new.get("Resources", {}).items():
        before = old.get("Resources", {}).get(logical_id)
        if before is None:
            continue
        if after["Type"] == "AWS::S3::Bucket":
            was, now = _lifecycle_days(before), _lifecycle_days(after)
            shorter = {k: (was.get(k), d) for k, d in now.items() if k not in was or d < was[k]}
        elif after["Type"] == "AWS::Logs::LogGroup":
            was_days = before.get("Properties", {}).get("RetentionInDays")
            now_days = after.get("Properties", {}).get("RetentionInDays")
            late = isinstance(now_days, int) and (not isinstance(was_days, int) or now_days < was_days)
            shorter = {"log events": (was_days, now_days)} if late else {}
        else:
            continue
        if shorter:
            name = _name(after, logical_id)
            parts = [
                f"{what} older than {days} days (was {was_days or 'never'})"
                for what, (was_days, days) in shorter.items()
            ]
            found.append(
                Verdict(
                    stack,
                    "expiry",
                    logical_id,
                    after["Type"],
                    "LifecycleConfiguration" if after["Type"] == "AWS::S3::Bucket" else "RetentionInDays",
                    detail="; ".join(parts) + " will be deleted",
                    fingerprint=digest(sorted(shorter.items())),
                    setting=setting_of(
                        new,
                        logical_id,
                        "LifecycleConfiguration" if after["Type"] == "AWS::S3::Bucket" else "RetentionInDays",
                    ),
                    at_risk=f"{', '.join(shorter)} of {name} older than the new limit",
                )
            )
    return found


def _refused_updates(stack: str, old: dict[str, Any], new: dict[str, Any]) -> list[Verdict]:
    """In-place updates the service refuses: renaming a Glue database (UpdateDatabase cannot rename one)."""
    found: list[Verdict] = []
    for logical_id, after in new.get("Resources", {}).items():
        before = old.get("Resources", {}).get(logical_id)
        if before is None or after["Type"] != "AWS::Glue::Database":
            continue
        was = at(before.get("Properties", {}), "/properties/DatabaseInput/Name")
        now = at(after.get("Properties", {}), "/properties/DatabaseInput/Name")
        if was != now:
            found.append(
                Verdict(
                    stack,
                    "fail",
                    logical_id,
                    after["Type"],
                    "DatabaseInput/Name",
                    detail=f"renaming the database from {was!r} to {now!r}: Glue cannot rename a database, so the "
                    "update fails and rolls back (create the new database beside the old one and move the tables)",
                    fingerprint=digest([was, now]),
                    setting=setting_of(new, logical_id, "DatabaseInput/Name"),
                    at_risk=_risk(after, logical_id),
                )
            )
    return found


def _summary(template: dict[str, Any], logical_ids: list[str]) -> tuple[str, ...]:
    """Followers as a reader wants them: every cluster and stateful resource by name, the rest counted by type."""
    resources = template["Resources"]
    named = [
        f"{_NOUNS.get(resources[i]['Type'], resources[i]['Type'])} {_name(resources[i], i)} ({i})"
        for i in logical_ids
        if resources[i]["Type"] in STATEFUL_TYPES
    ]
    counted: dict[str, int] = {}
    for i in logical_ids:
        if resources[i]["Type"] not in STATEFUL_TYPES:
            counted[resources[i]["Type"]] = counted.get(resources[i]["Type"], 0) + 1
    return (*named, *(f"{n} {kind}" for kind, n in sorted(counted.items())))
