"""A cost and resilience advisor: what a synthesized cluster's capacity settings risk, as warnings in the summary.

Each rule reads an ``AWS::EMR::Cluster``'s CloudFormation properties (what would be deployed) and says what it
finds, why it matters and the fix. The rules never fail a synthesis: they are advice, printed by ``make synth``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

SPOT_TYPES_MINIMUM = 4
"""EMR's Spot best practice: a task fleet of at least 4 instance types (and more than one family), so that a
shortage of one Spot pool does not stop it (EMR Management Guide, "Instance fleet best practices")."""

HDFS_REDUNDANT_CORE_NODES = 4
"""EMR sets ``dfs.replication`` from the core nodes at launch: 1 below 4, 2 below 10, 3 from 10 (EMR Release Guide,
"Configure HDFS"): with fewer than 4 core nodes, losing one loses the only copy of its blocks."""


@dataclass(frozen=True)
class Advice:
    """One finding of the advisor: its rule, what it found and the fix."""

    rule: str
    finding: str
    fix: str

    def __str__(self) -> str:
        return f"advice [{self.rule}]: {self.finding}. Fix: {self.fix}"


def _units(fleet: dict[str, Any] | None) -> int:
    if not fleet:
        return 0
    return int(fleet.get("TargetOnDemandCapacity", 0)) + int(fleet.get("TargetSpotCapacity", 0))


def _fewest_instances(fleet: dict[str, Any]) -> int:
    weights = [int(c.get("WeightedCapacity", 1)) for c in fleet.get("InstanceTypeConfigs", [])] or [1]
    return -(-_units(fleet) // max(weights))


def _replication(props: dict[str, Any]) -> int | None:
    for configuration in props.get("Configurations", []):
        if configuration.get("Classification") == "hdfs-site":
            value = configuration.get("ConfigurationProperties", {}).get("dfs.replication")
            if value is not None and str(value).isdigit():
                return int(value)
    return None


def launch_below_floor(props: dict[str, Any]) -> Iterator[Advice]:
    """Managed scaling's minimum above the launch size of core and task nodes: the cluster grows at once and never
    runs at the launch size (nor costs what it does). The limits apply to core and task nodes only, never to the
    primary (``ComputeLimits.MinimumCapacityUnits`` in the EMR API reference)."""
    limits = props.get("ManagedScalingPolicy", {}).get("ComputeLimits", {})
    instances = props.get("Instances", {})
    launch = _units(instances.get("CoreInstanceFleet")) + sum(
        _units(f) for f in instances.get("TaskInstanceFleets", [])
    )
    minimum = limits.get("MinimumCapacityUnits")
    if isinstance(minimum, int) and limits.get("UnitType") == "InstanceFleetUnits" and launch and minimum > launch:
        yield Advice(
            "launch-below-floor",
            f"managed scaling's minimum ({minimum} units) is above the launch size ({launch} core and task units): "
            "the cluster scales up at once and is never the size its cost is estimated at",
            "launch at the floor (raise the fleets' target capacities) or lower minimum_capacity_units",
        )


def core_without_redundancy(props: dict[str, Any]) -> Iterator[Advice]:
    """A core fleet that can launch with too few instances for the HDFS replication in force."""
    core = props.get("Instances", {}).get("CoreInstanceFleet")
    if not core:
        return
    fewest = _fewest_instances(core)
    replication = _replication(props)
    if replication is not None and replication > fewest:
        yield Advice(
            "core-below-replication",
            f"the core fleet can launch as {fewest} instance(s), fewer than dfs.replication {replication}: HDFS "
            "writes fail until it grows",
            "give the core fleet more units or smaller instance types, or lower dfs.replication",
        )
    elif replication is None and fewest < HDFS_REDUNDANT_CORE_NODES:
        yield Advice(
            "core-without-redundancy",
            f"the core fleet can launch as {fewest} instance(s); below {HDFS_REDUNDANT_CORE_NODES} EMR keeps one "
            "copy of each HDFS block, so losing a core node loses data not yet in S3",
            f"keep data in S3, or let the core fleet launch as at least {HDFS_REDUNDANT_CORE_NODES} smaller "
            "instances (same units, smaller types)",
        )


def single_primary_type(props: dict[str, Any]) -> Iterator[Advice]:
    """A primary fleet with one instance type: a shortage of that type stops the cluster from starting."""
    primary = props.get("Instances", {}).get("MasterInstanceFleet")
    if primary and len(primary.get("InstanceTypeConfigs", [])) == 1:
        yield Advice(
            "single-primary-type",
            "the primary fleet has one instance type: when EC2 has none of it in the zones, the cluster cannot start",
            "list two or more primary instance types of the same size",
        )


def narrow_spot(props: dict[str, Any]) -> Iterator[Advice]:
    """A Spot task fleet of too few instance types, or of one family."""
    for fleet in props.get("Instances", {}).get("TaskInstanceFleets", []):
        if int(fleet.get("TargetSpotCapacity", 0)) <= 0:
            continue
        types = [c["InstanceType"] for c in fleet.get("InstanceTypeConfigs", [])]
        families = {t.split(".")[0] for t in types}
        if len(types) < SPOT_TYPES_MINIMUM or len(families) < 2:
            yield Advice(
                "narrow-spot",
                f"Spot task fleet {fleet.get('Name', '?')} has {len(types)} instance type(s) in {len(families)} "
                "family(ies): one Spot pool's shortage or reclaim takes most of its capacity",
                f"list at least {SPOT_TYPES_MINIMUM} types from two or more families",
            )


def no_idle_timeout(props: dict[str, Any]) -> Iterator[Advice]:
    """A cluster that can be terminated (not a protected production one) and never stops when idle."""
    protected = props.get("Instances", {}).get("TerminationProtected") is True
    if not protected and not props.get("AutoTerminationPolicy"):
        yield Advice(
            "no-idle-timeout",
            "the cluster has no idle timeout and no termination protection: an idle one is paid for until someone "
            "terminates it",
            "set idle_timeout_minutes (or make it transient)",
        )


def on_demand_growth(props: dict[str, Any]) -> Iterator[Advice]:
    """Managed scaling without an On-Demand cap, or with one above the core cap: growth lands on On-Demand."""
    limits = props.get("ManagedScalingPolicy", {}).get("ComputeLimits", {})
    if not limits or not props.get("Instances", {}).get("TaskInstanceFleets"):
        return
    cap = limits.get("MaximumOnDemandCapacityUnits")
    core = limits.get("MaximumCoreCapacityUnits")
    if cap is None or (isinstance(core, int) and isinstance(cap, int) and cap > core):
        shown = "no On-Demand cap" if cap is None else f"an On-Demand cap ({cap}) above the core cap ({core})"
        yield Advice(
            "on-demand-growth",
            f"managed scaling has {shown}: task nodes added under load are On-Demand, not Spot",
            "set maximum_on_demand_capacity_units to the core cap, so that growth beyond core is Spot",
        )


RULES: tuple[Callable[[dict[str, Any]], Iterator[Advice]], ...] = (
    launch_below_floor,
    core_without_redundancy,
    single_primary_type,
    narrow_spot,
    no_idle_timeout,
    on_demand_growth,
)


TRANSIENT_EXEMPT = frozenset({"core_without_redundancy"})
"""Rules that do not apply to a transient cluster: a run's HDFS holds only its own intermediate data, lost with the
cluster anyway (its input and output are in S3)."""


def advise(props: dict[str, Any], *, transient: bool = False) -> list[Advice]:
    """Every rule's advice on a cluster's CloudFormation properties (a transient run's cluster: ``transient``);
    values known only at deploy time are skipped."""
    found: list[Advice] = []
    for rule in RULES:
        if transient and rule.__name__ in TRANSIENT_EXEMPT:
            continue
        try:
            found += list(rule(props))
        except (TypeError, ValueError, KeyError, AttributeError):
            continue  # an unresolved CloudFormation expression: nothing to say at synth
    return found
