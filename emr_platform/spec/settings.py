"""The settings schema of one environment (``config/<env>.yaml``) and its loader.

A settings file is data, not code: changing a cluster's size is a one-line diff. Every field, its default and
its allowed values live here, once; the app, the tests and the settings reference all read this schema.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from emr_platform.spec import aws_rules
from emr_platform.spec.aws_rules import GlueSchedule, ResourceTags
from emr_platform.spec.cluster import EmrClusterSpec
from emr_platform.spec.configuration import zones_named
from emr_platform.spec.cost import CommitmentSpec, CostSettings
from emr_platform.spec.errors import SettingsError
from emr_platform.spec.loader import display, load_model
from emr_platform.spec.model import Spec, invalid
from emr_platform.spec.security import SecuritySpec
from emr_platform.spec.serverless import ServerlessApplicationSpec, ServerlessJobSpec
from emr_platform.spec.studio import StudioSpec
from emr_platform.spec.transient import PLACEHOLDER_NAMES, StepSpec, TransientClusterSpec
from emr_platform.spec.validation import every_problem

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"

# CloudWatch Logs accepts only these retention periods (days). The settings stay free of CDK types, so that
# tools such as the operations CLI read them without starting jsii.
RETENTION_PERIODS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

_NAME = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"
SERVERLESS_NAME_MAX = 64
"""EMR Serverless CreateApplication ``name``: 1 to 64 characters (botocore's ``emr-serverless`` model)."""
Name = Annotated[str, Field(pattern=_NAME)]
AccountId = Annotated[str, Field(pattern=r"^[0-9]{12}$")]
RegionName = Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$"), AfterValidator(aws_rules.check_region)]


class ExistingVpcSettings(Spec):
    """An existing VPC to place the platform in, imported by ID (never looked up at synth).

    Its private subnets must route to S3 (a gateway endpoint) and to the EMR API (NAT or interface endpoints),
    and carry the tag ``for-use-with-amazon-emr-managed-policies=true`` that EMR's v2 service policy requires.
    """

    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")] = Field(description="The VPC's ID.")
    vpc_cidr: str = Field(description="The VPC's primary IPv4 CIDR (used for endpoint security groups).")
    private_subnet_ids: tuple[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")], ...] = Field(
        min_length=1, description="Private subnets for EMR nodes, one per availability zone, in the zones' order."
    )

    @field_validator("vpc_cidr")
    @classmethod
    def _check_cidr(cls, value: str) -> str:
        return aws_rules.check_vpc_cidr(value)

    @field_validator("private_subnet_ids")
    @classmethod
    def _check_subnets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise invalid("a subnet is listed twice", "list one private subnet per availability zone, each once")
        return value


DEFAULT_INTERFACE_ENDPOINTS = (
    "elasticmapreduce",
    "sts",
    "kms",
    "glue",
    "logs",
    "monitoring",
    "secretsmanager",
    "ssm",
    "ssmmessages",
    "ec2messages",
)
"""Services EMR nodes call (the last three: Session Manager); with these and the S3 gateway endpoint a cluster runs
with no route to the internet."""


class NetworkSettings(Spec):
    """Where the nodes run. Default: a new VPC with private subnets only and VPC endpoints, no NAT, no internet.

    Set ``existing_vpc`` to use a VPC you already have instead.
    """

    vpc_cidr: str = Field(default="10.0.0.0/16", description="CIDR of the new VPC. Default 10.0.0.0/16.")
    nat_gateways: Annotated[int, Field(ge=0, le=6)] = Field(
        default=0,
        description="NAT gateways for outbound internet. Default 0: private, endpoints only. Any other value fails: "
        "the public subnets NAT needs never pass the PCI DSS rule pack every stack runs.",
    )
    interface_endpoints: tuple[Annotated[str, Field(pattern=r"^[a-z0-9.-]+$")], ...] = Field(
        default=DEFAULT_INTERFACE_ENDPOINTS,
        description="AWS services the nodes reach through interface endpoints (the S3 gateway endpoint is always "
        "created). Default: " + ", ".join(DEFAULT_INTERFACE_ENDPOINTS) + ".",
    )
    flow_logs_retention_days: int = Field(default=365, description="VPC flow log retention in days. Default 365.")
    existing_vpc: ExistingVpcSettings | None = Field(default=None, description="Use this VPC. Default: a new one.")

    @field_validator("vpc_cidr")
    @classmethod
    def _check_cidr(cls, value: str) -> str:
        return aws_rules.check_vpc_cidr(value)

    @field_validator("nat_gateways")
    @classmethod
    def _check_nat(cls, value: int) -> int:
        return aws_rules.check_passes_compliance(value)

    @field_validator("flow_logs_retention_days")
    @classmethod
    def _check_retention(cls, value: int) -> int:
        return _retention(value)


def _retention(value: int) -> int:
    if value not in RETENTION_PERIODS:
        raise invalid(
            "not a retention period CloudWatch Logs accepts",
            "use one of " + ", ".join(str(d) for d in RETENTION_PERIODS),
        )
    return value


class StorageSettings(Spec):
    """The data lake's buckets. Defaults: zones raw, curated and analytics; logs kept 365 days."""

    data_zones: tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,19}$")], ...] = Field(
        default=("raw", "curated", "analytics"),
        min_length=1,
        max_length=10,
        description="Data zones: one bucket and one Glue database each. Default raw, curated, analytics.",
    )
    log_expiration_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=365, description="Days before EMR and access logs expire (1-3650). Default 365."
    )
    noncurrent_version_expiration_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=90, description="Days an overwritten or deleted object version is kept (1-3650). Default 90."
    )
    abort_incomplete_upload_days: Annotated[int, Field(ge=1, le=30)] = Field(
        default=7, description="Days before incomplete multipart uploads are aborted (1-30). Default 7."
    )

    @field_validator("data_zones")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise invalid("a data zone is listed twice", "list each zone once")
        return value


