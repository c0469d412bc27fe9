"""Typed capacity specs: instance fleets, instance groups (with custom autoscaling) and EMR managed scaling.

Each spec validates what EMR itself would reject at launch, so a bad size fails at synth with the field, the value
and the fix instead of a failed deployment twenty minutes later. Values that are CDK tokens (known only at deploy
time) are not checked.

Capacity units: the default instance type lists weight each type by its size, one unit per ``xlarge`` (4 vCPUs),
so ``2xlarge`` counts 2 and ``4xlarge`` counts 4; a fleet's targets then mean the same whatever EMR picks.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from emr_platform.spec.aws_rules import EmrName, check_ebs_volume
from emr_platform.spec.catalog import catalog
from emr_platform.spec.configuration import ConfigurationSpec
from emr_platform.spec.model import (
    InstanceTypeName,
    NonNegativeInt,
    PositiveInt,
    SkipTokens,
    Spec,
    invalid,
    is_graviton,
    known,
)

# EMR limits (Management Guide, "Planning and configuring instance fleets").
MAX_TYPES_WITH_ALLOCATION_STRATEGY = 30
MAX_TYPES_WITHOUT_ALLOCATION_STRATEGY = 5
MAX_TASK_FLEETS = 1
MAX_TASK_GROUPS = 48

Architecture = Literal["graviton", "x86"]
NodeRole = Literal["primary", "core", "task"]
VolumeType = Literal["gp3", "gp2", "io1", "io2", "st1", "sc1", "standard"]
SpotAllocationStrategy = Literal[
    "price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "diversified", "lowest-price"
]
OnDemandAllocationStrategy = Literal["lowest-price", "prioritized"]


def architecture_of(instance_type: str) -> Architecture:
    """``graviton`` for arm64 instance types (m7g, r6gd, a1, ...), ``x86`` for x86_64 ones, as the catalog records
    them (EMR ListSupportedInstanceTypes, EC2 DescribeInstanceTypes); by name (a ``g`` after the generation) for
    a type the catalog does not know."""
    known_architecture = catalog().architecture(instance_type)
    if known_architecture is not None:
        return "graviton" if known_architecture == "arm64" else "x86"
    return "graviton" if is_graviton(instance_type) else "x86"


# Diversified defaults per architecture and node role: (instance type, weighted capacity). Several families and
# generations per role, so that Spot has many pools to choose from and a capacity shortage of one type never
# blocks a launch. Memory-optimized for core (HDFS, shuffle), mixed for task, general purpose for primary.
DEFAULT_INSTANCE_TYPES: dict[Architecture, dict[NodeRole, tuple[tuple[str, int], ...]]] = {
    "graviton": {
        "primary": (("m7g.xlarge", 1), ("m6g.xlarge", 1), ("r7g.xlarge", 1)),
        "core": (
            ("r7g.2xlarge", 2),
            ("r6g.2xlarge", 2),
            ("m7g.2xlarge", 2),
            ("m6g.2xlarge", 2),
            ("r7g.4xlarge", 4),
            ("r6g.4xlarge", 4),
        ),
        "task": (
            ("m7g.2xlarge", 2),
            ("m6g.2xlarge", 2),
            ("r7g.2xlarge", 2),
            ("r6g.2xlarge", 2),
            ("c7g.2xlarge", 2),
            ("c6g.2xlarge", 2),
            ("m7g.4xlarge", 4),
            ("m6g.4xlarge", 4),
            ("r7g.4xlarge", 4),
            ("r6g.4xlarge", 4),
            ("c7g.4xlarge", 4),
            ("c6g.4xlarge", 4),
        ),
    },
    "x86": {
        "primary": (("m7i.xlarge", 1), ("m6i.xlarge", 1), ("m5.xlarge", 1)),
        "core": (
            ("r7i.2xlarge", 2),
            ("r6i.2xlarge", 2),
            ("m7i.2xlarge", 2),
            ("m6i.2xlarge", 2),
            ("r7i.4xlarge", 4),
            ("r6i.4xlarge", 4),
        ),
        "task": (
            ("m7i.2xlarge", 2),
            ("m6i.2xlarge", 2),
            ("m6a.2xlarge", 2),
            ("r7i.2xlarge", 2),
            ("r6i.2xlarge", 2),
            ("c7i.2xlarge", 2),
            ("c6i.2xlarge", 2),
            ("m7i.4xlarge", 4),
            ("m6i.4xlarge", 4),
            ("r7i.4xlarge", 4),
            ("r6i.4xlarge", 4),
            ("c7i.4xlarge", 4),
        ),
    },
}


class EbsVolumeSpec(Spec):
    """EBS volumes attached to every instance of a type or group.

    Defaults: one gp3 volume per instance at gp3's baseline (3000 IOPS, 125 MiB/s).
    """

    size_gib: Annotated[
        int,
        Field(
            ge=1,
            le=65536,
            description="Volume size in GiB (per type: gp3/gp2 1-16384, io1 4-16384, io2 4-65536, st1/sc1 125-16384, standard 1-1024).",
        ),
    ]
    volume_type: VolumeType = Field(default="gp3", description="EBS volume type. Default `gp3`.")
    volumes_per_instance: Annotated[int, Field(ge=1, le=25)] = Field(
        default=1, description="How many such volumes each instance gets. Default 1."
    )
    iops: Annotated[int, Field(ge=100, le=256000)] | None = Field(
        default=None,
        description="Provisioned IOPS (gp3: 3000-80000 at most 500 per GiB, io1: 100-64000 at most 50 per GiB, "
        "io2: 100-256000 at most 1000 per GiB). Default: the volume type's baseline.",
    )
    throughput_mibps: Annotated[int, Field(ge=125, le=2000)] | None = Field(
        default=None, description="Throughput in MiB/s (gp3 only, 125-2000, at most 0.25 per IOPS). Default 125."
    )

    @model_validator(mode="after")
    def _check(self) -> EbsVolumeSpec:
        if self.iops is not None and self.volume_type not in ("gp3", "io1", "io2"):
            raise invalid(f"iops is set on a {self.volume_type} volume", "use gp3, io1 or io2, or remove iops")
        if self.volume_type in ("io1", "io2") and self.iops is None:
            raise invalid(f"{self.volume_type} volumes need iops", "set iops, or use gp3")
        if self.throughput_mibps is not None and self.volume_type != "gp3":
            raise invalid(f"throughput_mibps is set on a {self.volume_type} volume", "use gp3, or remove it")
        check_volume_performance(self.volume_type, self.size_gib, self.iops, self.throughput_mibps)
        return self


def check_volume_performance(volume_type: str, size_gib: int, iops: int | None, throughput_mibps: int | None) -> None:
    """EBS's own limits (:data:`emr_platform.spec.aws_rules.EBS_LIMITS`): the type's size and IOPS ranges, IOPS per
    GiB, and gp3 throughput of 125-2000 MiB/s and at most IOPS / 4."""
    check_ebs_volume(volume_type, size_gib, iops, throughput_mibps)


class FleetInstanceType(Spec):
    """One instance type a fleet may launch.

    ``weighted_capacity`` is how many capacity units one instance counts for: keep it proportional to size (e.g.
    xlarge 1, 2xlarge 2, 4xlarge 4) so that the fleet's targets mean the same whatever EMR picks.
    """

    instance_type: InstanceTypeName
    weighted_capacity: PositiveInt = Field(default=1, description="Capacity units one instance counts for. Default 1.")
    bid_price_as_percentage_of_on_demand: Annotated[float, Field(gt=0, le=1000, strict=False)] | None = Field(
        default=None, description="Spot bid cap as % of the On-Demand price. Default: EMR's, 100 %."
    )
    bid_price: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?$"), SkipTokens] | None = Field(
        default=None, description="Spot bid cap in USD per hour, e.g. `'0.25'`. Default: the On-Demand price."
    )
    priority: Annotated[float, Field(ge=0, strict=False)] | None = Field(
        default=None,
        description="Launch priority, 0 first (only with the `prioritized` / `capacity-optimized-prioritized` "
        "allocation strategies). Default none.",
    )
    ebs_volumes: tuple[EbsVolumeSpec, ...] = Field(default=(), description="EBS volumes per instance. Default none.")
    configurations: tuple[ConfigurationSpec, ...] = Field(
        default=(), description="Configurations for instances of this type only. Default none."
    )

    @model_validator(mode="after")
    def _check(self) -> FleetInstanceType:
        if self.bid_price is not None and self.bid_price_as_percentage_of_on_demand is not None:
            raise invalid(
                "bid_price and bid_price_as_percentage_of_on_demand are both set",
                "keep one (a percentage follows On-Demand price changes)",
            )
        return self


class SpotSpec(Spec):
    """How a fleet provisions Spot capacity.

    Defaults: ``price-capacity-optimized`` allocation (the pools least likely to be interrupted, then the
    cheapest), and after 10 minutes without Spot capacity, switch to On-Demand (the cluster starts late and costs
    more rather than not at all). ``allocation_strategy: null`` is EMR's legacy mode: at most 5 instance types.
    """

    allocation_strategy: SpotAllocationStrategy | None = Field(
        default="price-capacity-optimized", description="Spot allocation strategy. Default `price-capacity-optimized`."
    )
    timeout_minutes: Annotated[int, Field(ge=5, le=1440)] = Field(
        default=10, description="Minutes to wait for Spot capacity at launch (5-1440). Default 10."
    )
    timeout_action: Literal["SWITCH_TO_ON_DEMAND", "TERMINATE_CLUSTER"] = Field(
        default="SWITCH_TO_ON_DEMAND",
        description="What happens when the timeout expires. Default `SWITCH_TO_ON_DEMAND`.",
    )


class CapacityReservationSpec(Spec):
    """Use On-Demand Capacity Reservations for a fleet's On-Demand capacity.

    Default: open reservations are used when they match (EMR's behaviour); set ``usage_strategy`` to use
    reservations first, optionally only those of a resource group.
    """

    usage_strategy: Literal["use-capacity-reservations-first"] | None = Field(
        default=None, description="`use-capacity-reservations-first`, or none (EMR's allocation strategy decides)."
    )
    preference: Literal["open", "none"] | None = Field(
        default=None, description="`open`: use any matching open reservation; `none`: never. Default EMR's (open)."
    )
    resource_group_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:resource-groups:"), SkipTokens] | None = Field(
        default=None, description="Only reservations in this resource group (targeted reservations). Default none."
    )

    @model_validator(mode="after")
    def _check(self) -> CapacityReservationSpec:
        if self.resource_group_arn is not None and self.usage_strategy is None:
            raise invalid(
                "resource_group_arn needs usage_strategy",
                "set usage_strategy: use-capacity-reservations-first",
            )
        if self.preference == "none" and self.usage_strategy is not None:
            raise invalid(
                "preference 'none' excludes every reservation, yet usage_strategy asks to use them first",
                "remove one of them",
            )
        return self


class OnDemandSpec(Spec):
    """How a fleet provisions On-Demand capacity. Defaults: ``lowest-price``, no capacity-reservation options."""

    allocation_strategy: OnDemandAllocationStrategy | None = Field(
        default="lowest-price", description="`lowest-price` or `prioritized` (by `priority`). Default `lowest-price`."
    )
    capacity_reservations: CapacityReservationSpec | None = Field(
        default=None, description="On-Demand Capacity Reservation options. Default none."
    )


class ResizeSpec(Spec):
    """How long a resize (by managed scaling or by hand) of a core or task fleet waits for capacity.

    Defaults: EMR's (60 minutes for Spot and for On-Demand); allocation strategies and reservation options are
    those of the fleet's launch.
    """

    spot_timeout_minutes: Annotated[int, Field(ge=5, le=10080)] | None = Field(
        default=None, description="Minutes a Spot resize waits for capacity (5-10080). Default EMR's, 60."
    )
    on_demand_timeout_minutes: Annotated[int, Field(ge=5, le=10080)] | None = Field(
        default=None, description="Minutes an On-Demand resize waits for capacity (5-10080). Default EMR's, 60."
    )


class InstanceFleetSpec(Spec):
    """A primary, core or task instance fleet: several instance types, On-Demand and Spot target capacities.

    Defaults: the cluster's architecture's diversified instance types for the fleet's role (when
    ``instance_types`` is empty), no capacity (set ``on_demand_capacity`` and/or ``spot_capacity``), Spot per
    :class:`SpotSpec`, On-Demand per :class:`OnDemandSpec`, EMR's resize timeouts.
    """

    name: EmrName | None = Field(default=None, description="Fleet name shown in the EMR console. Default: the role.")
    instance_types: tuple[FleetInstanceType, ...] = Field(
        default=(),
        description="Instance types the fleet may launch (up to 30); more types, better Spot odds. Default: the "
        "architecture's list for the role (see `emr_platform.spec.capacity.DEFAULT_INSTANCE_TYPES`).",
    )
    on_demand_capacity: NonNegativeInt = Field(default=0, description="On-Demand target, in capacity units.")
    spot_capacity: NonNegativeInt = Field(default=0, description="Spot target, in capacity units.")
    spot: SpotSpec = Field(default_factory=SpotSpec, description="Spot provisioning. Default: see SpotSpec.")
    on_demand: OnDemandSpec = Field(default_factory=OnDemandSpec, description="On-Demand provisioning.")
    resize: ResizeSpec | None = Field(default=None, description="Resize timeouts (core and task fleets only).")

    @model_validator(mode="after")
    def _check(self) -> InstanceFleetSpec:
        has_strategy = self.spot.allocation_strategy is not None or (
            self.on_demand.allocation_strategy is not None and self.spot_capacity == 0
        )
        limit = MAX_TYPES_WITH_ALLOCATION_STRATEGY if has_strategy else MAX_TYPES_WITHOUT_ALLOCATION_STRATEGY
        if len(self.instance_types) > limit:
            raise invalid(
                f"a fleet takes at most {limit} instance types "
                + ("with an allocation strategy" if has_strategy else "without an allocation strategy")
                + f", this one lists {len(self.instance_types)}",
                f"keep the {limit} types that matter most"
                + ("" if has_strategy else ", or set spot.allocation_strategy (then up to 30)"),
            )
        seen: set[str] = set()
        for entry in self.instance_types:
            if entry.instance_type in seen:
                raise invalid(
                    f"instance type {entry.instance_type!r} is listed twice", "list each instance type once per fleet"
                )
            seen.add(entry.instance_type)
        prioritized = self.on_demand.allocation_strategy == "prioritized" or (
            self.spot.allocation_strategy == "capacity-optimized-prioritized"
        )
        if not prioritized and any(t.priority is not None for t in self.instance_types):
            raise invalid(
                "instance types set a priority, which only the prioritized allocation strategies read",
                "set on_demand.allocation_strategy: prioritized or spot.allocation_strategy: "
                "capacity-optimized-prioritized, or remove priority",
            )
        if self.on_demand.capacity_reservations is not None and self.on_demand.allocation_strategy is None:
            raise invalid(
                "capacity reservations need an On-Demand allocation strategy",
                "set on_demand.allocation_strategy: lowest-price",
            )
        return self

    @property
    def total_capacity(self) -> int:
        """On-Demand plus Spot target, in capacity units (0 when either is a token)."""
        if not known(self.on_demand_capacity, self.spot_capacity):
            return 0
        return self.on_demand_capacity + self.spot_capacity

    @property
    def uses_spot(self) -> bool:
        """Whether the fleet targets any Spot capacity."""
        return known(self.spot_capacity) and self.spot_capacity > 0

    def with_default_types(self, architecture: Architecture, role: NodeRole) -> InstanceFleetSpec:
        """This fleet, with the architecture's default instance types for ``role`` when it lists none."""
        if self.instance_types:
            return self
        types = tuple(
            FleetInstanceType(instance_type=name, weighted_capacity=1 if role == "primary" else weight)
            for name, weight in DEFAULT_INSTANCE_TYPES[architecture][role]
        )
        return self.model_copy(update={"instance_types": types})

    def min_instances(self) -> int | None:
        """The fewest instances that meet the fleet's target (largest weight), None when unknown."""
        weights = [t.weighted_capacity for t in self.instance_types]
        if not weights or not known(*weights, self.on_demand_capacity, self.spot_capacity):
            return None
        largest = max(t.weighted_capacity for t in self.instance_types)
        return -(-self.total_capacity // largest)


class InstanceFleetsSpec(Spec):
    """The cluster's nodes as instance fleets: one primary, one core and at most one task fleet."""

    primary: InstanceFleetSpec = Field(description="The primary (master) fleet: target capacity 1 (or 3 for HA).")
    core: InstanceFleetSpec = Field(description="The core fleet: HDFS and YARN; at least 1 unit.")
    tasks: tuple[InstanceFleetSpec, ...] = Field(
        default=(),
        description=f"Task fleets (0-{MAX_TASK_FLEETS}; a fleet can mix up to 30 instance types): YARN only, "
        "Spot-friendly.",
    )

    @model_validator(mode="after")
    def _check(self) -> InstanceFleetsSpec:
        primary = self.primary
        if known(primary.on_demand_capacity, primary.spot_capacity):
            if primary.on_demand_capacity and primary.spot_capacity:
                raise invalid(
                    "the primary fleet sets both on_demand_capacity and spot_capacity",
                    "set only one of them (On-Demand for anything but throw-away clusters)",
                )
            if primary.total_capacity not in (1, 3):
                raise invalid(
                    "the primary fleet's target capacity must be 1 (or 3 for high availability), "
                    f"got {primary.total_capacity}",
                    "set primary.on_demand_capacity (or spot_capacity) to 1 or 3",
                )
            if primary.spot_capacity == 3:
                raise invalid(
                    "3 primary nodes (high availability) must be On-Demand, EMR does not launch them on Spot",
                    "set primary.on_demand_capacity: 3 and spot_capacity: 0",
                    at=("primary", "spot_capacity"),
                )
        if any(t.weighted_capacity != 1 for t in primary.instance_types if known(t.weighted_capacity)):
            raise invalid(
                "primary instance types must have weighted_capacity 1", "remove weighted_capacity from primary"
            )
        if primary.resize is not None:
            raise invalid("the primary fleet cannot be resized", "move resize to the core or task fleets")
        if known(self.core.on_demand_capacity, self.core.spot_capacity) and self.core.total_capacity < 1:
            raise invalid(
                "the core fleet has no capacity", "set core.on_demand_capacity and/or core.spot_capacity to at least 1"
            )
        if len(self.tasks) > MAX_TASK_FLEETS:
            raise invalid(
                f"a cluster takes at most {MAX_TASK_FLEETS} task fleet(s), got {len(self.tasks)}",
                "merge the task fleets into one: a fleet can mix up to 30 instance types",
            )
        return self

    def roles(self) -> list[tuple[NodeRole, InstanceFleetSpec]]:
        """Every fleet with its role, primary first."""
        return [("primary", self.primary), ("core", self.core), *(("task", t) for t in self.tasks)]

    def with_default_types(self, architecture: Architecture) -> InstanceFleetsSpec:
        """These fleets, each empty instance type list replaced by the architecture's defaults."""
        return self.model_copy(
            update={
                "primary": self.primary.with_default_types(architecture, "primary"),
                "core": self.core.with_default_types(architecture, "core"),
                "tasks": tuple(t.with_default_types(architecture, "task") for t in self.tasks),
            }
        )


# --- instance groups and their custom (CloudWatch-metric) autoscaling ---------------------------------------------

ComparisonOperator = Literal["GREATER_THAN_OR_EQUAL", "GREATER_THAN", "LESS_THAN", "LESS_THAN_OR_EQUAL"]
CloudWatchUnit = Literal[
    "NONE",
    "SECONDS",
    "MICRO_SECONDS",
    "MILLI_SECONDS",
    "BYTES",
    "KILO_BYTES",
    "MEGA_BYTES",
    "GIGA_BYTES",
    "TERA_BYTES",
    "BITS",
    "KILO_BITS",
    "MEGA_BITS",
    "GIGA_BITS",
    "TERA_BITS",
    "PERCENT",
    "COUNT",
    "BYTES_PER_SECOND",
    "KILO_BYTES_PER_SECOND",
    "MEGA_BYTES_PER_SECOND",
    "GIGA_BYTES_PER_SECOND",
    "TERA_BYTES_PER_SECOND",
    "BITS_PER_SECOND",
    "KILO_BITS_PER_SECOND",
    "MEGA_BITS_PER_SECOND",
    "GIGA_BITS_PER_SECOND",
    "TERA_BITS_PER_SECOND",
    "COUNT_PER_SECOND",
]


class ScalingRuleSpec(Spec):
    """One custom autoscaling rule of an instance group: when a CloudWatch metric crosses a threshold, add or
    remove instances.

    Defaults: the metric is from ``AWS/ElasticMapReduce`` for this cluster (dimension ``JobFlowId``), averaged over
    one 5-minute period; a 5-minute cooldown; ``CHANGE_IN_CAPACITY``.
    """

    name: EmrName = Field(description="Rule name, unique in the group.")
    description: str | None = Field(default=None, description="What the rule is for. Default none.")
    adjustment: int = Field(description="Instances to add (positive) or remove (negative), or the % or count.")
    adjustment_type: Literal["CHANGE_IN_CAPACITY", "PERCENT_CHANGE_IN_CAPACITY", "EXACT_CAPACITY"] = Field(
        default="CHANGE_IN_CAPACITY", description="How `adjustment` reads. Default `CHANGE_IN_CAPACITY`."
    )
    cooldown_seconds: Annotated[int, Field(ge=0, le=86400)] = Field(
        default=300, description="Seconds before another scaling activity may start. Default 300."
    )
    metric_name: Annotated[str, Field(min_length=1)] = Field(
        description="CloudWatch metric, e.g. `YARNMemoryAvailablePercentage`, `ContainerPendingRatio`."
    )
    namespace: str = Field(default="AWS/ElasticMapReduce", description="Metric namespace. Default EMR's.")
    comparison_operator: ComparisonOperator = Field(description="How the metric is compared to `threshold`.")
    threshold: Annotated[float, Field(strict=False)] = Field(description="The value that triggers the rule.")
    evaluation_periods: Annotated[int, Field(ge=1, le=100)] = Field(
        default=1, description="Consecutive periods over the threshold before acting. Default 1."
    )
    period_seconds: Literal[60, 300, 900, 3600] = Field(
        default=300, description="Metric period in seconds (EMR publishes every 5 minutes). Default 300."
    )
    statistic: Literal["SAMPLE_COUNT", "AVERAGE", "SUM", "MINIMUM", "MAXIMUM"] = Field(
        default="AVERAGE", description="Statistic of the metric. Default `AVERAGE`."
    )
    unit: CloudWatchUnit | None = Field(default=None, description="Metric unit, e.g. `PERCENT`, `COUNT`. Default none.")

    @model_validator(mode="after")
    def _check(self) -> ScalingRuleSpec:
        if self.adjustment == 0 and self.adjustment_type != "EXACT_CAPACITY":
            raise invalid("adjustment 0 changes nothing", "add (positive) or remove (negative) instances")
        if self.adjustment < 0 and self.adjustment_type == "EXACT_CAPACITY":
            raise invalid(f"EXACT_CAPACITY of {self.adjustment} instances", "give the instance count to set, 0 or more")
        return self


def default_scaling_rules() -> tuple[ScalingRuleSpec, ...]:
    """Scale out by 1 when less than 15 % of YARN memory is free; scale in by 1 after 15 minutes above 75 %."""
    return (
        ScalingRuleSpec(
            name="scale-out-on-yarn-memory",
            description="Add a node when less than 15% of YARN memory is available",
            adjustment=1,
            metric_name="YARNMemoryAvailablePercentage",
            comparison_operator="LESS_THAN",
            threshold=15.0,
            unit="PERCENT",
        ),
        ScalingRuleSpec(
            name="scale-in-on-yarn-memory",
            description="Remove a node after 15 minutes with more than 75% of YARN memory available",
            adjustment=-1,
            metric_name="YARNMemoryAvailablePercentage",
            comparison_operator="GREATER_THAN",
            threshold=75.0,
            evaluation_periods=3,
            unit="PERCENT",
        ),
    )


class AutoScalingSpec(Spec):
    """Custom autoscaling of an instance group between ``min_capacity`` and ``max_capacity`` instances.

    Defaults: the rules of :func:`default_scaling_rules` (YARN memory). Needs instance groups; EMR managed scaling
    is the alternative (and the recommended one) and cannot be combined with it.
    """

    min_capacity: NonNegativeInt = Field(description="Fewest instances the rules may leave.")
    max_capacity: PositiveInt = Field(description="Most instances the rules may reach.")
    rules: tuple[ScalingRuleSpec, ...] = Field(
        default_factory=default_scaling_rules,
        min_length=1,
        description="Scaling rules. Default: scale on YARNMemoryAvailablePercentage (out < 15 %, in > 75 %).",
    )

    @model_validator(mode="after")
    def _check(self) -> AutoScalingSpec:
        if known(self.min_capacity, self.max_capacity) and self.min_capacity > self.max_capacity:
            raise invalid(
                f"min_capacity ({self.min_capacity}) is above max_capacity ({self.max_capacity})",
                "make min_capacity at most max_capacity",
            )
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise invalid("two rules have the same name", "give each rule its own name")
        return self


class InstanceGroupSpec(Spec):
    """A uniform instance group: one instance type, a count, On-Demand or Spot.

    Defaults: On-Demand, no extra EBS volumes, no autoscaling.
    """

    name: EmrName | None = Field(default=None, description="Group name shown in the EMR console. Default: the role.")
    instance_type: InstanceTypeName
    instance_count: NonNegativeInt = Field(description="Number of instances.")
    market: Literal["ON_DEMAND", "SPOT"] = Field(default="ON_DEMAND", description="Purchase option. Default On-Demand.")
    bid_price: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?$"), SkipTokens] | None = Field(
        default=None, description="Spot bid cap in USD per hour (Spot only). Default: the On-Demand price."
    )
    ebs_volumes: tuple[EbsVolumeSpec, ...] = Field(default=(), description="EBS volumes per instance. Default none.")
    configurations: tuple[ConfigurationSpec, ...] = Field(
        default=(), description="Configurations for this group only. Default none."
    )
    autoscaling: AutoScalingSpec | None = Field(
        default=None, description="Custom autoscaling (core and task groups). Default none."
    )

    @model_validator(mode="after")
    def _check(self) -> InstanceGroupSpec:
        if self.bid_price is not None and self.market != "SPOT":
            raise invalid("bid_price is set on an On-Demand group", "set market: SPOT, or remove bid_price")
        scaling = self.autoscaling
        if (
            scaling is not None
            and known(self.instance_count, scaling.min_capacity, scaling.max_capacity)
            and not scaling.min_capacity <= self.instance_count <= scaling.max_capacity
        ):
            raise invalid(
                f"instance_count {self.instance_count} is outside autoscaling's "
                f"{scaling.min_capacity}-{scaling.max_capacity}",
                "start within the autoscaling limits",
            )
        return self

    @property
    def uses_spot(self) -> bool:
        """Whether the group runs on Spot."""
        return self.market == "SPOT"


