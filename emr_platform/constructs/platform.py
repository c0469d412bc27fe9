"""The whole platform of one settings file as one construct (an L3), and the composition it shares with the stack.

:class:`EmrDataPlatform` composes storage, network, catalog and crawlers, the security configuration, Block Public
Access, notifications, monitoring, long-running and transient clusters, integrations and the step-completed
handler from one :class:`EnvironmentSettings` (a settings file, a mapping shaped like one, or the typed object),
and makes every grant the parts need. :class:`emr_platform.stacks.EmrPlatformStack` is the same composition as a
stack of its own; the constructs stay usable one by one.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Annotations, CfnOutput, Duration, RemovalPolicy, Stack, Tags, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from pydantic import ValidationError

from emr_platform.constructs.account import EmrBlockPublicAccess
from emr_platform.constructs.catalog import DataCatalog, RedshiftAccessRole, ZoneCrawlers
from emr_platform.constructs.cluster import ClusterPlacement, EmrCluster, EmrClusterBase
from emr_platform.constructs.monitoring import EmrMonitoring, PlatformNotifications, StepCompletedHandler
from emr_platform.constructs.network import EmrNetwork
from emr_platform.constructs.security_configuration import EmrSecurityConfiguration
from emr_platform.constructs.shared import ASSETS_DIR, PlatformConstruct
from emr_platform.constructs.storage import EMR_LOGS_PREFIX, DataLakeStorage
from emr_platform.constructs.transient import TransientEmrCluster
from emr_platform.spec.errors import PropError
from emr_platform.spec.settings import ALLOW_DESTROY_CONTEXT, EnvironmentSettings
from emr_platform.spec.validation import prop_error

# The settings' retention periods as the CDK names them.
RETENTION_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
"""The same periods as ``RETENTION_PERIODS`` of the settings (tests/test_settings.py checks they match)."""


class PlatformComposition(Construct):
    """The composition of a platform from ``settings``, building into ``self``: a mixin of the stack and of
    :class:`EmrDataPlatform`, which set ``settings`` and call :meth:`_compose` (it has no constructor of its own).

    Every cluster reads and writes every data zone, reads the artifacts (and the sample job), writes its logs and
    uses the Glue catalog as its metastore; the integrations of the settings are granted to every cluster.
    """

    settings: EnvironmentSettings
    removal_policy: RemovalPolicy
    storage: DataLakeStorage
    network: EmrNetwork
    catalog: DataCatalog
    crawlers: ZoneCrawlers
    notifications: PlatformNotifications
    sample_job: s3_assets.Asset | None
    security_configuration: EmrSecurityConfiguration
    transient_security_configuration: EmrSecurityConfiguration | None = None
    """Under Kerberos, the transient clusters' security configuration: the same encryption, no KDC."""
    block_public_access: EmrBlockPublicAccess | None
    clusters: dict[str, EmrCluster]
    monitoring: dict[str, EmrMonitoring]
    transient_clusters: dict[str, TransientEmrCluster]
    redshift_role: RedshiftAccessRole | None
    step_completed: StepCompletedHandler

    def _compose(self) -> None:
        """Build every part, in the order the stack always has (construct order is template order)."""
        self.removal_policy = self._removal_policy()
        self._foundation()
        self._security()
        placement = ClusterPlacement(
            vpc=self.network.vpc,
            subnets=self.network.subnets,
            log_bucket=self.storage.logs_bucket,
            log_prefix=EMR_LOGS_PREFIX,
            encryption_key=self.storage.key,
            security_configuration=self.security_configuration,
            allow_spot_on_primary_and_core=self.settings.capacity_policy.allow_spot_on_primary_and_core,
        )
        self._clusters(placement)
        self._transient_clusters(self._transient_placement(placement))
        self.redshift_role = self._integrations([*self.clusters.values(), *self.transient_clusters.values()])
        self.step_completed = StepCompletedHandler(
            self,
            "StepCompleted",
            clusters=list(self.clusters.values()),
            crawlers=self.crawlers,
            topic=self.notifications.topic,
            encryption_key=self.storage.key,
            removal_policy=self.removal_policy,
        )
        self._outputs()

    def _foundation(self) -> None:
        """Storage, network, catalog and crawlers, notifications and the sample job."""
        settings = self.settings
        storage = settings.storage
        self.storage = DataLakeStorage(
            self,
            "Storage",
            data_zones=storage.data_zones,
            log_expiration=Duration.days(storage.log_expiration_days),
            noncurrent_version_expiration=Duration.days(storage.noncurrent_version_expiration_days),
            abort_incomplete_upload=Duration.days(storage.abort_incomplete_upload_days),
            removal_policy=self.removal_policy,
        )
        self.network = self._network()
        self.catalog = DataCatalog(
            self,
            "Catalog",
            database_prefix=settings.database_prefix,
            zone_locations=self.storage.zone_uris,
            removal_policy=self.removal_policy,
        )
        self.crawlers = ZoneCrawlers(
            self,
            "Crawlers",
            catalog=self.catalog,
            buckets=self.storage.data_buckets,
            encryption_key=self.storage.key,
            schedule=settings.catalog.crawler_schedule,
        )
        self.notifications = PlatformNotifications(
            self, "Notifications", encryption_key=self.storage.key, emails=settings.monitoring.email_subscriptions
        )
        self.sample_job: s3_assets.Asset | None = None
        if settings.sample_job:
            self.sample_job = s3_assets.Asset(self, "SampleJob", path=str(ASSETS_DIR / "jobs" / "web_logs.py"))

    def _network(self) -> EmrNetwork:
        net = self.settings.network
        existing = net.existing_vpc
        if existing is None:
            return EmrNetwork(
                self,
                "Network",
                encryption_key=self.storage.key,
                vpc_cidr=net.vpc_cidr,
                nat_gateways=net.nat_gateways,
                interface_endpoints=net.interface_endpoints,
                flow_logs_retention=RETENTION_DAYS[net.flow_logs_retention_days],
                removal_policy=self.removal_policy,
            )
        vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "ImportedVpc",
            vpc_id=existing.vpc_id,
            vpc_cidr_block=existing.vpc_cidr,
            availability_zones=list(self.settings.availability_zones),
            private_subnet_ids=list(existing.private_subnet_ids),
        )
        return EmrNetwork(
            self, "Network", encryption_key=self.storage.key, vpc=vpc, subnet_ids=existing.private_subnet_ids
        )

    def _security(self) -> None:
        """The security configuration, EMR Block Public Access and the permissions boundary."""
        security = self.settings.security
        self.security_configuration = EmrSecurityConfiguration(
            self,
            "SecurityConfiguration",
            encryption_key=self.storage.key,
            spec=security,
            removal_policy=self.removal_policy,
        )
        self.block_public_access = (
            EmrBlockPublicAccess(
                self, "EmrBlockPublicAccess", encryption_key=self.storage.key, removal_policy=self.removal_policy
            )
            if security.emr_block_public_access
            else None
        )
        if security.permissions_boundary_arn is not None:
            # Every role of the stack, also those the CDK creates for its own functions.
            iam.PermissionsBoundary.of(self).apply(
                iam.ManagedPolicy.from_managed_policy_arn(
                    self, "PermissionsBoundary", security.permissions_boundary_arn
                )
            )

    def _transient_placement(self, placement: ClusterPlacement) -> ClusterPlacement:
        """The long-running clusters' placement, or, under Kerberos, the same with a security configuration that
        has the same encryption and no KDC: each transient cluster's settings say why it goes without (checked
        with the settings), because a cluster-dedicated KDC's password cannot be in a run request."""
        security = self.settings.security
        if security.kerberos is None or not self.settings.transient_clusters:
            return placement
        self.transient_security_configuration = EmrSecurityConfiguration(
            self,
            "TransientSecurityConfiguration",
            encryption_key=self.storage.key,
            spec=security.model_copy(update={"kerberos": None}),
            removal_policy=self.removal_policy,
        )
        return dataclasses.replace(placement, security_configuration=self.transient_security_configuration)

    def _clusters(self, placement: ClusterPlacement) -> None:
        self.clusters: dict[str, EmrCluster] = {}
        self.monitoring: dict[str, EmrMonitoring] = {}
        for name, spec in self.settings.clusters.items():
            cluster = EmrCluster(
                self,
                name,
                spec=spec,
                placement=placement,
                cluster_name=spec.name or f"{self.settings.stack_name}-{name}",
                placeholders=self._placeholders(),
            )
            self._grant_platform(cluster)
            self.clusters[name] = cluster
            self.monitoring[name] = EmrMonitoring(
                self, f"{name}Monitoring", cluster=cluster, topic=self.notifications.topic
            )
            CfnOutput(self, f"{name}ClusterId", value=cluster.cluster_id, description=f"EMR cluster ID of '{name}'")
            CfnOutput(self, f"{name}ClusterName", value=cluster.cluster_name, description=f"Name of cluster '{name}'")

    def _transient_clusters(self, placement: ClusterPlacement) -> None:
        self.transient_clusters: dict[str, TransientEmrCluster] = {}
        for name, spec in self.settings.transient_clusters.items():
            transient = TransientEmrCluster(
                self,
                name,
                spec=spec,
                placement=placement,
                cluster_name=spec.cluster.name or f"{self.settings.stack_name}-{name}",
                placeholders=self._placeholders(),
                topic=self.notifications.topic,
                tags=self.settings.tags,
                removal_policy=self.removal_policy,
            )
            self._grant_platform(transient)
            self.transient_clusters[name] = transient
            CfnOutput(
                self,
                f"{name}StateMachineArn",
                value=transient.state_machine.state_machine_arn,
                description=f"Runs of transient cluster '{name}': emr-platform-ops run <env> {name}",
            )

    def _outputs(self) -> None:
        if self.sample_job is not None:
            CfnOutput(
                self,
                "SampleJobScript",
                value=self.sample_job.s3_object_url,
                description="The sample PySpark job: emr-platform-ops submit <env> <this URI> --arg ...",
            )
        CfnOutput(self, "AlertsTopicArn", value=self.notifications.topic.topic_arn, description="Alarms and EMR events")
        CfnOutput(self, "LogUri", value=self.storage.emr_log_uri, description="Where EMR clusters write their logs")
        CfnOutput(self, "ArtifactsBucket", value=self.storage.artifacts_bucket.bucket_name)
        for zone, bucket in self.storage.data_buckets.items():
            CfnOutput(self, f"{zone}Bucket", value=bucket.bucket_name, description=f"Data zone '{zone}'")

    def _grant_platform(self, cluster: EmrClusterBase) -> None:
        """What every cluster of the platform may do: read and write every data zone, read the artifacts (and the
        sample job), write its logs, and use the Glue catalog as its metastore."""
        self.storage.grant_read_write(cluster)
        self.storage.grant_read_artifacts(cluster)
        cluster.use_glue_catalog(self.catalog)
        if self.sample_job is not None:
            cluster.grant_read_asset(self.sample_job)

    def _integrations(self, clusters: list[EmrClusterBase]) -> RedshiftAccessRole | None:
        """Give every cluster the integrations of the settings; the Redshift role, if Redshift is configured."""
        integrations = self.settings.integrations
        tables = [
            dynamodb.Table.from_table_attributes(
                self,
                f"DynamoDbTable{i + 1}",
                table_name=t.table_name,
                encryption_key=kms.Key.from_key_arn(self, f"DynamoDbKey{i + 1}", t.kms_key_arn)
                if t.kms_key_arn
                else None,
            )
            for i, t in enumerate(integrations.dynamodb_tables)
        ]
        databases = [
            (
                ec2.SecurityGroup.from_security_group_id(self, f"Database{i + 1}", d.security_group_id),
                secretsmanager.Secret.from_secret_complete_arn(self, f"DatabaseSecret{i + 1}", d.secret_arn),
                d.port,
            )
            for i, d in enumerate(integrations.databases)
        ]
        redshift = integrations.redshift
        for cluster in clusters:
            for table, spec in zip(tables, integrations.dynamodb_tables, strict=True):
                cluster.grant_dynamodb(table, write=spec.write)
            for group, secret, port in databases:
                cluster.connect_to_database(group, secret, port=port)
            if redshift is not None:
                cluster.grant_redshift(
                    cluster_identifier=redshift.cluster_identifier, database=redshift.database, db_user=redshift.db_user
                )
        if redshift is None:
            return None
        role = RedshiftAccessRole(
            self, "RedshiftAccess", catalog=self.catalog, storage=self.storage, zones=redshift.spectrum_zones
        )
        CfnOutput(self, "RedshiftRoleArn", value=role.role.role_arn, description="Attach to the Redshift cluster")
        return role

    def _placeholders(self) -> dict[str, str]:
        """The values of the placeholders transient steps may use (see StepSpec)."""
        values = {
            "artifacts": f"s3://{self.storage.artifacts_bucket.bucket_name}",
            "logs": self.storage.emr_log_uri,
            **{f"zone:{zone}": f"s3://{bucket.bucket_name}" for zone, bucket in self.storage.data_buckets.items()},
            **{f"database:{zone}": self.catalog.database_name(zone) for zone in self.storage.data_buckets},
        }
        if self.sample_job is not None:
            values["sample_job"] = self.sample_job.s3_object_url
        return values

    def _removal_policy(self) -> RemovalPolicy:
        """RETAIN, unless both the settings and the context flag allow destruction; a warning when only one does."""
        in_settings = self.settings.data_protection.allow_destroy
        in_context = str(self.node.try_get_context(ALLOW_DESTROY_CONTEXT)).lower() == "true"
        if in_settings and in_context:
            Annotations.of(self).add_warning_v2(
                "emr-platform:destroy-allowed",
                "data_protection.allow_destroy and the context flag are both set: deleting this stack deletes its "
                "buckets (once emptied), key, Glue databases and logs.",
            )
            return RemovalPolicy.DESTROY
        if in_settings or in_context:
            missing = f"-c {ALLOW_DESTROY_CONTEXT}=true" if in_settings else "data_protection.allow_destroy: true"
            Annotations.of(self).add_warning_v2(
                "emr-platform:destroy-half-allowed",
                f"destruction is allowed in one place only, so data is RETAINED; to destroy, also set {missing}",
            )
        return RemovalPolicy.RETAIN