class CatalogSettings(Spec):
    """The Glue Data Catalog. Default database names: ``<platform>_<environment>_<zone>``."""

    database_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,200}$")] | None = Field(
        default=None, description="Prefix of the Glue database names. Default `<platform_name>_<environment>`."
    )
    crawler_schedule: GlueSchedule | None = Field(
        default=None,
        description="When the zone crawlers run, a Glue cron expression such as `cron(0 3 * * ? *)`. Default: on "
        "demand only.",
    )


ALLOW_DESTROY_CONTEXT = "emr-platform:allow-destroy"
"""The cdk.json / ``-c`` context flag that, with ``data_protection.allow_destroy``, lets stateful resources go."""


class DataProtectionSettings(Spec):
    """What protects the environment's data and stack. Default: everything retained, the stack protected.

    Stateful resources (buckets, the KMS key, Glue databases, log groups, the Kerberos secret) are retained when
    deleted from the stack and when replaced, unless ``allow_destroy`` is true here AND the context flag
    ``emr-platform:allow-destroy`` is true (cdk.json or ``-c``): two switches in two places, for throw-away stacks
    only. One without the other leaves RETAIN and prints a warning. Buckets must be emptied before a destroying
    deletion (S3 refuses to delete a bucket that holds objects, which is one more guard).
    """

    allow_destroy: bool = Field(
        default=False,
        description="Let stateful resources be deleted with the stack (also needs the context flag "
        "`emr-platform:allow-destroy`). Default false.",
    )
    stack_termination_protection: bool = Field(
        default=True, description="CloudFormation refuses to delete the stack. Default on."
    )


class MonitoringSettings(Spec):
    """Where alerts go. Default: the alerts topic without subscribers (subscribe later, or list emails here)."""

    email_subscriptions: tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")], ...] = Field(
        default=(), description="Email addresses subscribed to the alerts topic (each confirms by email)."
    )


class CapacityPolicySettings(Spec):
    """Rules every cluster of the environment must follow. Default: the strict ones (for production)."""

    allow_spot_on_primary_and_core: bool = Field(
        default=False,
        description="Allow Spot capacity on primary and core nodes. A Spot interruption there loses the cluster "
        "or HDFS data, so only throw-away environments (dev) should allow it. Default false.",
    )


class DynamoDbTableSettings(Spec):
    """A DynamoDB table of the environment's account and region, which the clusters read (and write) through the EMR
    DynamoDB connector. The network then gets a DynamoDB gateway endpoint whose policy allows the declared tables
    only: the nodes' route to them without NAT, and to no other table. With `network.existing_vpc`, that VPC must
    route to DynamoDB itself."""

    table_name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_.-]{3,255}$")] = Field(description="The table's name.")
    write: bool = Field(default=False, description="Also put, update and delete items. Default read only.")
    kms_key_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:kms:")] | None = Field(
        default=None, description="The table's customer managed KMS key, if it has one. Default none."
    )


class DatabaseSettings(Spec):
    """A relational database (RDS, Aurora) the clusters reach over JDBC."""

    security_group_id: Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")] = Field(
        description="The database's security group: an ingress rule from the clusters on `port` is added to it."
    )
    port: Annotated[int, Field(ge=1, le=65535)] = Field(description="The database's port, e.g. 5432.")
    secret_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:secretsmanager:")] = Field(
        description="Complete ARN of the Secrets Manager secret holding the JDBC credentials (nodes may read it)."
    )


