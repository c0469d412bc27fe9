"""Typed capacity specs: instance fleets, instance groups and EMR managed scaling.

Each spec validates what EMR itself would reject at launch, so a bad size fails at synth with the field, the value
and the fix instead of a failed deployment twenty minutes later.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from emr_platform.model import InstanceTypeName, NonNegativeInt, PositiveInt, Spec, invalid

# EMR accepts up to 30 instance types in a fleet when an allocation strategy is set (this package always sets
# one) and 5 otherwise.
MAX_TYPES_PER_FLEET = 30
MAX_TASK_FLEETS = 1  # EMR: "one instance fleet, and only one, per node type (primary, core, task)".
MAX_TASK_GROUPS = 48

VolumeType = Literal["gp3", "gp2", "io1", "io2", "st1", "sc1", "standard"]


class EbsVolumeSpec(Spec):
    """EBS volumes attached to every instance of a type or group.

    Defaults: one gp3 volume per instance.
    """

    size_gib: Annotated[int, Field(ge=1, le=16384, description="Volume size in GiB (1-16384).")]
    volume_type: VolumeType = Field(default="gp3", description="EBS volume type. Default `gp3`.")
    volumes_per_instance: Annotated[int, Field(ge=1, le=25)] = Field(
        default=1, description="How many such volumes each instance gets. Default 1."
    )


class FleetInstanceType(Spec):
    """One instance type a fleet may launch.

    ``weighted_capacity`` is how many capacity units one instance counts for: keep it proportional to size (e.g.
    xlarge 1, 2xlarge 2, 4xlarge 4) so that the fleet's targets mean the same whatever EMR picks.
    """

    instance_type: InstanceTypeName
    weighted_capacity: PositiveInt = Field(default=1, description="Capacity units one instance counts for. Default 1.")
    bid_price_as_percentage_of_on_demand: Annotated[float, Field(gt=0, le=1000, strict=False)] | None = Field(
        default=None, description="Spot bid as % of the On-Demand price. Default: EMR's, 100 %."
    )
    ebs_volumes: tuple[EbsVolumeSpec, ...] = Field(default=(), description="EBS volumes per instance. Default none.")


SpotAllocationStrategy = Literal[
    "price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "diversified", "lowest-price"
]


class SpotSpec(Spec):
    """How a fleet provisions Spot capacity.

    Defaults: ``price-capacity-optimized`` allocation, and after 10 minutes without Spot capacity, switch to
    On-Demand (the cluster starts late and costs more rather than not at all).
    """

    allocation_strategy: SpotAllocationStrategy = Field(
        default="price-capacity-optimized", description="Spot allocation strategy. Default `price-capacity-optimized`."
    )
    timeout_minutes: Annotated[int, Field(ge=5, le=1440)] = Field(
        default=10, description="Minutes to wait for Spot capacity at launch (5-1440). Default 10."
    )
    timeout_action: Literal["SWITCH_TO_ON_DEMAND", "TERMINATE_CLUSTER"] = Field(
        default="SWITCH_TO_ON_DEMAND",
        description="What happens when the timeout expires. Default `SWITCH_TO_ON_DEMAND`.",
    )


class InstanceFleetSpec(Spec):
    """A primary, core or task instance fleet: several instance types, On-Demand and Spot target capacities.

    Defaults: no capacity (set ``on_demand_capacity`` and/or ``spot_capacity``), Spot per :class:`SpotSpec`,
    On-Demand ``lowest-price``.
    """

    name: str | None = Field(default=None, description="Fleet name shown in the EMR console. Default: the role.")
    instance_types: tuple[FleetInstanceType, ...] = Field(
        min_length=1, description="Instance types the fleet may launch (1-30); more types, better Spot odds."
    )
    on_demand_capacity: NonNegativeInt = Field(default=0, description="On-Demand target, in capacity units.")
    spot_capacity: NonNegativeInt = Field(default=0, description="Spot target, in capacity units.")
    spot: SpotSpec = Field(default_factory=SpotSpec, description="Spot provisioning. Default: see SpotSpec.")
    on_demand_allocation_strategy: Literal["lowest-price", "prioritized"] = Field(
        default="lowest-price", description="On-Demand allocation strategy. Default `lowest-price`."
    )

    @model_validator(mode="after")
    def _check(self) -> InstanceFleetSpec:
        if len(self.instance_types) > MAX_TYPES_PER_FLEET:
            raise invalid(
                f"a fleet takes at most {MAX_TYPES_PER_FLEET} instance types, this one lists {len(self.instance_types)}",
                f"keep the {MAX_TYPES_PER_FLEET} types that matter most",
            )
        seen: set[str] = set()
        for entry in self.instance_types:
            if entry.instance_type in seen:
                raise invalid(
                    f"instance type {entry.instance_type!r} is listed twice", "list each instance type once per fleet"
                )
            seen.add(entry.instance_type)
        return self

    @property
    def total_capacity(self) -> int:
        """On-Demand plus Spot target, in capacity units."""
        return self.on_demand_capacity + self.spot_capacity


class InstanceFleetsSpec(Spec):
    """The cluster's nodes as instance fleets: one primary, one core and at most one task fleet."""

    primary: InstanceFleetSpec = Field(description="The primary (master) fleet: target capacity 1 (or 3 for HA).")
    core: InstanceFleetSpec = Field(description="The core fleet: HDFS and YARN; at least 1 unit.")
    tasks: tuple[InstanceFleetSpec, ...] = Field(
        default=(), description="Task fleet (0 or 1; it can mix up to 30 instance types): YARN only, Spot-friendly."
    )

    @model_validator(mode="after")
    def _check(self) -> InstanceFleetsSpec:
        primary = self.primary
        if primary.on_demand_capacity and primary.spot_capacity:
            raise invalid(
                "the primary fleet sets both on_demand_capacity and spot_capacity",
                "set only one of them (On-Demand for anything but throw-away clusters)",
            )
        if primary.total_capacity not in (1, 3):
            raise invalid(
                f"the primary fleet's target capacity must be 1 (or 3 for high availability), got {primary.total_capacity}",
                "set primary.on_demand_capacity (or spot_capacity) to 1 or 3",
            )
        if any(t.weighted_capacity != 1 for t in primary.instance_types):
            raise invalid(
                "primary instance types must have weighted_capacity 1", "remove weighted_capacity from primary"
            )
        if self.core.total_capacity < 1:
            raise invalid(
                "the core fleet has no capacity", "set core.on_demand_capacity and/or core.spot_capacity to at least 1"
            )
        if len(self.tasks) > MAX_TASK_FLEETS:
            raise invalid(
                f"a cluster takes at most {MAX_TASK_FLEETS} task fleets, got {len(self.tasks)}",
                "merge the task fleets into one: a fleet can mix up to 30 instance types",
            )
        return self