class EmrDataPlatform(PlatformConstruct, PlatformComposition):
    """A whole EMR data platform in your own stack, from one settings file's schema.

    Creates what :class:`emr_platform.stacks.EmrPlatformStack` creates for an environment (storage, network,
    catalog and crawlers, security configuration, Block Public Access, notifications, clusters with their
    monitoring, transient clusters, integrations, the step-completed handler), with every grant made, and exposes
    the parts as attributes (``storage``, ``network``, ``clusters``, ...).

    ``spec`` is an :class:`EnvironmentSettings` (e.g. ``load_settings("analytics", Path("config"))``) or a mapping
    of the same shape; in a mapping, ``account`` and ``region`` default to the stack's and ``environment`` to the
    construct id in lower case (``Platform``: ``platform``; a one-letter id: ``platform-<id>``). The spec's
    ``tags`` go on every resource of the construct; ``data_protection.stack_termination_protection`` is the
    stack's business (yours), not the construct's. The stack must have a concrete account and region equal to the spec's.

    The availability zones of the spec are written into the stack's context, where the CDK reads them, so the app
    synthesizes offline with no lookup: create the platform before anything else in its stack (context cannot be
    set once a stack has children), or set the context key yourself.

    :param spec: the platform, as in a settings file (see ``docs/settings.md``).

    Example::

        stack = Stack(app, "analytics", env=Environment(account="111111111111", region="eu-west-1"))
        platform = EmrDataPlatform(stack, "Platform", spec=load_settings("analytics", Path("config")))
        add_compliance_checks(app)
    """

    def __init__(self, scope: Construct, construct_id: str, *, spec: EnvironmentSettings | Mapping[str, Any]) -> None:
        where = f"EmrDataPlatform {'/'.join([scope.node.path, construct_id]).lstrip('/')}"
        stack = Stack.of(scope)
        settings = _settings_for(stack, spec, construct_id, where)
        pin_availability_zones(stack, settings.availability_zones, where)
        super().__init__(scope, construct_id)
        self.settings = settings
        for key, value in settings.tags.items():
            Tags.of(self).add(key, value)
        self._compose()