class RedshiftSettings(Spec):
    """A Redshift cluster the EMR clusters load into, and that reads the curated zone through the Glue catalog."""

    cluster_identifier: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")] = Field(
        description="The Redshift cluster's identifier."
    )
    database: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_$]{0,126}$")] = Field(description="The database.")
    db_user: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_$]{0,126}$")] = Field(
        description="The database user EMR gets temporary credentials for (GetClusterCredentials)."
    )
    spectrum_zones: tuple[str, ...] = Field(
        default=("curated",),
        description="Zones Redshift may COPY from or query with Spectrum, through a role it assumes (output "
        "`RedshiftRoleArn`). Default curated.",
    )


class IntegrationsSettings(Spec):
    """Services the clusters feed and read. Each is optional; each grants every cluster exactly its access."""

    dynamodb_tables: tuple[DynamoDbTableSettings, ...] = Field(default=(), description="Default none.")
    databases: tuple[DatabaseSettings, ...] = Field(default=(), description="Default none.")
    redshift: RedshiftSettings | None = Field(default=None, description="Default none.")


class StackSettings(Spec):
    """How an environment is split into CloudFormation stacks (see docs/topology.md).

    ``per_cluster``: a foundation stack named ``<platform_name>-<environment>`` (key, buckets, catalog, network,
    security configurations, Block Public Access, notifications, the step-completed handler) and one stack per
    cluster, ``<platform_name>-<environment>-<cluster>``, or per group of clusters named in ``groups``. Each
    cluster stack depends on the foundation only: it deploys, rolls back and diffs on its own, and the CLI deploys
    them in parallel. ``single`` (the default): everything in the one stack; about 13 long-running clusters fill
    CloudFormation's 500 resources. The default stays ``single`` so that no environment changes its layout on an
    upgrade: moving to ``per_cluster`` replaces each cluster (EMR cannot move a cluster between stacks) and is a
    migration of its own (docs/topology.md#migrating).
    """

    layout: Literal["per_cluster", "single"] = Field(
        default="single",
        description="`single` (one stack) or `per_cluster` (a foundation stack and a stack per cluster or group). "
        "Default `single`; changing it is a migration (docs/topology.md).",
    )
    groups: dict[Name, list[Name]] = Field(
        default_factory=dict,
        description="Layout per_cluster: clusters (long-running or transient) that share a stack, by group name; "
        "the stack is `<platform_name>-<environment>-<group>`. Default none: each cluster has a stack of its own.",
    )

    @model_validator(mode="after")
    def _check(self) -> StackSettings:
        if self.layout == "single" and self.groups:
            raise invalid("groups need layout per_cluster", "remove stacks.groups, or set stacks.layout: per_cluster")
        seen: dict[str, str] = {}
        for group, members in self.groups.items():
            if not members:
                raise invalid("a group with no clusters", "list the clusters of the group", at=("groups", group))
            for member in members:
                if member in seen:
                    raise invalid(
                        f"cluster {member!r} is in groups {seen[member]!r} and {group!r}",
                        "put each cluster in one group",
                        at=("groups", group),
                    )
                seen[member] = group
        return self


