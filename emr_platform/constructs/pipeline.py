"""Storage of a delivery pipeline's artifacts, secured like the platform's own buckets."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from emr_platform.constructs.shared import deny_grants_not_for_aws_resources, secure_bucket


class PipelineArtifactStore(Construct):
    """A KMS key and the artifact bucket of a CodePipeline, with its own access-logs bucket.

    Creates ``key`` (rotation on, grants only for AWS resources; cross-account stages decrypt with it),
    ``bucket`` (SSE-KMS with ``key``, versioned, server access logs to ``access_logs_bucket``) and
    ``access_logs_bucket`` (SSE-S3). Pipeline artifacts matter only while an execution runs: objects expire after
    ``artifact_expiration`` (default 90 days), noncurrent versions after 30 days, access logs after 365 days.
    Everything is retained when removed from the stack (``removal_policy``, default RETAIN), for audit.

    Example::

        store = PipelineArtifactStore(self, "Artifacts")
        codepipeline.Pipeline(self, "Pipeline", artifact_bucket=store.bucket)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifact_expiration: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the artifacts of the EMR data platform's pipeline",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        deny_grants_not_for_aws_resources(self.key)
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
            encryption_key=self.key,
            access_logs=(self.access_logs_bucket, "artifacts/"),
            lifecycle_rules=[
                *housekeeping,
                s3.LifecycleRule(id="expire-artifacts", expiration=artifact_expiration or Duration.days(90)),
            ],
            removal_policy=removal_policy,
        )