class InstanceGroupsSpec(Spec):
    """The cluster's nodes as instance groups: one primary, one core and up to 48 task groups."""

    primary: InstanceGroupSpec = Field(description="The primary group: 1 instance (or 3 for HA).")
    core: InstanceGroupSpec = Field(description="The core group: at least 1 instance.")
    tasks: tuple[InstanceGroupSpec, ...] = Field(default=(), description=f"Task groups (0-{MAX_TASK_GROUPS}).")

    @model_validator(mode="after")
    def _check(self) -> InstanceGroupsSpec:
        if known(self.primary.instance_count) and self.primary.instance_count not in (1, 3):
            raise invalid(
                f"the primary group must have 1 (or 3 for high availability) instances, got {self.primary.instance_count}",
                "set primary.instance_count to 1 or 3",
            )
        if self.primary.autoscaling is not None:
            raise invalid("the primary group cannot autoscale", "move autoscaling to the core or task groups")
        if self.primary.instance_count == 3 and self.primary.market == "SPOT":
            raise invalid(
                "3 primary nodes (high availability) must be On-Demand, EMR does not launch them on Spot",
                "set primary.market: ON_DEMAND",
                at=("primary", "market"),
            )
        if known(self.core.instance_count) and self.core.instance_count < 1:
            raise invalid("the core group has no instances", "set core.instance_count to at least 1")
        if len(self.tasks) > MAX_TASK_GROUPS:
            raise invalid(f"a cluster takes at most {MAX_TASK_GROUPS} task groups", "merge task groups")
        return self

    def roles(self) -> list[tuple[NodeRole, InstanceGroupSpec]]:
        """Every group with its role, primary first."""
        return [("primary", self.primary), ("core", self.core), *(("task", t) for t in self.tasks)]

    @property
    def autoscales(self) -> bool:
        """Whether any group has custom autoscaling (and so the cluster needs an autoscaling role)."""
        return any(g.autoscaling is not None for _, g in self.roles())