class EnvironmentSettings(Spec):
    """One environment (dev, staging, prod, ...): its account, region, network, storage, catalog and clusters."""

    environment: Name = Field(description="The environment's name; must match the file name (`dev` in dev.yaml).")
    platform_name: Name = Field(
        default="emr-platform", description="Prefix of the stack and resource names. Default `emr-platform`."
    )
    account: AccountId = Field(description="AWS account ID, 12 digits, quoted.")
    region: RegionName = Field(description="AWS region, e.g. eu-west-1.")
    availability_zones: tuple[str, ...] = Field(
        min_length=1,
        max_length=6,
        description="Availability zones to use, in order (pinned so synthesis never looks them up).",
    )
    tags: ResourceTags = Field(default_factory=dict, description="Tags on every resource of the stack.")
    network: NetworkSettings = Field(default_factory=NetworkSettings, description="Network. See NetworkSettings.")
    storage: StorageSettings = Field(default_factory=StorageSettings, description="Buckets. See StorageSettings.")
    catalog: CatalogSettings = Field(default_factory=CatalogSettings, description="Glue catalog. See CatalogSettings.")
    security: SecuritySpec = Field(
        description="Encryption, Kerberos and IAM guard rails. See SecuritySpec; `in_transit_encryption` is required."
    )
    data_protection: DataProtectionSettings = Field(
        default_factory=DataProtectionSettings,
        description="Retention and stack protection. See DataProtectionSettings.",
    )
    monitoring: MonitoringSettings = Field(
        default_factory=MonitoringSettings, description="Alert subscriptions. See MonitoringSettings."
    )
    capacity_policy: CapacityPolicySettings = Field(
        default_factory=CapacityPolicySettings, description="Capacity rules. See CapacityPolicySettings."
    )
    clusters: dict[Name, EmrClusterSpec] = Field(min_length=1, description="EMR clusters by name.")
    transient_clusters: dict[Name, TransientClusterSpec] = Field(
        default_factory=dict,
        description="Clusters created for one run of a list of steps and then always terminated, by a Step "
        "Functions state machine, on a schedule or on demand. See TransientClusterSpec. Default none.",
    )
    integrations: IntegrationsSettings = Field(
        default_factory=IntegrationsSettings,
        description="Redshift, RDS / Aurora and DynamoDB access for the clusters. See IntegrationsSettings.",
    )
    serverless_applications: dict[Name, ServerlessApplicationSpec] = Field(
        default_factory=dict,
        description="EMR Serverless applications by name, in the platform's network, storage, catalog and key. "
        "See ServerlessApplicationSpec. Default none.",
    )
    studio: StudioSpec | None = Field(
        default=None,
        description="An EMR Studio for notebooks on the platform's clusters, network and key. See StudioSpec. "
        "Default none.",
    )
    cost: CostSettings = Field(
        default_factory=CostSettings,
        description="Savings Plans and reservations, for the cost estimate only. See CostSettings. Default none.",
    )
    stacks: StackSettings = Field(
        default_factory=StackSettings,
        description="How the environment is split into stacks: one (default), or a foundation and a stack per "
        "cluster. See StackSettings.",
    )
    sample_job: bool = Field(
        default=True,
        description="Upload the sample PySpark job (web-server logs, raw to curated Parquet in the Glue catalog) "
        "as a CDK asset the clusters may read, and output its URI as `SampleJobScript`. Default true.",
    )

    @model_validator(mode="after")
    def _check(self) -> EnvironmentSettings:
        """The rules that span sections, in the order a reader meets the sections; every broken one is reported
        (each check stops at its own first problem)."""
        every_problem(
            (
                self._check_zones,
                self._check_aws_rules,
                self._check_runtime_roles,
                self._check_transient_names,
                self._check_transient_placeholders,
                self._check_transient_kerberos,
                self._check_configuration_placeholders,
                self._check_spectrum_zones,
                self._check_no_spot_on_primary_and_core,
                self._check_releases_in_region,
                self._check_stack_groups,
                self._check_serverless,
                self._check_commitments,
            )
        )
        return self

    def _check_commitments(self) -> None:
        """A commitment names clusters that exist, and each commitment's name is used once."""
        known = set(self.clusters) | set(self.transient_clusters)
        seen: set[str] = set()
        for i, commitment in enumerate(self.cost.commitments):
            if commitment.name in seen:
                raise invalid(
                    f"commitment name {commitment.name!r} is used twice",
                    "give each commitment its own name",
                    at=("cost", "commitments", i, "name"),
                )
            seen.add(commitment.name)
            for j, cluster in enumerate(commitment.clusters):
                if cluster not in known:
                    raise invalid(
                        f"commitment {commitment.name!r} covers cluster {cluster!r}, which is not defined",
                        f"use one of {sorted(known)}, or remove it to cover every cluster",
                        at=("cost", "commitments", i, "clusters", j),
                    )

    def commitments_for(self, cluster: str) -> tuple[CommitmentSpec, ...]:
        """The commitments that cover ``cluster``: those naming it, and those naming none if it is long-running."""
        return tuple(
            c for c in self.cost.commitments if cluster in c.clusters or (not c.clusters and cluster in self.clusters)
        )

    def _check_transient_kerberos(self) -> None:
        """A transient cluster cannot join a cluster-dedicated KDC (RunJobFlow takes its admin password, which the
        state machine's definition would hold): under Kerberos, each says why it runs without; else none does."""
        kerberos = self.security.kerberos is not None
        for name, transient in self.transient_clusters.items():
            if kerberos and transient.kerberos_disabled_reason is None:
                raise invalid(
                    "security.kerberos is set, and a transient cluster cannot use a cluster-dedicated KDC (its admin "
                    "password would be written into the state machine's definition)",
                    "add kerberos_disabled_reason: <why its runs need no Kerberos>, e.g. that no user logs in to it",
                    at=("transient_clusters", name),
                )
            if not kerberos and transient.kerberos_disabled_reason is not None:
                raise invalid(
                    "kerberos_disabled_reason is set but security.kerberos is not: there is nothing to opt out of",
                    "remove kerberos_disabled_reason",
                    at=("transient_clusters", name, "kerberos_disabled_reason"),
                )

    def _check_transient_names(self) -> None:
        for name in self.transient_clusters:
            if name in self.clusters:
                raise invalid(
                    f"{name!r} names both a cluster and a transient cluster (their outputs and resources would clash)",
                    "give the transient cluster another name",
                    at=("transient_clusters", name),
                )
        for name in self.serverless_applications:
            if name in self.transient_clusters:
                raise invalid(
                    f"{name!r} names both a transient cluster and a Serverless application (emr-platform-ops run "
                    f"{name} could mean either)",
                    "give the application another name",
                    at=("serverless_applications", name),
                )

    def _check_spectrum_zones(self) -> None:
        redshift = self.integrations.redshift
        for zone in redshift.spectrum_zones if redshift is not None else ():
            if zone not in self.storage.data_zones:
                raise invalid(
                    f"no data zone {zone!r}",
                    f"use zones of storage.data_zones: {', '.join(self.storage.data_zones)}",
                    at=("integrations", "redshift", "spectrum_zones"),
                )

    def _check_releases_in_region(self) -> None:
        """Every cluster's release is offered in the region (EMR ListReleaseLabels there, from the catalog)."""
        clusters: list[tuple[tuple[str, ...], EmrClusterSpec]] = [
            (("clusters", name), c) for name, c in self.clusters.items()
        ]
        clusters += [
            (("transient_clusters", name, "cluster"), t.cluster) for name, t in self.transient_clusters.items()
        ]
        for path, cluster in clusters:
            release = cluster.release
            if release is None:
                continue
            release.check_region(self.region, at=(*path, "release_label"))

    def _check_zones(self) -> None:
        """The availability zones are in the region, and an existing VPC has a private subnet in each."""
        aws_rules.check_zones(self.region, self.availability_zones)
        existing = self.network.existing_vpc
        if existing is not None and len(existing.private_subnet_ids) != len(self.availability_zones):
            raise invalid(
                f"network.existing_vpc lists {len(existing.private_subnet_ids)} subnets for "
                f"{len(self.availability_zones)} availability zones",
                "give one private subnet per availability zone, in the same order",
                at=("network", "existing_vpc", "private_subnet_ids"),
            )

    def _check_aws_rules(self) -> None:
        """What AWS would refuse at deploy: endpoint services, subnet space, reachable services, Glue names, names
        that collide once normalized, and tag counts (emr_platform.spec.aws_rules cites each source)."""
        network = self.network
        aws_rules.check_interface_endpoints(network.interface_endpoints, self.region)
        if network.existing_vpc is None:
            aws_rules.check_subnets_fit(network.vpc_cidr, len(self.availability_zones), network.nat_gateways)
            aws_rules.check_subnet_addresses(self)
        aws_rules.check_reachability(self)
        for zone in self.storage.data_zones:
            at = ("catalog", "database_prefix") if self.catalog.database_prefix else ("platform_name",)
            aws_rules.check_glue_database_name(f"{self.database_prefix}_{zone}", at=at)
        names: dict[tuple[str | int, ...], str] = {("clusters", n): n for n in self.clusters}
        names |= {("transient_clusters", n): n for n in self.transient_clusters if n not in self.clusters}
        aws_rules.check_no_normalized_collisions(names, what="cluster")
        for name, cluster in self.clusters.items():
            aws_rules.check_tag_count(
                self.tags,
                cluster.tags,
                added=aws_rules.TAGS_ADDED_TO_CLUSTERS,
                at=("clusters", name, "tags"),
                where=f"cluster {name!r}",
            )
        for name, transient in self.transient_clusters.items():
            aws_rules.check_tag_count(
                self.tags,
                transient.cluster.tags,
                added=aws_rules.TAGS_ADDED_TO_TRANSIENT_CLUSTERS,
                at=("transient_clusters", name, "cluster", "tags"),
                where=f"transient cluster {name!r}",
            )
        aws_rules.check_tag_count(self.tags, added=aws_rules.TAGS_ADDED_TO_CLUSTERS, at=("tags",), where="a subnet")

    def _check_runtime_roles(self) -> None:
        """Runtime roles need a release that has them (a later one with Lake Formation) on every cluster."""
        runtime = self.security.runtime_roles
        if runtime is None:
            return
        minimum = (6, 15, 0) if runtime.lake_formation else (6, 7, 0)
        for name, cluster in self.clusters.items():
            release = cluster.release
            if release is not None and release.version < minimum:
                raise invalid(
                    f"{release.label} has no runtime roles"
                    + (" with Lake Formation" if runtime.lake_formation else ""),
                    f"use emr-{'.'.join(map(str, minimum))} or later for every cluster, or remove security.runtime_roles",
                    at=("clusters", name, "release_label"),
                )

    def _check_no_spot_on_primary_and_core(self) -> None:
        """No cluster, long-running or transient, runs primary or core nodes on Spot (unless the policy allows it)."""
        if self.capacity_policy.allow_spot_on_primary_and_core:
            return
        every: list[tuple[tuple[str, ...], EmrClusterSpec]] = [(("clusters", n), c) for n, c in self.clusters.items()]
        every += [(("transient_clusters", n, "cluster"), t.cluster) for n, t in self.transient_clusters.items()]
        for at, cluster in every:
            found = cluster.spot_on_primary_or_core()
            if found is not None:
                path, problem = found
                raise invalid(
                    f"{problem}, which this environment forbids (an interruption there loses the cluster or HDFS data)",
                    "run primary and core nodes On-Demand (and give On-Demand at least the core cap) with Spot "
                    "in task nodes, or set capacity_policy.allow_spot_on_primary_and_core: true (throw-away "
                    "environments only)",
                    at=(*at, *path),
                )

    def _check_transient_placeholders(self) -> None:
        """The placeholders of transient steps and of Serverless jobs name known locations."""
        every: list[tuple[tuple[str | int, ...], StepSpec | ServerlessJobSpec]] = [
            (("transient_clusters", name, "steps", i), step)
            for name, transient in self.transient_clusters.items()
            for i, step in enumerate(transient.steps)
        ]
        every += [
            (("serverless_applications", name, "jobs", i), job)
            for name, application in self.serverless_applications.items()
            for i, job in enumerate(application.jobs)
        ]
        for at, step in every:
            for placeholder, zone in step.placeholders():
                if placeholder not in PLACEHOLDER_NAMES or (zone is None) != (placeholder not in ("zone", "database")):
                    raise invalid(
                        f"unknown placeholder {{{placeholder}{':' + zone if zone else ''}}}",
                        "use {sample_job}, {artifacts}, {logs}, {zone:<zone>} or {database:<zone>}",
                        at=at,
                    )
                if zone is not None and zone not in self.storage.data_zones:
                    raise invalid(
                        f"no data zone {zone!r} for {{{placeholder}:{zone}}}",
                        f"use one of {', '.join(self.storage.data_zones)}",
                        at=at,
                    )
                if placeholder == "sample_job" and not self.sample_job:
                    raise invalid("{sample_job} is used but sample_job is false", "set sample_job: true", at=at)

    def _check_configuration_placeholders(self) -> None:
        """A zone a cluster's configuration names (``{zone:curated}``, as the hbase-s3 and flink-streaming profiles
        do) exists."""
        every: list[tuple[tuple[str, ...], EmrClusterSpec]] = [(("clusters", n), c) for n, c in self.clusters.items()]
        every += [(("transient_clusters", n, "cluster"), t.cluster) for n, t in self.transient_clusters.items()]
        for at, cluster in every:
            missing = sorted(zones_named(cluster.configurations) - set(self.storage.data_zones))
            if missing:
                raise invalid(
                    f"the configurations name data zone {missing[0]!r}, which storage.data_zones does not have"
                    + (f" (from profile {cluster.profile})" if cluster.profile else ""),
                    f"add {missing[0]!r} to storage.data_zones, or set the property to one of "
                    f"{', '.join('{zone:' + z + '}' for z in self.storage.data_zones)} in the cluster's configurations",
                    at=(*at, "configurations"),
                )

    def _check_stack_groups(self) -> None:
        """Every grouped cluster exists, and no group's stack takes the name of a lone cluster's stack."""
        every = [*self.clusters, *self.transient_clusters]
        grouped = {m for members in self.stacks.groups.values() for m in members}
        for group, members in self.stacks.groups.items():
            for member in members:
                if member not in every:
                    raise invalid(
                        f"no cluster {member!r} (clusters and transient_clusters: {', '.join(every)})",
                        "name clusters of this file, or remove the entry",
                        at=("stacks", "groups", group),
                    )
            if group in every and group not in members and group not in grouped:
                raise invalid(
                    f"group {group!r} is also a cluster of its own stack: both would be stack "
                    f"{self.stack_name}-{group}",
                    f"rename the group, or add {group!r} to it",
                    at=("stacks", "groups", group),
                )

    def _check_serverless(self) -> None:
        """An EMR Serverless application's release is offered in the region, and its name (``<stack>-<name>``)
        fits EMR Serverless's 64 characters (CreateApplication's ``name`` in botocore's model)."""
        for name, application in self.serverless_applications.items():
            application.release.check_region(self.region, at=("serverless_applications", name, "release_label"))
            full = f"{self.stack_name}-{name}"
            if len(full) > SERVERLESS_NAME_MAX:
                raise invalid(
                    f"the application's name {full!r} is {len(full)} characters, more than EMR Serverless's "
                    f"{SERVERLESS_NAME_MAX}",
                    "use a shorter name here (or a shorter platform_name or environment)",
                    at=("serverless_applications", name),
                )

    def cluster_stacks(self) -> dict[str, tuple[str, ...]]:
        """Stack suffix (a group, or a cluster alone) -> its clusters, long-running then transient, in the order
        of the settings; empty for the ``single`` layout."""
        if self.stacks.layout == "single":
            return {}
        group_of = {m: g for g, members in self.stacks.groups.items() for m in members}
        stacks: dict[str, list[str]] = {}
        for name in [*self.clusters, *self.transient_clusters]:
            stacks.setdefault(group_of.get(name, name), []).append(name)
        return {suffix: tuple(names) for suffix, names in stacks.items()}

    def cluster_stack_name(self, suffix: str) -> str:
        """The CloudFormation name of a cluster stack: ``<platform_name>-<environment>-<group or cluster>``."""
        return f"{self.stack_name}-{suffix}"

    def stack_names(self) -> tuple[str, ...]:
        """Every stack of the environment: the foundation first, then the cluster stacks."""
        return (self.stack_name, *(self.cluster_stack_name(s) for s in self.cluster_stacks()))

    @property
    def stack_name(self) -> str:
        """The CloudFormation stack name, ``<platform_name>-<environment>``."""
        return f"{self.platform_name}-{self.environment}"

    @property
    def database_prefix(self) -> str:
        """Prefix of the Glue database names."""
        return self.catalog.database_prefix or f"{self.platform_name}_{self.environment}".replace("-", "_")


