"""An EMR cluster from a typed :class:`EmrClusterSpec`, with its security groups and roles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import ArnFormat, Fn, IResolvable, Stack, Tags, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emr as emr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from emr_platform.constructs.catalog import GLUE_HIVE_CLIENT_FACTORY, DataCatalog
from emr_platform.constructs.roles import EmrRoles
from emr_platform.constructs.security_configuration import EmrSecurityConfiguration
from emr_platform.constructs.shared import ASSETS_DIR, EMR_MANAGED_POLICY_TAG
from emr_platform.spec.capacity import (
    EbsVolumeSpec,
    InstanceFleetSpec,
    InstanceGroupSpec,
    OnDemandSpec,
    ScalingRuleSpec,
)
from emr_platform.spec.cluster import EmrClusterSpec
from emr_platform.spec.configuration import ConfigurationSpec, PropertyValue
from emr_platform.spec.errors import PropError


@jsii.implements(iam.IGrantable)
class EmrClusterBase(Construct):
    """What every EMR cluster of the platform has, whether CloudFormation or a state machine creates it: the
    validated spec, roles, security groups, bootstrap assets, configurations, grants and integrations.

    :class:`EmrCluster` (a long-running ``AWS::EMR::Cluster``) and :class:`TransientEmrCluster` (a cluster per run
    of a state machine) extend it; :class:`EmrCluster` documents the props. ``_properties`` holds the
    cluster's CloudFormation properties except its name and configurations (rendered last, so that integrations
    added after construction still count).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EmrClusterSpec | Mapping[str, Any],
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        log_uri: str,
        cluster_name: str | None = None,
        security_configuration: EmrSecurityConfiguration | None = None,
        log_encryption_key: kms.IKey | None = None,
        service_role: iam.IRole | None = None,
        instance_role: iam.IRole | None = None,
        assets_dir: Path | None = ASSETS_DIR,
        allow_spot_on_primary_and_core: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        spec = EmrClusterSpec.parse(spec, where=f"{type(self).__name__} {self.node.path}: spec")
        self.spec = spec
        self.security_configuration = security_configuration
        where = f"{type(self).__name__} {self.node.path}"
        if not subnets:
            raise PropError(
                where=f"{where}: subnets",
                problem="no subnets given",
                value=list(subnets),
                fix="pass the private subnets of the VPC (e.g. EmrNetwork.subnets)",
            )
        if not log_uri.startswith("s3://") and not _is_token(log_uri):
            raise PropError(
                where=f"{where}: log_uri", problem="not an s3:// URI", value=log_uri, fix="pass s3://bucket/prefix/"
            )
        spot_found = None if allow_spot_on_primary_and_core else spec.spot_on_primary_or_core()
        if spot_found is not None:
            path, problem = spot_found
            raise PropError(
                where=f"{where}: spec.{'.'.join(path)}",
                problem=f"{problem} (an interruption there loses the cluster or HDFS data)",
                show_value=False,
                fix="run primary and core nodes On-Demand with Spot in task nodes, or pass "
                "allow_spot_on_primary_and_core=True (throw-away clusters only)",
            )
        self._core_may_use_spot = allow_spot_on_primary_and_core
        self.cluster_name = cluster_name or f"{Stack.of(self).stack_name}-{construct_id}"
        # Resilience defaults first, so that the spec's own configurations win on the same property.
        self._configurations: list[ConfigurationSpec] = [*spec.resilience_configurations(), *spec.configurations]

        autoscales = spec.instance_groups is not None and spec.instance_groups.autoscales
        self.roles = EmrRoles(
            self, "Roles", service_role=service_role, instance_role=instance_role, with_autoscaling_role=autoscales
        )
        self.grant_principal_role: iam.IRole = self.roles.instance_role

        self.primary_security_group, self.core_security_group, self.service_access_security_group = (
            self._security_groups(vpc)
        )

        if security_configuration is not None:
            security_configuration.grant_use(
                service_role=self.roles.service_role, instance_role=self.roles.instance_role
            )
        if log_encryption_key is not None:
            iam.Grant.add_to_principal(
                grantee=self.roles.instance_role,
                actions=["kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resource_arns=[log_encryption_key.key_arn],
            )

        self.bootstrap_assets: dict[str, s3_assets.Asset] = {}
        bootstrap = [
            emr.CfnCluster.BootstrapActionConfigProperty(
                name=action.name,
                script_bootstrap_action=emr.CfnCluster.ScriptBootstrapActionConfigProperty(
                    path=self._bootstrap_asset(action.script, assets_dir) if action.is_asset else action.script,
                    args=list(action.args) or None,
                ),
            )
            for action in spec.bootstrap_actions
        ]

        primaries = spec.primary_count
        placement = spec.primary_placement_strategy or ("SPREAD" if primaries == 3 else None)
        self._properties: dict[str, Any] = dict(
            release_label=spec.release_label,
            applications=[emr.CfnCluster.ApplicationProperty(name=a) for a in spec.canonical_applications],
            bootstrap_actions=bootstrap or None,
            log_uri=log_uri,
            log_encryption_kms_key_id=log_encryption_key.key_arn if log_encryption_key else None,
            service_role=self.roles.service_role.role_arn,
            job_flow_role=self.roles.instance_profile.instance_profile_name,
            auto_scaling_role=self.roles.autoscaling_role.role_name if self.roles.autoscaling_role else None,
            security_configuration=security_configuration.name if security_configuration else None,
            kerberos_attributes=security_configuration.kerberos_attributes() if security_configuration else None,
            visible_to_all_users=True,
            scale_down_behavior=spec.scale_down_behavior,
            step_concurrency_level=spec.step_concurrency,
            ebs_root_volume_size=spec.ebs_root_volume_size_gib,
            ebs_root_volume_iops=spec.ebs_root_volume_iops,
            ebs_root_volume_throughput=spec.ebs_root_volume_throughput_mibps,
            custom_ami_id=spec.custom_ami_id,
            os_release_label=spec.os_release_label,
            placement_group_configs=(
                [emr.CfnCluster.PlacementGroupConfigProperty(instance_role="MASTER", placement_strategy=placement)]
                if placement is not None
                else None
            ),
            auto_termination_policy=(
                emr.CfnCluster.AutoTerminationPolicyProperty(idle_timeout=spec.idle_timeout_minutes * 60)
                if spec.idle_timeout_minutes is not None
                else None
            ),
            managed_scaling_policy=_managed_scaling(spec),
            instances=self._instances(subnets),
        )
        # The tag AmazonEMRServicePolicy_v2 requires on the security groups (and the cluster) it manages.
        Tags.of(self).add(*EMR_MANAGED_POLICY_TAG)
        self._build()

    def _build(self) -> None:
        """Create what defines the cluster (a CloudFormation cluster, a state machine, ...): each subclass's own.
        Called last by ``__init__``; the default creates nothing."""

    def _bootstrap_asset(self, path: str, assets_dir: Path | None) -> str:
        """Publish the packaged script ``path`` once and return its ``s3://`` URI; the nodes may read it."""
        if path not in self.bootstrap_assets:
            if assets_dir is None or not (assets_dir / path).is_file():
                shipped = (
                    sorted(str(p.relative_to(assets_dir)) for p in assets_dir.rglob("*") if p.is_file())
                    if assets_dir
                    else []
                )
                raise PropError(
                    where=f"{type(self).__name__} {self.node.path}: spec.bootstrap_actions",
                    problem=f"no such script in {assets_dir or 'assets_dir (None)'}",
                    value=path,
                    fix=f"use one of {', '.join(shipped) or '(none)'}, or give the script as an s3:// URI",
                )
            asset = s3_assets.Asset(self, f"Bootstrap{len(self.bootstrap_assets) + 1}", path=str(assets_dir / path))
            self.grant_read_asset(asset)
            self.bootstrap_assets[path] = asset
        return self.bootstrap_assets[path].s3_object_url

    # --- IGrantable --------------------------------------------------------------------------------------------

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The instance role: what the cluster's applications run as."""
        return self.roles.instance_role

    # --- extension points --------------------------------------------------------------------------------------

    def add_configuration(self, configuration: ConfigurationSpec) -> None:
        """Add a configuration classification; properties merge into an existing one of the same classification,
        values given in the spec winning over those added by code."""
        self._configurations.insert(0, configuration)
        self._configurations_changed()

    def _configurations_changed(self) -> None:
        """Re-render the configurations where the cluster's definition holds them (each subclass knows where)."""

    def grant_read_asset(self, asset: s3_assets.Asset) -> iam.Grant:
        """Let the nodes read exactly ``asset``'s object (a step script, a bootstrap script): not the CDK asset
        bucket's other objects, which hold other stacks' code."""
        return iam.Grant.add_to_principal(
            grantee=self.roles.instance_role,
            actions=["s3:GetObject"],
            resource_arns=[asset.bucket.arn_for_objects(asset.s3_object_key)],
        )

    # --- integrations ----------------------------------------------------------------------------------------------

    def grant_dynamodb(self, table: dynamodb.ITable, *, write: bool = True) -> iam.Grant:
        """Let the EMR DynamoDB connector read (and by default write) ``table``, with its KMS key if it has one.

        Explicit item-level actions (no ``dynamodb:*``); ``DescribeTable`` because the connector sizes its splits
        from the table's throughput.
        """
        actions = [
            "dynamodb:DescribeTable",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
        ]
        if write:
            actions += ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
        grant = iam.Grant.add_to_principal(grantee=self, actions=actions, resource_arns=[table.table_arn])
        if table.encryption_key is not None:
            key_actions = ["kms:Decrypt", "kms:DescribeKey", *(["kms:Encrypt", "kms:GenerateDataKey"] if write else [])]
            grant = grant.combine(
                iam.Grant.add_to_principal(
                    grantee=self, actions=key_actions, resource_arns=[table.encryption_key.key_arn]
                )
            )
        return grant

    def connect_to_database(
        self, database: ec2.IConnectable, secret: secretsmanager.ISecret, *, port: int
    ) -> iam.Grant:
        """Let Spark read and write a relational database (RDS, Aurora) over JDBC.

        The primary and core/task security groups may reach the database on ``port`` (an ingress rule on the
        database's side, nothing opened on the cluster), and the nodes may read ``secret`` (the JDBC credentials)
        and decrypt it: the password never appears in a step's arguments.
        """
        for group in (self.primary_security_group, self.core_security_group):
            database.connections.allow_from(group, ec2.Port.tcp(port), f"EMR cluster {self.cluster_name} over JDBC")
        return secret.grant_read(self)

    def grant_redshift(self, *, cluster_identifier: str, database: str, db_user: str) -> iam.Grant:
        """Let the cluster load into Redshift through the Data API with temporary credentials for ``db_user``
        (``redshift:GetClusterCredentials`` on that user and database only, and the Data API calls)."""
        stack = Stack.of(self)
        credentials = iam.Grant.add_to_principal(
            grantee=self,
            actions=["redshift:GetClusterCredentials"],
            resource_arns=[
                stack.format_arn(
                    service="redshift",
                    resource="dbuser",
                    resource_name=f"{cluster_identifier}/{db_user}",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
                stack.format_arn(
                    service="redshift",
                    resource="dbname",
                    resource_name=f"{cluster_identifier}/{database}",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
            ],
        )
        return credentials.combine(
            iam.Grant.add_to_principal(
                grantee=self,
                actions=["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"],
                resource_arns=[
                    stack.format_arn(
                        service="redshift",
                        resource="cluster",
                        resource_name=cluster_identifier,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )

    def use_glue_catalog(
        self, catalog: DataCatalog, *, zones: Iterable[str] | None = None, read_only: bool = False
    ) -> iam.Grant:
        """Use the Glue Data Catalog as the Hive, Spark, Presto and Trino metastore, and grant access to it.

        Adds ``hive-site`` and ``spark-hive-site`` (and the Presto / Trino Hive connector settings when those
        applications are installed) and grants the instance role read (``read_only``) or read-write access to
        the catalog databases of ``zones`` (default all).
        """
        factory: dict[str, PropertyValue] = {"hive.metastore.client.factory.class": GLUE_HIVE_CLIENT_FACTORY}
        self.add_configuration(ConfigurationSpec(classification="hive-site", properties=factory))
        self.add_configuration(ConfigurationSpec(classification="spark-hive-site", properties=factory))
        if self.spec.has_application("Trino"):
            self.add_configuration(
                ConfigurationSpec(classification="trino-connector-hive", properties={"hive.metastore": "glue"})
            )
        if self.spec.has_application("Presto"):
            self.add_configuration(
                ConfigurationSpec(classification="presto-connector-hive", properties={"hive.metastore": "glue"})
            )
        if read_only:
            return catalog.grant_read(self, zones=zones)
        return catalog.grant_read_write(self, zones=zones)

    # --- rendering ---------------------------------------------------------------------------------------------

    def _render_configurations(self) -> list[IResolvable | emr.CfnCluster.ConfigurationProperty] | None:
        merged: dict[str, dict[str, Any]] = {}
        for config in self._configurations:
            rendered = config.to_emr()
            existing = merged.get(config.classification)
            if existing is None:
                merged[config.classification] = rendered
                continue
            properties = {**existing.get("Properties", {}), **rendered.get("Properties", {})}
            if properties:
                existing["Properties"] = properties
            nested = [*existing.get("Configurations", []), *rendered.get("Configurations", [])]
            if nested:
                existing["Configurations"] = nested
        result: list[IResolvable | emr.CfnCluster.ConfigurationProperty] = [
            _configuration_property(merged[k]) for k in sorted(merged)
        ]
        return result or None

    def _instances(self, subnets: Sequence[ec2.ISubnet]) -> emr.CfnCluster.JobFlowInstancesConfigProperty:
        spec = self.spec
        common: dict[str, Any] = {
            "emr_managed_master_security_group": self.primary_security_group.security_group_id,
            "emr_managed_slave_security_group": self.core_security_group.security_group_id,
            "service_access_security_group": self.service_access_security_group.security_group_id,
            "termination_protected": spec.termination_protection,
            "keep_job_flow_alive_when_no_steps": spec.keep_alive,
            "unhealthy_node_replacement": spec.unhealthy_node_replacement,
        }
        fleets = spec.fleets
        if fleets is not None:
            return emr.CfnCluster.JobFlowInstancesConfigProperty(
                ec2_subnet_ids=[s.subnet_id for s in subnets],
                master_instance_fleet=_fleet(fleets.primary, "Primary", may_scale_on_spot=False),
                # Without the Spot policy's consent, core gets no Spot specification: it can never run on Spot.
                core_instance_fleet=_fleet(fleets.core, "Core", may_scale_on_spot=self._core_may_use_spot),
                task_instance_fleets=[_fleet(t, f"Task{i + 1}") for i, t in enumerate(fleets.tasks)] or None,
                **common,
            )
        groups = spec.instance_groups
        if groups is None:  # the spec's own validator guarantees one of the two; keep mypy and readers honest
            raise PropError(
                where=f"{type(self).__name__} {self.node.path}: spec",
                problem="neither instance_fleets nor instance_groups is set",
                value=None,
                fix="set one of them",
            )
        return emr.CfnCluster.JobFlowInstancesConfigProperty(
            ec2_subnet_id=subnets[0].subnet_id,
            master_instance_group=_group(groups.primary, "Primary"),
            core_instance_group=_group(groups.core, "Core"),
            task_instance_groups=[_group(t, f"Task{i + 1}") for i, t in enumerate(groups.tasks)] or None,
            **common,
        )

    def _security_groups(self, vpc: ec2.IVpc) -> tuple[ec2.SecurityGroup, ec2.SecurityGroup, ec2.SecurityGroup]:
        primary = ec2.SecurityGroup(
            self, "PrimarySecurityGroup", vpc=vpc, description="EMR primary node(s)", allow_all_outbound=True
        )
        core = ec2.SecurityGroup(
            self, "CoreSecurityGroup", vpc=vpc, description="EMR core and task nodes", allow_all_outbound=True
        )
        service = ec2.SecurityGroup(
            self,
            "ServiceAccessSecurityGroup",
            vpc=vpc,
            description="EMR service access to nodes in private subnets",
            allow_all_outbound=False,
        )
        # The rules EMR adds to its managed groups, declared here so that EMR finds them present and adds none of
        # its own (rules EMR adds are unknown to CloudFormation and make the groups undeletable).
        for group, peer_group in ((primary, core), (core, primary)):
            for source in (group, peer_group):
                for port in (ec2.Port.all_tcp(), ec2.Port.all_udp(), ec2.Port.all_icmp()):
                    group.add_ingress_rule(source, port, "EMR nodes talk to each other")
            group.add_ingress_rule(service, ec2.Port.tcp(8443), "EMR service access")
            service.add_egress_rule(group, ec2.Port.tcp(8443), "EMR service access to nodes")
        service.add_ingress_rule(primary, ec2.Port.tcp(9443), "Primary node to EMR service (EMR 5.30+)")
        return primary, core, service


class EmrCluster(EmrClusterBase):
    """An EMR cluster: nodes in private subnets, EMR-managed security groups, least-privilege roles.

    Creates an ``AWS::EMR::Cluster`` (``resource``) from ``spec`` (release, applications, configurations,
    bootstrap actions, instance fleets or groups, managed scaling, auto-termination, termination protection), and:

    - ``primary_security_group``, ``core_security_group`` and ``service_access_security_group``, with the rules
      EMR itself would add (so that EMR adds none that block stack deletion) and no ingress from outside;
    - ``roles``: an :class:`EmrRoles` (service role on ``AmazonEMRServicePolicy_v2``, instance role and profile),
      using ``service_role`` / ``instance_role`` when given;
    - the tag ``for-use-with-amazon-emr-managed-policies=true`` on the cluster and its security groups.

    ``spec`` may be an :class:`EmrClusterSpec` or a mapping shaped like ``clusters.<name>`` of the settings files;
    a bad value raises :class:`PropError` naming the field, the value and the fix. Spot capacity on primary or
    core nodes (also through managed scaling's caps) is refused unless ``allow_spot_on_primary_and_core`` is true
    (default false), and then only the core fleet carries a Spot specification.

    The cluster is an ``IGrantable``: ``storage.grant_read(cluster)`` grants its instance role. Logs go to
    ``log_uri`` (``s3://...``), encrypted with ``log_encryption_key`` when given. Instance groups run in one
    subnet, the first of ``subnets``; instance fleets may use all of them (EMR picks the best zone).

    A bootstrap script given as a relative path is read from ``assets_dir`` (default the package's ``assets/``
    folder) and published as a CDK file asset; the instance role may read exactly that object. The asset's key is
    its content hash, so editing a script replaces the cluster, as CloudFormation does for any bootstrap change:
    every node always runs the same script.

    Example::

        cluster = EmrCluster(self, "Analytics", spec=spec, vpc=network.vpc, subnets=network.subnets,
                             log_uri=storage.emr_log_uri, security_configuration=security)
        cluster.use_glue_catalog(catalog)
    """

    def _build(self) -> None:
        """Create the ``AWS::EMR::Cluster`` (``resource``) once the base has validated and prepared everything."""
        self.resource = emr.CfnCluster(
            self,
            "Resource",
            name=self.cluster_name,
            configurations=self._render_configurations(),
            **self._properties,
        )
        for key, value in self.spec.tags.items():
            Tags.of(self.resource).add(key, value)
        # Nodes must find their permissions in place when bootstrap actions and applications start.
        self.resource.node.add_dependency(self.roles)

    def _configurations_changed(self) -> None:
        self.resource.configurations = self._render_configurations()

    # --- attributes --------------------------------------------------------------------------------------------

    @property
    def cluster_id(self) -> str:
        """The cluster's ID (``j-...``)."""
        return self.resource.ref

    @property
    def primary_public_dns(self) -> str:
        """The primary node's DNS name (private in a private subnet)."""
        return self.resource.attr_master_public_dns


def _is_token(value: str) -> bool:
    return bool(Token.is_unresolved(value))


def _configuration_property(rendered: dict[str, Any]) -> emr.CfnCluster.ConfigurationProperty:
    return emr.CfnCluster.ConfigurationProperty(
        classification=rendered["Classification"],
        configuration_properties=rendered.get("Properties"),
        configurations=[_configuration_property(c) for c in rendered.get("Configurations", [])] or None,
    )


def _configuration_list(configurations: tuple[ConfigurationSpec, ...]) -> list[Any] | None:
    return [_configuration_property(c.to_emr()) for c in configurations] or None


def _ebs(volumes: tuple[EbsVolumeSpec, ...]) -> emr.CfnCluster.EbsConfigurationProperty | None:
    if not volumes:
        return None
    return emr.CfnCluster.EbsConfigurationProperty(
        ebs_block_device_configs=[
            emr.CfnCluster.EbsBlockDeviceConfigProperty(
                volume_specification=emr.CfnCluster.VolumeSpecificationProperty(
                    size_in_gb=v.size_gib, volume_type=v.volume_type, iops=v.iops, throughput=v.throughput_mibps
                ),
                volumes_per_instance=v.volumes_per_instance,
            )
            for v in volumes
        ],
        ebs_optimized=True,
    )


def _capacity_reservations(on_demand: OnDemandSpec) -> emr.CfnCluster.OnDemandCapacityReservationOptionsProperty | None:
    options = on_demand.capacity_reservations
    if options is None:
        return None
    return emr.CfnCluster.OnDemandCapacityReservationOptionsProperty(
        usage_strategy=options.usage_strategy,
        capacity_reservation_preference=options.preference,
        capacity_reservation_resource_group_arn=options.resource_group_arn,
    )


def _fleet(
    fleet: InstanceFleetSpec, default_name: str, *, may_scale_on_spot: bool = True
) -> emr.CfnCluster.InstanceFleetConfigProperty:
    """A fleet in CloudFormation's shape. Core and task fleets always carry a Spot specification, so managed
    scaling can add Spot capacity to a fleet that starts with none."""
    on_demand = fleet.on_demand
    resize = fleet.resize
    return emr.CfnCluster.InstanceFleetConfigProperty(
        name=fleet.name or default_name,
        target_on_demand_capacity=fleet.on_demand_capacity,
        target_spot_capacity=fleet.spot_capacity,
        instance_type_configs=[
            emr.CfnCluster.InstanceTypeConfigProperty(
                instance_type=t.instance_type,
                weighted_capacity=t.weighted_capacity,
                bid_price=t.bid_price,
                bid_price_as_percentage_of_on_demand_price=t.bid_price_as_percentage_of_on_demand,
                priority=t.priority,
                ebs_configuration=_ebs(t.ebs_volumes),
                configurations=_configuration_list(t.configurations),
            )
            for t in fleet.instance_types
        ],
        launch_specifications=emr.CfnCluster.InstanceFleetProvisioningSpecificationsProperty(
            on_demand_specification=(
                emr.CfnCluster.OnDemandProvisioningSpecificationProperty(
                    allocation_strategy=on_demand.allocation_strategy,
                    capacity_reservation_options=_capacity_reservations(on_demand),
                )
                if on_demand.allocation_strategy is not None
                else None
            ),
            spot_specification=(
                emr.CfnCluster.SpotProvisioningSpecificationProperty(
                    allocation_strategy=fleet.spot.allocation_strategy,
                    timeout_action=fleet.spot.timeout_action,
                    timeout_duration_minutes=fleet.spot.timeout_minutes,
                )
                if fleet.uses_spot or may_scale_on_spot
                else None
            ),
        ),
        resize_specifications=(
            emr.CfnCluster.InstanceFleetResizingSpecificationsProperty(
                spot_resize_specification=(
                    emr.CfnCluster.SpotResizingSpecificationProperty(
                        timeout_duration_minutes=resize.spot_timeout_minutes,
                        allocation_strategy=fleet.spot.allocation_strategy,
                    )
                    if resize.spot_timeout_minutes is not None
                    else None
                ),
                on_demand_resize_specification=(
                    emr.CfnCluster.OnDemandResizingSpecificationProperty(
                        timeout_duration_minutes=resize.on_demand_timeout_minutes,
                        allocation_strategy=on_demand.allocation_strategy,
                        capacity_reservation_options=_capacity_reservations(on_demand),
                    )
                    if resize.on_demand_timeout_minutes is not None
                    else None
                ),
            )
            if resize is not None and (resize.spot_timeout_minutes or resize.on_demand_timeout_minutes)
            else None
        ),
    )


def _scaling_rule(rule: ScalingRuleSpec) -> emr.CfnCluster.ScalingRuleProperty:
    return emr.CfnCluster.ScalingRuleProperty(
        name=rule.name,
        description=rule.description,
        action=emr.CfnCluster.ScalingActionProperty(
            simple_scaling_policy_configuration=emr.CfnCluster.SimpleScalingPolicyConfigurationProperty(
                adjustment_type=rule.adjustment_type,
                scaling_adjustment=rule.adjustment,
                cool_down=rule.cooldown_seconds,
            )
        ),
        trigger=emr.CfnCluster.ScalingTriggerProperty(
            cloud_watch_alarm_definition=emr.CfnCluster.CloudWatchAlarmDefinitionProperty(
                comparison_operator=rule.comparison_operator,
                metric_name=rule.metric_name,
                namespace=rule.namespace,
                period=rule.period_seconds,
                statistic=rule.statistic,
                threshold=rule.threshold,
                evaluation_periods=rule.evaluation_periods,
                unit=rule.unit,
                # EMR substitutes ${emr.clusterId} with the cluster's ID: each cluster scales on its own metrics.
                # Fn::Sub with "${!" passes the placeholder through CloudFormation literally.
                dimensions=[emr.CfnCluster.MetricDimensionProperty(key="JobFlowId", value=Fn.sub("${!emr.clusterId}"))],
            )
        ),
    )


def _group(group: InstanceGroupSpec, default_name: str) -> emr.CfnCluster.InstanceGroupConfigProperty:
    scaling = group.autoscaling
    return emr.CfnCluster.InstanceGroupConfigProperty(
        name=group.name or default_name,
        instance_type=group.instance_type,
        instance_count=group.instance_count,
        market=group.market,
        bid_price=group.bid_price,
        ebs_configuration=_ebs(group.ebs_volumes),
        configurations=_configuration_list(group.configurations),
        auto_scaling_policy=(
            emr.CfnCluster.AutoScalingPolicyProperty(
                constraints=emr.CfnCluster.ScalingConstraintsProperty(
                    min_capacity=scaling.min_capacity, max_capacity=scaling.max_capacity
                ),
                rules=[_scaling_rule(r) for r in scaling.rules],
            )
            if scaling is not None
            else None
        ),
    )


def _managed_scaling(spec: EmrClusterSpec) -> emr.CfnCluster.ManagedScalingPolicyProperty | None:
    scaling = spec.managed_scaling
    if scaling is None:
        return None
    return emr.CfnCluster.ManagedScalingPolicyProperty(
        compute_limits=emr.CfnCluster.ComputeLimitsProperty(
            unit_type=scaling.unit_type,
            minimum_capacity_units=scaling.minimum_capacity_units,
            maximum_capacity_units=scaling.maximum_capacity_units,
            maximum_on_demand_capacity_units=scaling.maximum_on_demand_capacity_units,
            maximum_core_capacity_units=scaling.maximum_core_capacity_units,
        ),
        scaling_strategy=scaling.scaling_strategy,
        utilization_performance_index=scaling.utilization_performance_index,
    )
