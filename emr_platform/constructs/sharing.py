"""Values a cluster stack reads from its environment's foundation stack, through SSM parameters, not exports.

The foundation writes each value a cluster stack needs (a bucket name, the key's ARN, a subnet ID, the security
configuration's generated name, ...) as an ``AWS::SSM::Parameter`` under ``/emr-platform/<foundation stack>/``;
a cluster stack reads it as a template parameter of type ``AWS::SSM::Parameter::Value<String>``, resolved by
CloudFormation at every deployment of the cluster stack.

Why not CloudFormation exports (the CDK's default for a reference between two stacks): an export cannot change
or disappear while another stack imports it. Every change that replaces a shared resource (any change of the
security configuration does) or removes one (a data zone) would fail in the foundation, and need a deployment in
two steps. An SSM parameter changes with the foundation, and the cluster stacks take the new value at their next
deployment, which the CLI always runs (a stack with SSM-typed parameters is never skipped as unchanged). What is
lost, the guard makes up for: an export stops a foundation change that would break a cluster stack, and a
parameter does not, so the replacement guard follows the parameters from stack to stack
(:mod:`emr_platform.tools.topology`) and reports what the cluster stacks will replace.
"""

from __future__ import annotations

import re

from aws_cdk import Stack
from aws_cdk import aws_ssm as ssm
from constructs import Construct

PARAMETER_ROOT = "/emr-platform"
"""Every shared value's parameter is under ``/emr-platform/<foundation stack name>/`` (SSM reserves names starting
with ``aws`` or ``ssm``, which a platform name could)."""


class FoundationParameters(Construct):
    """The SSM parameters of a foundation stack: :meth:`share` writes a value once and returns a reader.

    :param prefix: the parameters' path, ``/emr-platform/<stack name>``.

    Example::

        parameters = FoundationParameters(foundation, "SharedParameters", prefix="/emr-platform/emr-platform-dev")
        key_arn = parameters.share("storage/key-arn", storage.key.key_arn).read(cluster_stack)
    """

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.prefix = prefix
        self._written: dict[str, ssm.StringParameter] = {}

    def share(self, key: str, value: str) -> SharedValue:
        """The value under ``key`` (``storage/key-arn``): written once, each later call returns the same."""
        if key not in self._written:
            construct_id = re.sub(r"[^A-Za-z0-9]", "", key.title())
            self._written[key] = ssm.StringParameter(
                self,
                construct_id,
                parameter_name=f"{self.prefix}/{key}",
                string_value=value,
                description=f"Read by the cluster stacks of {Stack.of(self).stack_name}: do not edit by hand",
            )
        return SharedValue(f"{self.prefix}/{key}", self._written[key], value)

    @property
    def parameters(self) -> dict[str, ssm.StringParameter]:
        """The parameters written so far, by key."""
        return dict(self._written)


class SharedValue:
    """One shared value: its parameter's name, and how a stack reads it."""

    def __init__(self, name: str, parameter: ssm.StringParameter, value: str) -> None:
        self.name = name
        self.parameter = parameter
        self.value = value

    def read(self, scope: Construct) -> str:
        """The value in ``scope``'s stack: the value itself in the foundation, else an SSM-typed template
        parameter of the reading stack (one per name and stack)."""
        stack = Stack.of(scope)
        if stack.node.path == Stack.of(self.parameter).node.path:
            return self.value
        return ssm.StringParameter.value_for_string_parameter(stack, self.name)
