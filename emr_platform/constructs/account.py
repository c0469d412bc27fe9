"""Account-level EMR settings a platform relies on."""

from __future__ import annotations

from collections.abc import Iterator

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from emr_platform.constructs.compliance import (
    HIPAA,
    NIST,
    PCI,
    Finding,
    as_list,
    in_packs,
    lambda_checkov_skips,
    statements_of,
)
from emr_platform.constructs.shared import PlatformConstruct, allow_cloudwatch_logs, resolve_removal_policy


class EmrBlockPublicAccess(PlatformConstruct):
    """Keeps the account's EMR Block Public Access on in the stack's region, with no port exempted.

    EMR then refuses to start any cluster whose security groups allow inbound traffic from 0.0.0.0/0 or ::/0. AWS
    turns it on for new accounts (exempting port 22); this construct sets it, without the exemption, at every
    deployment, so a console change is undone on the next one. Removing the construct leaves the setting as it is.

    The call is ``elasticmapreduce:PutBlockPublicAccessConfiguration``, which has no resource-level permissions:
    its policy names the action only (``resource`` ``*``). The function's logs go to ``log_group``, encrypted with
    ``encryption_key``.

    :param encryption_key: the key of the function's log group.
    :param removal_policy: what happens to the log group when it leaves the stack. Default: RETAIN; DESTROY needs
        ``-c emr-platform:allow-destroy=true`` as well.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        allow_cloudwatch_logs(encryption_key, stack)
        # The function's own log group, encrypted and kept a year like the platform's other logs.
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=encryption_key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=resolve_removal_policy(self, removal_policy),
        )
        call = cr.AwsSdkCall(
            service="EMR",
            action="putBlockPublicAccessConfiguration",
            parameters={
                "BlockPublicAccessConfiguration": {
                    "BlockPublicSecurityGroupRules": True,
                    "PermittedPublicSecurityGroupRuleRanges": [],
                }
            },
            physical_resource_id=cr.PhysicalResourceId.of("emr-block-public-access"),
        )
        self.resource = cr.AwsCustomResource(
            self,
            "Resource",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=[f"elasticmapreduce:{_ACTION}"], resources=["*"])]
            ),
            install_latest_aws_sdk=False,
            log_group=self.log_group,
        )

    def reviewed_findings(self) -> Iterator[Finding]:
        """The custom resource's ``*`` policy (only while it allows that one account-level action) and the
        findings of aws-cdk-lib's singleton function behind it."""
        reason = (
            f"elasticmapreduce:{_ACTION} is an account-level call without resource-level permissions; the policy "
            "allows that one action and is attached only to the custom resource's function."
        )
        policy = self.resource.node.try_find_child("CustomResourcePolicy")
        statements = statements_of(self, policy.document) if isinstance(policy, iam.Policy) else []
        if [as_list(s.get("Action")) for s in statements] == [[f"elasticmapreduce:{_ACTION}"]]:
            yield Finding(self.resource, "AwsSolutions-IAM5[Resource::*]", reason)
            yield from in_packs(self.resource, "IAMNoInlinePolicy", (HIPAA, NIST, PCI), reason)
        role = self.resource.grant_principal
        function = role.node.scope if isinstance(role, iam.Role) else None
        if function is None:
            return
        why = (
            "aws-cdk-lib's AwsCustomResource function, run by CloudFormation once per deployment to call one EMR "
            "API: synchronous (CloudFormation reports failures, a DLQ would never be read), one concurrent call, "
            "no data, and only the public EMR API to reach."
        )
        yield Finding(
            function,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            why,
        )
        yield from in_packs(function, "LambdaConcurrency", (HIPAA, NIST), why)
        yield from in_packs(function, "LambdaDLQ", (HIPAA, NIST), why)
        yield from in_packs(function, "LambdaInsideVPC", (HIPAA, NIST, PCI), why)
        yield from lambda_checkov_skips(function, why)


_ACTION = "PutBlockPublicAccessConfiguration"
