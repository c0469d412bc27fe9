"""The typed spec of one EMR cluster: release, applications, configurations, capacity and lifecycle.

The same model is a section of the settings files (``clusters.<name>``) and the ``spec`` prop of
:class:`emr_platform.constructs.EmrCluster`, so a cluster defined in YAML and one defined in Python are checked
by the same rules.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from emr_platform.spec.aws_rules import EMR_STRING_MAX, EMR_STRING_PATTERN, MAX_BOOTSTRAP_ACTIONS, EmrName, ResourceTags
from emr_platform.spec.capacity import (
    Architecture,
    InstanceFleetsSpec,
    InstanceGroupsSpec,
    ManagedScalingSpec,
    NodeRole,
    architecture_of,
    check_volume_performance,
)
from emr_platform.spec.catalog import catalog
from emr_platform.spec.configuration import ConfigurationSpec
from emr_platform.spec.model import SkipTokens, Spec, invalid, is_token, known
from emr_platform.spec.profiles import ProfileName, with_profile
from emr_platform.spec.releases import EmrRelease, release_for_label

# EMR accepts these ranges (RunJobFlow API reference).
IDLE_TIMEOUT_MINUTES = (1, 7 * 24 * 60)  # IdleTimeout: 60 s to 7 days
STEP_CONCURRENCY = (1, 256)
ROOT_VOLUME_GIB = (15, 100)
DEFAULT_ROOT_VOLUME_GIB = 15
ROOT_VOLUME_IOPS = (3000, 16000)
ROOT_VOLUME_THROUGHPUT_MIBPS = (125, 1000)

_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
_ASSET_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class BootstrapActionSpec(Spec):
    """A script every node runs once at launch, before applications start.

    ``script`` is either an ``s3://`` URI or a path under the package's ``assets/`` folder (for example
    ``bootstrap/install-python-packages.sh``), which the cluster publishes as a CDK file asset.
    """

    name: EmrName = Field(description="Name shown in the EMR console (1-256 characters).")
    script: str = Field(description="`s3://bucket/key` or a path under `emr_platform/assets/`.")
    args: tuple[str, ...] = Field(default=(), description="Arguments passed to the script. Default none.")

    @field_validator("script")
    @classmethod
    def _check_script(cls, value: str) -> str:
        if value.startswith("s3://"):
            if not _S3_URI.match(value):
                raise invalid("not a valid S3 URI", "write it as s3://bucket-name/key")
        elif not _ASSET_PATH.match(value) or ".." in value.split("/"):
            raise invalid(
                "neither an s3:// URI nor a relative path under emr_platform/assets/",
                "use s3://bucket/key, or a relative path such as bootstrap/install-python-packages.sh",
            )
        return value

    @property
    def is_asset(self) -> bool:
        """True when the script ships in this package and is uploaded by the stack."""
        return not self.script.startswith("s3://")


# EMR's rule for a cluster name, from botocore's model of RunJobFlow (Name: XmlStringMaxLen256, pattern
# [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*): up to 256 characters, no other control character.
# tests/test_cluster_spec.py checks these against the model botocore ships.
CLUSTER_NAME_MAX = EMR_STRING_MAX
CLUSTER_NAME_PATTERN = EMR_STRING_PATTERN

KEY_PAIR_FIELDS = ("key_name", "ec2_key_name", "KeyName", "Ec2KeyName", "key_pair_name")
"""What people write for an SSH key pair (as in ``aws emr create-cluster --ec2-attributes KeyName=...``)."""


ALWAYS_ON_APPLICATIONS = frozenset({"hbase", "flink"})
"""Applications that serve a store or a stream without YARN applications running: EMR's idle check (no running YARN
application, no active step) would terminate them."""


def _serves_without_yarn_work(applications: object) -> bool:
    names = applications if isinstance(applications, list | tuple) else ()
    return any(str(name).lower() in ALWAYS_ON_APPLICATIONS for name in names)


class KeyPairSpec(Spec):
    """An EC2 key pair on the nodes: refused unless the settings state why Session Manager is not enough."""

    name: Annotated[str, Field(min_length=1, max_length=255)] = Field(description="The EC2 key pair's name.")
    reason: Annotated[str, Field(min_length=20)] = Field(
        description="Why the nodes need a key pair although Session Manager reaches them without one (at least 20 "
        "characters): it is recorded with the cluster, as the acknowledgement of what a key pair opens."
    )


class EmrClusterSpec(Spec):
    """Everything about one EMR cluster that is a value rather than an AWS resource.

    Defaults are the safe ones: Graviton instance types, termination protection on, kept alive between steps,
    auto-terminated after 60 idle minutes, one step at a time, unhealthy core nodes replaced, application masters
    on On-Demand nodes when the cluster mixes Spot and On-Demand, the Glue Data Catalog as metastore (wired by the
    stack), and scale-down at task completion. Exactly one of ``instance_fleets`` / ``instance_groups`` must be set.
    """

    profile: ProfileName | None = Field(
        default=None,
        description="A workload profile whose defaults the other fields override one by one (see "
        "`emr_platform.spec.profiles`): spark-batch, spark-ml, hbase-s3, flink-streaming, trino-interactive. "
        "Default none.",
    )
    name: Annotated[str, Field(min_length=1, max_length=CLUSTER_NAME_MAX, pattern=CLUSTER_NAME_PATTERN)] | None = Field(
        default=None,
        description="The cluster's name in EMR (up to 256 characters). Changing it replaces the cluster. Default: "
        "`<platform_name>-<environment>-<cluster key>`.",
    )
    release_label: Annotated[str, SkipTokens] = Field(
        description="The EMR release label, e.g. `emr-7.14.0` or `emr-spark-8.1.0`: one EMR lists in the region (docs/releases.md)."
    )
    applications: tuple[str, ...] = Field(
        default=("Hadoop", "Spark", "Hive", "Livy"),
        description="Applications to install, as EMR names them (the release must ship each one; docs/releases.md). "
        "Default Hadoop, Spark, Hive, Livy (on emr-spark-* releases, which ship the Spark family only: Spark, Livy).",
    )
    configurations: tuple[ConfigurationSpec, ...] = Field(default=(), description="Extra configurations. Default none.")
    bootstrap_actions: tuple[BootstrapActionSpec, ...] = Field(
        default=(), max_length=MAX_BOOTSTRAP_ACTIONS, description="Bootstrap actions (up to 16). Default none."
    )
    architecture: Architecture = Field(
        default="graviton",
        description="`graviton` (arm64, cheaper per vCPU) or `x86`: every instance type must match, and fleets "
        "without instance types get this architecture's diversified defaults. Default `graviton`.",
    )
    instance_fleets: InstanceFleetsSpec | None = Field(default=None, description="Nodes as instance fleets.")
    instance_groups: InstanceGroupsSpec | None = Field(default=None, description="Nodes as instance groups.")
    managed_scaling: ManagedScalingSpec | None = Field(
        default=None, description="EMR managed scaling limits. Default: fixed size."
    )
    idle_timeout_minutes: Annotated[int, Field(ge=IDLE_TIMEOUT_MINUTES[0], le=IDLE_TIMEOUT_MINUTES[1])] | None = Field(
        default=60,
        description="Terminate after this many idle minutes (1-10080); null: never. Default 60, and never for a "
        "cluster with HBase or Flink (a store or a stream is busy without YARN work, and EMR would call it idle).",
    )
    termination_protection: bool = Field(default=True, description="Refuse API termination. Default on.")
    keep_alive: bool = Field(default=True, description="Keep running when no steps are left. Default on.")
    step_concurrency: Annotated[int, Field(ge=STEP_CONCURRENCY[0], le=STEP_CONCURRENCY[1])] = Field(
        default=1, description="Steps run at once (1-256). Default 1."
    )
    scale_down_behavior: Literal["TERMINATE_AT_TASK_COMPLETION", "TERMINATE_AT_INSTANCE_HOUR"] = Field(
        default="TERMINATE_AT_TASK_COMPLETION", description="How nodes leave on scale-in. Default at task completion."
    )
    unhealthy_node_replacement: bool = Field(
        default=True, description="Replace core nodes EMR finds unhealthy (instead of only reporting). Default on."
    )
    primary_placement_strategy: Literal["SPREAD", "NONE"] | None = Field(
        default=None,
        description="Placement group strategy of the primary nodes; `SPREAD` puts the 3 primaries of an HA "
        "cluster on distinct hardware. Default: `SPREAD` with 3 primaries, none otherwise.",
    )
    ebs_root_volume_size_gib: Annotated[int, Field(ge=ROOT_VOLUME_GIB[0], le=ROOT_VOLUME_GIB[1])] | None = Field(
        default=None, description="Root volume size in GiB (15-100). Default: EMR's (15 GiB)."
    )
    ebs_root_volume_iops: Annotated[int, Field(ge=ROOT_VOLUME_IOPS[0], le=ROOT_VOLUME_IOPS[1])] | None = Field(
        default=None, description="Root volume IOPS (3000-16000; EMR 6.15+). Default: gp3's 3000."
    )
    ebs_root_volume_throughput_mibps: (
        Annotated[int, Field(ge=ROOT_VOLUME_THROUGHPUT_MIBPS[0], le=ROOT_VOLUME_THROUGHPUT_MIBPS[1])] | None
    ) = Field(default=None, description="Root volume throughput in MiB/s (125-1000; EMR 6.15+). Default: gp3's 125.")
    custom_ami_id: Annotated[str, Field(pattern=r"^ami-[0-9a-f]{8,17}$"), SkipTokens] | None = Field(
        default=None, description="A custom Amazon Linux AMI for every node (of the cluster's architecture)."
    )
    os_release_label: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+){1,3}$")] | None = Field(
        default=None, description="Pin the Amazon Linux release, e.g. `2023.5.20240624.0`. Default: the latest."
    )
    application_masters_on_demand: bool = Field(
        default=True,
        description="Keep YARN application masters on On-Demand nodes, so a Spot interruption never kills a "
        "whole job (EMR 7.2+ market node labels; earlier releases keep them on core nodes). Default on.",
    )
    hdfs_replication: Annotated[int, Field(ge=1, le=3)] | None = Field(
        default=None,
        description="HDFS block replication (1-3, at most the fewest core nodes). Default: EMR's, by core size at "
        "launch (1 below 4 core nodes, 2 below 10, else 3).",
    )
    tags: ResourceTags = Field(default_factory=dict, description="Tags on the cluster (and its instances).")
    session_manager: bool = Field(
        default=True,
        description="Reach the nodes' shells through AWS Systems Manager Session Manager, without SSH or inbound "
        "rules: the instance role gets AmazonSSMManagedInstanceCore (the platform's VPC has the ssm, ssmmessages "
        "and ec2messages endpoints). Default on.",
    )
    key_pair: KeyPairSpec | None = Field(
        default=None,
        description="An EC2 key pair for SSH, with the reason it is needed. Default none: use Session Manager.",
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_unstated_key_pair(cls, data: object) -> object:
        if isinstance(data, dict):
            data = with_profile(data)
            data = _release_default_applications(data)
            if "idle_timeout_minutes" not in data and _serves_without_yarn_work(data.get("applications", ())):
                data = {**data, "idle_timeout_minutes": None}
            named = [f for f in KEY_PAIR_FIELDS if f in data]
            if named:
                raise invalid(
                    f"{named[0]}: an SSH key pair is refused on purpose: nodes are reached through Session Manager "
                    "(aws ssm start-session --target <instance id>) with no key to leak and no inbound port",
                    "leave it out and use Session Manager (docs/operate.md), or, if a key pair is really needed, "
                    "set key_pair: {name: <key pair>, reason: <why Session Manager is not enough>}",
                )
        return data

    @field_validator("release_label", mode="before")
    @classmethod
    def _release_enum(cls, value: object) -> object:
        # The typed release (EmrRelease.of("emr-7.14.0")) is accepted as well as its label.
        return value.label if isinstance(value, EmrRelease) else value

    @field_validator("release_label")
    @classmethod
    def _check_release(cls, value: str) -> str:
        if not is_token(value):
            release_for_label(value)  # raises a descriptive error for an unknown label
        return value

    @property
    def release(self) -> EmrRelease | None:
        """The release as a typed value; None when the label is a token."""
        return None if is_token(self.release_label) else release_for_label(self.release_label)

    @model_validator(mode="after")
    def _check(self) -> EmrClusterSpec:
        if (self.instance_fleets is None) == (self.instance_groups is None):
            raise invalid(
                "set exactly one of instance_fleets and instance_groups"
                + (" (both are set)" if self.instance_fleets else " (neither is set)"),
                "describe the nodes either as instance_fleets (recommended: several types, Spot) or as instance_groups",
            )
        release = self.release
        canonical = [release.canonical_application(app) if release else app for app in self.applications]
        if len({a.lower() for a in canonical}) != len(canonical):
            raise invalid("an application is listed twice", "list each application once")
        self._check_capacity()
        self._check_release_features(release)
        self._check_architecture(release)
        self._check_classifications(release)
        return self

    def _check_capacity(self) -> None:
        scaling = self.managed_scaling
        fleets = self.instance_fleets is not None
        if scaling is not None:
            allowed = ("InstanceFleetUnits",) if fleets else ("Instances", "VCPU")
            if scaling.unit_type not in allowed:
                raise invalid(
                    f"managed_scaling.unit_type {scaling.unit_type!r} does not fit "
                    + ("instance fleets" if fleets else "instance groups"),
                    f"use one of {', '.join(allowed)}",
                )
            if self.instance_groups is not None and self.instance_groups.autoscales:
                raise invalid(
                    "managed_scaling and custom autoscaling (instance_groups.*.autoscaling) are both set",
                    "keep one: managed_scaling (recommended) or the groups' autoscaling rules",
                )
            groups = self.instance_groups
            core_cap, on_demand_cap = self.scaling_caps()
            if (
                groups is not None
                and not groups.core.uses_spot
                and known(core_cap, on_demand_cap)
                and core_cap > on_demand_cap
            ):
                raise invalid(
                    f"managed_scaling's core cap ({core_cap}) is above its On-Demand cap ({on_demand_cap}) while "
                    "the core group is On-Demand (an unset cap is maximum_capacity_units)",
                    "raise maximum_on_demand_capacity_units to at least the core cap (EMR rejects it otherwise)",
                    at=("managed_scaling", "maximum_on_demand_capacity_units"),
                )
        primaries = self.primary_count
        if self.primary_placement_strategy == "SPREAD" and primaries is not None and primaries != 3:
            raise invalid(
                f"primary_placement_strategy SPREAD needs 3 primary nodes, the cluster has {primaries}",
                "set 3 primary nodes, or remove primary_placement_strategy",
            )
        fewest_core = self.min_core_nodes
        if self.hdfs_replication is not None and fewest_core is not None and self.hdfs_replication > fewest_core:
            raise invalid(
                f"hdfs_replication {self.hdfs_replication} is above the fewest core nodes the cluster may run "
                f"({fewest_core}): HDFS could not place the copies",
                f"set hdfs_replication to at most {fewest_core}, or add core capacity",
            )

    def _check_release_features(self, release: EmrRelease | None) -> None:
        if release is None:
            return
        if self.primary_count == 3:
            supported = (
                release.supports_high_availability_fleets
                if self.instance_fleets is not None
                else release.supports_high_availability_groups
            )
            if not supported:
                raise invalid(
                    f"{release.label} does not support 3 primary nodes with "
                    + ("instance fleets" if self.instance_fleets is not None else "instance groups"),
                    "use emr-5.36.1 / emr-6.8.1 / emr-7.x or later, or 1 primary node",
                )
        if self.ebs_root_volume_iops is not None or self.ebs_root_volume_throughput_mibps is not None:
            check_volume_performance(
                "gp3",
                self.ebs_root_volume_size_gib or DEFAULT_ROOT_VOLUME_GIB,
                self.ebs_root_volume_iops,
                self.ebs_root_volume_throughput_mibps,
            )
        if (
            self.ebs_root_volume_iops is not None or self.ebs_root_volume_throughput_mibps is not None
        ) and not release.supports_root_volume_performance:
            raise invalid(
                f"{release.label} cannot set the root volume's IOPS or throughput",
                "use emr-6.15.0 or later, or remove ebs_root_volume_iops / ebs_root_volume_throughput_mibps",
            )
        scaling = self.managed_scaling
        if scaling is not None and scaling.scaling_strategy == "ADVANCED" and release.major < 7:
            raise invalid(
                f"{release.label} has no advanced managed scaling (scaling_strategy ADVANCED)",
                "use emr-7.0.0 or later, or remove scaling_strategy",
            )
        if self.custom_ami_id is not None and self.os_release_label is not None:
            raise invalid(
                "custom_ami_id and os_release_label are both set",
                "keep one: a custom AMI already fixes the operating system release",
            )

    def _check_architecture(self, release: EmrRelease | None) -> None:
        if release is not None and self.architecture == "graviton" and not release.supports_graviton:
            raise invalid(
                f"{release.label} does not run on Graviton (arm64) instances",
                "use emr-6.1.0 or later, or set architecture: x86 (with x86 instance types)",
            )
        for role, name in self.instance_types():
            if is_token(name):
                continue
            if release is not None:
                release.check_instance_type(name, role=role)
            if architecture_of(name) != self.architecture:
                other = architecture_of(name)
                raise invalid(
                    f"{role} instance type {name!r} is {other}, the cluster's architecture is {self.architecture}",
                    f"use {self.architecture} instance types, or set architecture: {other} for the whole cluster",
                )

    def _check_classifications(self, release: EmrRelease | None) -> None:
        if release is None:
            return
        for path, configuration in self._configurations_by_path():
            if configuration.unlisted_reason is not None or is_token(configuration.classification):
                continue
            release.check_classification(configuration.classification, at=(*path, "classification"))

    def _configurations_by_path(self) -> list[tuple[tuple[str | int, ...], ConfigurationSpec]]:
        """Every top-level configuration the spec lists (cluster, fleet instance types, groups), with its path."""
        found: list[tuple[tuple[str | int, ...], ConfigurationSpec]] = [
            (("configurations", i), c) for i, c in enumerate(self.configurations)
        ]
        if self.instance_fleets is not None:
            for role, fleet in self.instance_fleets.roles():
                for t, entry in enumerate(fleet.instance_types):
                    found += [
                        (("instance_fleets", role, "instance_types", t, "configurations", i), c)
                        for i, c in enumerate(entry.configurations)
                    ]
        if self.instance_groups is not None:
            for role, group in self.instance_groups.roles():
                found += [
                    (("instance_groups", role, "configurations", i), c) for i, c in enumerate(group.configurations)
                ]
        return found

    # --- derived values ------------------------------------------------------------------------------------------

    @property
    def fleets(self) -> InstanceFleetsSpec | None:
        """The instance fleets with every empty instance type list replaced by the architecture's defaults."""
        if self.instance_fleets is None:
            return None
        return self.instance_fleets.with_default_types(self.architecture)

    def instance_types(self) -> list[tuple[NodeRole, str]]:
        """Every (role, instance type) the cluster may launch, defaults included."""
        if (fleets := self.fleets) is not None:
            return [(role, t.instance_type) for role, fleet in fleets.roles() for t in fleet.instance_types]
        if self.instance_groups is not None:
            return [(role, group.instance_type) for role, group in self.instance_groups.roles()]
        return []

    @property
    def primary_count(self) -> int | None:
        """Primary nodes (1 or 3); None when a token."""
        if (fleets := self.fleets) is not None:
            count = fleets.primary.total_capacity
            return count if count else None
        if self.instance_groups is not None and known(self.instance_groups.primary.instance_count):
            return self.instance_groups.primary.instance_count
        return None

    @property
    def min_core_nodes(self) -> int | None:
        """The fewest core nodes the cluster runs at launch; None when unknown (tokens)."""
        if (fleets := self.fleets) is not None:
            return fleets.core.min_instances()
        if self.instance_groups is not None:
            core = self.instance_groups.core
            counts = [core.instance_count] + ([core.autoscaling.min_capacity] if core.autoscaling else [])
            return min(counts) if known(*counts) else None
        return None

    def uses_spot(self, *roles: NodeRole) -> bool:
        """Whether any node of ``roles`` (default all) runs on Spot."""
        wanted = set(roles or ("primary", "core", "task"))
        if (fleets := self.fleets) is not None:
            return any(f.uses_spot for role, f in fleets.roles() if role in wanted)
        if self.instance_groups is not None:
            return any(g.uses_spot for role, g in self.instance_groups.roles() if role in wanted)
        return False

    def uses_on_demand(self, *roles: NodeRole) -> bool:
        """Whether any node of ``roles`` (default all) runs On-Demand."""
        wanted = set(roles or ("primary", "core", "task"))
        if (fleets := self.fleets) is not None:
            return any(
                not known(f.on_demand_capacity) or f.on_demand_capacity > 0
                for role, f in fleets.roles()
                if role in wanted
            )
        if self.instance_groups is not None:
            return any(not g.uses_spot for role, g in self.instance_groups.roles() if role in wanted)
        return False

    @property
    def application_master_label(self) -> str | None:
        """The YARN node label that keeps application masters off Spot, when the cluster needs one.

        EMR 7.2+: ``ON_DEMAND`` (market labels), when core or task nodes mix Spot and On-Demand. Earlier 6.x / 7.x:
        ``CORE``, when core nodes are On-Demand and task nodes use Spot. 5.x does the latter by itself. None when
        there is no such node to keep them on (AMs would never start) or nothing to keep them from.
        """
        release = self.release
        if not self.application_masters_on_demand or release is None or not self.uses_spot("core", "task"):
            return None
        if release.supports_market_node_labels:
            return "ON_DEMAND" if self.uses_on_demand("core", "task") else None
        if release.major >= 6 and release.supports_core_node_labels and not self.uses_spot("core"):
            return "CORE"
        return None

    def scaling_caps(self) -> tuple[int, int]:
        """Managed scaling's core and On-Demand caps, each defaulting to the maximum as EMR's do (0, 0 without
        managed scaling)."""
        scaling = self.managed_scaling
        if scaling is None:
            return 0, 0
        high = scaling.maximum_capacity_units
        core = scaling.maximum_core_capacity_units
        on_demand = scaling.maximum_on_demand_capacity_units
        return (high if core is None else core), (high if on_demand is None else on_demand)

    def spot_on_primary_or_core(self) -> tuple[tuple[str, ...], str] | None:
        """Where the cluster would run Spot on primary or core nodes, and how: (field path, problem); None when
        it never does. Counts managed scaling too: core grows up to its cap, On-Demand only up to its own."""
        kind = "instance_fleets" if self.instance_fleets is not None else "instance_groups"
        field = "spot_capacity" if kind == "instance_fleets" else "market"
        for role in ("primary", "core"):
            if self.uses_spot(role):
                return (kind, role, field), f"Spot capacity on {role} nodes"
        core_cap, on_demand_cap = self.scaling_caps()
        if kind == "instance_fleets" and known(core_cap, on_demand_cap) and core_cap > on_demand_cap:
            return (
                ("managed_scaling", "maximum_on_demand_capacity_units"),
                f"managed scaling may grow core nodes to {core_cap} units but On-Demand only to {on_demand_cap}: "
                "the rest of core would be Spot",
            )
        return None

    def resilience_configurations(self) -> list[ConfigurationSpec]:
        """Configurations the cluster gets by default (the spec's own ``configurations`` win on conflicts):
        application masters on On-Demand nodes and the HDFS replication, when set."""
        result: list[ConfigurationSpec] = []
        label = self.application_master_label
        if label is not None:
            result.append(
                ConfigurationSpec(
                    classification="yarn-site",
                    properties={
                        "yarn.node-labels.enabled": True,
                        "yarn.node-labels.am.default-node-label-expression": label,
                    },
                )
            )
        if self.hdfs_replication is not None:
            result.append(
                ConfigurationSpec(classification="hdfs-site", properties={"dfs.replication": self.hdfs_replication})
            )
        return result

    @property
    def canonical_applications(self) -> tuple[str, ...]:
        """The applications spelled as EMR spells them."""
        release = self.release
        return tuple(release.canonical_application(app) if release else app for app in self.applications)

    def has_application(self, name: str) -> bool:
        """Whether the cluster installs ``name`` (case-insensitive)."""
        return name.lower() in {a.lower() for a in self.applications}


def _release_default_applications(data: dict[str, object]) -> dict[str, object]:
    """Without ``applications``, a release that does not ship all of the default ones (emr-spark-*) gets those of
    them it ships, as the field's description states."""
    label = data.get("release_label")
    if "applications" in data or not isinstance(label, str) or is_token(label):
        return data
    record = catalog().release(label)
    if record is None or record.family == "emr":
        return data
    return {**data, "applications": list(EmrRelease(label).default_applications)}
