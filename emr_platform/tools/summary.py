"""A short per-environment summary of a synthesized cloud assembly: stacks, cluster topology, capacity, cost.

Reads the templates in ``cdk.out`` (what would be deployed), not the settings: ``python -m emr_platform.tools.summary``.
``--refresh-prices`` first rewrites the price table from the AWS Price List API (needs AWS credentials).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from emr_platform.tools.advisor import advise
from emr_platform.tools.assembly import AssemblyError, load_manifest, stack_artifacts, stack_template
from emr_platform.tools.cost import SPOT_TYPICAL, ClusterCost, estimate
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
        for name, template in stacks.items():
            resources: dict[str, Any] = template.get("Resources", {})
            if len(stacks) > 1:
                lines.append(f"  stack {name}: {len(resources)} resources")
            for logical_id, resource in sorted(resources.items()):
                if resource["Type"] == "AWS::EMR::Cluster":
                    lines.extend(_cluster_lines(logical_id, resource["Properties"]))
                    lines.extend(_cost_lines(estimate(logical_id, region, resource["Properties"], prices), prices))
                    lines.extend(f"    {advice}" for advice in advise(resource["Properties"]))
                elif resource["Type"] == "AWS::EMRServerless::Application":
                    lines.append(_serverless_line(resource["Properties"]))
    return "\n".join(lines)


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


def _cluster_lines(logical_id: str, props: dict[str, Any]) -> list[str]:
    apps = ", ".join(a["Name"] for a in props.get("Applications", []))
    name = props.get("Name", logical_id)
    instances = props.get("Instances", {})
    idle = props.get("AutoTerminationPolicy", {}).get("IdleTimeout")
    lines = [
        f"  cluster {name if isinstance(name, str) else logical_id}: {props.get('ReleaseLabel')} [{apps}]",
        f"    termination protection {'on' if instances.get('TerminationProtected') else 'off'}, "
        f"idle timeout {f'{idle // 60} min' if idle else 'none'}",
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


def _cost_lines(cost: ClusterCost, prices: PriceTable) -> list[str]:
    lines = []
    for node in cost.nodes:
        low_instances, _ = node.instances(node.min_units)
        _, high_instances = node.instances(node.max_units)
        vcpus_low, vcpus_high = node.vcpus(node.min_units) or (0, 0), node.vcpus(node.max_units) or (0, 0)
        on_demand_max, spot_max = node.markets["max"]
        on_demand_min, spot_min = node.markets["min"]
        if not spot_max:
            market = "On-Demand"
        elif not on_demand_max:
            market = "Spot"
        else:
            market = f"On-Demand {_range(on_demand_min, on_demand_max)} + Spot {_range(spot_min, spot_max)} units"
        vcpus = f", {_range(vcpus_low[0], vcpus_high[1])} vCPUs" if node.prices else ""
        lines.append(
            f"    {node.role:<7} {_range(node.min_units, node.max_units)} unit(s) = "
            f"{_range(low_instances, high_instances)} instance(s){vcpus}, {market}"
        )
    lines.append(
        f"    Spot share of capacity: {cost.spot_share_launch:.0%} at launch, {cost.spot_share_max:.0%} at maximum"
    )
    if cost.note:
        lines.append(f"    ({cost.note})")
    if cost.low is None or cost.high is None:
        if cost.unpriced:
            lines.append(f"    cost: not estimated, no {cost.region} price for {', '.join(cost.unpriced)}")
        return lines
    as_of = prices.about.get("as_of", {})
    date = as_of.get(cost.region, "undated") if isinstance(as_of, dict) else str(as_of)
    emr = "EMR charge estimated at 25% of EC2" if cost.emr_estimated else "EMR charge from the price list"
    lines.append(
        f"    cost: ${cost.low:,.2f}-${cost.high:,.2f} per hour (min. size, Spot at {SPOT_TYPICAL:.0%} of On-Demand "
        f"- max. size, Spot at its bid cap); {cost.region} EC2 prices: {date}; {emr}"
    )
    if cost.launch is not None and cost.saving is not None and cost.baseline is not None:
        lines.append(
            f"    at launch size: ${cost.launch:,.2f}/hour, {cost.saving:.0%} less than all-On-Demand x86 "
            f"(${cost.baseline:,.2f}/hour)"
        )
    if cost.unpriced:
        lines.append(f"    (not priced: {', '.join(cost.unpriced)})")
    return lines


def _fleet_line(role: str, fleet: dict[str, Any]) -> str:
    types = [t["InstanceType"] for t in fleet.get("InstanceTypeConfigs", [])]
    shown = ", ".join(types[:4]) + (f" +{len(types) - 4} more" if len(types) > 4 else "")
    return (
        f"    {role:<7} fleet: {fleet.get('TargetOnDemandCapacity', 0)} On-Demand + "
        f"{fleet.get('TargetSpotCapacity', 0)} Spot units, {len(types)} types ({shown})"
    )


def _group_line(role: str, group: dict[str, Any]) -> str:
    return f"    {role:<7} group: {group['InstanceCount']} x {group['InstanceType']} {group.get('Market', 'ON_DEMAND')}"


def refresh_prices(path: Path = PRICES_FILE, client: Any = None) -> PriceTable:
    """Rewrite the price table at ``path`` from the AWS Price List API; ``client`` defaults to boto3's."""
    if client is None:
        import boto3  # noqa: PLC0415 - only this path needs boto3 and AWS credentials

        session = boto3.Session()
        if session.get_credentials() is None:
            raise RuntimeError("no AWS credentials found")
        client = session.client("pricing", region_name=PRICE_LIST_REGION)
    table = refresh(PriceTable.load(path), client)
    path.write_text(json.dumps(table.to_json(), indent=1) + "\n", encoding="utf-8")
    return table


def main(argv: list[str] | None = None) -> int:
    """Print the summary of the assembly folder given (default ``cdk.out``); ``--refresh-prices`` first."""
    args = sys.argv[1:] if argv is None else argv
    if "--refresh-prices" in args:
        args = [a for a in args if a != "--refresh-prices"]
        try:
            refresh_prices()
        except Exception as error:
            print(
                f"error: --refresh-prices: {type(error).__name__}: {error}. Fix: configure AWS credentials allowed "
                "pricing:GetProducts (e.g. AWS_PROFILE), or run without --refresh-prices to use the stored table",
                file=sys.stderr,
            )
            return 1
        print(f"prices refreshed: {PRICES_FILE}")
    try:
        print(summarize(Path(args[0] if args else "cdk.out")))
    except AssemblyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
