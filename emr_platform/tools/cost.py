"""Capacity and cost of a cluster as synthesized, at the sizes it really runs: its scaling floor, launch size, maximum.

Reads an ``AWS::EMR::Cluster``'s CloudFormation properties (or a transient cluster's ``RunJobFlow`` request, in the
same shape), prices them with :class:`emr_platform.tools.pricing.PriceTable`, and compares each size with the same
cluster all On-Demand on x86. The model, stated so that nobody mistakes an estimate for a quote:

- sizes: the **floor** is managed scaling's minimum (or custom autoscaling's ``MinCapacity``; the launch size without
  scaling), the **launch** size is the fleets' targets, the **maximum** is managed scaling's maximum. Between them
  capacity moves as EMR's node allocation strategy moves it (:func:`_allocate`); the primary never scales;
- markets: the launch size keeps its own On-Demand / Spot mix (scaled down below it); growth under managed scaling
  is On-Demand until ``MaximumOnDemandCapacityUnits`` (EMR's default without a cap: all On-Demand), then Spot;
- types: On-Demand capacity lands on the cheapest type per unit (EMR's ``lowest-price`` allocation, the only one
  this package sets); Spot capacity spreads over the listed types by spare capacity, so it is priced at their
  average unit price;
- prices: EC2 On-Demand and EMR's per-type charge from the table; Spot at the table's ratio for the region and
  type or family, plus EMR's full charge (EMR bills Spot instances the same); a bid below that ratio is warned about
  and priced at On-Demand if the fleet falls back to it, at the bid otherwise; a declared commitment
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

from emr_platform.spec.cost import COST_METADATA, CommitmentSpec
from emr_platform.spec.errors import PropError
from emr_platform.tools.pricing import InstancePrice, PriceTable, SpotRatio

__all__ = ["COST_METADATA", "HOURS_PER_MONTH", "POINTS", "ClusterCost", "estimate"]

HOURS_PER_MONTH = 730
"""Hours in a month, as AWS's pricing calculator counts them (8,760 / 12)."""

Point = Literal["floor", "launch", "max"]
POINTS: tuple[Point, ...] = ("floor", "launch", "max")


def _commitment(entry: object) -> CommitmentSpec:
    """A commitment from its metadata entry (``roles`` for the settings' ``covers``), checked by the settings' own
    rules.

    :raises PropError: the entry is not one the settings would have written.
    """
    if isinstance(entry, Mapping) and "roles" in entry:
        entry = {("covers" if k == "roles" else k): v for k, v in entry.items()}
    return CommitmentSpec.parse(entry, where=f"{COST_METADATA} commitment")


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

    @property
    def bid_below_market(self) -> bool:
        """A bid cap below the typical Spot price: EMR is unlikely to get this type's Spot capacity."""
        return self.bid < self.spot.value

    def unit_spot(self, switch_to_on_demand: bool) -> float:
        """A typical Spot unit: at the market ratio; under a bid below it, at On-Demand when the fleet falls back to
        it, else at the bid (what little capacity it gets; the summary warns)."""
        if not self.bid_below_market:
            return self.price.spot(self.spot.value) / self.weight
        return self.unit_on_demand() if switch_to_on_demand else self.unit_spot_at_bid()

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
    market: str | None = None  # an instance group's market (its growth's market, even from zero instances)
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
        """The Spot share of the launch size; a group's own market when it launches with none."""
        if not self.launch_units:
            return 1.0 if self.market == "SPOT" else 0.0
        return self.spot_units / self.launch_units

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
    commitments: list[CommitmentSpec]
    unpriced: list[str]
    emr_estimated: bool
    unused_commitments: list[CommitmentSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    transient: bool = False
    typical_run_minutes: int | None = None
    timeout_minutes: int | None = None
    note: str = ""

    @property
    def priced(self) -> bool:
        return bool(self.points)

    def per_run(self, minutes: int | None, *, worst: bool = False) -> float | None:
        """A transient run's cost for ``minutes`` at the launch size, typical or at worst-case prices (EMR bills per
        second, one minute at least)."""
        if minutes is None or "launch" not in self.points:
            return None
        hourly = self.worst if worst and self.worst is not None else self.points["launch"].hourly
        return hourly * max(minutes, 1) / 60


def _bid_fraction(config: dict[str, Any], price: InstancePrice) -> float:
    # A Spot instance never costs more than On-Demand, whatever the bid: a cap above 100 % prices as 100 %.
    percent = config.get("BidPriceAsPercentageOfOnDemandPrice")
    if percent is not None:
        return min(float(percent) / 100, 1.0)
    bid = config.get("BidPrice")
    if bid == "OnDemandPrice":  # the EMR API's way of bidding On-Demand
        return 1.0
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
            role=role,
            configs=[group],
            on_demand_units=0 if spot else count,
            spot_units=count if spot else 0,
            market="SPOT" if spot else "ON_DEMAND",
        )
        constraints = group.get("AutoScalingPolicy", {}).get("Constraints")
        if constraints:
            node.min_units, node.max_units = int(constraints["MinCapacity"]), int(constraints["MaxCapacity"])
        nodes.append(node)
    return nodes


