"""The data lake's storage: a KMS key, one bucket per data zone, a logs bucket and an artifacts bucket."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from aws_cdk import Duration, FeatureFlags, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from emr_platform.constructs.compliance import (
    Finding,
    grantee_role,
    own_wildcards,
    rendered,
)
from emr_platform.constructs.shared import (
    PlatformConstruct,
    bucket_findings,
    deny_grants_not_for_aws_resources,
    resolve_removal_policy,
    secure_bucket,
)
from emr_platform.spec.errors import PropError

ACCESS_LOGS_POLICY_FLAG = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"
EMR_LOGS_PREFIX = "emr-logs/"
ACCESS_LOGS_PREFIX = "s3-access-logs/"
LOG_EXPIRATION = Duration.days(365)
NONCURRENT_VERSION_EXPIRATION = Duration.days(90)
ABORT_INCOMPLETE_UPLOAD = Duration.days(7)


class StorageAccess(PlatformConstruct):
    """What a cluster uses of the platform's storage: its buckets and key, and grants on them.
    :class:`DataLakeStorage` creates them; :class:`SharedStorage` is a foundation stack's storage as a cluster
    stack sees it."""

    data_zones: tuple[str, ...]
    key: kms.IKey
    data_buckets: Mapping[str, s3.IBucket]
    logs_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    _grantees: list[iam.IRole]

    @property
    def buckets(self) -> dict[str, s3.IBucket]:
        """Every bucket of the construct by name: the data zones', ``artifacts`` and ``logs``."""
        return {**self.data_buckets, "artifacts": self.artifacts_bucket, "logs": self.logs_bucket}

    def _grant_findings(self) -> Iterator[Finding]:
        """The object wildcards of this construct's own grants, only where they span one of its buckets."""
        owned = {
            rendered(self, bucket.arn_for_objects("*")): f"Object-level actions need the objects of the platform's "
            f"own {name} bucket, under one prefix."
            for name, bucket in self.buckets.items()
        }
        yield from own_wildcards(self._grantees, owned)

    # --- lookups ---------------------------------------------------------------------------------------------

    def bucket(self, zone: str) -> s3.IBucket:
        """The bucket of data zone ``zone``."""
        try:
            return self.data_buckets[zone]
        except KeyError:
            raise PropError(
                where=f"{self.where}: zone",
                problem="no such data zone",
                value=zone,
                fix=f"use one of {', '.join(self.data_zones)}",
            ) from None

    def _buckets(self, zones: Iterable[str] | None) -> list[s3.IBucket]:
        return [self.bucket(z) for z in (self.data_zones if zones is None else zones)]

    @property
    def emr_log_uri(self) -> str:
        """Where EMR clusters write their logs: ``s3://<logs bucket>/emr-logs/``."""
        return self.logs_bucket.s3_url_for_object(EMR_LOGS_PREFIX)

    @property
    def zone_uris(self) -> Mapping[str, str]:
        """``s3://<bucket>/`` of every data zone."""
        return {zone: bucket.s3_url_for_object("") for zone, bucket in self.data_buckets.items()}

    # --- grants ----------------------------------------------------------------------------------------------
    # Explicit action lists rather than the CDK's wildcard groups (s3:GetObject*, kms:ReEncrypt*): a reviewer sees
    # exactly what EMRFS may do, and nothing more is allowed.

    def grant_read(self, grantee: iam.IGrantable, *, zones: Iterable[str] | None = None) -> iam.Grant:
        """Read objects of the given data zones (default all), including decrypting them with the key."""
        return self._grant(grantee, self._buckets(zones), write=False)

    def grant_read_write(self, grantee: iam.IGrantable, *, zones: Iterable[str] | None = None) -> iam.Grant:
        """Read, write and delete objects of the given data zones (default all), with the key."""
        return self._grant(grantee, self._buckets(zones), write=True)

    def grant_read_artifacts(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the artifacts bucket (the jobs and libraries that steps use), including decrypting with the key."""
        return self._grant(grantee, [self.artifacts_bucket], write=False)

    def _grant(self, grantee: iam.IGrantable, buckets: list[s3.IBucket], *, write: bool) -> iam.Grant:
        role = grantee_role(grantee)
        if role is not None:
            self._grantees.append(role)
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[*_BUCKET_READ, *(_BUCKET_WRITE if write else ())],
            resource_arns=[b.bucket_arn for b in buckets],
        )
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=[*_OBJECT_READ, *(_OBJECT_WRITE if write else ())],
                resource_arns=[b.arn_for_objects("*") for b in buckets],
            )
        )
        return grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=[*_KEY_DECRYPT, *(_KEY_ENCRYPT if write else ())],
                resource_arns=[self.key.key_arn],
            )
        )


class DataLakeStorage(StorageAccess):
    """A KMS key and the platform's S3 buckets, secure by default.

    Creates:

    - ``key``: a customer-managed KMS key, rotation on (a key given as ``encryption_key`` is used instead);
    - ``data_buckets``: one bucket per data zone, SSE-KMS with the key and an S3 bucket key, versioned;
    - ``logs_bucket``: EMR logs and the other buckets' S3 access logs, SSE-S3 (S3 cannot deliver access logs to
      an SSE-KMS bucket), versioned, logs expiring after ``log_expiration``;
    - ``artifacts_bucket``: the jobs, libraries and scripts that your steps use, SSE-KMS, versioned (the scripts
      shipped with this package are CDK assets of the clusters that use them, see :class:`EmrCluster`).

    Every bucket blocks public access, enforces TLS 1.2+, owns its objects, aborts incomplete multipart uploads,
    expires noncurrent versions and is retained when removed from the stack unless ``removal_policy`` is DESTROY
    and the context flag ``emr-platform:allow-destroy`` is true. Bucket names are generated by CloudFormation.

    :param data_zones: the data zones, one bucket each. Default: raw, curated, analytics.
    :param encryption_key: the key of the data, artifacts and logs. Default: a new key, rotated yearly.
    :param log_expiration: when objects of the logs bucket expire. Default: 365 days.
    :param noncurrent_version_expiration: when overwritten or deleted object versions expire. Default: 90 days.
    :param abort_incomplete_upload: when incomplete multipart uploads are aborted. Default: 7 days.
    :param removal_policy: what happens to the key and buckets when they leave the stack. Default: RETAIN;
        DESTROY needs ``-c emr-platform:allow-destroy=true`` as well, else they are retained with a warning.

    Example::

        storage = DataLakeStorage(self, "Storage", data_zones=["raw", "curated"])
        storage.grant_read_write(cluster, zones=["curated"])
        storage.grant_read_artifacts(cluster)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data_zones: Sequence[str] = ("raw", "curated", "analytics"),
        encryption_key: kms.IKey | None = None,
        log_expiration: Duration = LOG_EXPIRATION,
        noncurrent_version_expiration: Duration = NONCURRENT_VERSION_EXPIRATION,
        abort_incomplete_upload: Duration = ABORT_INCOMPLETE_UPLOAD,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self._validate(data_zones)
        self.data_zones: tuple[str, ...] = tuple(data_zones)
        self._grantees: list[iam.IRole] = []
        policy = resolve_removal_policy(self, removal_policy)
        self.key: kms.IKey = encryption_key or self._own_key(policy)
        common_rules = [
            s3.LifecycleRule(
                id="abort-incomplete-uploads",
                abort_incomplete_multipart_upload_after=abort_incomplete_upload,
                enabled=True,
            ),
            s3.LifecycleRule(
                id="expire-noncurrent-versions",
                noncurrent_version_expiration=noncurrent_version_expiration,
                enabled=True,
            ),
        ]
        self.logs_bucket = secure_bucket(
            self,
            "LogsBucket",
            lifecycle_rules=[*common_rules, s3.LifecycleRule(id="expire-logs", expiration=log_expiration)],
            removal_policy=policy,
        )
        self.data_buckets: dict[str, s3.Bucket] = {
            zone: self._kms_bucket(f"{zone.capitalize()}Bucket", common_rules, policy, f"data/{zone}/")
            for zone in self.data_zones
        }
        self.artifacts_bucket = self._kms_bucket("ArtifactsBucket", common_rules, policy, "artifacts/")

    def _validate(self, data_zones: Sequence[str]) -> None:
        if not data_zones:
            raise PropError(
                where=f"{self.where}: data_zones",
                problem="at least one data zone is needed",
                value=list(data_zones),
                fix="pass zone names such as ['raw', 'curated']",
            )
        if len(set(data_zones)) != len(data_zones):
            raise PropError(
                where=f"{self.where}: data_zones",
                problem="a zone is listed twice",
                value=list(data_zones),
                fix="list each zone once",
            )
        if not FeatureFlags.of(self).is_enabled(ACCESS_LOGS_POLICY_FLAG):
            # Without it, the CDK grants S3 log delivery through ACLs, which owner-enforced buckets refuse.
            raise PropError(
                where=f"{self.where}: feature flag {ACCESS_LOGS_POLICY_FLAG}",
                problem="access logs need the bucket-policy mode of S3 log delivery",
                value=FeatureFlags.of(self).is_enabled(ACCESS_LOGS_POLICY_FLAG),
                fix=f'set "{ACCESS_LOGS_POLICY_FLAG}": true in cdk.json\'s context (cdk init sets it)',
            )

    def _own_key(self, policy: RemovalPolicy) -> kms.Key:
        key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the EMR data platform's data, artifacts and logs ({Stack.of(self).stack_name})",
            enable_key_rotation=True,
            removal_policy=policy,
        )
        deny_grants_not_for_aws_resources(key)
        return key

    def _kms_bucket(
        self, construct_id: str, rules: list[s3.LifecycleRule], removal_policy: RemovalPolicy, log_prefix: str
    ) -> s3.Bucket:
        return secure_bucket(
            self,
            construct_id,
            encryption_key=self.key,
            access_logs=(self.logs_bucket, f"{ACCESS_LOGS_PREFIX}{log_prefix}"),
            lifecycle_rules=rules,
            removal_policy=removal_policy,
        )

    # --- findings --------------------------------------------------------------------------------------------

    def reviewed_findings(self) -> Iterator[Finding]:
        """Replication (not turned on: only for versioned buckets), the access-logs bucket's SSE-S3 and no
        self-logging (only while it is SSE-S3), and the object wildcards of this construct's own grants."""
        yield from bucket_findings(
            list(self.buckets.values()),
            self.logs_bucket,
            replication="Cross-region replication is a disaster-recovery choice per environment that doubles storage "
            "cost; versioning and expiring noncurrent versions already guard against deletion and overwrite.",
            contents="EMR writes its own log files here encrypted with the platform key (the cluster's "
            "LogEncryptionKmsKeyId).",
        )
        yield from self._grant_findings()


