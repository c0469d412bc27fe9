"""The Glue Data Catalog of the data lake: one database per data zone, and the grants a metastore client needs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from emr_platform.constructs.compliance import Finding, grantee_role, own_wildcards, rendered
from emr_platform.constructs.shared import ManagedPolicyRole, PlatformConstruct, resolve_removal_policy
from emr_platform.spec.errors import PropError

if TYPE_CHECKING:
    from emr_platform.constructs.storage import DataLakeStorage

GLUE_HIVE_CLIENT_FACTORY = "com.amazonaws.glue.catalog.metastore.AWSGlueDataCatalogHiveClientFactory"

# What a Hive / Spark / Trino metastore client calls. Read: look up databases, tables, partitions and functions.
_READ_ACTIONS = (
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetTableVersion",
    "glue:GetTableVersions",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
    "glue:GetUserDefinedFunction",
    "glue:GetUserDefinedFunctions",
)
# Write: create and alter tables and partitions inside the platform's databases (never create or drop databases:
# those are owned by this stack).
_WRITE_ACTIONS = (
    "glue:CreateTable",
    "glue:UpdateTable",
    "glue:DeleteTable",
    "glue:BatchDeleteTable",
    "glue:DeleteTableVersion",
    "glue:BatchDeleteTableVersion",
    "glue:CreatePartition",
    "glue:BatchCreatePartition",
    "glue:UpdatePartition",
    "glue:BatchUpdatePartition",
    "glue:DeletePartition",
    "glue:BatchDeletePartition",
)


class DataCatalog(PlatformConstruct):
    """One Glue database per data zone, located at the zone's bucket.

    Creates a ``glue.Database`` named ``<database_prefix>_<zone>`` for every entry of ``zone_locations`` (zone
    name to ``s3://`` URI).

    ``grant_read`` / ``grant_read_write`` give a principal exactly what a Hive, Spark, Presto or Trino metastore
    client needs on these databases and their tables, plus ``GetDatabase`` on ``default`` (Hive and Spark open it
    at start-up); never permission to create or drop databases.

    :param database_prefix: the start of every database name (``<prefix>_<zone>``).
    :param zone_locations: the data zones, each with the ``s3://`` URI of its bucket.
    :param removal_policy: what happens to the databases when they leave the stack. Default: RETAIN; DESTROY
        needs ``-c emr-platform:allow-destroy=true`` as well.

    Example::

        catalog = DataCatalog(self, "Catalog", database_prefix="lake_dev", zone_locations=storage.zone_uris)
        catalog.grant_read_write(cluster, zones=["curated"])
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        database_prefix: str,
        zone_locations: Mapping[str, str],
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if not zone_locations:
            raise PropError(
                where=f"{self.where}: zone_locations",
                problem="no data zones given",
                value=dict(zone_locations),
                fix="pass {'raw': 's3://...'} (e.g. DataLakeStorage.zone_uris)",
            )
        self.database_prefix = database_prefix
        self.databases: dict[str, glue.Database] = {}
        self._grantees: list[iam.IRole] = []
        removal_policy = resolve_removal_policy(self, removal_policy)
        for zone, location in zone_locations.items():
            self.databases[zone] = glue.Database(
                self,
                f"{zone.capitalize()}Database",
                database_name=self.database_name(zone),
                description=f"Data zone '{zone}' of {Stack.of(self).stack_name}",
                location_uri=location,
                removal_policy=removal_policy,
            )

    def database_name(self, zone: str) -> str:
        """The Glue database name of ``zone``."""
        return f"{self.database_prefix}_{zone}"

    def _arns(self, zones: Iterable[str] | None) -> list[str]:
        stack = Stack.of(self)
        chosen = list(self.databases) if zones is None else list(zones)
        unknown = [z for z in chosen if z not in self.databases]
        if unknown:
            raise PropError(
                where=f"{self.where}: zones",
                problem="no such data zone",
                value=unknown,
                fix=f"use zones among {', '.join(self.databases)}",
            )
        arns = [stack.format_arn(service="glue", resource="catalog")]
        for zone in chosen:
            name = self.database_name(zone)
            arns.append(stack.format_arn(service="glue", resource="database", resource_name=name))
            arns.append(stack.format_arn(service="glue", resource="table", resource_name=f"{name}/*"))
            arns.append(stack.format_arn(service="glue", resource="userDefinedFunction", resource_name=f"{name}/*"))
        return arns

    def _default_database(self, grantee: iam.IGrantable) -> iam.Grant:
        stack = Stack.of(self)
        role = grantee_role(grantee)
        if role is not None:
            self._grantees.append(role)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["glue:GetDatabase"],
            resource_arns=[
                stack.format_arn(service="glue", resource="catalog"),
                stack.format_arn(service="glue", resource="database", resource_name="default"),
            ],
        )

    def grant_read(self, grantee: iam.IGrantable, *, zones: Iterable[str] | None = None) -> iam.Grant:
        """Read the catalog entries of ``zones`` (default all): databases, tables, partitions, functions."""
        default = self._default_database(grantee)
        return default.combine(
            iam.Grant.add_to_principal(grantee=grantee, actions=list(_READ_ACTIONS), resource_arns=self._arns(zones))
        )

    def grant_read_write(self, grantee: iam.IGrantable, *, zones: Iterable[str] | None = None) -> iam.Grant:
        """Read, and create / alter / drop tables and partitions, in ``zones`` (default all)."""
        default = self._default_database(grantee)
        return default.combine(
            iam.Grant.add_to_principal(
                grantee=grantee, actions=[*_READ_ACTIONS, *_WRITE_ACTIONS], resource_arns=self._arns(zones)
            )
        )

    def reviewed_findings(self) -> Iterator[Finding]:
        """The table and function wildcards of this construct's grants, only where they span its own databases."""
        stack = Stack.of(self)
        reason = (
            "Metastore clients read and write the tables and functions of the platform's own Glue databases, whose "
            "names are not known before they are created."
        )
        owned = {
            rendered(
                self, stack.format_arn(service="glue", resource=kind, resource_name=f"{self.database_name(z)}/*")
            ): reason
            for z in self.databases
            for kind in ("table", "userDefinedFunction")
        }
        yield from own_wildcards(self._grantees, owned)


