"""Capacity and cost of a cluster as synthesized: instances, vCPUs, Spot share and an hourly cost range.

Reads an ``AWS::EMR::Cluster``'s CloudFormation properties (what would be deployed), prices them with
:class:`emr_platform.tools.pricing.PriceTable`, and compares with an all-On-Demand x86 cluster of the same capacity.

The model, stated so that nobody mistakes an estimate for a quote:

- capacity runs from the launch size (or managed scaling's minimum) to managed scaling's maximum; the core fleet
  or group grows up to ``MaximumCoreCapacityUnits`` and the rest goes to task nodes; On-Demand units (core and
  task) stop at ``MaximumOnDemandCapacityUnits`` and the rest is Spot;
- the low end prices the cheapest capacity unit of each fleet with Spot at :data:`SPOT_TYPICAL` of On-Demand; the
  high end the dearest unit with Spot at its bid cap (100 % unless a bid is set);
- the comparison prices the launch capacity at the listed types' average unit price, against the x86 equivalents
  of the same types, all On-Demand; EMR's charge applies to both, to Spot as to On-Demand;
- EBS, data transfer and public IPv4 addresses are not included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from emr_platform.tools.pricing import InstancePrice, PriceTable

SPOT_TYPICAL = 0.35
"""Spot at about 35 % of On-Demand (a 65 % saving): a typical figure for diversified Graviton and x86 pools in
large regions; real Spot prices move with supply and demand."""


@dataclass
class NodeCapacity:
    """One node type (primary, core or task) of a cluster."""

    role: str
    configs: list[dict[str, Any]]  # InstanceTypeConfigs of a fleet, or the one group
    on_demand_units: int
    spot_units: int
    min_units: int = 0
    max_units: int = 0
    markets: dict[str, tuple[int, int]] = field(default_factory=dict)  # point -> (On-Demand, Spot) units
    prices: list[tuple[InstancePrice, int, float]] = field(default_factory=list)  # priced types

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

    def instances(self, units: int) -> tuple[int, int]:
        """Fewest and most instances that make ``units`` (largest and smallest weight)."""
        if units <= 0 or not self.types:
            return 0, 0
        weights = [w for _, w in self.types]
        return -(-units // max(weights)), -(-units // min(weights))

    def vcpus(self, units: int) -> tuple[int, int] | None:
        """vCPUs of ``units``, for the least and most vCPU-dense priced types; None without prices."""
        per_unit = [p.vcpus / w for p, w, _ in self.prices]
        if not per_unit:
            return None
        return round(units * min(per_unit)), round(units * max(per_unit))

    def unit_prices(self, spot_fraction: float | None) -> list[tuple[float, float]]:
        """(On-Demand, Spot) price per unit of each priced type; Spot at ``spot_fraction`` or at the type's bid."""
        return [
            (p.on_demand / w, p.spot(spot_fraction if spot_fraction is not None else bid) / w)
            for p, w, bid in self.prices
        ]


@dataclass
class ClusterCost:
    """Capacity and estimated cost of one cluster."""

    name: str
    region: str
    nodes: list[NodeCapacity]
    low: float | None
    high: float | None
    launch: float | None
    baseline: float | None
    spot_share_launch: float
    spot_share_max: float
    unpriced: list[str]
    emr_estimated: bool
    note: str = ""

    @property
    def saving(self) -> float | None:
        """The launch cost's saving against all-On-Demand x86 (0.62 = 62 % cheaper)."""
        if self.launch is None or not self.baseline:
            return None
        return 1 - self.launch / self.baseline