def _apply_limits(nodes: list[NodeCapacity], limits: dict[str, Any] | None) -> None:
    """Each node's units at managed scaling's minimum and maximum (the primary never scales; without managed
    scaling a node keeps its launch size, or its group's autoscaling constraints)."""
    for node in nodes:
        if node.max_units == 0:
            node.min_units = node.min_units or node.launch_units
            node.max_units = node.launch_units
    if not limits:
        return
    core = [n for n in nodes if n.role == "core"]
    tasks = [n for n in nodes if n.role == "task"]
    total_max = int(limits["MaximumCapacityUnits"])
    core_cap = min(int(limits.get("MaximumCoreCapacityUnits", total_max)), total_max)
    for total, attribute in ((int(limits["MinimumCapacityUnits"]), "min_units"), (total_max, "max_units")):
        for node, units in zip([*core, *tasks], _allocate(total, core, tasks, core_cap), strict=True):
            setattr(node, attribute, units)


def _allocate(total: int, core: list[NodeCapacity], tasks: list[NodeCapacity], core_cap: int) -> list[int]:
    """Core then task units when managed scaling holds ``total`` of them. From the launch size EMR adds core units
    up to the core cap, then task units; below it, it removes task units first, then core units (EMR Management
    Guide, "Managed scaling node allocation strategy"). Task nodes share in proportion to their launch sizes."""
    core_launch = [n.launch_units for n in core]
    task_launch = [n.launch_units for n in tasks]
    launch = sum(core_launch) + sum(task_launch)
    if total >= launch:
        core_extra = min(total - launch, max(0, core_cap - sum(core_launch)))
        task_extra = total - launch - core_extra if tasks else 0
        core_units = [u + e for u, e in zip(core_launch, _spread(core_extra, core_launch), strict=True)]
        task_units = [u + e for u, e in zip(task_launch, _spread(task_extra, task_launch), strict=True)]
        return core_units + task_units
    cut = launch - total
    task_cut = min(cut, sum(task_launch))
    core_cut = min(cut - task_cut, max(0, sum(core_launch) - len(core)))  # a core node stays: HDFS and the AMs
    task_units = [u - c for u, c in zip(task_launch, _spread(task_cut, task_launch), strict=True)]
    core_units = [u - c for u, c in zip(core_launch, _spread(core_cut, core_launch), strict=True)]
    return core_units + task_units


