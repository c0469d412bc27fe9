"""Capacity and cost of a cluster as synthesized, at the sizes it really runs: its scaling floor, launch size, maximum.

Reads an ``AWS::EMR::Cluster``'s CloudFormation properties (or a transient cluster's ``RunJobFlow`` request, in the
same shape), prices them with :class:`emr_platform.tools.pricing.PriceTable`, and compares each size with the same
cluster all On-Demand on x86. The model, stated so that nobody mistakes an estimate for a quote:

- sizes: the **floor** is managed scaling's minimum (or custom autoscaling's ``MinCapacity``; the launch size without
  scaling), the **launch** size is the fleets' targets, the **maximum** is managed scaling's maximum. The core fleet
  or group grows up to ``MaximumCoreCapacityUnits`` and the rest goes to task nodes; the primary never scales;
- markets: the launch size keeps its own On-Demand / Spot mix (scaled down below it); growth under managed scaling
  is On-Demand until ``MaximumOnDemandCapacityUnits`` (EMR's default without a cap: all On-Demand), then Spot;
- types: On-Demand capacity lands on the cheapest type per unit (EMR's ``lowest-price`` allocation, the only one
  this package sets); Spot capacity spreads over the listed types by spare capacity, so it is priced at their
  average unit price;
- prices: EC2 On-Demand and EMR's per-type charge from the table; Spot at the table's ratio for the region and
  family (never above a bid cap), plus EMR's full charge (EMR bills Spot instances the same); a declared commitment
  (Savings Plan or reservation) takes its discount off the EC2 price of the On-Demand instances it covers, up to
  the number running at the floor (what an hourly commitment or a set of reservations is sized to);
- the **worst case** is the maximum size on the dearest types, with Spot at its bid cap, or at On-Demand when a
  fleet falls back to it (``SWITCH_TO_ON_DEMAND``); **Spot short at launch** prices those fleets' Spot units On-Demand;
- the **baseline** is the same cluster with each Graviton type swapped for its x86 twin, all On-Demand at list
  price, by the same type rules; EMR's charge applies to both;
- per month is 730 hours (AWS's pricing calculator); a transient cluster is priced per run, for its declared
  typical duration and at most its timeout (EMR bills per second);
- EBS, data transfer and public IPv4 addresses are not included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import mean
from typing import Any, Literal

from emr_platform.spec.cost import COST_METADATA
from emr_platform.tools.pricing import InstancePrice, PriceTable, SpotRatio

__all__ = ["COST_METADATA", "HOURS_PER_MONTH", "POINTS", "ClusterCost", "Commitment", "estimate"]

HOURS_PER_MONTH = 730
"""Hours in a month, as AWS's pricing calculator counts them (8,760 / 12)."""

Point = Literal["floor", "launch", "max"]
POINTS: tuple[Point, ...] = ("floor", "launch", "max")


@dataclass(frozen=True)
class Commitment:
    """A Savings Plan or reservation discount, as declared in settings and carried in the template's metadata."""

    name: str
    kind: str
    discount: float  # fraction off the EC2 On-Demand price
    roles: tuple[str, ...]
    instance_types: tuple[str, ...] = ()  # types or families ("m7g"); empty: any type (a Compute Savings Plan)

    @classmethod
    def from_metadata(cls, data: Mapping[str, Any]) -> Commitment:
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            discount=float(data["discount_percent"]) / 100,
            roles=tuple(data["roles"]),
            instance_types=tuple(data.get("instance_types", ())),
        )

    def covers(self, role: str, instance_type: str) -> bool:
        """Whether this commitment discounts an On-Demand ``instance_type`` of ``role``."""
        if role not in self.roles:
            return False
        family = instance_type.split(".", 1)[0]
        return not self.instance_types or instance_type in self.instance_types or family in self.instance_types


@dataclass
class PricedType:
    """One instance type of a node, priced."""

    price: InstancePrice
    weight: int
    bid: float  # the Spot bid cap as a fraction of On-Demand EC2 (1.0 without a bid)
    spot: SpotRatio
    x86: InstancePrice

    def unit_on_demand(self, discount: float = 0.0) -> float:
        return self.price.committed(discount) / self.weight

    def unit_spot(self) -> float:
        return self.price.spot(min(self.spot.value, self.bid)) / self.weight

    def unit_spot_at_bid(self) -> float:
        return self.price.spot(self.bid) / self.weight

    def unit_x86(self) -> float:
        return self.x86.on_demand / self.weight