def _settings_for(
    stack: Stack, spec: EnvironmentSettings | Mapping[str, Any], construct_id: str, where: str
) -> EnvironmentSettings:
    """The platform's settings, checked against the stack's environment."""
    if Token.is_unresolved(stack.account) or Token.is_unresolved(stack.region):
        raise PropError(
            where=f"{where}: stack {stack.node.path}",
            problem="the stack has no concrete account and region (the zones, ARNs and names need them)",
            show_value=False,
            fix="create the stack with env=Environment(account='111111111111', region='eu-west-1')",
        )
    if isinstance(spec, EnvironmentSettings):
        settings = spec
    elif isinstance(spec, Mapping):
        defaults = {"account": stack.account, "region": stack.region, "environment": _environment_name(construct_id)}
        try:
            settings = EnvironmentSettings.model_validate({**defaults, **spec})
        except ValidationError as error:
            raise prop_error(error, where=f"{where}: spec") from None
    else:
        raise PropError(
            where=f"{where}: spec",
            problem="not a settings mapping",
            value=type(spec).__name__,
            fix="pass a mapping shaped like a settings file, or load_settings(<name>, <folder>)",
        )
    for field, actual in (("account", stack.account), ("region", stack.region)):
        if getattr(settings, field) != actual:
            raise PropError(
                where=f"{where}: spec.{field}",
                problem=f"differs from the stack's {field} ({actual})",
                value=getattr(settings, field),
                fix=f"use the stack's {field} in the spec, or leave it out",
            )
    return settings