class InstanceGroupSpec(Spec):
    """A uniform instance group: one instance type, a count, On-Demand or Spot.

    Defaults: On-Demand, no extra EBS volumes.
    """

    name: str | None = Field(default=None, description="Group name shown in the EMR console. Default: the role.")
    instance_type: InstanceTypeName
    instance_count: NonNegativeInt = Field(description="Number of instances.")
    market: Literal["ON_DEMAND", "SPOT"] = Field(default="ON_DEMAND", description="Purchase option. Default On-Demand.")
    ebs_volumes: tuple[EbsVolumeSpec, ...] = Field(default=(), description="EBS volumes per instance. Default none.")


class InstanceGroupsSpec(Spec):
    """The cluster's nodes as instance groups: one primary, one core and up to 48 task groups."""

    primary: InstanceGroupSpec = Field(description="The primary group: 1 instance (or 3 for HA).")
    core: InstanceGroupSpec = Field(description="The core group: at least 1 instance.")
    tasks: tuple[InstanceGroupSpec, ...] = Field(default=(), description="Task groups (0-48).")

    @model_validator(mode="after")
    def _check(self) -> InstanceGroupsSpec:
        if self.primary.instance_count not in (1, 3):
            raise invalid(
                f"the primary group must have 1 (or 3 for high availability) instances, got {self.primary.instance_count}",
                "set primary.instance_count to 1 or 3",
            )
        if self.core.instance_count < 1:
            raise invalid("the core group has no instances", "set core.instance_count to at least 1")
        if len(self.tasks) > MAX_TASK_GROUPS:
            raise invalid(f"a cluster takes at most {MAX_TASK_GROUPS} task groups", "merge task groups")
        return self


class ManagedScalingSpec(Spec):
    """EMR managed scaling limits.

    Cap ``maximum_core_capacity_units`` and ``maximum_on_demand_capacity_units`` below the maximum so that growth
    lands on Spot task nodes, the cheapest capacity that holds no HDFS data.
    """

    unit_type: Literal["InstanceFleetUnits", "Instances", "VCPU"] = Field(
        description="`InstanceFleetUnits` (fleets), `Instances` (groups) or `VCPU` (either)."
    )
    minimum_capacity_units: PositiveInt = Field(description="Lower limit of the cluster's size.")
    maximum_capacity_units: PositiveInt = Field(description="Upper limit of the cluster's size.")
    maximum_on_demand_capacity_units: NonNegativeInt | None = Field(
        default=None, description="Upper limit of On-Demand capacity. Default: no separate limit."
    )
    maximum_core_capacity_units: NonNegativeInt | None = Field(
        default=None, description="Upper limit of core capacity. Default: no separate limit."
    )

    @model_validator(mode="after")
    def _check(self) -> ManagedScalingSpec:
        if self.minimum_capacity_units > self.maximum_capacity_units:
            raise invalid(
                f"minimum_capacity_units ({self.minimum_capacity_units}) is above maximum_capacity_units "
                f"({self.maximum_capacity_units})",
                "make the minimum at most the maximum",
            )
        for field in ("maximum_on_demand_capacity_units", "maximum_core_capacity_units"):
            cap = getattr(self, field)
            if cap is not None and cap > self.maximum_capacity_units:
                raise invalid(
                    f"{field} ({cap}) is above maximum_capacity_units ({self.maximum_capacity_units})",
                    f"lower {field} to at most {self.maximum_capacity_units}",
                )
        return self
