"""What CloudFormation will do to each resource when one template replaces another: the replacement guard's engine.

It works on the resource graph, not on text. A resource is replaced when a property changes that CloudFormation
can only apply by creating a new one; everything whose replacing property refers to it (``Ref``,
``Fn::GetAtt``, ``Fn::Sub``) is then replaced with it, because the reference's value (an ID, an ARN) changes. The
rules come from three sources, each cited where it is used:

- the CloudFormation resource schemas cfn-lint ships (``createOnlyProperties``);
- for an EMR cluster's ``Instances``, which its schema leaves out: the subnets, key, security groups and placement
  replace the cluster (CloudFormation's ``JobFlowInstancesConfig`` reference), while inside an instance fleet or
  group only what EMR's modify APIs take is changed in place (botocore's ``InstanceFleetModifyConfig`` and
  ``InstanceGroupModifyConfig`` shapes, plus the groups' ``AutoScalingPolicy``, set by PutAutoScalingPolicy);
- what CloudFormation refuses outright: replacing a resource whose custom name stays the same, renaming a Glue
  database (Glue's UpdateDatabase cannot rename).

What happens to the old resource follows its policies: ``UpdateReplacePolicy`` on replacement and
``DeletionPolicy`` on removal. ``Retain`` keeps it, with its data, outside the stack (orphaned): the new resource
starts empty. Anything else deletes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import botocore.session

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

INSTANCES_REPLACING = tuple(
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
        "Placement",
        "HadoopVersion",
    )
)
"""Parts of an EMR cluster's ``Instances`` that replace it (CloudFormation, ``AWS::EMR::Cluster
JobFlowInstancesConfig``: "Update requires: Replacement"); its resource schema does not list them."""

FLEETS = ("MasterInstanceFleet", "CoreInstanceFleet")
GROUPS = ("MasterInstanceGroup", "CoreInstanceGroup")

Action = Literal["replace", "delete", "orphan", "fail", "destroy-enabled", "expiry", "stack-removed", "no-baseline"]


@cache
def _modifiable(shape: str) -> frozenset[str]:
    """Members of an EMR modify shape (botocore's model), the fields EMR changes on a running fleet or group."""
    model = botocore.session.get_session().get_service_model("emr")
    members: dict[str, Any] = model.shape_for(shape).members  # type: ignore[attr-defined]  # a StructureShape
    return frozenset(members) - {"InstanceFleetId", "InstanceGroupId", "Context"}


def fleet_in_place() -> frozenset[str]:
    """Instance fleet fields EMR's ModifyInstanceFleet changes in place (``InstanceFleetModifyConfig``)."""
    return _modifiable("InstanceFleetModifyConfig")


def group_in_place() -> frozenset[str]:
    """Instance group fields changed in place: ``InstanceGroupModifyConfig``'s, and the autoscaling policy."""
    return _modifiable("InstanceGroupModifyConfig") | {"AutoScalingPolicy"}


@cache
def create_only(resource_type: str) -> tuple[str, ...]:
    """JSON pointers (``/properties/...``) whose change replaces a resource of this type (its schema's
    ``createOnlyProperties``, plus :data:`INSTANCES_REPLACING` for an EMR cluster)."""
    spec = importlib.util.find_spec("cfnlint")  # a guard and test dependency; found without importing it
    if spec is None or spec.origin is None:
        raise RuntimeError("cfn-lint is not installed: run 'make setup' (it comes with requirements-dev.txt)")
    schemas = Path(spec.origin).parent / "data" / "schemas"
    providers = json.loads((schemas / "providers" / "us-east-1.json").read_text(encoding="utf-8"))
    digest = providers.get(resource_type)
    found: tuple[str, ...] = ()
    if digest is not None:
        schema = json.loads((schemas / "resources" / f"{digest}.json").read_text(encoding="utf-8"))
        found = tuple(schema.get("createOnlyProperties", ()))
    return found + (INSTANCES_REPLACING if resource_type == "AWS::EMR::Cluster" else ())


CUSTOM_NAMES = {
    "AWS::S3::Bucket": "/properties/BucketName",
    "AWS::Glue::Database": "/properties/DatabaseInput/Name",
    "AWS::Logs::LogGroup": "/properties/LogGroupName",
    "AWS::EMR::SecurityConfiguration": "/properties/Name",
    "AWS::IAM::Role": "/properties/RoleName",
    "AWS::KMS::Alias": "/properties/AliasName",
    "AWS::SecretsManager::Secret": "/properties/Name",
    "AWS::EMR::Cluster": "/properties/Name",
    "AWS::EMRServerless::Application": "/properties/Name",
}
"""The property holding a resource's physical name. CloudFormation cannot replace a resource whose custom name
stays the same (the new one would need the name the old one still holds); an EMR cluster's name is not unique,
so it is not one of those (its entry serves the report only). An EMR Serverless application's name is unique
in its account and region (CreateApplication refuses a second one; ConflictException)."""


def at(properties: dict[str, Any], pointer: str) -> Any:
    """The value at ``pointer`` (``/properties/A/B``) of a resource's properties; None when absent."""
    value: Any = properties
    for part in pointer.removeprefix("/properties/").split("/"):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


_SUB_NAME = re.compile(r"\$\{(?!!)([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(value: Any) -> set[str]:
    """The logical IDs ``value`` refers to through ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub``."""
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str) and not value["Ref"].startswith("AWS::"):
            found.add(value["Ref"])
        getatt = value.get("Fn::GetAtt")
        if isinstance(getatt, list) and getatt:
            found.add(str(getatt[0]))
        elif isinstance(getatt, str):
            found.add(getatt.split(".")[0])
        sub = value.get("Fn::Sub")
        if sub is not None:
            text, variables = (sub[0], sub[1] if len(sub) > 1 else {}) if isinstance(sub, list) else (sub, {})
            found |= {m for m in _SUB_NAME.findall(str(text)) if m not in variables}
            found |= references(variables)
        for key, item in value.items():
            if key not in {"Ref", "Fn::GetAtt", "Fn::Sub"}:
                found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


@dataclass
class Replaced:
    """A resource CloudFormation will replace: why (the property, or the resource it follows)."""

    logical_id: str
    cause: str
    """The property path (``ReleaseLabel``, ``Instances/CoreInstanceFleet/InstanceTypeConfigs``)."""
    root: str
    """The resource whose own change starts the chain (itself when the cause is its own property)."""
    followers: list[str] = field(default_factory=list)


def own_replacements(kind: str, before: dict[str, Any], after: dict[str, Any]) -> Iterator[str]:
    """The property paths of ``after`` (against ``before``) that make CloudFormation replace a ``kind``."""
    old, new = before.get("Properties", {}), after.get("Properties", {})
    for pointer in create_only(kind):
        if not _same(at(old, pointer), at(new, pointer)):
            yield pointer.removeprefix("/properties/")
    if kind == "AWS::EMR::Cluster":
        yield from _instances_replacements(old.get("Instances", {}), new.get("Instances", {}))


def _instances_replacements(old: dict[str, Any], new: dict[str, Any]) -> Iterator[str]:
    for name in (*FLEETS, *GROUPS):
        allowed = fleet_in_place() if name in FLEETS else group_in_place()
        was, now = old.get(name) or {}, new.get(name) or {}
        for key in sorted(set(was) | set(now)):
            if key not in allowed and not _same(was.get(key), now.get(key)):
                yield f"Instances/{name}/{key}"
    for name, allowed in (("TaskInstanceFleets", fleet_in_place()), ("TaskInstanceGroups", group_in_place())):
        was = {f.get("Name", str(i)): f for i, f in enumerate(old.get(name) or [])}
        now = {f.get("Name", str(i)): f for i, f in enumerate(new.get(name) or [])}
        for fleet in sorted(set(was) - set(now)):  # EMR has no call that removes a fleet or group
            yield f"Instances/{name}/{fleet} (removed)"
        for fleet in sorted(set(was) & set(now)):
            for key in sorted(set(was[fleet]) | set(now[fleet])):
                if key not in allowed and not _same(was[fleet].get(key), now[fleet].get(key)):
                    yield f"Instances/{name}/{fleet}/{key}"


def replacements(old: dict[str, Any], new: dict[str, Any], moved: dict[str, str] | None = None) -> dict[str, Replaced]:
    """Every resource of ``new`` that CloudFormation replaces, its own changes first, then what follows them;
    ``moved`` (logical ID -> cause) are resources that change stacks, which CloudFormation deletes in one and
    creates in the other (see :mod:`emr_platform.tools.topology`)."""
    old_resources, new_resources = old.get("Resources", {}), new.get("Resources", {})
    replaced: dict[str, Replaced] = {}
    for logical_id, after in new_resources.items():
        before = old_resources.get(logical_id)
        if before is None or before["Type"] != after["Type"]:
            continue
        causes = [moved[logical_id]] if moved and logical_id in moved else []
        causes += list(own_replacements(after["Type"], before, after))
        if causes:
            replaced[logical_id] = Replaced(logical_id, ", ".join(causes), logical_id)
    _group_moves(replaced, new_resources, moved or {})
    changed = True
    while changed:  # follow the graph: a replacing property that refers to a replaced resource replaces too
        changed = False
        for logical_id, after in new_resources.items():
            if logical_id not in old_resources:
                continue
            upstream = _replaced_upstream(after, replaced, logical_id)
            if upstream is None:
                continue
            pointer, hit = upstream
            root = replaced[hit].root
            own = replaced.get(logical_id)
            if own is not None and own.root != logical_id:
                continue  # already follows a root
            if own is not None and root == logical_id:
                continue  # the chain comes back to itself
            # A resource replaced for its own reason that also refers to a replaced one (a subnet whose range
            # changes with the VPC's) belongs to that root cause: one verdict per edit, not one per resource.
            replaced[logical_id] = Replaced(logical_id, f"{pointer} -> {hit}", root)
            replaced[root].followers.append(logical_id)
            if own is not None:
                replaced[root].followers.extend(f for f in own.followers if f not in replaced[root].followers)
                for follower in own.followers:
                    replaced[follower].root = root
            changed = True
    return replaced


def _group_moves(replaced: dict[str, Replaced], resources: dict[str, Any], moved: dict[str, str]) -> None:
    """One root per move between two stacks (its EMR cluster, else its first stateful resource, else its first
    resource), the rest of what moves with it following: one verdict per edit, not one per resource."""
    groups: dict[str, list[str]] = {}
    for logical_id, cause in moved.items():
        if replaced.get(logical_id) is not None and replaced[logical_id].cause.startswith(cause):
            groups.setdefault(cause, []).append(logical_id)

    def rank(logical_id: str) -> tuple[int, str]:
        kind = resources[logical_id]["Type"]
        return (0 if kind == "AWS::EMR::Cluster" else 1 if kind in STATEFUL_TYPES else 2, logical_id)

    for members in groups.values():
        root, *rest = sorted(members, key=rank)
        for follower in rest:
            replaced[follower] = Replaced(follower, replaced[follower].cause, root)
            replaced[root].followers.append(follower)


def _replaced_upstream(
    resource: dict[str, Any], replaced: dict[str, Replaced], logical_id: str
) -> tuple[str, str] | None:
    """The first replacing property of ``resource`` that refers to another replaced resource, and that resource."""
    for pointer in create_only(resource["Type"]):
        hit = sorted(references(at(resource.get("Properties", {}), pointer)) & set(replaced) - {logical_id})
        if hit:
            return pointer.removeprefix("/properties/"), hit[0]
    return None


def digest(value: Any) -> str:
    """A short, stable fingerprint of a value: acknowledgements name the exact change they accept."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:10]
