"""An EMR cluster from a typed :class:`EmrClusterSpec`, with its security groups and roles."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jsii
from aws_cdk import ArnFormat, CfnResource, Fn, IResolvable, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emr as emr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, Node

from emr_platform.constructs.catalog import GLUE_HIVE_CLIENT_FACTORY, DataCatalog
from emr_platform.constructs.compliance import HIPAA, PCI, Finding, in_packs, own_wildcards, rendered
from emr_platform.constructs.roles import EmrRoles
from emr_platform.constructs.security_configuration import SecurityConfigurationBase
from emr_platform.constructs.shared import (
    ASSETS_DIR,
    EMR_MANAGED_POLICY_TAG,
    PlatformConstruct,
    substitute_placeholders,
)
from emr_platform.spec.capacity import (
    EbsVolumeSpec,
    InstanceFleetSpec,
    InstanceGroupSpec,
    OnDemandSpec,
    ScalingRuleSpec,
)
from emr_platform.spec.cluster import EmrClusterSpec
from emr_platform.spec.configuration import CONFIG_PLACEHOLDER, ConfigurationSpec, PropertyValue
from emr_platform.spec.cost import COST_METADATA, CommitmentSpec
from emr_platform.spec.errors import PropError

_NODE_PORTS = (ec2.Port.all_tcp(), ec2.Port.all_udp(), ec2.Port.all_icmp())
"""What EMR nodes open to each other (created once: each port object is a jsii round trip)."""

LOG_WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
"""What EMR's log pusher does under the log prefix (it replaces rotated files)."""


@dataclass(frozen=True)
class ClusterPlacement:
    """Where a cluster runs and logs: what every cluster of a platform shares.

    :param vpc: the VPC of the nodes.
    :param subnets: the private subnets of the nodes (instance groups use the first; fleets let EMR pick).
    :param log_bucket: the bucket EMR writes the cluster's logs to; the nodes may write under ``log_prefix`` only.
    :param log_prefix: where in ``log_bucket`` the logs go. Default: ``emr-logs/``.
    :param encryption_key: the key EMR encrypts the logs with (``LogEncryptionKmsKeyId``); the nodes may use it.
        Default: none, logs encrypted as the bucket's default encryption says.
    :param security_configuration: encryption at rest and in transit, IMDSv2, Kerberos. Default: none, which the
        compliance packs reject (EMR4, EMR5, EMR6): give every cluster one.
    :param allow_spot_on_primary_and_core: let primary and core capacity run on Spot (throw-away clusters only).
        Default: false.

    Example::

        placement = ClusterPlacement(vpc=network.vpc, subnets=network.subnets, log_bucket=storage.logs_bucket,
                                     encryption_key=storage.key, security_configuration=security)
    """

    vpc: ec2.IVpc
    subnets: Sequence[ec2.ISubnet]
    log_bucket: s3.IBucket
    log_prefix: str = "emr-logs/"
    encryption_key: kms.IKey | None = None
    security_configuration: SecurityConfigurationBase | None = None
    allow_spot_on_primary_and_core: bool = False

    @property
    def log_uri(self) -> str:
        """``s3://<log bucket>/<log prefix>``, the cluster's ``LogUri``."""
        return self.log_bucket.s3_url_for_object(self.log_prefix)


class IEmrCluster(Protocol):
    """What every EMR cluster of the platform offers, long-running (:class:`EmrCluster`) or transient
    (:class:`TransientEmrCluster`): its name, its nodes' principal, its network connections, and how to select
    its EMR events and metrics (monitoring takes any of them)."""

    @property
    def node(self) -> Node:
        """The construct's node."""

    @property
    def cluster_name(self) -> str:
        """The cluster's name (a transient run's cluster is named ``<cluster_name>-<run>``)."""

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The nodes' instance role."""

    @property
    def connections(self) -> ec2.Connections:
        """The primary and core/task security groups."""

    @property
    def event_detail(self) -> Mapping[str, Any]:
        """The EventBridge ``detail`` pattern that selects this cluster's EMR events."""

    @property
    def metric_dimensions(self) -> Mapping[str, str] | None:
        """The CloudWatch dimensions of this cluster's EMR metrics, or None when it has no fixed ID."""


