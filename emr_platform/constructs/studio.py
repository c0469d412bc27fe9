"""An EMR Studio in the platform's private network, its workspaces backed up to the artifacts bucket encrypted
with the platform key."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from aws_cdk import Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emr as emr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from emr_platform.constructs.compliance import Finding, own_wildcards, rendered
from emr_platform.constructs.shared import EMR_MANAGED_POLICY_TAG, ManagedPolicyRole, PlatformConstruct
from emr_platform.spec.studio import MAX_STUDIO_SUBNETS, StudioSpec

STUDIO_PREFIX = "studio/"
ENGINE_PORT = 18888
"""The port of the Jupyter enterprise gateway a workspace reaches on its engine (the EMR Management Guide,
"Define security groups to control EMR Studio network traffic")."""

_NETWORK_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:ModifyNetworkInterfaceAttribute",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:CreateTags",
)
_DESCRIBE_ACTIONS = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeTags",
    "ec2:DescribeInstances",
    "elasticmapreduce:ListInstances",
    "elasticmapreduce:DescribeCluster",
    "elasticmapreduce:ListSteps",
)
_EDITOR_ACTIONS = (
    "elasticmapreduce:CreateEditor",
    "elasticmapreduce:StartEditor",
    "elasticmapreduce:StopEditor",
    "elasticmapreduce:DeleteEditor",
    "elasticmapreduce:OpenEditorInConsole",
    "elasticmapreduce:AttachEditor",
    "elasticmapreduce:DetachEditor",
)
"""What Studio users do to workspaces (EMR's ``editor`` resources, which they create: ``editor/*``)."""
_READ_ACTIONS = (
    "elasticmapreduce:DescribeEditor",
    "elasticmapreduce:ListEditors",
    "elasticmapreduce:ListClusters",
    "elasticmapreduce:DescribeCluster",
    "elasticmapreduce:ListInstanceGroups",
    "elasticmapreduce:ListBootstrapActions",
    "elasticmapreduce:ListSteps",
    "elasticmapreduce:DescribeStudio",
)


class EmrStudio(PlatformConstruct):
    """An ``AWS::EMR::Studio``, its service role, its engine and workspace security groups, and, with IAM Identity
    Center, its user role, session policy and a session mapping per user and group.

    The workspace security group sends TCP 18888 to the engine group only and HTTPS inside the VPC (the
    platform's endpoints; there is no route to the internet, so no Git over it); the engine group admits 18888
    from the workspaces only; both carry the tag ``for-use-with-amazon-emr-managed-policies``, to which the
    service role's network actions are limited. Workspaces are backed up to ``workspace_bucket`` under
    ``studio/``, encrypted with ``encryption_key``.

    :param spec: sign-in and users (see :class:`StudioSpec`).
    :param vpc: the VPC.
    :param subnets: the private subnets workspaces run in (the first five: a Studio takes at most five).
    :param workspace_bucket: where workspaces and notebooks are backed up (the artifacts bucket).
    :param encryption_key: the key of the backups.
    :param name: the Studio's name. Default: the construct's id.

    Example::

        EmrStudio(self, "Studio", spec=StudioSpec(auth_mode="IAM"), vpc=vpc, subnets=vpc.private_subnets,
                  workspace_bucket=storage.artifacts_bucket, encryption_key=storage.key)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: StudioSpec,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        workspace_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.bucket = workspace_bucket
        self.engine_security_group, self.workspace_security_group = self._security_groups(vpc)
        self.service_role = self._service_role(workspace_bucket, encryption_key)
        self.user_role: ManagedPolicyRole | None = None
        self.session_policy: iam.ManagedPolicy | None = None
        if spec.auth_mode == "SSO":
            self.user_role, self.session_policy = self._user_role()
        self.resource = emr.CfnStudio(
            self,
            "Resource",
            name=name or construct_id,
            auth_mode=spec.auth_mode,
            vpc_id=vpc.vpc_id,
            subnet_ids=[s.subnet_id for s in list(subnets)[:MAX_STUDIO_SUBNETS]],
            service_role=self.service_role.role_arn,
            user_role=self.user_role.role_arn if self.user_role else None,
            engine_security_group_id=self.engine_security_group.security_group_id,
            workspace_security_group_id=self.workspace_security_group.security_group_id,
            default_s3_location=workspace_bucket.s3_url_for_object(STUDIO_PREFIX),
            encryption_key_arn=encryption_key.key_arn,
        )
        if self.session_policy is not None:
            for kind, identities in (("USER", spec.users), ("GROUP", spec.groups)):
                for identity in identities:
                    emr.CfnStudioSessionMapping(
                        self,
                        f"{kind.capitalize()}{identity}",
                        identity_name=identity,
                        identity_type=kind,
                        session_policy_arn=self.session_policy.managed_policy_arn,
                        studio_id=self.resource.attr_studio_id,
                    )

    def _security_groups(self, vpc: ec2.IVpc) -> tuple[ec2.SecurityGroup, ec2.SecurityGroup]:
        engine = ec2.SecurityGroup(
            self, "EngineSecurityGroup", vpc=vpc, allow_all_outbound=False, description="EMR Studio engines"
        )
        workspace = ec2.SecurityGroup(
            self, "WorkspaceSecurityGroup", vpc=vpc, allow_all_outbound=False, description="EMR Studio workspaces"
        )
        engine.add_ingress_rule(workspace, ec2.Port.tcp(ENGINE_PORT), "Workspaces to their engine")
        workspace.add_egress_rule(engine, ec2.Port.tcp(ENGINE_PORT), "To the engine")
        workspace.add_egress_rule(ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(443), "VPC endpoints")
        for group in (engine, workspace):
            Tags.of(group).add(*EMR_MANAGED_POLICY_TAG)
        return engine, workspace

    def _service_role(self, bucket: s3.IBucket, key: kms.IKey) -> ManagedPolicyRole:
        stack = Stack.of(self)
        role = ManagedPolicyRole(
            self,
            "ServiceRole",
            assumed_by=iam.ServicePrincipal(
                "elasticmapreduce.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": stack.format_arn(service="elasticmapreduce", resource="*")},
                },
            ),
            description="EMR Studio: workspace network interfaces, backups in the artifacts bucket",
        )
        tag_key, tag_value = EMR_MANAGED_POLICY_TAG
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(_NETWORK_ACTIONS),
                resources=["*"],
                conditions={"StringEquals": {f"aws:ResourceTag/{tag_key}": tag_value}},
            )
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=list(_DESCRIBE_ACTIONS), resources=["*"]))
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[bucket.arn_for_objects(f"{STUDIO_PREFIX}*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:GetEncryptionConfiguration"], resources=[bucket.bucket_arn]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], resources=[key.key_arn])
        )
        return role

    def _user_role(self) -> tuple[ManagedPolicyRole, iam.ManagedPolicy]:
        role = ManagedPolicyRole(
            self,
            "UserRole",
            assumed_by=iam.ServicePrincipal(
                "elasticmapreduce.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description="EMR Studio users (IAM Identity Center), scoped by the session policy",
        )
        editors = Stack.of(self).format_arn(service="elasticmapreduce", resource="editor", resource_name="*")

        def statements() -> list[iam.PolicyStatement]:
            return [
                iam.PolicyStatement(actions=list(_EDITOR_ACTIONS), resources=[editors]),
                iam.PolicyStatement(actions=list(_READ_ACTIONS), resources=["*"]),
            ]

        for statement in statements():
            role.add_to_principal_policy(statement)
        session = iam.ManagedPolicy(self, "SessionPolicy", statements=statements())
        return role, session

    def reviewed_findings(self) -> Iterator[Finding]:
        """The wildcards of its roles, each where the fact holds: the network actions limited by the EMR tag,
        describe and list actions that take no resource, the backup prefix of its bucket."""
        editors = rendered(
            self, Stack.of(self).format_arn(service="elasticmapreduce", resource="editor", resource_name="*")
        )
        owned = {
            editors: "Workspaces (EMR editors) are created by the Studio's users, with IDs EMR gives them.",
            "*": "EC2 network-interface and security-group actions on what EMR Studio creates at run time, limited "
            "by the condition on the tag for-use-with-amazon-emr-managed-policies; describe and list actions, "
            "which IAM does not scope to resources; the Studio's editor actions, on workspaces it names itself.",
            rendered(self, self.bucket.arn_for_objects(f"{STUDIO_PREFIX}*")): "Workspace and notebook backups, "
            "under the Studio's prefix of the artifacts bucket, with keys Studio names itself.",
        }
        roles = [r for r in (self.service_role, self.user_role) if r is not None]
        yield from own_wildcards(roles, owned)
        if self.session_policy is not None:
            yield Finding(self.session_policy, "AwsSolutions-IAM5[Resource::*]", owned["*"])
            yield Finding(self.session_policy, f"AwsSolutions-IAM5[Resource::{editors}]", owned[editors])
