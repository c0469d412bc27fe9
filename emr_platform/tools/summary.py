"""A short per-environment summary of a synthesized cloud assembly: stacks, cluster topology, capacity, cost.

Reads the templates in ``cdk.out`` (what would be deployed), not the settings: ``python -m emr_platform.tools.summary``.
``--refresh-prices`` first rewrites the price table from the AWS Price List API (needs AWS credentials) and the
Spot ratios from AWS's Spot Instance Advisor data.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from emr_platform.spec.transient import TRANSIENT_TAG
from emr_platform.tools.advisor import advise
from emr_platform.tools.assembly import AssemblyError, load_manifest, stack_artifacts, stack_template
from emr_platform.tools.cost import COST_METADATA, HOURS_PER_MONTH, POINTS, ClusterCost, estimate
from emr_platform.tools.pricing import PRICE_LIST_REGION, PRICES_FILE, PriceTable, refresh
from emr_platform.tools.topology import by_environment


def summarize(assembly_dir: Path, prices: PriceTable | None = None) -> str:
    """The summary text of every environment in ``assembly_dir`` (its stacks, their clusters), costs from
    ``prices`` (default the package's table)."""
    prices = prices or PriceTable.load()
    lines: list[str] = []
    artifacts = stack_artifacts(load_manifest(assembly_dir))
    templates = {name: stack_template(assembly_dir, artifact) for name, artifact in artifacts.items()}
    for stacks in by_environment(templates).values():
        first = next(iter(stacks))
        env = artifacts[first].get("environment", "")
        region = env.rsplit("/", 1)[-1]
        total = sum(len(t.get("Resources", {})) for t in stacks.values())
        where = f"{env.removeprefix('aws://')}, {total} resources"
        lines.append(f"{first}  ({where}{f' in {len(stacks)} stacks' if len(stacks) > 1 else ''})")
        priced = False
        for name, template in stacks.items():
            resources: dict[str, Any] = template.get("Resources", {})
            if len(stacks) > 1:
                lines.append(f"  stack {name}: {len(resources)} resources")
            block, priced_here = _stack_lines(resources, region, prices)
            lines.extend(block)
            priced = priced or priced_here
        if priced:
            lines.append(f"  {price_sources(prices, region)}")
    return "\n".join(lines)


def _stack_lines(resources: dict[str, Any], region: str, prices: PriceTable) -> tuple[list[str], bool]:
    """The clusters (long-running and transient) and Serverless applications of one stack; whether any was
    priced."""
    lines: list[str] = []
    priced = False
    attached = _attached_task_capacity(resources)
    for logical_id, resource in sorted(resources.items()):
        meta = resource.get("Metadata")
        metadata = meta.get(COST_METADATA) if isinstance(meta, dict) else None
        kind, props = resource.get("Type"), resource.get("Properties", {})
        clusters: list[tuple[dict[str, Any], bool]] = []
        if kind == "AWS::EMR::Cluster":
            clusters = [(_with_attached(props, attached.get(logical_id, [])), False)]
        elif kind == "AWS::StepFunctions::StateMachine":
            try:
                clusters = [(c, True) for c in transient_clusters(props)]
            except ValueError as error:
                lines.append(f"  transient cluster of {logical_id}: not estimated ({error})")
        elif kind == "AWS::EMRServerless::Application":
            lines.append(_serverless_line(props))
        for cluster, transient in clusters:
            block, cost = _cluster_block(logical_id, cluster, region, prices, metadata, transient=transient)
            lines.extend(block)
            priced = priced or (cost is not None and cost.priced)
    return lines, priced


def _cluster_block(
    logical_id: str,
    props: dict[str, Any],
    region: str,
    prices: PriceTable,
    metadata: object,
    *,
    transient: bool,
) -> tuple[list[str], ClusterCost | None]:
    """A cluster's topology, capacity, cost and advice; one line saying why when its template cannot say."""
    try:
        cost = estimate(logical_id, region, props, prices, metadata=metadata, transient=transient)
        lines = _cluster_lines(logical_id, props, transient=transient) + _cost_lines(cost)
        lines.extend(f"    {advice}" for advice in advise(props, transient=transient))
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        what = "transient cluster of" if transient else "cluster"
        return [f"  {what} {logical_id}: not summarized, a value is known only at deploy time ({error!r})"], None
    return lines, cost


ATTACHED_TYPES = {
    "AWS::EMR::InstanceFleetConfig": "TaskInstanceFleets",
    "AWS::EMR::InstanceGroupConfig": "TaskInstanceGroups",
}
"""Task capacity declared beside a cluster, as resources of their own, and where it goes in the cluster's shape."""


def _attached_task_capacity(resources: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Task fleets and groups declared as their own resources, by the logical ID of the cluster they ``Ref``."""
    attached: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for resource in resources.values():
        props = resource.get("Properties", {})
        key = ATTACHED_TYPES.get(resource.get("Type", ""))
        if key is None or not isinstance(props, dict):
            continue
        if props.get("InstanceFleetType", props.get("InstanceRole")) != "TASK":
            continue
        cluster = props.get("ClusterId")
        if isinstance(cluster, dict) and isinstance(cluster.get("Ref"), str):
            attached.setdefault(cluster["Ref"], []).append((key, props))
    return attached


def _with_attached(props: dict[str, Any], attached: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    if not attached:
        return props
    instances = dict(props.get("Instances", {}))
    for key, task in attached:
        instances[key] = [*instances.get(key, []), task]
    return {**props, "Instances": instances}


def price_sources(prices: PriceTable, region: str) -> str:
    """Where an environment's prices come from, in one line; the full sources are in the table."""
    labels = prices.about.get("labels", {})
    spot = prices.region_spot(region)
    parts = [
        f"EC2 On-Demand: {labels.get('ec2', {}).get(region, 'no source')}",
        f"EMR: {labels.get('emr', 'no source')}",
        f"Spot: {spot.label if spot else 'no data'}{_stale(spot.as_of) if spot else ''}",
    ]
    return f"prices ({region}): {'; '.join(parts)}. Sources: emr_platform/data/prices.json"


STALE_AFTER_DAYS = 365
"""Prices older than this are marked in the summary, with the command that refreshes them."""


def _stale(as_of: str) -> str:
    try:
        age = datetime.now(UTC).date() - date.fromisoformat(as_of)
    except ValueError:
        return ""
    return ", over a year old: --refresh-prices" if age.days > STALE_AFTER_DAYS else ""


def transient_clusters(props: dict[str, Any]) -> list[dict[str, Any]]:
    """The clusters a state machine creates (``elasticmapreduce:createCluster`` tasks, nested states included), as
    ``AWS::EMR::Cluster`` properties; references in the definition read as ``<deploy-time>``.

    :raises ValueError: the definition has such a task but cannot be read (the reason).
    """
    definition = props.get("DefinitionString")
    if isinstance(definition, dict) and "Fn::Join" in definition:
        separator, parts = definition["Fn::Join"]
        definition = separator.join(p if isinstance(p, str) else "<deploy-time>" for p in parts)
    if not isinstance(definition, str) or "elasticmapreduce:createCluster" not in definition:
        return []
    try:
        document = json.loads(definition)
    except json.JSONDecodeError:
        raise ValueError("its definition holds deploy-time values outside strings") from None
    return [_as_cluster_properties(request) for request in _create_cluster_requests(document)]


def _create_cluster_requests(node: object) -> Iterator[dict[str, Any]]:
    """Every ``createCluster`` task's request (``Parameters``, or a JSONata state's ``Arguments``), in any state."""
    if isinstance(node, dict):
        resource = node.get("Resource")
        if isinstance(resource, str) and ":states:::elasticmapreduce:createCluster" in resource:
            request = node.get("Parameters", node.get("Arguments"))
            if not isinstance(request, dict):
                raise ValueError("its createCluster request is not a JSON object")
            yield request
            return
        for value in node.values():
            yield from _create_cluster_requests(value)
    elif isinstance(node, list):
        for value in node:
            yield from _create_cluster_requests(value)


def _as_cluster_properties(request: dict[str, Any]) -> dict[str, Any]:
    """A ``RunJobFlow`` request in ``AWS::EMR::Cluster``'s shape (fleets and groups by role).

    :raises ValueError: its capacity is chosen at run time (a ``.$`` path) or is not shaped as RunJobFlow's.
    """
    for key in ("Instances", "ManagedScalingPolicy"):
        if _run_time_keys(request.get(key)) or f"{key}.$" in request:
            raise ValueError(f"its {key} are chosen at run time (a JSONPath)")
    props = {key.removesuffix(".$"): value for key, value in request.items()}
    instances = props.get("Instances", {})
    fleets, groups = instances.get("InstanceFleets", []), instances.get("InstanceGroups", [])
    if not isinstance(instances, dict) or not isinstance(fleets, list) or not isinstance(groups, list):
        raise ValueError("its Instances are not shaped as RunJobFlow's")
    instances = {k: v for k, v in instances.items() if k not in ("InstanceFleets", "InstanceGroups")}
    for fleet in fleets:
        kind = fleet.get("InstanceFleetType")
        if kind == "TASK":
            instances.setdefault("TaskInstanceFleets", []).append(fleet)
        else:
            instances["MasterInstanceFleet" if kind == "MASTER" else "CoreInstanceFleet"] = fleet
    for group in groups:
        kind = group.get("InstanceRole")
        if kind == "TASK":
            instances.setdefault("TaskInstanceGroups", []).append(group)
        else:
            instances["MasterInstanceGroup" if kind == "MASTER" else "CoreInstanceGroup"] = group
    props["Instances"] = instances
    return props


def _run_time_keys(value: object) -> bool:
    if isinstance(value, dict):
        return any(str(k).endswith(".$") or _run_time_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_run_time_keys(v) for v in value)
    return False


def _serverless_line(props: dict[str, Any]) -> str:
    """One EMR Serverless application: engine, release, architecture, maximum capacity, auto-stop."""
    most = props.get("MaximumCapacity", {})
    stop = props.get("AutoStopConfiguration", {})
    warm = sum(c["Value"]["WorkerCount"] for c in props.get("InitialCapacity", []))
    return (
        f"  serverless {props.get('Name')}: {props.get('Type')} {props.get('ReleaseLabel')} {props.get('Architecture')}, "
        f"at most {most.get('Cpu')} / {most.get('Memory')}, {warm} pre-initialized workers, "
        f"stops after {stop.get('IdleTimeoutMinutes')} idle min (billed per use: vCPU, GB and storage hours)"
    )


def _cluster_lines(logical_id: str, props: dict[str, Any], *, transient: bool = False) -> list[str]:
    apps = ", ".join(a["Name"] for a in props.get("Applications", []))
    name = props.get("Name", logical_id)
    instances = props.get("Instances", {})
    idle = props.get("AutoTerminationPolicy", {}).get("IdleTimeout")
    idle_text = f"{idle // 60} min" if isinstance(idle, int) else "none" if idle is None else "set at deploy time"
    if transient:
        tags = {t.get("Key"): t.get("Value") for t in props.get("Tags", []) if isinstance(t, dict)}
        title = f"transient cluster {tags.get(TRANSIENT_TAG) or logical_id} (a cluster per run)"
    else:
        title = f"cluster {name if isinstance(name, str) else logical_id}"
    lines = [
        f"  {title}: {props.get('ReleaseLabel')} [{apps}]",
        f"    termination protection {'on' if instances.get('TerminationProtected') else 'off'}, "
        f"idle timeout {idle_text}",
    ]
    for role, fleet_key, group_key in (
        ("primary", "MasterInstanceFleet", "MasterInstanceGroup"),
        ("core", "CoreInstanceFleet", "CoreInstanceGroup"),
    ):
        if fleet_key in instances:
            lines.append(_fleet_line(role, instances[fleet_key]))
        elif group_key in instances:
            lines.append(_group_line(role, instances[group_key]))
    for fleet in instances.get("TaskInstanceFleets", []):
        lines.append(_fleet_line("task", fleet))
    for group in instances.get("TaskInstanceGroups", []):
        lines.append(_group_line("task", group))
    limits = props.get("ManagedScalingPolicy", {}).get("ComputeLimits")
    if limits:
        lines.append(
            f"    managed scaling {limits['MinimumCapacityUnits']}-{limits['MaximumCapacityUnits']} "
            f"{limits['UnitType']} (core <= {limits.get('MaximumCoreCapacityUnits', 'max')}, "
            f"On-Demand <= {limits.get('MaximumOnDemandCapacityUnits', 'max')})"
        )
    else:
        lines.append("    fixed size (no managed scaling)")
    return lines


def _range(low: float, high: float, fmt: str = "{:.0f}") -> str:
    return fmt.format(low) if fmt.format(low) == fmt.format(high) else f"{fmt.format(low)}-{fmt.format(high)}"


def _cost_lines(cost: ClusterCost) -> list[str]:
    lines = _capacity_lines(cost)
    if not cost.priced:
        if cost.unpriced:
            lines.append(
                f"    cost: not estimated, no {cost.region} price for {', '.join(cost.unpriced)}. Fix: add them with "
                f"--refresh-prices --regions {cost.region} --instance-types <types> (AWS credentials needed)"
            )
        lines.extend(f"    warning: {warning}" for warning in cost.warnings)
        return lines
    if cost.transient:
        lines.extend(_run_lines(cost))
    else:
        lines.append(f"    cost       units   per hour   per month ({HOURS_PER_MONTH} h)   vs all-On-Demand x86")
        for point in POINTS:
            at = cost.points[point]
            label = "maximum" if point == "max" else point
            lines.append(
                f"      {label:<8} {at.units:>5} {_usd(at.hourly):>10} {_usd(at.monthly, 0):>20}   "
                f"{at.saving:.0%} less ({_usd(at.baseline)}/h)"
            )
    fixed = len({cost.points[point].units for point in POINTS}) == 1
    where = "" if fixed else " at maximum"
    extremes = [f"worst case {_usd(cost.worst or 0)}/h{where} (dearest types, Spot at its bid cap or On-Demand)"]
    if cost.spot_short is not None:
        extremes.append(f"Spot short at launch {_usd(cost.spot_short)}/h (SWITCH_TO_ON_DEMAND)")
    lines.append(f"    {'; '.join(extremes)}")
    ratios = [r.value for r in cost.spot_ratios]
    spot = (
        f"Spot at {_range(min(ratios) * 100, max(ratios) * 100)}% of On-Demand EC2 ({len(ratios)} ratios, by type)"
        if ratios
        else "no Spot capacity"
    )
    emr = "by AWS's rule (not from the price list)" if cost.emr_estimated else "from the price list"
    lines.append(f"    priced: {spot}; EMR's charge {emr}")
    for commitment in cost.commitments:
        lines.append(
            f"    commitment {commitment.name} ({commitment.kind}): {commitment.discount_percent:g}% off EC2 for the "
            f"On-Demand {', '.join(commitment.covers)} instances it covers, up to the floor's count"
        )
    for commitment in cost.unused_commitments:
        cheapest = ", ".join(sorted({n.cheapest.price.instance_type for n in cost.nodes if n.markets["floor"][0]}))
        lines.append(
            f"    commitment {commitment.name} covers none of this cluster's On-Demand instances at its floor "
            f"(they land on {cheapest or 'no On-Demand type'}): no discount"
        )
    lines.extend(f"    warning: {warning}" for warning in cost.warnings)
    return lines


def _capacity_lines(cost: ClusterCost) -> list[str]:
    lines = []
    for node in cost.nodes:
        low_instances, _ = node.instances(min(node.min_units, node.launch_units))
        _, high_instances = node.instances(node.max_units)
        low_units = min(node.min_units, node.launch_units)
        vcpus_low, vcpus_high = node.vcpus(low_units) or (0, 0), node.vcpus(node.max_units) or (0, 0)
        on_demand = [node.markets[p][0] for p in POINTS]
        spot = [node.markets[p][1] for p in POINTS]
        if not max(spot):
            market = "On-Demand"
        elif not max(on_demand):
            market = "Spot"
        else:
            market = f"On-Demand {_range(min(on_demand), max(on_demand))} + Spot {_range(min(spot), max(spot))} units"
        vcpus = f", {_range(vcpus_low[0], vcpus_high[1])} vCPUs" if node.priced else ""
        lines.append(
            f"    {node.role:<7} {_range(low_units, node.max_units)} unit(s) = "
            f"{_range(low_instances, high_instances)} instance(s){vcpus}, {market}"
        )
    shares = [cost.spot_share.get(point, 0.0) for point in POINTS]
    if not cost.nodes:
        pass  # nothing could be read: no share to speak of
    elif len(set(shares)) == 1:
        lines.append(f"    Spot share of capacity: {shares[0]:.0%}")
    else:
        lines.append(
            f"    Spot share of capacity: {shares[0]:.0%} at the floor, {shares[1]:.0%} at launch, "
            f"{shares[2]:.0%} at maximum"
        )
    if cost.note:
        lines.append(f"    ({cost.note})")
    return lines


def _run_lines(cost: ClusterCost) -> list[str]:
    at = cost.points["launch"]
    typical = cost.per_run(cost.typical_run_minutes)
    most = cost.per_run(cost.timeout_minutes, worst=True)
    parts = [f"{_usd(at.hourly)}/h, {at.saving:.0%} less than all-On-Demand x86 ({_usd(at.baseline)}/h)"]
    if typical is not None:
        parts.append(f"{_usd(typical)} for a typical {cost.typical_run_minutes}-min run")
    else:
        parts.append("no typical run declared (typical_run_minutes)")
    if most is not None:
        parts.append(f"at most {_usd(most)} (its {cost.timeout_minutes}-min timeout, worst-case prices)")
    return [f"    cost per run: {'; '.join(parts)}"]


def _usd(value: float, decimals: int = 2) -> str:
    return f"${value:,.{decimals}f}"


def _fleet_line(role: str, fleet: dict[str, Any]) -> str:
    types = [t["InstanceType"] for t in fleet.get("InstanceTypeConfigs", [])]
    shown = ", ".join(types[:4]) + (f" +{len(types) - 4} more" if len(types) > 4 else "")
    return (
        f"    {role:<7} fleet: {fleet.get('TargetOnDemandCapacity', 0)} On-Demand + "
        f"{fleet.get('TargetSpotCapacity', 0)} Spot units, {len(types)} types ({shown})"
    )


def _group_line(role: str, group: dict[str, Any]) -> str:
    return f"    {role:<7} group: {group['InstanceCount']} x {group['InstanceType']} {group.get('Market', 'ON_DEMAND')}"


def refresh_prices(
    path: Path = PRICES_FILE,
    client: Any = None,
    s3_client: Any = None,
    *,
    regions: list[str] | None = None,
    instance_types: list[str] | None = None,
) -> PriceTable:
    """Rewrite the price table at ``path`` from the AWS Price List API and the Spot Instance Advisor's data, for
    ``regions`` and ``instance_types`` (default: those in the table; new ones are added); ``client`` and
    ``s3_client`` default to boto3's (the advisor's file is public: read anonymously)."""
    if client is None:
        import boto3  # noqa: PLC0415 - only this path needs boto3 and AWS credentials
        from botocore import UNSIGNED  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415

        session = boto3.Session()
        if session.get_credentials() is None:
            raise RuntimeError("no AWS credentials found")
        client = session.client("pricing", region_name=PRICE_LIST_REGION)
        s3_client = s3_client or session.client(
            "s3", region_name=PRICE_LIST_REGION, config=Config(signature_version=UNSIGNED)
        )
    table = PriceTable.load(path)
    table = refresh(
        table,
        client,
        s3_client=s3_client,
        regions=sorted({*table.regions, *(regions or [])}),
        instance_types=sorted({*table.instance_types, *(instance_types or [])}),
    )
    path.write_text(json.dumps(table.to_json(), indent=1) + "\n", encoding="utf-8")
    return table


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emr_platform.tools.summary", description=__doc__)
    parser.add_argument("assembly", nargs="?", default="cdk.out", help="the cloud assembly folder (default cdk.out)")
    parser.add_argument("--refresh-prices", action="store_true", help="rewrite the price table from AWS first")
    parser.add_argument("--regions", default="", help="with --refresh-prices: regions to add, comma-separated")
    parser.add_argument("--instance-types", default="", help="with --refresh-prices: instance types to add")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Print the summary of the assembly folder given (default ``cdk.out``); ``--refresh-prices`` first."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.refresh_prices:
        try:
            refresh_prices(
                regions=[r for r in args.regions.split(",") if r],
                instance_types=[t for t in args.instance_types.split(",") if t],
            )
        except Exception as error:
            print(
                f"error: --refresh-prices: {type(error).__name__}: {error}. Fix: configure AWS credentials allowed "
                "pricing:GetProducts (e.g. AWS_PROFILE), or run without --refresh-prices to use the stored table",
                file=sys.stderr,
            )
            return 1
        print(f"prices refreshed: {PRICES_FILE}")
    try:
        print(summarize(Path(args.assembly)))
    except AssemblyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