def _environment_name(construct_id: str) -> str:
    """The default environment name of a platform construct: its id in lower case, with ``-`` for anything else
    than letters and digits, at least two characters (the settings' rule for names)."""
    name = "-".join(part for part in re.split(r"[^a-z0-9]+", construct_id.lower()) if part)
    return name if len(name) >= 2 and name[0].isalpha() else f"platform-{name}".strip("-")


def zones_context_key(account: str, region: str) -> str:
    """The context key the CDK reads a stack's availability zones from (``availability-zones:account=...``)."""
    return f"availability-zones:account={account}:region={region}"


def pin_availability_zones(stack: Stack, zones: tuple[str, ...], where: str) -> None:
    """Write ``zones`` into ``stack``'s context, where ``Stack.availability_zones`` reads them: no lookup.

    :raises PropError: the stack already has children and the context does not hold these zones.
    """
    key = zones_context_key(stack.account, stack.region)
    current = stack.node.try_get_context(key)
    if current is not None and list(current) != list(zones)[: len(current)]:
        raise PropError(
            where=f"{where}: context {key!r}",
            problem=f"holds other zones than the spec's availability_zones ({list(zones)})",
            value=current,
            fix="make the two agree (cdk.json or cdk.context.json, and the settings)",
        )
    if current is not None:
        return
    if stack.node.children:
        raise PropError(
            where=f"{where}: stack {stack.node.path}",
            problem="the stack already has other constructs, so the zones cannot be written into its context",
            show_value=False,
            fix=f'create the platform first in its stack, or add "{key}": {list(zones)} to cdk.json\'s context',
        )
    stack.node.set_context(key, list(zones))