class ZoneCrawlers(PlatformConstruct):
    """A Glue crawler per data zone, keeping each zone's Glue database in step with its bucket.

    - ``security_configuration``: Glue encrypts the crawlers' CloudWatch logs and job bookmarks with
      ``encryption_key``
      (``<stack>-crawlers``; a Glue security configuration needs a name);
    - ``roles``: one role per zone, trusted by Glue for this account only, that may read that zone's bucket,
      read and write that zone's database, and write its own encrypted logs; nothing else;
    - ``crawlers``: ``<stack>-<zone>``, on ``schedule`` (a Glue cron expression such as ``cron(0 3 * * ? *)``;
      default: on demand only). Tables of deleted data are marked deprecated, never deleted, and new columns are
      added (``schema_change_policy``): a crawler never drops what a query still uses.

    :param catalog: the databases the crawlers keep in step.
    :param buckets: the bucket of each data zone to crawl.
    :param encryption_key: the key of the buckets, logs and bookmarks.
    :param schedule: a Glue cron expression. Default: none, crawlers run on demand (or on step completion).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog: DataCatalog,
        buckets: Mapping[str, s3.IBucket],
        encryption_key: kms.IKey,
        schedule: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        key = encryption_key
        self.buckets = dict(buckets)
        self.security_configuration = glue.CfnSecurityConfiguration(
            self,
            "SecurityConfiguration",
            name=f"{stack.stack_name}-crawlers",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=key.key_arn
                ),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=key.key_arn
                ),
                s3_encryptions=[
                    glue.CfnSecurityConfiguration.S3EncryptionProperty(
                        s3_encryption_mode="SSE-KMS", kms_key_arn=key.key_arn
                    )
                ],
            ),
        )
        self.roles: dict[str, ManagedPolicyRole] = {}
        self.crawlers: dict[str, glue.CfnCrawler] = {}
        for zone, bucket in buckets.items():
            role = self._role(zone, bucket, catalog, key)
            self.roles[zone] = role
            self.crawlers[zone] = glue.CfnCrawler(
                self,
                f"{zone.capitalize()}Crawler",
                name=f"{stack.stack_name}-{zone}",
                role=role.role_arn,
                database_name=catalog.database_name(zone),
                targets=glue.CfnCrawler.TargetsProperty(
                    s3_targets=[glue.CfnCrawler.S3TargetProperty(path=bucket.s3_url_for_object(""))]
                ),
                crawler_security_configuration=self.security_configuration.ref,
                schedule=glue.CfnCrawler.ScheduleProperty(schedule_expression=schedule) if schedule else None,
                schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                    update_behavior="UPDATE_IN_DATABASE", delete_behavior="DEPRECATE_IN_DATABASE"
                ),
            )

    def _role(self, zone: str, bucket: s3.IBucket, catalog: DataCatalog, key: kms.IKey) -> ManagedPolicyRole:
        """The crawler role of ``zone``: read its bucket, read and write its database, write its own logs."""
        stack = Stack.of(self)
        role = ManagedPolicyRole(
            self,
            f"{zone.capitalize()}Role",
            assumed_by=iam.ServicePrincipal(
                "glue.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"Glue crawler of data zone '{zone}'",
        )
        iam.Grant.add_to_principal(
            grantee=role, actions=["s3:ListBucket", "s3:GetBucketLocation"], resource_arns=[bucket.bucket_arn]
        )
        iam.Grant.add_to_principal(grantee=role, actions=["s3:GetObject"], resource_arns=[bucket.arn_for_objects("*")])
        catalog.grant_read_write(role, zones=[zone])
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            resource_arns=[key.key_arn],
        )
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
            resource_arns=[
                stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name="/aws-glue/crawlers*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )
        return role

    def reviewed_findings(self) -> Iterator[Finding]:
        """Each crawler role's object wildcard on its own zone's bucket, and its Glue crawler log groups."""
        stack = Stack.of(self)
        logs_reason = (
            "Glue names a crawler's log group after its role and security configuration at run time; the pattern "
            "covers only Glue crawler log groups of this account and region."
        )
        log_groups = rendered(
            self,
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name="/aws-glue/crawlers*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
        )
        for zone, role in self.roles.items():
            owned = {
                rendered(self, self.buckets[zone].arn_for_objects("*")): "The crawler reads the objects of its "
                f"own data zone's bucket ({zone}), which it catalogs.",
                log_groups: logs_reason,
            }
            yield from own_wildcards([role], owned)


class RedshiftAccessRole(PlatformConstruct):
    """The role Redshift assumes to ``COPY`` from, or query through Spectrum, data zones via the Glue catalog.

    Trusted by Redshift for this account only; may read the buckets and catalog entries of ``zones`` (default
    ``curated``) and decrypt with the platform key, nothing else. Attach ``role`` to the Redshift cluster or
    workgroup (``IamRoles``).

    :param catalog: the databases Redshift reads through.
    :param storage: the buckets of the zones.
    :param zones: the zones Redshift may read. Default: curated.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog: DataCatalog,
        storage: DataLakeStorage,
        zones: Sequence[str] = ("curated",),
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "redshift.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}
            ),
            description=f"Redshift reads data zones {', '.join(zones)} through the Glue catalog",
        )
        storage.grant_read(self.role, zones=zones)
        catalog.grant_read(self.role, zones=zones)
