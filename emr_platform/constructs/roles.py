"""IAM for an EMR cluster: the service role (v2 managed policy), the EC2 instance role and profile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from emr_platform.constructs.compliance import Finding
from emr_platform.constructs.shared import ManagedPolicyRole, PlatformConstruct

EMR_SERVICE_POLICY_V2 = "service-role/AmazonEMRServicePolicy_v2"
EMR_AUTOSCALING_POLICY = "service-role/AmazonElasticMapReduceforAutoScalingRole"
SESSION_MANAGER_POLICY = "AmazonSSMManagedInstanceCore"


class EmrRoles(PlatformConstruct):
    """The roles an EMR cluster runs with.

    Creates, unless given:

    - ``service_role``: assumed by EMR, with the AWS managed ``AmazonEMRServicePolicy_v2`` (which acts only on
      resources tagged ``for-use-with-amazon-emr-managed-policies=true``) and ``iam:PassRole`` on the instance
      role, scoped to EC2; its trust policy is limited to this account's EMR clusters (confused-deputy guard);
    - ``instance_role``: assumed by the cluster's EC2 instances, with no permissions of its own: grant it exactly
      what the cluster needs (the cluster construct is an ``IGrantable`` whose principal is this role);
      created roles keep their grants in a customer managed policy (:class:`ManagedPolicyRole`), never inline;
    - ``instance_profile``: the instance profile EMR attaches to the nodes (always created, also for a given role);
    - ``autoscaling_role``: only when ``with_autoscaling_role`` is true (custom autoscaling of instance groups).

    The deprecated ``AmazonElasticMapReduceRole`` and ``AmazonElasticMapReduceforEC2Role`` are never used.

    :param service_role: an EMR service role of your own. Default: a new one, as above.
    :param instance_role: an EC2 role of your own for the nodes. Default: a new one, as above.
    :param with_autoscaling_role: create the role custom autoscaling of instance groups needs. Default: false.
    :param with_session_manager: let Session Manager reach the nodes (``AmazonSSMManagedInstanceCore`` on an
        instance role created here). Default: false.

    Example::

        roles = EmrRoles(self, "Roles")
        storage.grant_read(roles.instance_role)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service_role: iam.IRole | None = None,
        instance_role: iam.IRole | None = None,
        with_autoscaling_role: bool = False,
        with_session_manager: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._managed_policies: list[str] = []  # the AWS managed policies attached to roles created here
        own_clusters = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(service="elasticmapreduce", resource="cluster", resource_name="*")
            },
        }

        self.instance_role: iam.IRole = instance_role or ManagedPolicyRole(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="EC2 instance role of EMR nodes: only what this platform grants it",
        )
        self.instance_profile = iam.InstanceProfile(self, "InstanceProfile", role=self.instance_role)
        if with_session_manager and instance_role is None:
            self.instance_role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name(SESSION_MANAGER_POLICY)
            )
            self._managed_policies.append(SESSION_MANAGER_POLICY)

        if service_role is None:
            created = ManagedPolicyRole(
                self,
                "ServiceRole",
                assumed_by=iam.ServicePrincipal("elasticmapreduce.amazonaws.com", conditions=own_clusters),
                description="EMR service role (AmazonEMRServicePolicy_v2)",
                managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(EMR_SERVICE_POLICY_V2)],
            )
            # The v2 policy does not let EMR pass the instance role to EC2; this statement does, and only to EC2.
            created.add_to_policy(
                iam.PolicyStatement(
                    sid="PassInstanceRoleToEc2",
                    actions=["iam:PassRole"],
                    resources=[self.instance_role.role_arn],
                    conditions={"StringLike": {"iam:PassedToService": "ec2.amazonaws.com*"}},
                )
            )
            service_role = created
            self._managed_policies.append(EMR_SERVICE_POLICY_V2)
        self.service_role: iam.IRole = service_role

        self.autoscaling_role: iam.IRole | None = (
            self._autoscaling_role(own_clusters) if with_autoscaling_role else None
        )

    def _autoscaling_role(self, own_clusters: dict[str, Any]) -> iam.IRole:
        """The role Application Auto Scaling resizes instance groups with (custom autoscaling rules)."""
        role = iam.Role(
            self,
            "AutoScalingRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("elasticmapreduce.amazonaws.com", conditions=own_clusters),
                iam.ServicePrincipal(
                    "application-autoscaling.amazonaws.com",
                    conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
                ),
            ),
            description="Lets Application Auto Scaling resize EMR instance groups",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(EMR_AUTOSCALING_POLICY)],
        )
        self._managed_policies.append(EMR_AUTOSCALING_POLICY)
        return role

    def reviewed_findings(self) -> Iterator[Finding]:
        """AwsSolutions-IAM4 for the AWS managed policies of the roles created here (and only those)."""
        reasons = {
            EMR_SERVICE_POLICY_V2: "AmazonEMRServicePolicy_v2 is AWS's least-privilege EMR service policy; it only acts "
            "on resources tagged for-use-with-amazon-emr-managed-policies=true, which this platform tags.",
            EMR_AUTOSCALING_POLICY: "Custom autoscaling of instance groups needs this AWS managed policy: it only lets "
            "Application Auto Scaling read the EMR metrics alarms and resize the cluster's instance groups.",
            SESSION_MANAGER_POLICY: "Session Manager reaches the nodes' shells without SSH keys or inbound rules; "
            "this AWS managed policy is exactly what the SSM agent needs to register and open sessions.",
        }
        for name in self._managed_policies:
            yield Finding(
                self, f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]", reasons[name]
            )
