"""Helpers every construct family of the package shares (none imports a sibling for them): paths of the shipped
assets and functions, the EMR managed-policy tag, roles whose grants land in a managed policy, the platform's Lambda
function, key-policy statements and the secure bucket."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from emr_platform.spec.metadata import CONSTRUCT_CLASS_METADATA

EMR_MANAGED_POLICY_TAG = ("for-use-with-amazon-emr-managed-policies", "true")
"""The tag ``AmazonEMRServicePolicy_v2`` requires on every resource EMR acts on (subnets, groups, cluster)."""


ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
"""Scripts shipped with the package; bootstrap actions name them by their path relative to this folder."""


FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"


class ManagedPolicyRole(iam.Role):
    """An IAM role whose granted permissions go to one customer managed policy (``policy``) instead of an inline
    policy: every ``grant_*`` and ``add_to_policy`` lands there. Managed policies are versioned, can be reviewed
    and reported on their own, and are what HIPAA / NIST 800-53 / PCI DSS rule packs ask for (IAMNoInlinePolicy).
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.policy: iam.ManagedPolicy | None = None  # created with the first statement (an empty one is invalid)

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        """Add ``statement`` to the role's managed policy."""
        if self.policy is None:
            self.policy = iam.ManagedPolicy(self, "Policy", roles=[self])
        self.policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.policy)


def platform_function(
    scope: Construct, *, code: str, description: str, key: kms.IKey, environment: Mapping[str, str]
) -> tuple[lambda_.Function, ManagedPolicyRole, logs.LogGroup, sqs.Queue]:
    """A Python function of ``emr_platform/functions/<code>`` as the platform runs them, created in ``scope``:
    the latest Lambda Python runtime; its own role (grants in a managed policy, none yet: the caller grants);
    logs (kept a year) and environment encrypted with ``key``; an encrypted dead-letter queue (14 days) for the
    events it cannot handle; at most 5 running at a time; 60 s timeout. Returns function, role, logs, queue.
    """
    dead_letters = sqs.Queue(
        scope,
        "DeadLetters",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    log_group = logs.LogGroup(scope, "Logs", encryption_key=key, retention=logs.RetentionDays.ONE_YEAR)
    role = ManagedPolicyRole(
        scope, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
    )
    function = lambda_.Function(
        scope,
        "Function",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        # Only the source: a local __pycache__ would change the asset hash between machines.
        code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / code), exclude=["__pycache__", "*.pyc"]),
        role=role,
        log_group=log_group,
        timeout=Duration.seconds(60),
        reserved_concurrent_executions=5,
        dead_letter_queue=dead_letters,
        environment_encryption=key,
        environment=dict(environment),
    )
    log_group.grant_write(role)
    return function, role, log_group, dead_letters


def allow_cloudwatch_logs(key: kms.IKey, stack: Stack) -> None:
    """CloudWatch Logs encrypts with the key only if the key policy lets it, scoped to this account's groups."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            resources=["*"],  # in a key policy, "*" is this key
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )


def deny_grants_not_for_aws_resources(key: kms.Key) -> None:
    """Allow grants on ``key`` only for AWS services acting for a principal (EBS for EMR nodes), never a standing
    grant handed to someone outside the key policy (AWS Control Tower CT.KMS.PR.3)."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsNotForAwsResources",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
        )
    )


def secure_bucket(
    scope: Construct,
    construct_id: str,
    *,
    lifecycle_rules: Sequence[s3.LifecycleRule],
    removal_policy: RemovalPolicy,
    encryption_key: kms.IKey | None = None,
    access_logs: tuple[s3.IBucket, str] | None = None,
) -> s3.Bucket:
    """A bucket as every bucket of the platform is: public access blocked, TLS 1.2+ only, objects owned by the
    bucket owner, versioned, with ``lifecycle_rules``.

    With ``encryption_key`` it is SSE-KMS with an S3 bucket key; without, SSE-S3 (the only encryption S3 server
    access logging delivers to, so the access-logs bucket is one of these). ``access_logs`` is the bucket and
    prefix its server access logs go to (default none: this is an access-logs bucket).
    """
    logs_bucket, logs_prefix = access_logs or (None, None)
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED,
        encryption_key=encryption_key,
        bucket_key_enabled=True if encryption_key else None,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=logs_bucket,
        server_access_logs_prefix=logs_prefix,
        lifecycle_rules=list(lifecycle_rules),
        removal_policy=removal_policy,
    )


def record_construct_classes(stack: IConstruct, package: str = "emr_platform") -> None:
    """Record the class of each top-level construct of ``stack`` defined in ``package`` as construct metadata.

    ``tree.json`` names a construct class written in Python ``constructs.Construct``; with this metadata the
    diagram shows ``DataLakeStorage`` instead. Call it once the stack is built.

    Example::

        stack = EmrPlatformStack(app, settings.stack_name, settings=settings)
        record_construct_classes(stack)
    """
    for child in stack.node.children:
        cls = type(child)
        if cls.__module__ == package or cls.__module__.startswith(f"{package}."):
            child.node.add_metadata(CONSTRUCT_CLASS_METADATA, cls.__name__)