# --- loading ---------------------------------------------------------------------------------------------------


PIPELINE_FILE = "pipeline"


class PipelineSourceSettings(Spec):
    """Where the pipeline reads the repository: a CodeConnections (CodeStar Connections) connection.

    The connection is created and authorized once in the console (it needs a person to approve the GitHub,
    GitLab or Bitbucket app), so the pipeline takes its ARN instead of creating it.
    """

    connection_arn: Annotated[
        str,
        Field(
            pattern=r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}$"
        ),
    ] = Field(
        description="ARN of the authorized connection, `arn:aws:codeconnections:<region>:<account>:connection/<id>`."
    )
    repository: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")] = Field(
        description="The repository, `owner/name`."
    )
    branch: Annotated[str, Field(pattern=r"^[A-Za-z0-9._/-]{1,255}$")] = Field(
        default="main", description="The branch whose pushes the pipeline deploys. Default `main`."
    )
    trigger_on_push: bool = Field(
        default=True, description="Start the pipeline on every push to `branch`. Default true."
    )


class PipelineStageSettings(Spec):
    """One environment the pipeline deploys, in promotion order."""

    environment: Name = Field(description="An environment with a settings file in `config/` (`staging`, `prod`).")
    manual_approval: bool = Field(
        default=True,
        description="A person reviews the CloudFormation change set of the stage's stack (what it adds, "
        "modifies and replaces) and approves it before it executes. Default true: opt out per stage.",
    )
    wave: Name | None = Field(
        default=None,
        description="Stages listed one after another with the same wave deploy in parallel (environments that do "
        "not depend on each other, such as one per region), after the stages before them. Default: a wave of "
        "its own.",
    )


