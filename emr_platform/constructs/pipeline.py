"""Storage of a delivery pipeline's artifacts, secured like the platform's own buckets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from aws_cdk import Duration, PhysicalName, RemovalPolicy, Stack, pipelines
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct, Node

from emr_platform.constructs.compliance import (
    HIPAA,
    NIST,
    PCI,
    Finding,
    in_packs,
    policy_statements,
    rendered,
    wildcard_actions,
    wildcard_resources,
)
from emr_platform.constructs.shared import (
    PlatformConstruct,
    bucket_findings,
    deny_grants_not_for_aws_resources,
    resolve_removal_policy,
    secure_bucket,
)

ARTIFACT_EXPIRATION = Duration.days(90)


class PipelineArtifactStore(PlatformConstruct):
    """A KMS key and the artifact bucket of a CodePipeline, with its own access-logs bucket.

    Creates ``key`` (rotation on, grants only for AWS resources; cross-account stages decrypt with it),
    ``bucket`` (SSE-KMS with ``key``, versioned, server access logs to ``access_logs_bucket``) and
    ``access_logs_bucket`` (SSE-S3). Pipeline artifacts matter only while an execution runs: objects expire after
    ``artifact_expiration`` (default 90 days), noncurrent versions after 30 days, access logs after 365 days.

    With ``cross_region`` (the replication store of a region other than the pipeline's) the bucket and an alias of
    the key get names generated at synthesis, because the pipeline in another region refers to them by name
    (CloudFormation has no cross-region references); the bucket is encrypted through the alias, as CodePipeline's
    own replication buckets are.

    :param artifact_expiration: when artifacts expire. Default: 90 days.
    :param cross_region: name the bucket and key for a pipeline in another region. Default: False.
    :param removal_policy: what happens to the key and buckets when they leave the stack. Default: RETAIN, for
        audit; DESTROY needs ``-c emr-platform:allow-destroy=true`` as well.

    Example::

        store = PipelineArtifactStore(self, "Artifacts")
        codepipeline.Pipeline(self, "Pipeline", artifact_bucket=store.bucket)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifact_expiration: Duration = ARTIFACT_EXPIRATION,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        cross_region: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        removal_policy = resolve_removal_policy(self, removal_policy)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the artifacts of the EMR data platform's pipeline",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        deny_grants_not_for_aws_resources(self.key)
        encryption: kms.IKey = self.key
        if cross_region:
            encryption = kms.Alias(
                self,
                "Alias",
                alias_name=PhysicalName.GENERATE_IF_NEEDED,
                target_key=self.key,
                removal_policy=removal_policy,
            )
        housekeeping = [
            s3.LifecycleRule(
                id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(7), enabled=True
            ),
            s3.LifecycleRule(
                id="expire-noncurrent-versions", noncurrent_version_expiration=Duration.days(30), enabled=True
            ),
        ]
        self.access_logs_bucket = secure_bucket(
            self,
            "AccessLogsBucket",
            lifecycle_rules=[*housekeeping, s3.LifecycleRule(id="expire-logs", expiration=Duration.days(365))],
            removal_policy=removal_policy,
        )
        self.bucket = secure_bucket(
            self,
            "Bucket",
            encryption_key=encryption,
            bucket_name=PhysicalName.GENERATE_IF_NEEDED if cross_region else None,
            access_logs=(self.access_logs_bucket, "artifacts/"),
            lifecycle_rules=[
                *housekeeping,
                s3.LifecycleRule(id="expire-artifacts", expiration=artifact_expiration),
            ],
            removal_policy=removal_policy,
        )

    def reviewed_findings(self) -> Iterator[Finding]:
        """Replication of the versioned buckets; the access-logs bucket's SSE-S3 and no self-logging."""
        yield from bucket_findings(
            [self.bucket, self.access_logs_bucket],
            self.access_logs_bucket,
            replication="Pipeline artifacts are rebuilt by the next run from the repository; replicating them to "
            "another region would protect nothing that the repository does not hold.",
            contents="S3 server access logs of the artifacts.",
        )


# Wildcard actions of aws-cdk-lib's grants (read and write of an artifact bucket and its key).
_GRANT_ACTION_SETS = frozenset(
    {
        "s3:Abort*",
        "s3:DeleteObject*",
        "s3:GetBucket*",
        "s3:GetObject*",
        "s3:List*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    }
)


class PipelineFindings:
    """The reviewed findings of a CDK Pipelines ``CodePipeline`` on a :class:`PipelineArtifactStore`: its roles and
    policies are generated by CDK Pipelines; each wildcard is acknowledged only when it matches a pattern reviewed
    here, so a new kind of wildcard in a future aws-cdk-lib fails synthesis until it is read.

    Example::

        acknowledge_at_synthesis(PipelineFindings(pipeline, store))  # once pipeline.build_pipeline() has run
    """

    def __init__(
        self,
        pipeline: pipelines.CodePipeline,
        store: PipelineArtifactStore,
        replication: Sequence[PipelineArtifactStore] = (),
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.replication = tuple(replication)

    @property
    def node(self) -> Node:
        """The pipeline's node (the findings are acknowledged when it is validated)."""
        return self.pipeline.node

    def reviewed_findings(self) -> Iterator[Finding]:
        """Inline policies and source URLs of the generated projects; the reviewed wildcards of their roles."""
        # CDK Pipelines' constructs, and the CodePipeline it drives (created beside it, on our artifact store).
        scopes = (self.pipeline, self.pipeline.pipeline)
        generated = (
            "CDK Pipelines generates one inline policy per role for exactly the pipeline's own projects, bucket and "
            "key; managed policies would be the same statements, shared with nothing."
        )
        no_url = (
            "Every project reads its source from the pipeline's encrypted artifacts (source type CODEPIPELINE): no "
            "repository URL and no credentials are stored in a project."
        )
        for scope in scopes:
            yield from in_packs(scope, "IAMNoInlinePolicy", (HIPAA, NIST, PCI), generated)
            yield from in_packs(scope, "CodeBuildProjectSourceRepoUrl", (HIPAA, PCI), no_url)
        # The pipeline's own bucket, and the replication stores' of other regions (referred to by their names).
        bucket_objects = {rendered(self.store, self.store.bucket.arn_for_objects("*"))}
        bucket_objects |= {rendered(self.pipeline, r.bucket.arn_for_objects("*")) for r in self.replication}
        account = Stack.of(self.pipeline).account
        for role in (c for scope in scopes for c in scope.node.find_all() if isinstance(c, iam.Role)):
            statements = policy_statements(role)
            for finding_id in wildcard_actions(statements):
                if finding_id.removeprefix("AwsSolutions-IAM5[Action::").rstrip("]") in _GRANT_ACTION_SETS:
                    yield Finding(
                        role, finding_id, "The action set of aws-cdk-lib's grant on the pipeline's own bucket and key."
                    )
            for finding_id, resource in wildcard_resources(statements):
                reason = _pipeline_resource_reason(resource, bucket_objects, account)
                if reason is not None:
                    yield Finding(role, finding_id, reason)


def _pipeline_resource_reason(resource: str, bucket_objects: set[str], account: str) -> str | None:
    """Why a wildcard resource of a CDK Pipelines role is acceptable, or None when it is not a reviewed pattern."""
    if resource in bucket_objects:
        return "Object-level actions on the artifacts of the pipeline's own buckets, whose keys are per execution."
    if ":log-group:/aws/codebuild/" in resource:
        return "CodeBuild log groups are named after the pipeline's own projects; logs streams are per build."
    if ":report-group/" in resource:
        return "CodeBuild test report groups are named after the pipeline's own projects when a build creates them."
    if resource == f"arn:*:iam::{account}:role/*":
        return (
            "Self-mutation assumes only the CDK bootstrap roles of the pipeline's account: the statement is limited "
            "by condition to roles tagged aws-cdk:bootstrap-role (deploy, file- and image-publishing)."
        )
    if resource == "*":
        return (
            "Actions without resource-level permissions (cloudformation:DescribeStacks and s3:ListBucket, which the "
            "CDK CLI uses to find the bootstrap stack; codebuild:BatchGetBuilds for asset publishing)."
        )
    return None