def _spread(amount: int, weights: list[int]) -> list[int]:
    """``amount`` split in proportion to ``weights`` (evenly when they are all 0), largest remainders first."""
    if not weights:
        return []
    if not any(weights):
        weights = [1] * len(weights)
    shares = [amount * w / sum(weights) for w in weights]
    parts = [int(share) for share in shares]
    for i in sorted(range(len(parts)), key=lambda i: parts[i] - shares[i])[: amount - sum(parts)]:
        parts[i] += 1
    return parts


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
        on_demand = round(base * (1 - node.spot_share_at_launch))
        growth = units - base
        if growth and managed and node.role != "primary":
            extra = int(min(growth, max(0.0, budget)))
            budget -= extra
        else:
            extra = round(growth * (1 - node.spot_share_at_launch))
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
    metadata: object = None,
    transient: bool = False,
) -> ClusterCost:
    """Capacity and cost of the cluster whose CloudFormation properties are ``props``; ``metadata`` is the
    resource's :data:`COST_METADATA` entry (commitments, a transient run's duration), if any.

    Values that are not plain numbers and strings (unresolved CloudFormation expressions) are not estimated.
    """
    try:
        parsed = _metadata(metadata)
        problem = ""
    except (PropError, ValueError) as error:
        parsed, problem = _CostMetadata(), f"{COST_METADATA} metadata ignored: {error}"
    try:
        cost = _estimate(name, region, props, table, parsed.commitments)
    except (TypeError, ValueError, KeyError, AttributeError) as error:
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
    cost.typical_run_minutes = parsed.typical_run_minutes
    cost.timeout_minutes = parsed.timeout_minutes
    if problem:
        cost.warnings.insert(0, problem)
    return cost


@dataclass(frozen=True)
class _CostMetadata:
    commitments: tuple[CommitmentSpec, ...] = ()
    typical_run_minutes: int | None = None
    timeout_minutes: int | None = None


def _metadata(metadata: object) -> _CostMetadata:
    """The resource's :data:`COST_METADATA` entry, checked: what the constructs write, or an error naming the field."""
    if metadata is None:
        return _CostMetadata()
    if not isinstance(metadata, Mapping):
        raise ValueError(f"expected a mapping, got {type(metadata).__name__}")
    commitments = metadata.get("commitments", [])
    if not isinstance(commitments, list):
        raise ValueError(f"commitments: expected a list, got {type(commitments).__name__}")
    minutes = {}
    for key in ("typical_run_minutes", "timeout_minutes"):
        value = metadata.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{key}: expected a whole number of minutes, got {value!r}")
        minutes[key] = value
    return _CostMetadata(tuple(_commitment(c) for c in commitments), **minutes)


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
    name: str, region: str, props: dict[str, Any], table: PriceTable, commitments: Sequence[CommitmentSpec]
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
    spot_nodes = [n for n in nodes if any(n.markets[point][1] for point in POINTS)]
    ratios = {(p.spot.scope, p.spot.value): p.spot for n in spot_nodes for p in n.priced}
    covering = [
        c
        for c in commitments
        if any(
            n.priced and n.markets["floor"][0] and c.applies_to(n.role, n.cheapest.price.instance_type) for n in nodes
        )
    ]
    warnings = [
        f"{p.price.instance_type}'s Spot bid ({p.bid:.0%} of On-Demand) is below its typical Spot price "
        f"({p.spot.value:.0%}): EMR is unlikely to get that capacity"
        + (", and falls back to On-Demand" if n.switch_to_on_demand else "")
        for n in spot_nodes
        for p in n.priced
        if p.bid_below_market
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
        unused_commitments=[c for c in commitments if c not in covering],
        warnings=warnings,
        unpriced=sorted(set(unpriced)),
        emr_estimated=any(p.price.emr_estimated or p.x86.emr_estimated for n in nodes for p in n.priced),
        note=note,
    )


def _on_demand_cost(node: NodeCapacity, units: int, commitments: Sequence[CommitmentSpec], pick: PricedType) -> float:
    """``units`` On-Demand units on ``pick``; a covering commitment discounts those up to the floor's count."""
    discount = max(
        (c.discount_percent / 100 for c in commitments if c.applies_to(node.role, pick.price.instance_type)),
        default=0.0,
    )
    covered = min(units, node.markets["floor"][0]) if discount else 0
    return covered * pick.unit_on_demand(discount) + (units - covered) * pick.unit_on_demand()


def _hourly(
    node: NodeCapacity,
    point: str,
    commitments: Sequence[CommitmentSpec],
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
        p.unit_spot(node.switch_to_on_demand) for p in node.priced
    )


def _baseline(node: NodeCapacity, point: str) -> float:
    """``node`` at ``point`` with its types' x86 twins, all On-Demand at list price, by the same type rules."""
    on_demand, spot = node.markets[point]
    return on_demand * min(p.unit_x86() for p in node.priced) + spot * mean(p.unit_x86() for p in node.priced)