class PipelineSettings(Spec):
    """The GitOps pipeline (``config/pipeline.yaml``): a self-mutating CDK Pipelines ``CodePipeline``.

    It lives in its own (tooling) account, builds and tests every push, and deploys the stages in order; every
    stage account must trust the pipeline's account (``cdk bootstrap --trust <account>``).
    """

    pipeline_name: Name = Field(default="emr-platform-pipeline", description="The pipeline's and its stack's name.")
    account: AccountId = Field(description="AWS account ID of the pipeline (the tooling account), quoted.")
    region: RegionName = Field(
        description="AWS region of the pipeline. Stages may deploy to other regions: the pipeline then keeps a "
        "replication artifact store in each (a stack of its own in the pipeline's account)."
    )
    source: PipelineSourceSettings = Field(description="The repository. See PipelineSourceSettings.")
    stages: tuple[PipelineStageSettings, ...] = Field(
        min_length=1, description="Environments to deploy, in promotion order (e.g. staging, then prod)."
    )
    synth_commands: tuple[str, ...] = Field(
        default=("make test", "make synth-pipeline"),
        min_length=1,
        description="Commands of the build step; it must leave the pipeline's cloud assembly in `cdk.out/`. "
        "Default: the whole test suite, then `make synth-pipeline`.",
    )
    tags: ResourceTags = Field(default_factory=dict, description="Tags on the pipeline's resources.")

    @model_validator(mode="after")
    def _check_stages(self) -> PipelineSettings:
        seen: set[str] = set()
        for index, stage in enumerate(self.stages):
            if stage.environment in seen:
                raise invalid(
                    f"environment {stage.environment!r} is deployed twice",
                    "list each environment once, in promotion order",
                    at=("stages", index, "environment"),
                )
            seen.add(stage.environment)
        waves = [stage.wave for stage in self.stages]
        # A wave is one stage of the pipeline, named after it: CodePipeline refuses two stages of one name.
        taken = {"Source", "Build", "UpdatePipeline", "Assets"} | {stage.environment for stage in self.stages}
        for index, wave in enumerate(waves):
            if wave in taken:
                raise invalid(
                    f"wave {wave!r} is named like a stage of the pipeline (its own, or an environment's)",
                    "give the wave a name of its own, e.g. production",
                    at=("stages", index, "wave"),
                )
            if wave is not None and wave in waves[:index] and waves[index - 1] != wave:
                raise invalid(
                    f"the stages of wave {wave!r} are not listed together",
                    "list the stages of a wave one after another",
                    at=("stages", index, "wave"),
                )
        return self