@jsii.implements(iam.IGrantable, ec2.IConnectable)
class EmrClusterBase(PlatformConstruct):
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
        placement: ClusterPlacement,
        cluster_name: str | None = None,
        service_role: iam.IRole | None = None,
        instance_role: iam.IRole | None = None,
        assets_dir: Path | None = ASSETS_DIR,
        placeholders: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = EmrClusterSpec.parse(spec, where=f"{self.where}: spec")
        self.placeholders = dict(placeholders or {})
        self.placement = placement
        self.security_configuration = placement.security_configuration
        self._validate(placement)
        self.cluster_name = cluster_name or self.spec.name or f"{Stack.of(self).stack_name}-{construct_id}"
        # Resilience defaults first, so that the spec's own configurations win on the same property.
        self._configurations: list[ConfigurationSpec] = [
            *self.spec.resilience_configurations(),
            *self.spec.configurations,
        ]
        autoscales = self.spec.instance_groups is not None and self.spec.instance_groups.autoscales
        self.roles = EmrRoles(
            self,
            "Roles",
            service_role=service_role,
            instance_role=instance_role,
            with_autoscaling_role=autoscales,
            with_session_manager=self.spec.session_manager,
        )
        self.grant_principal_role: iam.IRole = self.roles.instance_role
        self.primary_security_group, self.core_security_group, self.service_access_security_group = (
            self._security_groups(placement.vpc)
        )
        self._grant_placement(placement)
        self.bootstrap_assets: dict[str, s3_assets.Asset] = {}
        self._properties: dict[str, Any] = self._cluster_properties(placement, assets_dir)
        self._cost_metadata: dict[str, Any] = {}
        # The tag AmazonEMRServicePolicy_v2 requires on the security groups (and the cluster) it manages.
        Tags.of(self).add(*EMR_MANAGED_POLICY_TAG)
        self._build()

    def _validate(self, placement: ClusterPlacement) -> None:
        if not placement.subnets:
            raise PropError(
                where=f"{self.where}: placement.subnets",
                problem="no subnets given",
                value=list(placement.subnets),
                fix="pass the private subnets of the VPC (e.g. EmrNetwork.subnets)",
            )
        public = {s.subnet_id for s in placement.vpc.public_subnets}
        if any(s.subnet_id in public for s in placement.subnets):
            raise PropError(
                where=f"{self.where}: placement.subnets",
                problem="a public subnet: EMR nodes must not be reachable from the internet",
                show_value=False,
                fix="pass the VPC's private subnets (EmrNetwork.subnets)",
            )
        spot_found = None if placement.allow_spot_on_primary_and_core else self.spec.spot_on_primary_or_core()
        if spot_found is not None:
            path, problem = spot_found
            raise PropError(
                where=f"{self.where}: spec.{'.'.join(path)}",
                problem=f"{problem} (an interruption there loses the cluster or HDFS data)",
                show_value=False,
                fix="run primary and core nodes On-Demand with Spot in task nodes, or pass "
                "ClusterPlacement(allow_spot_on_primary_and_core=True) (throw-away clusters only)",
            )

    def _grant_placement(self, placement: ClusterPlacement) -> None:
        """What the placement needs: the security configuration's keys, writing logs under the prefix (and
        nothing else of the bucket), and encrypting them with the log key."""
        if placement.security_configuration is not None:
            placement.security_configuration.grant_service(self.roles.service_role)
            placement.security_configuration.grant_nodes(self.roles.instance_role)
        iam.Grant.add_to_principal(
            grantee=self.roles.instance_role,
            actions=list(LOG_WRITE_ACTIONS),
            resource_arns=[placement.log_bucket.arn_for_objects(f"{placement.log_prefix}*")],
        )
        if placement.encryption_key is not None:
            iam.Grant.add_to_principal(
                grantee=self.roles.instance_role,
                actions=["kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resource_arns=[placement.encryption_key.key_arn],
            )

    def _cluster_properties(self, placement: ClusterPlacement, assets_dir: Path | None) -> dict[str, Any]:
        spec = self.spec
        security = placement.security_configuration
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
        placement_strategy = spec.primary_placement_strategy or ("SPREAD" if spec.primary_count == 3 else None)
        return dict(
            release_label=spec.release_label,
            applications=[emr.CfnCluster.ApplicationProperty(name=a) for a in spec.canonical_applications],
            bootstrap_actions=bootstrap or None,
            log_uri=placement.log_uri,
            log_encryption_kms_key_id=placement.encryption_key.key_arn if placement.encryption_key else None,
            service_role=self.roles.service_role.role_arn,
            job_flow_role=self.roles.instance_profile.instance_profile_name,
            auto_scaling_role=self.roles.autoscaling_role.role_name if self.roles.autoscaling_role else None,
            security_configuration=security.name if security else None,
            kerberos_attributes=security.kerberos_attributes() if security else None,
            visible_to_all_users=True,
            scale_down_behavior=spec.scale_down_behavior,
            step_concurrency_level=spec.step_concurrency,
            ebs_root_volume_size=spec.ebs_root_volume_size_gib,
            ebs_root_volume_iops=spec.ebs_root_volume_iops,
            ebs_root_volume_throughput=spec.ebs_root_volume_throughput_mibps,
            custom_ami_id=spec.custom_ami_id,
            os_release_label=spec.os_release_label,
            placement_group_configs=(
                [
                    emr.CfnCluster.PlacementGroupConfigProperty(
                        instance_role="MASTER", placement_strategy=placement_strategy
                    )
                ]
                if placement_strategy is not None
                else None
            ),
            auto_termination_policy=(
                emr.CfnCluster.AutoTerminationPolicyProperty(idle_timeout=spec.idle_timeout_minutes * 60)
                if spec.idle_timeout_minutes is not None
                else None
            ),
            managed_scaling_policy=_managed_scaling(spec),
            instances=self._instances(placement.subnets),
        )

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

    # --- IGrantable, IConnectable ---------------------------------------------------------------------------------

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The instance role: what the cluster's applications run as."""
        return self.roles.instance_role

    @property
    def connections(self) -> ec2.Connections:
        """The primary and core/task security groups: ``database.connections.allow_from(cluster, port)``."""
        return ec2.Connections(security_groups=[self.primary_security_group, self.core_security_group])

    # --- findings ----------------------------------------------------------------------------------------------

    def reviewed_findings(self) -> Iterator[Finding]:
        """The object wildcard of the nodes' log grant, only where it is exactly the log prefix of the log bucket."""
        placement = self.placement
        logs = rendered(self, placement.log_bucket.arn_for_objects(f"{placement.log_prefix}*"))
        reason = f"EMR writes the cluster's log files under {placement.log_prefix} of the log bucket, and nowhere else."
        yield from own_wildcards([self.roles.instance_role], {logs: reason})

    def ingress_from_outside(self) -> list[str]:
        """The ingress rules of the cluster's security groups whose source is not one of its own groups (paths);
        empty as this construct creates them."""
        groups = (self.primary_security_group, self.core_security_group, self.service_access_security_group)
        own = {rendered(self, group.security_group_id) for group in groups}
        stack = Stack.of(self)
        outside: list[str] = []
        for group in groups:
            cfn = group.node.default_child
            if isinstance(cfn, ec2.CfnSecurityGroup) and stack.resolve(cfn.security_group_ingress):
                outside.append(f"{group.node.path} (inline rules)")
            for child in group.node.children:
                if isinstance(child, ec2.CfnSecurityGroupIngress):
                    source = child.source_security_group_id
                    if source is None or rendered(self, source) not in own:
                        outside.append(child.node.path)
        return outside

    # --- extension points --------------------------------------------------------------------------------------

    def add_configuration(self, configuration: ConfigurationSpec) -> None:
        """Add a configuration classification; properties merge into an existing one of the same classification,
        values given in the spec winning over those added by code."""
        self._configurations.insert(0, configuration)
        self._configurations_changed()

    def _configurations_changed(self) -> None:
        """Re-render the configurations where the cluster's definition holds them (each subclass knows where)."""

    def declare_commitment(self, commitment: CommitmentSpec | Mapping[str, Any]) -> None:
        """Declare that ``commitment`` (a Savings Plan or reservation) covers this cluster's On-Demand instances,
        for the cost estimate of ``make synth``'s summary. It is written as template metadata
        (``emr-platform:cost``) on the resource that defines the cluster: CloudFormation ignores it, so declaring
        or changing one changes nothing deployed."""
        parsed = CommitmentSpec.parse(commitment, where=f"{self.where}: commitment")
        self._cost_metadata.setdefault("commitments", []).append(parsed.metadata())
        self._write_cost_metadata()

    def _write_cost_metadata(self) -> None:
        self._defining_resource().add_metadata(COST_METADATA, self._cost_metadata)

    def _defining_resource(self) -> CfnResource:
        """The CloudFormation resource that holds the cluster's definition (each subclass knows which)."""
        raise NotImplementedError

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

        Adds ``hive-site`` and ``spark-hive-site`` (those the release accepts: emr-spark-* has no Hive), the Presto /
        Trino Hive connector settings when those applications are installed, and grants the instance role read (``read_only``) or read-write access to
        the catalog databases of ``zones`` (default all).
        """
        factory: dict[str, PropertyValue] = {"hive.metastore.client.factory.class": GLUE_HIVE_CLIENT_FACTORY}
        release = self.spec.release
        for classification in ("hive-site", "spark-hive-site"):
            # emr-spark-8.x has no Hive: its release accepts spark-hive-site only (the catalog's classifications).
            if release is None or classification in release.record.classifications:
                self.add_configuration(ConfigurationSpec(classification=classification, properties=factory))
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
            rendered = _substituted(config.to_emr(), self.placeholders, f"{self.where}: spec.configurations")
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
            "ec2_key_name": spec.key_pair.name if spec.key_pair is not None else None,
        }
        fleets = spec.fleets
        if fleets is not None:
            return emr.CfnCluster.JobFlowInstancesConfigProperty(
                ec2_subnet_ids=[s.subnet_id for s in subnets],
                master_instance_fleet=_fleet(fleets.primary, "Primary", may_scale_on_spot=False),
                # Without the Spot policy's consent, core gets no Spot specification: it can never run on Spot.
                core_instance_fleet=_fleet(
                    fleets.core, "Core", may_scale_on_spot=self.placement.allow_spot_on_primary_and_core
                ),
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
                for port in _NODE_PORTS:
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
    core nodes (also through managed scaling's caps) is refused unless the placement allows it, and then only the
    core fleet carries a Spot specification.

    The cluster is an ``IGrantable`` (``storage.grant_read(cluster)`` grants its instance role) and an
    ``IConnectable`` (``database.connections.allow_from(cluster, port)``). Logs go to the placement's log bucket
    and prefix, which the nodes may write (nothing else of the bucket), encrypted with its key when given.
    Instance groups run in one subnet, the first of the placement's; instance fleets may use all of them.

    :param spec: what the cluster runs and on what capacity (see :class:`EmrClusterSpec` for each default).
    :param placement: where it runs and logs, and its security configuration (:class:`ClusterPlacement`).
    :param cluster_name: the cluster's name. Default: ``spec.name``, else ``<stack name>-<construct id>``.
    :param service_role: the EMR service role. Default: a new role on ``AmazonEMRServicePolicy_v2``.
    :param instance_role: the nodes' EC2 role. Default: a new role with only what is granted to the cluster.
    :param assets_dir: where bootstrap scripts given as relative paths are read. Default: the package's assets.
    :param placeholders: values of ``{zone:<zone>}``, ``{database:<zone>}``, ``{artifacts}`` and ``{logs}`` in
        configuration values (the profiles put HBase's rootdir and Flink's checkpoints in a zone). Default: none,
        and a configuration that uses one fails.

    A bootstrap script given as a relative path is read from ``assets_dir`` (default the package's ``assets/``
    folder) and published as a CDK file asset; the instance role may read exactly that object. The asset's key is
    its content hash, so editing a script replaces the cluster, as CloudFormation does for any bootstrap change:
    every node always runs the same script.

    Example::

        cluster = EmrCluster(self, "Analytics", spec=spec, placement=placement)
        storage.grant_read_write(cluster)
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

    def _defining_resource(self) -> CfnResource:
        return self.resource

    # --- findings ----------------------------------------------------------------------------------------------

    def reviewed_findings(self) -> Iterator[Finding]:
        """EMR4 / EMR5 only where the cluster's security configuration really encrypts (or the settings state why
        TLS is off); EMR6 and Kerberos only where the cluster has no key pair and no ingress from outside it."""
        yield from super().reviewed_findings()
        security = self._attached_security_configuration()
        if security is not None and security.encrypts_at_rest:
            yield Finding(
                self.resource,
                "AwsSolutions-EMR4",
                "False positive: the rule reads EnableAtRestEncryption at the top level of the security "
                "configuration, EMR nests it under EncryptionConfiguration, where this cluster's configuration "
                "turns S3, local disk and EBS encryption with KMS on.",
            )
        if security is not None and security.encrypts_in_transit:
            yield Finding(
                self.resource,
                "AwsSolutions-EMR5",
                "False positive: in-transit TLS is enabled under EncryptionConfiguration, where EMR reads it; the "
                "rule reads the top level.",
            )
        elif security is not None and security.in_transit_disabled_reason:
            yield Finding(
                self.resource,
                "AwsSolutions-EMR5",
                f"In-transit encryption is off in this environment, as its settings state: "
                f"{security.in_transit_disabled_reason}",
            )
        if security is not None and security.uses_kerberos:
            return
        reason = self._no_kerberos_reason()
        if reason is not None:
            yield from in_packs(self.resource, "EMRKerberosEnabled", (HIPAA, PCI), reason)
            yield Finding(self.resource, "AwsSolutions-EMR6", reason)

    def _no_kerberos_reason(self) -> str | None:
        """Why the cluster may do without Kerberos, when that holds: no ingress from outside its own groups, and
        either no key pair or one whose reason the settings state; None otherwise."""
        if self.ingress_from_outside():
            return None
        key_name = self._synthesized_key_name()
        key_pair = self.spec.key_pair
        if key_name is None:
            return (
                "No Kerberos and no SSH key pair by design: nodes sit in private subnets, their security groups "
                "admit only each other and the EMR service, and work reaches them only through the EMR API and "
                "Session Manager, authorized by IAM."
            )
        if key_pair is not None and key_pair.name == key_name:
            return (
                f"No Kerberos; SSH key pair {key_name} with no inbound rule (SSH only through Session Manager), as "
                f"the settings state: {key_pair.reason}"
            )
        return None

    def _attached_security_configuration(self) -> SecurityConfigurationBase | None:
        """The security configuration the synthesized cluster references (None if it references none of ours)."""
        security = self.security_configuration
        if security is None or self.resource.security_configuration is None:
            return None
        same = rendered(self, self.resource.security_configuration) == rendered(self, security.name)
        return security if same else None

    def _synthesized_key_name(self) -> str | None:
        """The EC2 key pair of the synthesized cluster, if any (read from its Instances property as set; resolved
        only when that is a token, as after an escape-hatch override)."""
        instances = self.resource.instances
        if isinstance(instances, emr.CfnCluster.JobFlowInstancesConfigProperty):
            return instances.ec2_key_name
        resolved = Stack.of(self).resolve(instances)
        key_name = resolved.get("ec2KeyName", resolved.get("Ec2KeyName")) if isinstance(resolved, dict) else None
        return str(key_name) if key_name is not None else None

    # --- IEmrCluster -------------------------------------------------------------------------------------------

    @property
    def event_detail(self) -> Mapping[str, Any]:
        """This cluster's EMR events: ``{"clusterId": [<id>]}``."""
        return {"clusterId": [self.cluster_id]}

    @property
    def metric_dimensions(self) -> Mapping[str, str]:
        """This cluster's EMR metrics: ``{"JobFlowId": <id>}``."""
        return {"JobFlowId": self.cluster_id}

    # --- attributes --------------------------------------------------------------------------------------------

    @property
    def cluster_id(self) -> str:
        """The cluster's ID (``j-...``)."""
        return self.resource.ref

    @property
    def primary_public_dns(self) -> str:
        """The primary node's DNS name (private in a private subnet)."""
        return self.resource.attr_master_public_dns


