"""Helpers every construct family of the package shares (none imports a sibling for them): paths of the shipped
assets and functions, the EMR managed-policy tag, roles whose grants land in a managed policy, the platform's Lambda
function, key-policy statements, the secure bucket and its findings, the base of every construct
(:class:`PlatformConstruct`), the two-key removal policy and placeholder substitution."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from emr_platform.constructs.compliance import CHECKOV, HIPAA, NIST, PCI, Finding, acknowledge_at_synthesis, in_packs
from emr_platform.spec.errors import PropError
from emr_platform.spec.metadata import CONSTRUCT_CLASS_METADATA
from emr_platform.spec.settings import ALLOW_DESTROY_CONTEXT

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
    scope: Construct,
    *,
    code: str,
    description: str,
    key: kms.IKey,
    environment: Mapping[str, str],
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> tuple[lambda_.Function, ManagedPolicyRole, logs.LogGroup, sqs.Queue]:
    """A Python function of ``emr_platform/functions/<code>`` as the platform runs them, created in ``scope``:
    the latest Lambda Python runtime; its own role (grants in a managed policy, none yet: the caller grants);
    logs (kept a year) and environment encrypted with ``key``; an encrypted dead-letter queue (14 days) for the
    events it cannot handle; at most 5 running at a time; 60 s timeout. The log group follows ``removal_policy``
    (default RETAIN; DESTROY needs the context flag too). Returns function, role, logs, queue.
    """
    dead_letters = sqs.Queue(
        scope,
        "DeadLetters",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    log_group = logs.LogGroup(
        scope,
        "Logs",
        encryption_key=key,
        retention=logs.RetentionDays.ONE_YEAR,
        removal_policy=resolve_removal_policy(scope, removal_policy),
    )
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
    bucket_name: str | None = None,
) -> s3.Bucket:
    """A bucket as every bucket of the platform is: public access blocked, TLS 1.2+ only, objects owned by the
    bucket owner, versioned, with ``lifecycle_rules``.

    With ``encryption_key`` it is SSE-KMS with an S3 bucket key; without, SSE-S3 (the only encryption S3 server
    access logging delivers to, so the access-logs bucket is one of these). ``access_logs`` is the bucket and
    prefix its server access logs go to (default none: this is an access-logs bucket). ``bucket_name``: its
    physical name (default: one CloudFormation generates).
    """
    logs_bucket, logs_prefix = access_logs or (None, None)
    return s3.Bucket(
        scope,
        construct_id,
        bucket_name=bucket_name,
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


class PlatformConstruct(Construct):
    """What every construct of this package is: it records its class for the architecture diagram (``tree.json``
    names a Python construct ``constructs.Construct``), and acknowledges its own :meth:`reviewed_findings` when the
    app synthesizes (see :mod:`emr_platform.constructs.compliance`)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.node.add_metadata(CONSTRUCT_CLASS_METADATA, type(self).__name__)
        acknowledge_at_synthesis(self)

    def reviewed_findings(self) -> Iterator[Finding]:
        """The findings this construct's own resources raise, each only where the fact its reason states holds on
        the synthesized resource. Default: none."""
        return iter(())

    @property
    def where(self) -> str:
        """How error messages name this construct: its class and path."""
        return f"{type(self).__name__} {self.node.path}"


def resolve_removal_policy(scope: Construct, requested: RemovalPolicy) -> RemovalPolicy:
    """The removal policy a stateful construct applies: ``requested``, except that DESTROY needs a second key.

    DESTROY takes effect only when the context flag ``emr-platform:allow-destroy`` is ``true`` too (one key in
    the code, one at the command line: ``-c emr-platform:allow-destroy=true``); otherwise the data is RETAINED and a
    warning on ``scope`` says what is missing. RETAIN, SNAPSHOT and RETAIN_ON_UPDATE_OR_DELETE are kept as given.
    """
    if requested != RemovalPolicy.DESTROY:
        return requested
    if str(scope.node.try_get_context(ALLOW_DESTROY_CONTEXT)).lower() == "true":
        return RemovalPolicy.DESTROY
    Annotations.of(scope).add_warning_v2(
        "emr-platform:destroy-needs-context",
        f"removal_policy=DESTROY is RETAINED: destroying data also needs -c {ALLOW_DESTROY_CONTEXT}=true",
    )
    return RemovalPolicy.RETAIN


def access_logs_bucket_findings(bucket: s3.IBucket, contents: str) -> Iterator[Finding]:
    """A bucket that receives S3 server access logs: not logged into itself, and SSE-S3 as S3 requires."""
    self_logging = "This is the bucket the others log their access to; logging it into itself would log its own writes."
    yield Finding(bucket, "CloudFormation-Validate::s3_bucket_logging_enabled_check", self_logging)
    yield Finding(bucket, f"{CHECKOV}CKV_AWS_18", self_logging)
    sse_s3 = f"S3 delivers server access logs only to buckets whose default encryption is SSE-S3. {contents}"
    yield Finding(bucket, "CloudFormation-Validate::s3_bucket_default_encryption_kms_check", sse_s3)
    yield from in_packs(bucket, "S3DefaultEncryptionKMS", (HIPAA, NIST, PCI), sse_s3)


def _cfn_bucket(bucket: s3.IBucket) -> s3.CfnBucket | None:
    child = bucket.node.default_child
    return child if isinstance(child, s3.CfnBucket) else None


def versioned(bucket: s3.IBucket) -> bool:
    """Whether the synthesized bucket has versioning enabled."""
    cfn = _cfn_bucket(bucket)
    resolved = Stack.of(bucket).resolve(cfn.versioning_configuration) if cfn is not None else None
    return isinstance(resolved, dict) and resolved.get("status", resolved.get("Status")) == "Enabled"


def sse_s3_only(bucket: s3.IBucket) -> bool:
    """Whether the synthesized bucket's default encryption is SSE-S3 (AES256) only."""
    cfn = _cfn_bucket(bucket)
    resolved = Stack.of(bucket).resolve(cfn.bucket_encryption) if cfn is not None else None
    text = json.dumps(resolved)
    return "AES256" in text and "aws:kms" not in text


def bucket_findings(
    buckets: Sequence[s3.IBucket], access_logs_bucket: s3.IBucket, *, replication: str, contents: str
) -> Iterator[Finding]:
    """The findings of a set of secure buckets: no replication (``replication`` says why; only for buckets that are
    versioned), and the access-logs bucket's SSE-S3 and no self-logging (only while it is SSE-S3; ``contents``
    says what else it holds)."""
    for bucket in buckets:
        if versioned(bucket):
            yield from in_packs(bucket, "S3BucketReplicationEnabled", (HIPAA, NIST, PCI), replication)
    if sse_s3_only(access_logs_bucket):
        yield from access_logs_bucket_findings(access_logs_bucket, contents)


def substitute_placeholders(
    pattern: re.Pattern[str],
    text: str,
    values: Mapping[str, str],
    *,
    key_of: Callable[[re.Match[str]], str],
    where: str,
) -> str:
    """``text`` with each match of ``pattern`` replaced by ``values[key_of(match)]``.

    :raises PropError: a placeholder ``values`` has no value for, naming the ones it has.
    """

    def replace(match: re.Match[str]) -> str:
        key = key_of(match)
        if key not in values:
            raise PropError(
                where=where,
                problem="unknown placeholder",
                value=match.group(0),
                fix=f"use one of {', '.join('{' + k + '}' for k in sorted(values)) or '(none given)'}",
            )
        return values[key]

    return pattern.sub(replace, text)
