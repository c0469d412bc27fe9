"""Run moto's server, with fixes for the emulator bugs a CDK deployment of this platform runs into.

Each fix makes moto do what AWS documents; none of them invents a result. Remove a fix when the pinned moto
release carries it (each names the moto version it was found in).

Usage: ``python -m tests.e2e.emulator -H localhost -p PORT`` (the arguments of ``moto_server``).
"""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, BaseResponse
from moto.emr.models import Cluster, SecurityConfiguration
from moto.emr.responses import ElasticMapReduceResponse
from moto.kms.models import Key
from moto.server import main

_create_key = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_create_cluster = Cluster.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_execute_change_set = CloudFormationBackend.execute_change_set
_create_security_configuration = SecurityConfiguration.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _create_key_with_cfn_tags(
    cls: type[Key], /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Key:
    """moto 5.2.5: AWS::KMS::Key spells its tags {Key, Value}, as CloudFormation does everywhere; moto passes them
    on unchanged to CreateKey, which spells them {TagKey, TagValue}, and fails with KeyError: 'TagKey'."""
    properties = cloudformation_json.get("Properties", {})
    tags = properties.get("Tags")
    if tags:
        properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags]
    return _create_key(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)  # type: ignore[no-any-return]


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
    instances = properties.setdefault("Instances", {})
    instances["keep_job_flow_alive_when_no_steps"] = _as_bool(instances.get("KeepJobFlowAliveWhenNoSteps"))
    instances["termination_protected"] = _as_bool(instances.get("TerminationProtected"))
    cluster = _create_cluster(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    cluster.security_configuration = properties.get("SecurityConfiguration")
    return cluster  # type: ignore[no-any-return]


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


def _emr_region(self: ElasticMapReduceResponse, request: Any, full_url: str) -> str:
    """moto 5.2.5: EMR reads the region from the host name only, so a request to a custom endpoint (localhost)
    lands in us-east-1 whatever its signature's region; fall back to the signature, as every other service does."""
    if any(regex.search(self.parsed_url.netloc) for regex in ElasticMapReduceResponse.emr_region_regex):
        return _emr_region_from_host(self, request, full_url)
    return BaseResponse.get_region_from_url(self, request, full_url)


_delete_stack = CloudFormationResponse.delete_stack
CloudFormationResponse.update_termination_protection = _update_termination_protection  # type: ignore[attr-defined]
CloudFormationResponse.delete_stack = _delete_stack_unless_protected  # type: ignore[method-assign]
_emr_region_from_host = ElasticMapReduceResponse.get_region_from_url
ElasticMapReduceResponse.get_region_from_url = _emr_region  # type: ignore[method-assign]
Key.create_from_cloudformation_json = classmethod(_create_key_with_cfn_tags)  # type: ignore[assignment,method-assign]
Cluster.create_from_cloudformation_json = classmethod(_create_cluster_with_instance_settings)  # type: ignore[assignment,method-assign]
SecurityConfiguration.create_from_cloudformation_json = classmethod(_create_security_configuration_as_json)  # type: ignore[assignment,method-assign]
CloudFormationBackend.execute_change_set = _execute_change_set_with_outputs  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