def _bid_fraction(config: dict[str, Any], price: InstancePrice | None) -> float:
    # A Spot instance never costs more than On-Demand, whatever the bid: a cap above 100 % prices as 100 %.
    percent = config.get("BidPriceAsPercentageOfOnDemandPrice")
    if percent is not None:
        return min(float(percent) / 100, 1.0)
    bid = config.get("BidPrice")
    if bid is not None and price is not None and price.ec2 > 0:
        return min(float(bid) / price.ec2, 1.0)
    return 1.0


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
    """Set each node's (On-Demand, Spot) units at ``point`` (``min``, ``launch`` or ``max``).

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
        units = {"min": node.min_units, "launch": node.launch_units, "max": node.max_units}[point]
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


def estimate(name: str, region: str, props: dict[str, Any], table: PriceTable) -> ClusterCost:
    """Capacity and cost of the cluster whose CloudFormation properties are ``props``.

    Values that are not plain numbers and strings (unresolved CloudFormation expressions) are not estimated.
    """
    try:
        return _estimate(name, region, props, table)
    except (TypeError, ValueError, KeyError) as error:
        return ClusterCost(
            name,
            region,
            [],
            None,
            None,
            None,
            None,
            0.0,
            0.0,
            [],
            False,
            note=f"not estimated: a capacity value is known only at deploy time ({type(error).__name__})",
        )


def _estimate(name: str, region: str, props: dict[str, Any], table: PriceTable) -> ClusterCost:
    nodes = _nodes(props.get("Instances", {}))
    limits = props.get("ManagedScalingPolicy", {}).get("ComputeLimits")
    note = ""
    if limits and limits.get("UnitType") == "VCPU":
        limits = None
        note = "managed scaling limits in vCPUs are not split per node type: capacity and cost at launch size"
    _apply_limits(nodes, limits)
    unpriced: list[str] = []
    emr_estimated = False
    for node in nodes:
        for config, (instance_type, weight) in zip(node.configs, node.types, strict=True):
            price = table.get(region, instance_type)
            if price is None:
                unpriced.append(instance_type)
                continue
            emr_estimated = emr_estimated or price.emr_estimated
            node.prices.append((price, weight, _bid_fraction(config, price)))

    cap = limits.get("MaximumOnDemandCapacityUnits", limits.get("MaximumCapacityUnits")) if limits else None
    for point in ("min", "launch", "max"):
        _split(nodes, point, int(cap) if cap is not None else None, managed=limits is not None)

    low = high = launch = baseline = None
    if nodes and all(n.prices for n in nodes):
        low = sum(_cost(n, "min", SPOT_TYPICAL, pick=min) for n in nodes)
        high = sum(_cost(n, "max", None, pick=max) for n in nodes)
        launch = sum(_cost(n, "launch", SPOT_TYPICAL, pick=mean) for n in nodes)
        baseline = _baseline(nodes, region, table)
    return ClusterCost(
        name=name,
        region=region,
        nodes=nodes,
        low=low,
        high=high,
        launch=launch,
        baseline=baseline,
        spot_share_launch=_share(nodes, "launch"),
        spot_share_max=_share(nodes, "max"),
        unpriced=sorted(set(unpriced)),
        emr_estimated=emr_estimated,
        note=note,
    )


def _cost(node: NodeCapacity, point: str, spot_fraction: float | None, *, pick: Any) -> float:
    """Hourly cost of ``node`` at ``point``, at the ``pick`` (min / max / mean) unit price of its types."""
    on_demand_units, spot_units = node.markets[point]
    prices = node.unit_prices(spot_fraction)
    return on_demand_units * float(pick([p for p, _ in prices])) + spot_units * float(pick([s for _, s in prices]))


def _baseline(nodes: list[NodeCapacity], region: str, table: PriceTable) -> float | None:
    """The launch capacity, all On-Demand, on the x86 equivalents of each node type's instance types."""
    total = 0.0
    for node in nodes:
        per_unit = []
        for price, weight, _ in node.prices:
            x86 = table.x86_equivalent(price.instance_type)
            x86_price = table.get(region, x86) if x86 else None
            if x86_price is None:
                return None
            per_unit.append(x86_price.on_demand / weight)
        total += node.launch_units * mean(per_unit)
    return total