def _config_key(match: re.Match[str]) -> str:
    return str(match["name"] or f"{match['kind']}:{match['zone']}")


def _substituted(rendered: dict[str, Any], values: Mapping[str, str], where: str) -> dict[str, Any]:
    """A rendered configuration with the platform's placeholders in its property values replaced."""

    result = dict(rendered)
    if "Properties" in result:
        result["Properties"] = {
            k: substitute_placeholders(CONFIG_PLACEHOLDER, v, values, key_of=_config_key, where=where)
            for k, v in result["Properties"].items()
        }
    if "Configurations" in result:
        result["Configurations"] = [_substituted(c, values, where) for c in result["Configurations"]]
    return result


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
        launch_specifications=_launch_specifications(fleet, may_scale_on_spot=may_scale_on_spot),
        resize_specifications=_resize_specifications(fleet),
    )


def _launch_specifications(
    fleet: InstanceFleetSpec, *, may_scale_on_spot: bool
) -> emr.CfnCluster.InstanceFleetProvisioningSpecificationsProperty:
    on_demand = fleet.on_demand
    return emr.CfnCluster.InstanceFleetProvisioningSpecificationsProperty(
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
    )


def _resize_specifications(
    fleet: InstanceFleetSpec,
) -> emr.CfnCluster.InstanceFleetResizingSpecificationsProperty | None:
    resize = fleet.resize
    if resize is None or not (resize.spot_timeout_minutes or resize.on_demand_timeout_minutes):
        return None
    return emr.CfnCluster.InstanceFleetResizingSpecificationsProperty(
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
                allocation_strategy=fleet.on_demand.allocation_strategy,
                capacity_reservation_options=_capacity_reservations(fleet.on_demand),
            )
            if resize.on_demand_timeout_minutes is not None
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