_BUCKET_READ = ("s3:ListBucket", "s3:GetBucketLocation")
_BUCKET_WRITE = ("s3:ListBucketMultipartUploads",)
_OBJECT_READ = ("s3:GetObject", "s3:GetObjectVersion")
_OBJECT_WRITE = ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
_KEY_DECRYPT = ("kms:Decrypt", "kms:DescribeKey")
# Writing SSE-KMS objects (and multipart uploads) needs a data key; reading needs only Decrypt.
_KEY_ENCRYPT = ("kms:Encrypt", "kms:GenerateDataKey")


class SharedStorage(StorageAccess):
    """A foundation stack's storage as a cluster stack uses it: the same buckets and key, imported by the names
    and ARN ``read`` gives in this stack (the foundation's parameters), for grants and log URIs.

    :param original: the foundation's storage.
    :param read: the value of one of the original's attributes in this stack (``read("key-arn", key.key_arn)``).

    Example::

        storage = SharedStorage(cluster_stack, "Storage", original=foundation.storage, read=parameters.read)
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, original: StorageAccess, read: Callable[[str, str], str]
    ) -> None:
        super().__init__(scope, construct_id)
        self.data_zones = original.data_zones
        self._grantees = []
        self.key = kms.Key.from_key_arn(self, "Key", read("storage/key-arn", original.key.key_arn))

        def imported(name: str, bucket: s3.IBucket) -> s3.IBucket:
            bucket_name = read(f"storage/{name}-bucket", bucket.bucket_name)
            return s3.Bucket.from_bucket_attributes(
                self, f"{name.capitalize()}Bucket", bucket_name=bucket_name, encryption_key=self.key
            )

        self.logs_bucket = imported("logs", original.logs_bucket)
        self.data_buckets = {zone: imported(zone, b) for zone, b in original.data_buckets.items()}
        self.artifacts_bucket = imported("artifacts", original.artifacts_bucket)

    def reviewed_findings(self) -> Iterator[Finding]:
        """The object wildcards of this construct's grants, only where they span one of the shared buckets."""
        yield from self._grant_findings()