@dataclass
class NodeCapacity:
    """One node type (primary, core or task) of a cluster."""

    role: str
    configs: list[dict[str, Any]]  # InstanceTypeConfigs of a fleet, or the one group
    on_demand_units: int
    spot_units: int
    switch_to_on_demand: bool = False  # the fleet's Spot request falls back to On-Demand at launch
    min_units: int = 0
    max_units: int = 0
    markets: dict[str, tuple[int, int]] = field(default_factory=dict)  # point -> (On-Demand, Spot) units
    priced: list[PricedType] = field(default_factory=list)

    @property
    def types(self) -> list[tuple[str, int]]:
        """(instance type, weighted capacity) of each configured type."""
        return [(c["InstanceType"], int(c.get("WeightedCapacity", 1))) for c in self.configs]

    @property
    def launch_units(self) -> int:
        return self.on_demand_units + self.spot_units

    @property
    def spot_share_at_launch(self) -> float:
        return self.spot_units / self.launch_units if self.launch_units else 0.0

    def units(self, point: str) -> int:
        return {"floor": self.min_units, "launch": self.launch_units, "max": self.max_units}[point]

    def instances(self, units: int) -> tuple[int, int]:
        """Fewest and most instances that make ``units`` (largest and smallest weight)."""
        if units <= 0 or not self.types:
            return 0, 0
        weights = [w for _, w in self.types]
        return -(-units // max(weights)), -(-units // min(weights))

    def vcpus(self, units: int) -> tuple[int, int] | None:
        """vCPUs of ``units``, for the least and most vCPU-dense priced types; None without prices."""
        per_unit = [p.price.vcpus / p.weight for p in self.priced]
        if not per_unit:
            return None
        return round(units * min(per_unit)), round(units * max(per_unit))

    @property
    def cheapest(self) -> PricedType:
        """Where On-Demand capacity lands: the lowest On-Demand price per unit."""
        return min(self.priced, key=lambda p: p.unit_on_demand())


@dataclass(frozen=True)
class PointCost:
    """Hourly cost of a cluster at one size."""

    units: int  # core and task units (what managed scaling counts)
    hourly: float
    baseline: float  # all On-Demand x86, list price

    @property
    def saving(self) -> float:
        """The saving against the baseline (0.46 = 46 % cheaper)."""
        return 1 - self.hourly / self.baseline if self.baseline else 0.0

    @property
    def monthly(self) -> float:
        return self.hourly * HOURS_PER_MONTH


@dataclass
class ClusterCost:
    """Capacity and estimated cost of one cluster."""

    name: str
    region: str
    nodes: list[NodeCapacity]
    points: dict[Point, PointCost]
    worst: float | None  # maximum size, dearest types, Spot at its bid cap or On-Demand fallback
    spot_short: float | None  # launch size with SWITCH_TO_ON_DEMAND fleets' Spot units On-Demand (None: no such)
    spot_share: dict[Point, float]
    spot_ratios: list[SpotRatio]
    commitments: list[Commitment]
    unpriced: list[str]
    emr_estimated: bool
    transient: bool = False
    typical_run_minutes: int | None = None
    timeout_minutes: int | None = None
    note: str = ""

    @property
    def priced(self) -> bool:
        return bool(self.points)

    def per_run(self, minutes: int | None) -> float | None:
        """A transient run's cost for ``minutes`` at the launch size (EMR bills per second, one minute at least)."""
        if minutes is None or "launch" not in self.points:
            return None
        return self.points["launch"].hourly * max(minutes, 1) / 60


def _bid_fraction(config: dict[str, Any], price: InstancePrice) -> float:
    # A Spot instance never costs more than On-Demand, whatever the bid: a cap above 100 % prices as 100 %.
    percent = config.get("BidPriceAsPercentageOfOnDemandPrice")
    if percent is not None:
        return min(float(percent) / 100, 1.0)
    bid = config.get("BidPrice")
    if bid is not None and price.ec2 > 0:
        return min(float(bid) / price.ec2, 1.0)
    return 1.0


def _switches(fleet: dict[str, Any]) -> bool:
    spec = fleet.get("LaunchSpecifications", {}).get("SpotSpecification", {})
    return bool(spec.get("TimeoutAction") == "SWITCH_TO_ON_DEMAND")


def _nodes(instances: dict[str, Any]) -> list[NodeCapacity]:
    nodes: list[NodeCapacity] = []
    fleets = [("primary", instances.get("MasterInstanceFleet")), ("core", instances.get("CoreInstanceFleet"))]
    fleets += [("task", f) for f in instances.get("TaskInstanceFleets", [])]
    for role, fleet in fleets:
        if fleet is not None:
            nodes.append(
                NodeCapacity(
                    role=role,
                    configs=list(fleet["InstanceTypeConfigs"]),
                    on_demand_units=int(fleet.get("TargetOnDemandCapacity", 0)),
                    spot_units=int(fleet.get("TargetSpotCapacity", 0)),
                    switch_to_on_demand=_switches(fleet),
                )
            )
    groups = [("primary", instances.get("MasterInstanceGroup")), ("core", instances.get("CoreInstanceGroup"))]
    groups += [("task", g) for g in instances.get("TaskInstanceGroups", [])]
    for role, group in groups:
        if group is None:
            continue
        spot = group.get("Market") == "SPOT"
        count = int(group["InstanceCount"])
        node = NodeCapacity(
            role=role, configs=[group], on_demand_units=0 if spot else count, spot_units=count if spot else 0
        )
        constraints = group.get("AutoScalingPolicy", {}).get("Constraints")
        if constraints:
            node.min_units, node.max_units = int(constraints["MinCapacity"]), int(constraints["MaxCapacity"])
        nodes.append(node)
    return nodes


def _apply_limits(nodes: list[NodeCapacity], limits: dict[str, Any] | None) -> None:
    """Spread managed scaling's limits over core and task nodes (primary never scales)."""
    for node in nodes:
        if node.max_units == 0:
            node.min_units = node.min_units or node.launch_units
            node.max_units = node.launch_units
    if not limits:
        return
    core = [n for n in nodes if n.role == "core"]
    tasks = [n for n in nodes if n.role == "task"]
    total_max = int(limits["MaximumCapacityUnits"])
    total_min = int(limits["MinimumCapacityUnits"])
    core_launch = sum(n.launch_units for n in core)
    core_max = min(int(limits.get("MaximumCoreCapacityUnits", total_max)), total_max)
    for node in core:
        node.max_units = max(node.launch_units, core_max)
        node.min_units = node.launch_units
    task_max = max(0, total_max - core_max if tasks else 0)
    task_min = max(0, total_min - core_launch)
    for node in tasks:
        node.max_units = task_max // len(tasks)
        node.min_units = min(task_min // len(tasks), node.max_units)


def _split(nodes: list[NodeCapacity], point: str, on_demand_cap: int | None, managed: bool) -> None:
    """Set each node's (On-Demand, Spot) units at ``point`` (``floor``, ``launch`` or ``max``).

    Launch capacity keeps its own market mix (scaled down proportionally below it). Growth beyond launch: under
    managed scaling, On-Demand until the cluster's On-Demand cap (core and task nodes; no cap means all
    On-Demand, EMR's default), then Spot; otherwise (custom autoscaling of a group) the node's own market.
    """
    budget = (
        float("inf")
        if on_demand_cap is None
        else on_demand_cap - sum(n.on_demand_units for n in nodes if n.role != "primary")
    )
    for node in nodes:
        units = node.units(point)
        base = min(units, node.launch_units)
        on_demand = round(base * (1 - node.spot_share_at_launch)) if node.launch_units else 0
        growth = units - base
        if growth and managed and node.role != "primary":
            extra = int(min(growth, max(0.0, budget)))
            budget -= extra
        else:
            extra = round(growth * (1 - node.spot_share_at_launch)) if node.launch_units else growth
        node.markets[point] = (on_demand + extra, units - on_demand - extra)


def _share(nodes: list[NodeCapacity], point: str) -> float:
    spot = sum(n.markets[point][1] for n in nodes)
    total = spot + sum(n.markets[point][0] for n in nodes)
    return spot / total if total else 0.0


def estimate(
    name: str,
    region: str,
    props: dict[str, Any],
    table: PriceTable,
    *,
    metadata: Mapping[str, Any] | None = None,
    transient: bool = False,
) -> ClusterCost:
    """Capacity and cost of the cluster whose CloudFormation properties are ``props``; ``metadata`` is the
    resource's :data:`COST_METADATA` entry (commitments, a transient run's duration), if any.

    Values that are not plain numbers and strings (unresolved CloudFormation expressions) are not estimated.
    """
    metadata = metadata or {}
    try:
        cost = _estimate(name, region, props, table, metadata)
    except (TypeError, ValueError, KeyError) as error:
        cost = ClusterCost(
            name,
            region,
            [],
            {},
            None,
            None,
            {},
            [],
            [],
            [],
            False,
            note=f"not estimated: a capacity value is known only at deploy time ({type(error).__name__})",
        )
    cost.transient = transient
    cost.typical_run_minutes = metadata.get("typical_run_minutes")
    cost.timeout_minutes = metadata.get("timeout_minutes")
    return cost


def _price_types(node: NodeCapacity, region: str, table: PriceTable, unpriced: list[str]) -> bool:
    """Fill ``node.priced``; False (and the missing names in ``unpriced``) when a type lacks a price."""
    complete = True
    for config, (instance_type, weight) in zip(node.configs, node.types, strict=True):
        price = table.get(region, instance_type)
        x86_type = table.x86_equivalent(instance_type)
        x86 = table.get(region, x86_type) if x86_type else None
        spot = table.spot_ratio(region, instance_type)
        if price is None or x86 is None or spot is None:
            unpriced.append(instance_type if price is None else f"{instance_type} (its x86 twin or Spot ratio)")
            complete = False
            continue
        node.priced.append(PricedType(price, weight, _bid_fraction(config, price), spot, x86))
    return complete


def _estimate(
    name: str, region: str, props: dict[str, Any], table: PriceTable, metadata: Mapping[str, Any]
) -> ClusterCost:
    nodes = _nodes(props.get("Instances", {}))
    limits = props.get("ManagedScalingPolicy", {}).get("ComputeLimits")
    note = ""
    if limits and limits.get("UnitType") == "VCPU":
        limits = None
        note = "managed scaling limits in vCPUs are not split per node type: capacity and cost at launch size"
    _apply_limits(nodes, limits)
    unpriced: list[str] = []
    complete = all([_price_types(node, region, table, unpriced) for node in nodes])
    cap = limits.get("MaximumOnDemandCapacityUnits", limits.get("MaximumCapacityUnits")) if limits else None
    for point in POINTS:
        _split(nodes, point, int(cap) if cap is not None else None, managed=limits is not None)
    commitments = [Commitment.from_metadata(c) for c in metadata.get("commitments", [])]

    points: dict[Point, PointCost] = {}
    worst = spot_short = None
    if nodes and complete:
        for point in POINTS:
            points[point] = PointCost(
                units=sum(n.units(point) for n in nodes if n.role != "primary"),
                hourly=sum(_hourly(n, point, commitments) for n in nodes),
                baseline=sum(_baseline(n, point) for n in nodes),
            )
        worst = sum(_hourly(n, "max", commitments, worst=True) for n in nodes)
        if any(n.switch_to_on_demand and n.markets["launch"][1] for n in nodes):
            spot_short = sum(_hourly(n, "launch", commitments, spot_short=True) for n in nodes)
    ratios = {(p.spot.scope, p.spot.value): p.spot for n in nodes if n.markets["max"][1] for p in n.priced}
    covering = [
        c
        for c in commitments
        if any(n.priced and n.markets["floor"][0] and c.covers(n.role, n.cheapest.price.instance_type) for n in nodes)
    ]
    return ClusterCost(
        name=name,
        region=region,
        nodes=nodes,
        points=points,
        worst=worst,
        spot_short=spot_short,
        spot_share={point: _share(nodes, point) for point in POINTS},
        spot_ratios=[ratios[k] for k in sorted(ratios)],
        commitments=covering,
        unpriced=sorted(set(unpriced)),
        emr_estimated=any(p.price.emr_estimated or p.x86.emr_estimated for n in nodes for p in n.priced),
        note=note,
    )


def _on_demand_cost(node: NodeCapacity, units: int, commitments: Sequence[Commitment], pick: PricedType) -> float:
    """``units`` On-Demand units on ``pick``; a covering commitment discounts those up to the floor's count."""
    discount = max((c.discount for c in commitments if c.covers(node.role, pick.price.instance_type)), default=0.0)
    covered = min(units, node.markets["floor"][0]) if discount else 0
    return covered * pick.unit_on_demand(discount) + (units - covered) * pick.unit_on_demand()


def _hourly(
    node: NodeCapacity,
    point: str,
    commitments: Sequence[Commitment],
    *,
    worst: bool = False,
    spot_short: bool = False,
) -> float:
    """Hourly cost of ``node`` at ``point``: typical, the worst case, or with its Spot units short at launch."""
    on_demand, spot = node.markets[point]
    if worst:
        dearest = max(node.priced, key=lambda p: p.unit_on_demand())
        spot_unit: Callable[[PricedType], float] = (
            PricedType.unit_on_demand if node.switch_to_on_demand else PricedType.unit_spot_at_bid
        )
        return _on_demand_cost(node, on_demand, commitments, dearest) + spot * max(spot_unit(p) for p in node.priced)
    if spot_short and node.switch_to_on_demand:
        return _on_demand_cost(node, on_demand + spot, commitments, node.cheapest)
    return _on_demand_cost(node, on_demand, commitments, node.cheapest) + spot * mean(
        p.unit_spot() for p in node.priced
    )


def _baseline(node: NodeCapacity, point: str) -> float:
    """``node`` at ``point`` with its types' x86 twins, all On-Demand at list price, by the same type rules."""
    on_demand, spot = node.markets[point]
    return on_demand * min(p.unit_x86() for p in node.priced) + spot * mean(p.unit_x86() for p in node.priced)