def available_environments(config_dir: Path = CONFIG_DIR) -> list[str]:
    """The environments that have a settings file in ``config_dir``, sorted (``pipeline.yaml`` is not one)."""
    return sorted(p.stem for p in config_dir.glob("*.yaml") if p.stem != PIPELINE_FILE)


def load_settings(environment: str, config_dir: Path = CONFIG_DIR) -> EnvironmentSettings:
    """Read and validate ``config_dir/<environment>.yaml``.

    :raises SettingsError: the file is missing, is not YAML, or breaks the schema; the message names the file,
        the line, the field, the value and the fix, one line per problem.
    """
    path = config_dir / f"{environment}.yaml"
    shown = display(path)
    # lexists: a directory, a dangling link or a link loop named like a settings file is reported as what it is.
    if environment == PIPELINE_FILE or not os.path.lexists(path):
        known = available_environments(config_dir)
        raise SettingsError(
            where=shown,
            problem=f"there is no settings file for environment {environment!r}",
            value=environment,
            show_value=False,
            fix=f"use one of {', '.join(known) or '(none)'} or create {shown}",
        )
    settings, document = load_model(EnvironmentSettings, path, start_hint="'environment: <name>'")
    if settings.environment != environment:
        raise SettingsError(
            where=f"{shown}{document.line(('environment',))}: environment",
            problem="the environment name does not match the file name",
            value=settings.environment,
            fix=f"set 'environment: {environment}' or rename the file",
        )
    return settings


