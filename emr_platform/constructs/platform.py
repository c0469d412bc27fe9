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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Annotations, CfnOutput, Duration, Environment, RemovalPolicy, Stack, Tags, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from pydantic import ValidationError

from emr_platform.constructs.account import EmrBlockPublicAccess
from emr_platform.constructs.catalog import DataCatalog, RedshiftAccessRole, ZoneCrawlers
from emr_platform.constructs.cluster import ClusterPlacement, EmrCluster, EmrClusterBase
from emr_platform.constructs.monitoring import EmrMonitoring, PlatformNotifications, StepCompletedHandler
from emr_platform.constructs.network import EmrNetwork
from emr_platform.constructs.security_configuration import EmrSecurityConfiguration, SharedSecurityConfiguration
from emr_platform.constructs.serverless import EmrServerlessApplication, ServerlessPipeline
from emr_platform.constructs.shared import ASSETS_DIR, PlatformConstruct
from emr_platform.constructs.sharing import PARAMETER_ROOT, FoundationParameters
from emr_platform.constructs.storage import EMR_LOGS_PREFIX, DataLakeStorage, SharedStorage, StorageAccess
from emr_platform.constructs.studio import EmrStudio
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


@dataclass(frozen=True)
class ClusterFoundation:
    """What the clusters of one stack use of the platform's foundation, as objects of that stack: the foundation's
    own in its stack, imported ones in a cluster stack.

    :param placement: where the long-running clusters run and log.
    :param transient_placement: the same for transient clusters (under Kerberos, without the KDC).
    :param storage: the buckets and key, for grants.
    :param topic: the alerts topic.
    :param placeholders: the values transient steps' placeholders stand for.
    :param step_function: the step-completed function, imported. Default: none (the handler's own stack).
    :param step_role: its role, imported (the clusters' describe-step grant goes there).
    :param step_dead_letters: its dead-letter queue, imported.
    """

    placement: ClusterPlacement
    transient_placement: ClusterPlacement
    storage: StorageAccess
    topic: sns.ITopic
    placeholders: Mapping[str, str]
    step_function: lambda_.IFunction | None = None
    step_role: iam.IRole | None = None
    step_dead_letters: sqs.IQueue | None = None


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
    cluster_stacks: dict[str, Stack]
    """The cluster stacks (layout ``per_cluster``) by suffix: a group's name, or a cluster's alone."""

    def _compose(self) -> None:
        """Build every part, in the order the stack always has (construct order is template order): the
        foundation, then the clusters of each stack (this one, or one per cluster or group of clusters)."""
        self.removal_policy = self._removal_policy()
        self._foundation()
        self._security()
        self.step_completed = StepCompletedHandler(
            self,
            "StepCompleted",
            crawlers=self.crawlers,
            topic=self.notifications.topic,
            encryption_key=self.storage.key,
            removal_policy=self.removal_policy,
        )
        self.redshift_role = self._redshift_role()
        self._serverless()
        self.studio = self._studio()
        self.clusters, self.monitoring, self.transient_clusters = {}, {}, {}
        self.cluster_stacks: dict[str, Stack] = {}
        self._parameters: FoundationParameters | None = None
        groups = self.settings.cluster_stacks()
        if not groups:
            self._cluster_group(
                self, self._own_foundation(), [*self.settings.clusters, *self.settings.transient_clusters]
            )
        for suffix, names in groups.items():
            stack = self._cluster_stack(suffix, names)
            # Its rules target the foundation's topic and function by ARNs read from parameters: the CDK cannot
            # tell their account and region, which are the stack's own (the foundation's environment).
            Annotations.of(stack).acknowledge_warning(
                "@aws-cdk/aws-events:ruleUnresolvedEnvironment",
                "the targets are the foundation's, in this stack's account and region",
            )
            self.cluster_stacks[suffix] = stack
            self._cluster_group(stack, self._shared_foundation(stack, names), names)
        self._outputs()

    def _own_foundation(self) -> ClusterFoundation:
        """The foundation as the clusters of its own stack use it: the objects themselves."""
        placement = ClusterPlacement(
            vpc=self.network.vpc,
            subnets=self.network.subnets,
            log_bucket=self.storage.logs_bucket,
            log_prefix=EMR_LOGS_PREFIX,
            encryption_key=self.storage.key,
            security_configuration=self.security_configuration,
            allow_spot_on_primary_and_core=self.settings.capacity_policy.allow_spot_on_primary_and_core,
        )
        transient = self.transient_security_configuration
        return ClusterFoundation(
            placement=placement,
            transient_placement=dataclasses.replace(placement, security_configuration=transient)
            if transient is not None
            else placement,
            storage=self.storage,
            topic=self.notifications.topic,
            placeholders=self._placeholders(self.storage),
        )

    def _shared_foundation(self, stack: Stack, names: Sequence[str]) -> ClusterFoundation:
        """The foundation as the clusters ``names`` of another stack use it: the same resources, imported there
        by the values the foundation writes into SSM parameters (see :mod:`emr_platform.constructs.sharing`);
        only what they use (a template parameter nothing refers to is a cfn-lint warning)."""
        long_running = any(n in self.settings.clusters for n in names)
        transients = any(n in self.settings.transient_clusters for n in names)
        if self._parameters is None:
            prefix = f"{PARAMETER_ROOT}/{Stack.of(self).stack_name}"
            self._parameters = FoundationParameters(self, "SharedParameters", prefix=prefix)
        parameters = self._parameters

        def read(key: str, value: str) -> str:
            return parameters.share(key, value).read(stack)

        holder = Construct(stack, "Foundation")
        storage = SharedStorage(holder, "Storage", original=self.storage, read=read)
        vpc = self._shared_vpc(holder, read)

        def security(original: EmrSecurityConfiguration | None, key: str) -> SharedSecurityConfiguration | None:
            return _shared_security(holder, original, key, read, storage.key)

        uses_transient_configuration = transients and self.transient_security_configuration is not None
        placement = ClusterPlacement(
            vpc=vpc,
            subnets=vpc.private_subnets,
            log_bucket=storage.logs_bucket,
            log_prefix=EMR_LOGS_PREFIX,
            encryption_key=storage.key,
            security_configuration=security(self.security_configuration, "security-configuration")
            if long_running or not uses_transient_configuration
            else None,
            allow_spot_on_primary_and_core=self.settings.capacity_policy.allow_spot_on_primary_and_core,
        )
        transient = (
            security(self.transient_security_configuration, "transient-security-configuration")
            if uses_transient_configuration
            else placement.security_configuration
        )
        step_handler = self._shared_handler(holder, read, storage) if long_running else (None, None, None)
        return ClusterFoundation(
            placement=placement,
            transient_placement=dataclasses.replace(placement, security_configuration=transient),
            storage=storage,
            topic=sns.Topic.from_topic_arn(
                holder, "AlertsTopic", read("notifications/topic-arn", self.notifications.topic.topic_arn)
            ),
            placeholders=self._placeholders(storage),
            step_function=step_handler[0],
            step_role=step_handler[1],
            step_dead_letters=step_handler[2],
        )

    def _shared_vpc(self, holder: Construct, read: Callable[[str, str], str]) -> ec2.IVpc:
        """The VPC and its private subnets in a cluster stack: an existing VPC by the IDs of the settings, the
        foundation's by the IDs it shares."""
        existing = self.settings.network.existing_vpc
        if existing is not None:
            return ec2.Vpc.from_vpc_attributes(
                holder,
                "Vpc",
                vpc_id=existing.vpc_id,
                vpc_cidr_block=existing.vpc_cidr,
                availability_zones=list(self.settings.availability_zones),
                private_subnet_ids=list(existing.private_subnet_ids),
            )
        subnets = self.network.subnets
        vpc = ec2.Vpc.from_vpc_attributes(
            holder,
            "Vpc",
            vpc_id=read("network/vpc-id", self.network.vpc.vpc_id),
            availability_zones=[s.availability_zone for s in subnets],
            private_subnet_ids=[read(f"network/subnet-{i + 1}-id", s.subnet_id) for i, s in enumerate(subnets)],
        )
        Annotations.of(vpc).acknowledge_warning(
            "@aws-cdk/aws-ec2:noSubnetRouteTableId", "clusters place nodes in the subnets and never read their routes"
        )
        return vpc

    def _shared_handler(
        self, holder: Construct, read: Callable[[str, str], str], storage: StorageAccess
    ) -> tuple[lambda_.IFunction, iam.IRole, sqs.IQueue]:
        """The step-completed handler's function, role and dead letters, imported into a cluster stack."""
        handler = self.step_completed
        function = lambda_.Function.from_function_attributes(
            holder,
            "StepCompletedFunction",
            function_arn=read("step-completed/function-arn", handler.function.function_arn),
            same_environment=True,
        )
        role = iam.Role.from_role_arn(
            holder, "StepCompletedRole", read("step-completed/role-arn", handler.role.role_arn), mutable=True
        )
        dead_letters = sqs.Queue.from_queue_attributes(
            holder,
            "StepCompletedDeadLetters",
            queue_arn=read("step-completed/dead-letters-arn", handler.dead_letters.queue_arn),
            key_arn=storage.key.key_arn,
        )
        return function, role, dead_letters

    def _cluster_stack(self, suffix: str, names: tuple[str, ...]) -> Stack:
        """A stack of its own for clusters ``names``, beside the foundation's, which it depends on."""
        foundation = Stack.of(self)
        settings = self.settings
        name = settings.cluster_stack_name(suffix)
        scope = foundation.node.scope
        construct_id = f"{foundation.node.id}-{suffix}"  # the app's stacks: the stack's name
        if not isinstance(scope, Construct) or scope.node.try_find_child(construct_id) is not None:
            raise PropError(
                where=f"{type(self).__name__} {self.node.path}: stacks",
                problem=f"the cluster stack {construct_id} cannot be created beside {foundation.node.path}",
                value=construct_id,
                fix="give the other construct of that id another name, or set stacks.layout: single",
            )
        stack = Stack(
            scope,
            construct_id,
            stack_name=name,
            env=Environment(account=settings.account, region=settings.region),
            description=_cluster_stack_description(settings.environment, suffix, names),
            termination_protection=settings.data_protection.stack_termination_protection,
        )
        pin_availability_zones(stack, settings.availability_zones, f"{type(self).__name__} {self.node.path}")
        for key, value in settings.tags.items():
            Tags.of(stack).add(key, value)
        if settings.security.permissions_boundary_arn is not None:
            iam.PermissionsBoundary.of(stack).apply(
                iam.ManagedPolicy.from_managed_policy_arn(
                    stack, "PermissionsBoundary", settings.security.permissions_boundary_arn
                )
            )
        stack.add_stack_dependency(foundation, "its clusters use the foundation's key, buckets, network and catalog")
        return stack

    def _cluster_group(self, scope: Construct, shared: ClusterFoundation, names: Sequence[str]) -> None:
        """The clusters ``names`` (long-running and transient) in ``scope``, their integrations, and the rule that
        sends their completed steps to the handler."""
        settings = self.settings
        clusters: list[EmrClusterBase] = []
        long_running: list[EmrCluster] = []
        for name in names:
            if name in settings.clusters:
                long_running.append(self._cluster(scope, name, shared))
                clusters.append(long_running[-1])
            else:
                clusters.append(self._transient_cluster(scope, name, shared))
        self._integrations(scope, clusters)
        if not long_running:
            return
        if scope is self:
            self.step_completed.rule = self.step_completed.watch(
                self.step_completed, "StepCompleted", clusters=long_running
            )
        else:
            self.step_completed.watch(
                scope,
                f"{names[0]}StepCompleted",  # a logical ID of its own in each stack: the guard merges them
                clusters=long_running,
                function=shared.step_function,
                role=shared.step_role,
                dead_letters=shared.step_dead_letters,
            )

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
                dynamodb_tables=[t.table_name for t in self.settings.integrations.dynamodb_tables],
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
        self._transient_security()

    def _transient_security(self) -> None:
        """Under Kerberos, the transient clusters' security configuration: the same encryption and no KDC. Each
        transient cluster's settings say why it goes without (checked with the settings), because a
        cluster-dedicated KDC's password cannot be in a run request."""
        security = self.settings.security
        if security.kerberos is None or not self.settings.transient_clusters:
            return
        self.transient_security_configuration = EmrSecurityConfiguration(
            self,
            "TransientSecurityConfiguration",
            encryption_key=self.storage.key,
            spec=security.model_copy(update={"kerberos": None}),
            removal_policy=self.removal_policy,
        )

    def _cluster(self, scope: Construct, name: str, shared: ClusterFoundation) -> EmrCluster:
        spec = self.settings.clusters[name]
        cluster = EmrCluster(
            scope,
            name,
            spec=spec,
            placement=shared.placement,
            cluster_name=spec.name or f"{self.settings.stack_name}-{name}",
            placeholders=shared.placeholders,
        )
        self._join_platform(cluster, shared, name)
        self.clusters[name] = cluster
        self.monitoring[name] = EmrMonitoring(scope, f"{name}Monitoring", cluster=cluster, topic=shared.topic)
        CfnOutput(scope, f"{name}ClusterId", value=cluster.cluster_id, description=f"EMR cluster ID of '{name}'")
        CfnOutput(scope, f"{name}ClusterName", value=cluster.cluster_name, description=f"Name of cluster '{name}'")
        return cluster

    def _transient_cluster(self, scope: Construct, name: str, shared: ClusterFoundation) -> TransientEmrCluster:
        spec = self.settings.transient_clusters[name]
        transient = TransientEmrCluster(
            scope,
            name,
            spec=spec,
            placement=shared.transient_placement,
            cluster_name=spec.cluster.name or f"{self.settings.stack_name}-{name}",
            placeholders=shared.placeholders,
            topic=shared.topic,
            tags=self.settings.tags,
            removal_policy=self.removal_policy,
        )
        self._join_platform(transient, shared, name)
        self.transient_clusters[name] = transient
        CfnOutput(
            scope,
            f"{name}StateMachineArn",
            value=transient.state_machine.state_machine_arn,
            description=f"Runs of transient cluster '{name}': emr-platform-ops run <env> {name}",
        )
        return transient

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

    def _join_platform(self, cluster: EmrClusterBase, shared: ClusterFoundation, name: str) -> None:
        """Join cluster ``name`` to the platform: it may read and write every data zone, read the artifacts (and the
        sample job), write its logs and use the Glue catalog as its metastore; and it carries the settings'
        commitments that cover it, for the cost estimate."""
        for commitment in self.settings.commitments_for(name):
            cluster.declare_commitment(commitment)
        shared.storage.grant_read_write(cluster)
        shared.storage.grant_read_artifacts(cluster)
        cluster.use_glue_catalog(self.catalog)  # by name: the database ARNs hold no reference to another stack
        if self.sample_job is not None:
            cluster.grant_read_asset(self.sample_job)  # in the bootstrap bucket, named without a reference

    def _integrations(self, scope: Construct, clusters: list[EmrClusterBase]) -> None:
        """Give every cluster of ``scope`` the integrations of the settings (imported there)."""
        integrations = self.settings.integrations
        tables = [
            dynamodb.Table.from_table_attributes(
                scope,
                f"DynamoDbTable{i + 1}",
                table_name=t.table_name,
                encryption_key=kms.Key.from_key_arn(scope, f"DynamoDbKey{i + 1}", t.kms_key_arn)
                if t.kms_key_arn
                else None,
            )
            for i, t in enumerate(integrations.dynamodb_tables)
        ]
        databases = [
            (
                ec2.SecurityGroup.from_security_group_id(scope, f"Database{i + 1}", d.security_group_id),
                secretsmanager.Secret.from_secret_complete_arn(scope, f"DatabaseSecret{i + 1}", d.secret_arn),
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

    def _serverless(self) -> None:
        """The EMR Serverless applications, in the foundation: the platform's subnets, logs, key; their job roles
        granted what a cluster's nodes are (every zone, the artifacts, the catalog, the sample job)."""
        self.serverless_applications: dict[str, EmrServerlessApplication] = {}
        for name, spec in self.settings.serverless_applications.items():
            application = EmrServerlessApplication(
                self,
                f"{name}Serverless",
                spec=spec,
                name=f"{self.settings.stack_name}-{name}",
                vpc=self.network.vpc,
                subnets=self.network.subnets,
                log_bucket=self.storage.logs_bucket,
                encryption_key=self.storage.key,
            )
            self.storage.grant_read_write(application)
            self.storage.grant_read_artifacts(application)
            self.catalog.grant_read_write(application)
            if self.sample_job is not None:
                application.grant_read_asset(self.sample_job)
            self.serverless_applications[name] = application
            CfnOutput(
                self,
                f"{name}ServerlessApplicationId",
                value=application.application_id,
                description=f"EMR Serverless application '{name}': emr-platform-ops job-run <env> {name} <script>",
            )
            CfnOutput(self, f"{name}ServerlessJobRoleArn", value=application.job_role.role_arn)
            if spec.jobs:
                pipeline = ServerlessPipeline(
                    self,
                    f"{name}ServerlessJobs",
                    application=application,
                    jobs=spec.jobs,
                    placeholders=self._placeholders(self.storage),
                    encryption_key=self.storage.key,
                    schedule=spec.schedule,
                    removal_policy=self.removal_policy,
                )
                CfnOutput(
                    self,
                    f"{name}ServerlessPipelineArn",
                    value=pipeline.state_machine.state_machine_arn,
                    description=f"Runs of the jobs of '{name}': emr-platform-ops run <env> {name}",
                )
            CfnOutput(self, f"{name}ServerlessLogUri", value=application.log_uri)

    def _studio(self) -> EmrStudio | None:
        """The EMR Studio, in the foundation: workspaces in the private subnets, backups in the artifacts bucket."""
        spec = self.settings.studio
        if spec is None:
            return None
        studio = EmrStudio(
            self,
            "Studio",
            spec=spec,
            name=self.settings.stack_name,
            vpc=self.network.vpc,
            subnets=self.network.subnets,
            workspace_bucket=self.storage.artifacts_bucket,
            encryption_key=self.storage.key,
        )
        CfnOutput(self, "StudioUrl", value=studio.resource.attr_url, description="Sign in to EMR Studio here")
        return studio

    def _redshift_role(self) -> RedshiftAccessRole | None:
        """The role Redshift Spectrum uses, if Redshift is configured."""
        redshift = self.settings.integrations.redshift
        if redshift is None:
            return None
        role = RedshiftAccessRole(
            self, "RedshiftAccess", catalog=self.catalog, storage=self.storage, zones=redshift.spectrum_zones
        )
        CfnOutput(self, "RedshiftRoleArn", value=role.role.role_arn, description="Attach to the Redshift cluster")
        return role

    def _placeholders(self, storage: StorageAccess) -> dict[str, str]:
        """The values of the placeholders transient steps may use (see StepSpec), with ``storage``'s names."""
        values = {
            "artifacts": f"s3://{storage.artifacts_bucket.bucket_name}",
            "logs": storage.emr_log_uri,
            **{f"zone:{zone}": f"s3://{bucket.bucket_name}" for zone, bucket in storage.data_buckets.items()},
            **{f"database:{zone}": self.catalog.database_name(zone) for zone in storage.data_buckets},
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


TEMPLATE_DESCRIPTION_MAX = 1024
"""A template's Description is at most 1024 bytes (AWS CloudFormation User Guide, "Template format: Description")."""


def _cluster_stack_description(environment: str, suffix: str, names: Sequence[str]) -> str:
    """``EMR data platform, environment <env>, stack <suffix>: <clusters>``, the list cut to fit CloudFormation's
    1024 bytes (a group of many long-named clusters would not)."""
    head = f"EMR data platform, environment {environment}, stack {suffix}: "
    shown = list(names)
    while shown:
        rest = len(names) - len(shown)
        text = head + ", ".join(shown) + (f" and {rest} more" if rest else "")
        if len(text.encode("utf-8")) <= TEMPLATE_DESCRIPTION_MAX:
            return text
        shown.pop()
    return f"{head}{len(names)} clusters"


def _shared_security(
    holder: Construct,
    original: EmrSecurityConfiguration | None,
    key: str,
    read: Callable[[str, str], str],
    encryption_key: kms.IKey,
) -> SharedSecurityConfiguration | None:
    """A foundation's security configuration in a cluster stack: its name (and KDC secret) read there."""
    if original is None:
        return None
    secret = original.kdc_admin_secret
    return SharedSecurityConfiguration(
        holder,
        original.node.id,
        original=original,
        name=read(f"{key}/name", original.name),
        encryption_key=encryption_key,
        kdc_admin_secret_arn=read(f"{key}/kdc-admin-secret-arn", secret.secret_arn) if secret else None,
    )


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
