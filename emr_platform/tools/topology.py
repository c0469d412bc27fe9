"""An environment's stacks as one resource graph, for the replacement guard.

An environment is a foundation stack and its cluster stacks (layout ``per_cluster``), or one stack. The stacks
pass values through SSM parameters (:mod:`emr_platform.constructs.sharing`): the foundation writes
``AWS::SSM::Parameter`` resources, a cluster stack reads them as ``AWS::SSM::Parameter::Value<String>`` template
parameters. A cluster stack's template does not change when a value behind a parameter does, yet CloudFormation
resolves the new value at its next deployment and replaces what depends on it. Merging the stacks, with each
parameter read replaced by the expression the foundation writes, lets the engine follow such a chain across
stacks like one inside a stack. A resource whose logical ID moves from one stack to another is deleted (or
orphaned) in the first and created anew in the second: the engine counts it as replaced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SSM_PARAMETER_TYPE = "AWS::SSM::Parameter::Value<String>"
_ENVIRONMENT = re.compile(r"EMR data platform, environment ([^\s,]+)")


def environment_of(template: Mapping[str, Any]) -> str | None:
    """The settings environment a template was made from (its description names it), else None."""
    found = _ENVIRONMENT.search(str(template.get("Description", "")))
    return found.group(1) if found else None


def by_environment(templates: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Stack name -> template, grouped by environment; a stack of no environment of this package is a group of
    its own (under its name)."""
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for name, template in sorted(templates.items()):
        environment = environment_of(template)
        groups.setdefault(f"environment {environment}" if environment else name, {})[name] = template
    return groups


@dataclass
class Merged:
    """An environment's stacks as one template: the resources of all, each logical ID with its stack."""

    template: dict[str, Any]
    stack_of: dict[str, str] = field(default_factory=dict)

    def foundation(self) -> str:
        """The stack whose description is the environment's alone (the foundation), or the first."""
        return next(iter(self.stack_of.values()), "")


def merged(stacks: Mapping[str, dict[str, Any]]) -> Merged:
    """One template of ``stacks`` (an environment's): every resource, SSM parameter reads replaced by what the
    writing resource of another stack puts there."""
    written: dict[str, Any] = {}
    for template in stacks.values():
        for resource in template.get("Resources", {}).values():
            props = resource.get("Properties", {})
            if resource.get("Type") == "AWS::SSM::Parameter" and isinstance(props.get("Name"), str):
                written[props["Name"]] = props.get("Value")
    resources: dict[str, Any] = {}
    stack_of: dict[str, str] = {}
    description = ""
    for name, template in sorted(stacks.items(), key=lambda item: len(item[0])):
        description = description or str(template.get("Description", ""))
        reads = {
            logical_id: written[parameter["Default"]]
            for logical_id, parameter in template.get("Parameters", {}).items()
            if parameter.get("Type") == SSM_PARAMETER_TYPE and parameter.get("Default") in written
        }
        for logical_id, resource in template.get("Resources", {}).items():
            if str(resource.get("Type", "")).startswith("AWS::CDK::"):
                continue
            # The same logical ID in two stacks (not of this package's layouts): the second under its stack's name.
            key = logical_id if logical_id not in resources else f"{name}/{logical_id}"
            resources[key] = _inlined(resource, reads) if reads else resource
            stack_of[key] = name
    return Merged({"Description": description, "Resources": resources}, stack_of)


def _inlined(value: Any, reads: Mapping[str, Any]) -> Any:
    """``value`` with every ``{"Ref": <parameter>}`` of ``reads`` replaced by the value written for it."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("Ref"), str) and value["Ref"] in reads:
            return reads[value["Ref"]]
        return {key: _inlined(item, reads) for key, item in value.items()}
    if isinstance(value, list):
        return [_inlined(item, reads) for item in value]
    return value


def moves(old: Merged, new: Merged) -> dict[str, str]:
    """Logical ID -> ``moves from stack A to stack B`` for every resource of both whose stack changes."""
    return {
        logical_id: f"moves from stack {old.stack_of[logical_id]} to stack {stack}"
        for logical_id, stack in new.stack_of.items()
        if logical_id in old.stack_of and old.stack_of[logical_id] != stack
    }