def load_pipeline_settings(config_dir: Path = CONFIG_DIR) -> tuple[PipelineSettings, dict[str, EnvironmentSettings]]:
    """Read and validate ``config_dir/pipeline.yaml`` and the settings of every environment its stages name (each
    must have a valid settings file); returns both, the environments by name.

    :raises SettingsError: the file is missing or breaks the schema, or a stage names an environment without a
        valid settings file.
    """
    path = config_dir / f"{PIPELINE_FILE}.yaml"
    shown = display(path)
    if not os.path.lexists(path):
        raise SettingsError(
            where=shown,
            problem="there is no pipeline settings file",
            show_value=False,
            fix=f"create {shown} (see config/pipeline.yaml in the emr-platform repository and docs/gitops.md)",
        )
    settings, document = load_model(PipelineSettings, path, start_hint="'account:', 'region:', 'source:' and 'stages:'")
    known = available_environments(config_dir)
    environments: dict[str, EnvironmentSettings] = {}
    for index, stage in enumerate(settings.stages):
        if stage.environment not in known:
            raise SettingsError(
                where=f"{shown}{document.line(('stages', index, 'environment'))}: stages.{index}.environment",
                problem="no settings file for this environment",
                value=stage.environment,
                fix=f"use one of {', '.join(known) or '(none)'} or create {config_dir.name}/{stage.environment}.yaml",
            )
        environments[stage.environment] = load_settings(stage.environment, config_dir)
    return settings, environments
