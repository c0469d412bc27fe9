"""Run moto's server, with fixes for the emulator bugs a CDK deployment of this platform runs into.

Each fix makes moto do what AWS documents; none of them invents a result. Remove a fix when the pinned moto
release carries it (each names the moto version it was found in).

Usage: ``python -m tests.e2e.emulator -H localhost -p PORT`` (the arguments of ``moto_server``).
"""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, BaseResponse
from moto.ec2.exceptions import DependencyViolationError
from moto.ec2.models.flow_logs import FlowLogs
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.vpcs import VPCEndPoint
from moto.emr.exceptions import ValidationException
from moto.emr.models import Cluster, SecurityConfiguration, emr_backends
from moto.emr.responses import ElasticMapReduceResponse
from moto.iam.models import Group, ManagedPolicy, Role, User
from moto.kms.models import Key, kms_backends
from moto.logs.models import logs_backends
from moto.s3.models import s3_backends
from moto.server import main
from moto.ssm.models import Parameter
from moto.utilities.utils import get_partition

_create_key = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_create_cluster = Cluster.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_execute_change_set = CloudFormationBackend.execute_change_set
_create_security_configuration = SecurityConfiguration.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_create_parameter = Parameter.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _create_parameter_with_map_tags(
    cls: type[Parameter],
    /,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Parameter:
    """moto 5.2.5: AWS::SSM::Parameter spells its tags as a JSON map (its resource schema's ``Tags``: an object of
    string values), unlike most types; moto reads them as a list of {Key, Value} and fails with TypeError, so any
    tagged parameter (the foundation's, for the cluster stacks) could not be created."""
    properties = cloudformation_json.get("Properties", {})
    if isinstance(properties.get("Tags"), dict):
        properties["Tags"] = [{"Key": k, "Value": v} for k, v in properties["Tags"].items()]
    return _create_parameter(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)  # type: ignore[no-any-return]


def _create_key_with_cfn_tags(
    cls: type[Key], /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Key:
    """moto 5.2.5: AWS::KMS::Key spells its tags {Key, Value}, as CloudFormation does everywhere; moto passes them
    on unchanged to CreateKey, which spells them {TagKey, TagValue}, and fails with KeyError: 'TagKey'. And it
    keeps the KeyPolicy object as it is, where CreateKey takes JSON text: DescribeKey then failed with a 500."""
    properties = cloudformation_json.get("Properties", {})
    tags = properties.get("Tags")
    if tags:
        properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags]
    if isinstance(properties.get("KeyPolicy"), dict):  # kept as a dict, every later call on the key failed
        properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
    return _create_key(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)  # type: ignore[no-any-return]


def _update_key_in_place(
    cls: type[Key],
    /,
    original_resource: Key,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> Key:
    """moto 5.2.5: AWS::KMS::Key has no update, so an update of its policy left None in the stack's resource map
    and every later reference to the key failed ("Fn::GetAtt references undefined resource"). KeyPolicy,
    Description and EnableKeyRotation change without interruption (the type's CloudFormation reference)."""
    properties = cloudformation_json.get("Properties", {})
    policy = properties.get("KeyPolicy")
    if policy is not None:
        original_resource.policy = json.dumps(policy) if isinstance(policy, dict) else str(policy)
    original_resource.description = properties.get("Description", original_resource.description)
    original_resource.key_rotation_status = _as_bool(properties.get("EnableKeyRotation"))
    return original_resource


def _delete_resource_unless_retained(
    self: parsing.ResourceMap, parsed_resource: Any, resource_json: dict[str, Any]
) -> None:
    """moto 5.2.5: a resource removed from a stack by an update was deleted whatever its DeletionPolicy, where
    CloudFormation keeps one whose policy is Retain (or RetainExceptOnCreate) and only stops managing it."""
    if str(resource_json.get("DeletionPolicy")) in {"Retain", "RetainExceptOnCreate"}:
        return
    _delete_resource(self, parsed_resource, resource_json)


def _create_cluster_with_instance_settings(
    cls: type[Cluster],
    /,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Cluster:
    """moto 5.2.5: AWS::EMR::Cluster reads the snake_case keys of RunJobFlow's parser from the template's
    PascalCase ``Instances``, so it drops KeepJobFlowAliveWhenNoSteps (the cluster is TERMINATED at once) and
    TerminationProtected, and it ignores SecurityConfiguration."""
    properties = cloudformation_json["Properties"]
    template = copy.deepcopy(properties)  # before the snake_case keys below: what an update compares against
    instances = properties.setdefault("Instances", {})
    instances["keep_job_flow_alive_when_no_steps"] = _as_bool(instances.get("KeepJobFlowAliveWhenNoSteps"))
    instances["termination_protected"] = _as_bool(instances.get("TerminationProtected"))
    cluster = _create_cluster(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    cluster.security_configuration = properties.get("SecurityConfiguration")
    _apply_in_place(cluster, template)
    _TEMPLATES[cluster.id] = template
    _FLEETS[cluster.id] = [_fleet(cluster.id, fleet) for fleet in _fleets(template.get("Instances", {}))]
    if _FLEETS[cluster.id]:  # moto describes every cluster as one of instance groups
        cluster.instance_collection_type = "INSTANCE_FLEET"
    return cluster  # type: ignore[no-any-return]


_TEMPLATES: dict[str, dict[str, Any]] = {}
"""Each cluster's resolved template properties, by cluster ID: what its next update is compared against, and
where the emulator reads what moto does not keep (the managed scaling policy)."""
_FLEETS: dict[str, list[dict[str, Any]]] = {}
"""Each cluster's instance fleets, as ListInstanceFleets shows them, by cluster ID."""


def _fleets(instances: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's fleets, primary and core first, each with its type (EMR's InstanceFleetType)."""
    typed = [("MASTER", instances.get("MasterInstanceFleet")), ("CORE", instances.get("CoreInstanceFleet"))]
    typed += [("TASK", fleet) for fleet in instances.get("TaskInstanceFleets") or []]
    return [{**fleet, "InstanceFleetType": kind} for kind, fleet in typed if fleet]


def _fleet(cluster_id: str, fleet: dict[str, Any]) -> dict[str, Any]:
    """An InstanceFleet as ListInstanceFleets shows it, its ID stable for the cluster's life."""
    return {
        "Id": f"if-{cluster_id[2:8]}{fleet['InstanceFleetType'][0]}{fleet.get('Name', '')}"[:32],
        "Name": fleet.get("Name", ""),
        "InstanceFleetType": fleet["InstanceFleetType"],
        "TargetOnDemandCapacity": int(fleet.get("TargetOnDemandCapacity", 0)),
        "TargetSpotCapacity": int(fleet.get("TargetSpotCapacity", 0)),
        "Status": {"State": "RUNNING"},
    }


@cache
def _schema_create_only(resource_type: str) -> frozenset[str]:
    """The properties whose change replaces a resource of ``resource_type``: its CloudFormation resource schema's
    ``createOnlyProperties`` (cfn-lint ships the registry's schemas), as the CloudFormation service reads them."""
    spec = importlib.util.find_spec("cfnlint")
    assert spec is not None and spec.origin is not None, "cfn-lint (requirements-dev.txt) is not installed"
    schemas = Path(spec.origin).parent / "data" / "schemas"
    digest = json.loads((schemas / "providers" / "us-east-1.json").read_text(encoding="utf-8"))[resource_type]
    schema = json.loads((schemas / "resources" / f"{digest}.json").read_text(encoding="utf-8"))
    return frozenset(p.removeprefix("/properties/") for p in schema.get("createOnlyProperties", ()))


# What EMR changes on a running cluster (ModifyCluster, PutManagedScalingPolicy, PutAutoTerminationPolicy,
# AddTags/RemoveTags, SetVisibleToAllUsers, SetTerminationProtection, ModifyInstanceFleet's target capacities);
# every other change replaces the cluster or is one the emulator refuses to guess.
_IN_PLACE = {"StepConcurrencyLevel", "ManagedScalingPolicy", "AutoTerminationPolicy", "Tags", "VisibleToAllUsers"}
_FLEET_IN_PLACE = {"TargetOnDemandCapacity", "TargetSpotCapacity"}
_INSTANCES_IN_PLACE = {
    "Instances/MasterInstanceFleet", "Instances/CoreInstanceFleet", "Instances/TaskInstanceFleets",
    "Instances/TerminationProtected",
}  # fmt: skip


def _update_cluster(
    cls: type[Cluster],
    /,
    original_resource: Cluster,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> Cluster:
    """moto 5.2.5: AWS::EMR::Cluster has no update; on any change moto drops the cluster from the stack (its
    resource becomes None) and leaves it running. CloudFormation replaces the cluster when a property of its
    schema's createOnlyProperties changes (``Instances/Ec2SubnetIds`` and the other JobFlowInstancesConfig parts
    among them): a new cluster is created, then the old one terminated. Otherwise it updates the cluster in place
    through EMR's modify calls, and the cluster keeps its ID."""
    old, new = _TEMPLATES[original_resource.id], copy.deepcopy(cloudformation_json["Properties"])
    changed = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
    instances_old, instances_new = old.get("Instances", {}), new.get("Instances", {})
    changed |= {
        f"Instances/{key}" for key in instances_old.keys() | instances_new.keys()
        if instances_old.get(key) != instances_new.get(key)
    }  # fmt: skip
    changed.discard("Instances")
    if changed & _schema_create_only("AWS::EMR::Cluster"):
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        emr_backends[account_id][region_name].terminate_job_flows([original_resource.id])
        return replacement
    _modify_fleets(original_resource, instances_new)
    refused = changed - _IN_PLACE - _INSTANCES_IN_PLACE
    if refused:
        raise ValidationError(original_resource.id, f"the emulator does not model an update of {sorted(refused)}")
    _apply_in_place(original_resource, new)
    original_resource.termination_protected = _as_bool(instances_new.get("TerminationProtected"))
    _TEMPLATES[original_resource.id] = new
    return original_resource


def _modify_fleets(cluster: Cluster, instances: dict[str, Any]) -> None:
    """ModifyInstanceFleet: the target capacities of a fleet change in place; any other change of a fleet, or a
    fleet added or removed, is refused rather than guessed."""
    was = {(f["InstanceFleetType"], f.get("Name", "")): f for f in _fleets(_TEMPLATES[cluster.id].get("Instances", {}))}
    now = {(f["InstanceFleetType"], f.get("Name", "")): f for f in _fleets(instances)}
    if set(was) != set(now):
        raise ValidationError(
            cluster.id, f"the emulator does not model adding or removing fleets {set(was) ^ set(now)}"
        )
    for key, fleet in now.items():
        if {k: v for k, v in fleet.items() if k not in _FLEET_IN_PLACE} != {
            k: v for k, v in was[key].items() if k not in _FLEET_IN_PLACE
        }:
            raise ValidationError(cluster.id, f"the emulator does not model this change of fleet {key[1]!r}")
    for shown in _FLEETS[cluster.id]:
        fleet = now[(shown["InstanceFleetType"], shown["Name"])]
        shown["TargetOnDemandCapacity"] = int(fleet.get("TargetOnDemandCapacity", 0))
        shown["TargetSpotCapacity"] = int(fleet.get("TargetSpotCapacity", 0))


def _apply_in_place(cluster: Cluster, properties: dict[str, Any]) -> None:
    """The properties EMR changes on a running cluster, as its modify calls would (moto's create ignores them)."""
    cluster.step_concurrency_level = int(properties.get("StepConcurrencyLevel", 1))
    cluster.set_visibility(_as_bool(properties.get("VisibleToAllUsers", True)))
    cluster._tags = {tag["Key"]: tag["Value"] for tag in properties.get("Tags", [])}


def _get_managed_scaling_policy(self: ElasticMapReduceResponse) -> ActionResult:
    """moto 5.2.5 has no GetManagedScalingPolicy: answer with the policy the cluster's template set."""
    cluster = self.backend.describe_cluster(self._get_param("ClusterId"))
    policy = _TEMPLATES.get(cluster.id, {}).get("ManagedScalingPolicy")
    return ActionResult({"ManagedScalingPolicy": policy} if policy else {})


def _modify_instance_fleet(self: ElasticMapReduceResponse) -> ActionResult:
    """moto 5.2.5 has no ModifyInstanceFleet: set the fleet's target capacities, as EMR does (its resize is
    immediate here: the emulator runs no instances)."""
    cluster = self.backend.describe_cluster(self._get_param("ClusterId"))
    change = self._get_param("InstanceFleet")
    fleet = next((f for f in _FLEETS.get(cluster.id, []) if f["Id"] == change.get("InstanceFleetId")), None)
    if fleet is None:
        raise ValidationException(f"Instance fleet {change.get('InstanceFleetId')} is not found")
    for key in _FLEET_IN_PLACE:  # moto's parsed parameters answer get() by the API's names, not iteration
        if change.get(key) is not None:
            fleet[key] = int(change.get(key))
    return ActionResult({})


def _list_instance_fleets(self: ElasticMapReduceResponse) -> ActionResult:
    """moto 5.2.5 has no instance fleets (a fleet cluster shows none): list the fleets of its template."""
    cluster = self.backend.describe_cluster(self._get_param("ClusterId"))
    return ActionResult({"InstanceFleets": _FLEETS.get(cluster.id, [])})


def _create_security_configuration_as_json(
    cls: type[SecurityConfiguration],
    /,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> SecurityConfiguration:
    """moto 5.2.5: AWS::EMR::SecurityConfiguration takes its configuration as a JSON object; moto stores the
    Python dict's repr, which DescribeSecurityConfiguration then returns as not-JSON. Store it as JSON."""
    properties = cloudformation_json["Properties"]
    if isinstance(properties.get("SecurityConfiguration"), dict):
        properties["SecurityConfiguration"] = json.dumps(properties["SecurityConfiguration"])
    return _create_security_configuration(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)  # type: ignore[no-any-return]


def _as_bool(value: Any) -> bool:
    """Template booleans arrive as ``true`` or as the string ``"true"``."""
    return str(value).lower() == "true"


def _execute_change_set_with_outputs(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    """moto 5.2.5: a stack created through a change set (as the CDK CLI does) keeps the empty template it was
    created with for its outputs, so describe_stacks shows none; re-read them from the executed template."""
    _execute_change_set(self, change_set_name, stack_name)
    for change_set in self.change_sets.values():
        if change_set_name in (change_set.change_set_id, change_set.change_set_name):
            stack = self.stacks[change_set.stack_id]
            stack._parse_template()
            stack.output_map = stack._create_output_map()


def _update_termination_protection(self: CloudFormationResponse) -> ActionResult:
    """moto 5.2.5 has no UpdateTerminationProtection, which the CDK CLI calls for every stack with termination
    protection (staging, prod): the deploy failed with an XML "Deserialization error". Set the flag the stack
    already carries and answer with the stack's ID, as the API does."""
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


def _delete_stack_unless_protected(self: CloudFormationResponse) -> ActionResult:
    """moto 5.2.5 deletes a stack whatever its termination protection; CloudFormation refuses ("Stack [name]
    cannot be deleted while TerminationProtection is enabled"), which is what protects prod from `cdk destroy`."""
    name = self._get_param("StackName")
    stacks = [s for s in self.cloudformation_backend.stacks.values() if name in (s.name, s.stack_id)]
    live = [s for s in stacks if s.status != "DELETE_COMPLETE"]
    if live and live[0].enable_termination_protection:
        raise ValidationError(name, f"Stack [{live[0].name}] cannot be deleted while TerminationProtection is enabled")
    return _delete_stack(self)


class _ChangeSetNotFoundError(CloudFormationError):
    code = "ChangeSetNotFound"


def _change_set(self: CloudFormationResponse) -> Any:
    """The change set named by the request (an ARN, or a name within the stack named by StackName), or None.
    moto 5.2.5 looks names up across every stack, deleted ones included: after a deletion, the deleted stack's
    ``cdk-deploy-change-set`` answered for the new stack's, so DeleteChangeSet removed the wrong one and the CDK
    CLI waited for ever for its own to go."""
    name, stack_name = self._get_param("ChangeSetName"), self._get_param("StackName")
    backend = self.cloudformation_backend
    if name in backend.change_sets:
        return backend.change_sets[name]
    live = {s.stack_id for s in backend.stacks.values() if stack_name in (s.name, s.stack_id)}
    mine = [c for c in backend.change_sets.values() if c.change_set_name == name and c.stack_id in live]
    return mine[-1] if mine else None


def _describe_change_set_or_not_found(self: CloudFormationResponse) -> ActionResult:
    """moto 5.2.5 answers a change set it does not have with ValidationError; CloudFormation answers
    ChangeSetNotFound, which the CDK CLI waits for after deleting its previous change set before every update
    (``waitForGone``): every update of a stack failed with "Stack with id cdk-deploy-change-set does not exist"."""
    change_set = _change_set(self)
    if change_set is None:
        raise _ChangeSetNotFoundError(f"ChangeSet [{self._get_param('ChangeSetName')}] does not exist")
    return ActionResult(change_set)


def _delete_change_set_of_the_stack(self: CloudFormationResponse) -> ActionResult:
    """DeleteChangeSet of the stack's own change set (see :func:`_change_set`)."""
    change_set = _change_set(self)
    if change_set is None:
        raise _ChangeSetNotFoundError(f"ChangeSet [{self._get_param('ChangeSetName')}] does not exist")
    del self.cloudformation_backend.change_sets[change_set.change_set_id]
    return ActionResult({})


def _create_change_set_reusing_inputs(self: CloudFormationResponse) -> ActionResult:
    """moto 5.2.5: a parameter passed with UsePreviousValue gets the previous *resolved* value; CloudFormation
    reuses the value it was given (or its default) and resolves it again. For an SSM-typed parameter (the CDK's BootstrapVersion,
    whose value is the name ``/cdk-bootstrap/.../version``) moto then looked up a parameter named "30" and every
    update by the CDK CLI failed with an AttributeError. Answer with the given values during the call."""
    name = self._get_param("StackName")
    if self._get_param("ChangeSetType") == "IMPORT":
        _IMPORTS[name] = {
            r.get("LogicalResourceId"): dict(r.get("ResourceIdentifier"))
            for r in self._get_param("ResourcesToImport", [])
        }
    stack = next((s for s in self.cloudformation_backend.stacks.values() if name in (s.name, s.stack_id)), None)
    if stack is None:
        return _create_change_set(self)
    resolved = stack.resource_map.resolved_parameters
    slots = stack.resource_map._template.get("Parameters", {})
    given = {key: slot["Default"] for key, slot in slots.items() if "Default" in slot}  # the CLI passes none
    stack.resource_map.resolved_parameters = {**resolved, **given, **stack.resource_map.input_parameters}
    try:
        return _create_change_set(self)
    finally:
        stack.resource_map.resolved_parameters = resolved


def _delete_managed_policy(self: ManagedPolicy, account_id: str, region_name: str) -> None:
    """moto 5.2.5 cannot delete an AWS::IAM::ManagedPolicy of a stack: it stays attached, so deleting the roles
    it is attached to fails ("Cannot delete entity, must detach all policies first") and so does every stack
    deletion (``cdk destroy``). CloudFormation detaches the policy from its roles, users and groups, then
    deletes it."""
    backend = self.backend
    holders: list[Role | User | Group] = [*backend.roles.values(), *backend.users.values(), *backend.groups.values()]
    for holder in holders:
        if self.arn in holder.managed_policies:
            self.detach_from(holder)
    backend.delete_policy(self.arn)


def _delete_route_table(self: RouteTable, account_id: str, region_name: str) -> None:
    """moto 5.2.5 cannot delete a stack's AWS::EC2::RouteTable (nor its SubnetRouteTableAssociation), so the
    VPC's deletion fails ("has dependencies") and so does ``cdk destroy``. CloudFormation removes the
    associations, then the table, after the gateway endpoints that route through it (which refer to it; moto
    deletes in passes, retrying what a dependency refused)."""
    endpoints = self.ec2_backend.vpc_end_points.values()
    if any(self.id in (e.route_table_ids or ()) and e.state != "deleted" for e in endpoints):
        raise DependencyViolationError(f"The routeTable '{self.id}' has dependencies and cannot be deleted.")
    for association_id in list(self._associations):
        self.ec2_backend.disassociate_route_table(association_id)
    self.ec2_backend.delete_route_table(self.id)


def _delete_vpc_endpoint(self: VPCEndPoint, account_id: str, region_name: str) -> None:
    """moto 5.2.5 cannot delete a stack's AWS::EC2::VPCEndpoint; CloudFormation deletes it with the stack."""
    self.ec2_backend.delete_vpc_endpoints([self.id])


def _delete_flow_log(self: FlowLogs, account_id: str, region_name: str) -> None:
    """moto 5.2.5 cannot delete a stack's AWS::EC2::FlowLog; CloudFormation deletes it with the stack."""
    self.ec2_backend.delete_flow_logs([self.id])


_IMPORTS: dict[str, dict[str, dict[str, str]]] = {}
"""The resources an IMPORT change set adopts, by stack name: logical ID -> its identifier (ResourcesToImport)."""

# How the emulator finds an existing resource by its import identifier (each type's primaryIdentifier).
_ADOPTERS: dict[str, Callable[[str, str, str], Any]] = {
    "AWS::S3::Bucket": lambda account, region, name: s3_backends[account][get_partition(region)].buckets[name],
    "AWS::KMS::Key": lambda account, region, key_id: kms_backends[account][region].keys[key_id],
    "AWS::Logs::LogGroup": lambda account, region, name: logs_backends[account][region].groups[name],
}


def _create_or_adopt(
    logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
) -> Any:
    """moto 5.2.5 has no resource import: an IMPORT change set (``cdk import``) created new resources instead of
    adopting the existing ones. CloudFormation takes each resource of ResourcesToImport as it is, found by its
    identifier, and fails when there is none (the emulator also fails for a type it cannot look up)."""
    stack_name = resources_map.stack_id.split(":stack/")[-1].split("/")[0]
    identifier = _IMPORTS.get(stack_name, {}).get(logical_id)
    if identifier is None:
        return _parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
    kind, [value] = resource_json["Type"], identifier.values()
    try:
        resource = _ADOPTERS[kind](account_id, region_name, value)
    except KeyError:
        problem = f"Resource {logical_id} of type {kind} with identifier {value} does not exist"
        raise ValidationError(message=problem) from None
    resource.cf_resource_type, resource.logical_resource_id = kind, logical_id
    return resource


def _list_stack_resources_with_status(self: CloudFormationResponse) -> ActionResult:
    """moto 5.2.5 shows every resource of a deleted stack as CREATE_COMPLETE; CloudFormation shows those its
    DeletionPolicy retained as DELETE_SKIPPED (which ``adopt`` looks for) and the others as DELETE_COMPLETE."""
    result = _list_stack_resources(self)
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    if stack.status == "DELETE_COMPLETE":
        resources = stack.template_dict.get("Resources", {})
        summaries: list[dict[str, Any]] = result.result["StackResourceSummaries"]  # type: ignore[index]
        for summary in summaries:
            policy = resources.get(summary["LogicalResourceId"], {}).get("DeletionPolicy")
            summary["ResourceStatus"] = "DELETE_SKIPPED" if policy == "Retain" else "DELETE_COMPLETE"
    return result


def _emr_region(self: ElasticMapReduceResponse, request: Any, full_url: str) -> str:
    """moto 5.2.5: EMR reads the region from the host name only, so a request to a custom endpoint (localhost)
    lands in us-east-1 whatever its signature's region; fall back to the signature, as every other service does."""
    if any(regex.search(self.parsed_url.netloc) for regex in ElasticMapReduceResponse.emr_region_regex):
        return _emr_region_from_host(self, request, full_url)
    return BaseResponse.get_region_from_url(self, request, full_url)


_delete_stack = CloudFormationResponse.delete_stack
_delete_resource = parsing.ResourceMap._delete_resource
parsing.ResourceMap._delete_resource = _delete_resource_unless_retained  # type: ignore[method-assign]
CloudFormationResponse.delete_change_set = _delete_change_set_of_the_stack  # type: ignore[method-assign]
_create_change_set = CloudFormationResponse.create_change_set
_list_stack_resources = CloudFormationResponse.list_stack_resources
CloudFormationResponse.list_stack_resources = _list_stack_resources_with_status  # type: ignore[method-assign]
_parse_and_create_resource = parsing.parse_and_create_resource
parsing.parse_and_create_resource = _create_or_adopt
CloudFormationResponse.create_change_set = _create_change_set_reusing_inputs  # type: ignore[method-assign]
CloudFormationResponse.describe_change_set = _describe_change_set_or_not_found  # type: ignore[method-assign]
CloudFormationResponse.update_termination_protection = _update_termination_protection  # type: ignore[attr-defined]
CloudFormationResponse.delete_stack = _delete_stack_unless_protected  # type: ignore[method-assign]
_emr_region_from_host = ElasticMapReduceResponse.get_region_from_url
ElasticMapReduceResponse.get_region_from_url = _emr_region  # type: ignore[method-assign]
Key.create_from_cloudformation_json = classmethod(_create_key_with_cfn_tags)  # type: ignore[assignment,method-assign]
Cluster.create_from_cloudformation_json = classmethod(_create_cluster_with_instance_settings)  # type: ignore[assignment,method-assign]
Cluster.update_from_cloudformation_json = classmethod(_update_cluster)  # type: ignore[assignment,method-assign]
ElasticMapReduceResponse.get_managed_scaling_policy = _get_managed_scaling_policy  # type: ignore[attr-defined]
ElasticMapReduceResponse.list_instance_fleets = _list_instance_fleets  # type: ignore[attr-defined]
ElasticMapReduceResponse.modify_instance_fleet = _modify_instance_fleet  # type: ignore[attr-defined]
SecurityConfiguration.create_from_cloudformation_json = classmethod(_create_security_configuration_as_json)  # type: ignore[assignment,method-assign]
ManagedPolicy.delete = _delete_managed_policy  # type: ignore[attr-defined]
RouteTable.delete = _delete_route_table  # type: ignore[attr-defined]
VPCEndPoint.delete = _delete_vpc_endpoint  # type: ignore[attr-defined]
FlowLogs.delete = _delete_flow_log  # type: ignore[attr-defined]
CloudFormationBackend.execute_change_set = _execute_change_set_with_outputs  # type: ignore[method-assign]
Parameter.create_from_cloudformation_json = classmethod(_create_parameter_with_map_tags)  # type: ignore[assignment,method-assign]
Key.update_from_cloudformation_json = classmethod(_update_key_in_place)  # type: ignore[assignment,method-assign]

if __name__ == "__main__":
    main()