class ManagedScalingSpec(Spec):
    """EMR managed scaling limits.

    Cap ``maximum_core_capacity_units`` and ``maximum_on_demand_capacity_units`` below the maximum so that growth
    lands on Spot task nodes, the cheapest capacity that holds no HDFS data. Defaults: no separate caps, EMR's
    default scaling strategy.
    """

    unit_type: Literal["InstanceFleetUnits", "Instances", "VCPU"] = Field(
        description="`InstanceFleetUnits` (fleets), `Instances` or `VCPU` (groups)."
    )
    minimum_capacity_units: PositiveInt = Field(description="Lower limit of the cluster's size.")
    maximum_capacity_units: PositiveInt = Field(description="Upper limit of the cluster's size.")
    maximum_on_demand_capacity_units: NonNegativeInt | None = Field(
        default=None, description="Upper limit of On-Demand capacity. Default: no separate limit."
    )
    maximum_core_capacity_units: NonNegativeInt | None = Field(
        default=None, description="Upper limit of core capacity. Default: no separate limit."
    )
    scaling_strategy: Literal["DEFAULT", "ADVANCED"] | None = Field(
        default=None, description="`ADVANCED` lets `utilization_performance_index` trade cost for speed. Default EMR's."
    )
    utilization_performance_index: Literal[1, 25, 50, 75, 100] | None = Field(
        default=None,
        description="With `ADVANCED`: 1 favours utilization (cost), 100 performance; 50 balanced. Default EMR's.",
    )

    @model_validator(mode="after")
    def _check(self) -> ManagedScalingSpec:
        low, high = self.minimum_capacity_units, self.maximum_capacity_units
        if known(low, high) and low > high:
            raise invalid(
                f"minimum_capacity_units ({low}) is above maximum_capacity_units ({high})",
                "make the minimum at most the maximum",
            )
        for field in ("maximum_on_demand_capacity_units", "maximum_core_capacity_units"):
            cap = getattr(self, field)
            if cap is not None and known(cap, high) and cap > high:
                raise invalid(
                    f"{field} ({cap}) is above maximum_capacity_units ({high})",
                    f"lower {field} to at most {high}",
                )
        if self.utilization_performance_index is not None and self.scaling_strategy != "ADVANCED":
            raise invalid(
                "utilization_performance_index needs scaling_strategy ADVANCED", "set scaling_strategy: ADVANCED"
            )
        return self
