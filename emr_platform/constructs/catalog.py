"""The Glue Data Catalog of the data lake: one database per data zone, and the grants a metastore client needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from constructs import Construct

from emr_platform.errors import PropError

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


class DataCatalog(Construct):
    """One Glue database per data zone, located at the zone's bucket.

    Creates a ``glue.Database`` named ``<database_prefix>_<zone>`` for every entry of ``zone_locations`` (zone
    name to ``s3://`` URI), retained when removed from the stack (``removal_policy``, default RETAIN).

    ``grant_read`` / ``grant_read_write`` give a principal exactly what a Hive, Spark, Presto or Trino metastore
    client needs on these databases and their tables, plus ``GetDatabase`` on ``default`` (Hive and Spark open it
    at start-up); never permission to create or drop databases.

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
                where=f"DataCatalog {self.node.path}: zone_locations",
                problem="no data zones given",
                value=dict(zone_locations),
                fix="pass {'raw': 's3://...'} (e.g. DataLakeStorage.zone_uris)",
            )
        self.database_prefix = database_prefix
        self.databases: dict[str, glue.Database] = {}
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
                where=f"DataCatalog {self.node.path}: zones",
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

    def _default_database(self, grantee: iam.IGrantable) -> None:
        stack = Stack.of(self)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["glue:GetDatabase"],
            resource_arns=[
                stack.format_arn(service="glue", resource="catalog"),
                stack.format_arn(service="glue", resource="database", resource_name="default"),
            ],
        )

    def grant_read(self, grantee: iam.IGrantable, *, zones: Iterable[str] | None = None) -> iam.Grant:
        """Read the catalog entries of ``zones`` (default all): databases, tables, partitions, functions."""
        self._default_database(grantee)
        return iam.Grant.add_to_principal(grantee=grantee, actions=list(_READ_ACTIONS), resource_arns=self._arns(zones))

    def grant_read_write(self, grantee: iam.IGrantable, *, zones: Iterable[str] | None = None) -> iam.Grant:
        """Read, and create / alter / drop tables and partitions, in ``zones`` (default all)."""
        self._default_database(grantee)
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=[*_READ_ACTIONS, *_WRITE_ACTIONS], resource_arns=self._arns(zones)
        )
