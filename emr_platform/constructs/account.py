"""Account-level EMR settings a platform relies on."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from emr_platform.constructs.shared import allow_cloudwatch_logs


class EmrBlockPublicAccess(Construct):
    """Keeps the account's EMR Block Public Access on in the stack's region, with no port exempted.

    EMR then refuses to start any cluster whose security groups allow inbound traffic from 0.0.0.0/0 or ::/0. AWS
    turns it on for new accounts (exempting port 22); this construct sets it, without the exemption, at every
    deployment, so a console change is undone on the next one. Removing the construct leaves the setting as it is.

    The call is ``elasticmapreduce:PutBlockPublicAccessConfiguration``, which has no resource-level permissions:
    its policy names the action only (``resource`` ``*``). The function's logs go to ``log_group``, encrypted with
    ``encryption_key``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, encryption_key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        allow_cloudwatch_logs(encryption_key, stack)
        # The function's own log group, encrypted and kept a year like the platform's other logs.
        self.log_group = logs.LogGroup(
            self, "Logs", encryption_key=encryption_key, retention=logs.RetentionDays.ONE_YEAR
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
                [iam.PolicyStatement(actions=["elasticmapreduce:PutBlockPublicAccessConfiguration"], resources=["*"])]
            ),
            install_latest_aws_sdk=False,
            log_group=self.log_group,
        )
