"""A short per-environment summary of a synthesized cloud assembly: stacks, cluster topology, capacity, cost.

Reads the templates in ``cdk.out`` (what would be deployed), not the settings: ``python -m emr_platform.tools.summary``.
``--refresh-prices`` first rewrites the price table from the AWS Price List API (needs AWS credentials) and the
Spot ratios from AWS's Spot Instance Advisor data.
"""

from __future__ import annotations

import json
import sys
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
            for logical_id, resource in sorted(resources.items()):
                metadata = resource.get("Metadata", {}).get(COST_METADATA)
                if resource["Type"] == "AWS::EMR::Cluster":
                    props = resource["Properties"]
                    lines.extend(_cluster_lines(logical_id, props))
                    cost = estimate(logical_id, region, props, prices, metadata=metadata)
                    lines.extend(_cost_lines(cost))
                    lines.extend(f"    {advice}" for advice in advise(props))
                    priced = priced or cost.priced
                elif resource["Type"] == "AWS::StepFunctions::StateMachine":
                    for props in transient_clusters(resource["Properties"]):
                        lines.extend(_cluster_lines(logical_id, props, transient=True))
                        cost = estimate(logical_id, region, props, prices, metadata=metadata, transient=True)
                        lines.extend(_cost_lines(cost))
                        lines.extend(f"    {advice}" for advice in advise(props, transient=True))
                        priced = priced or cost.priced
                elif resource["Type"] == "AWS::EMRServerless::Application":
                    lines.append(_serverless_line(resource["Properties"]))
        if priced:
            lines.append(f"  {price_sources(prices, region)}")
    return "\n".join(lines)


def price_sources(prices: PriceTable, region: str) -> str:
    """Where an environment's prices come from, in one line; the full sources are in the table."""
    labels = prices.about.get("labels", {})
    spot = prices.region_spot(region)
    parts = [
        f"EC2 On-Demand: {labels.get('ec2', {}).get(region, 'no source')}",
        f"EMR: {labels.get('emr', 'no source')}",
        f"Spot: {spot.label if spot else 'no data'}",
    ]
    return f"prices ({region}): {'; '.join(parts)}. Sources: emr_platform/data/prices.json"


def transient_clusters(props: dict[str, Any]) -> list[dict[str, Any]]:
    """The clusters a state machine creates (``elasticmapreduce:createCluster`` tasks), as ``AWS::EMR::Cluster``
    properties; values known only at deploy time (references in the definition) read as ``<deploy-time>``."""
    definition = props.get("DefinitionString")
    if isinstance(definition, dict) and "Fn::Join" in definition:
        separator, parts = definition["Fn::Join"]
        definition = separator.join(p if isinstance(p, str) else "<deploy-time>" for p in parts)
    if not isinstance(definition, str):
        return []
    try:
        states = json.loads(definition).get("States", {})
    except json.JSONDecodeError:
        return []
    found = []
    for state in states.values():
        if str(state.get("Resource", "")).startswith("arn:aws:states:::elasticmapreduce:createCluster"):
            found.append(_as_cluster_properties(state.get("Parameters", {})))
    return found


def _as_cluster_properties(request: dict[str, Any]) -> dict[str, Any]:
    """A ``RunJobFlow`` request in ``AWS::EMR::Cluster``'s shape (fleets and groups by role, keys without ``.$``)."""
    props = {key.removesuffix(".$"): value for key, value in request.items()}
    instances = dict(props.get("Instances", {}))
    for fleet in instances.pop("InstanceFleets", []):
        kind = fleet.get("InstanceFleetType")
        if kind == "TASK":
            instances.setdefault("TaskInstanceFleets", []).append(fleet)
        else:
            instances["MasterInstanceFleet" if kind == "MASTER" else "CoreInstanceFleet"] = fleet
    for group in instances.pop("InstanceGroups", []):
        kind = group.get("InstanceRole")
        if kind == "TASK":
            instances.setdefault("TaskInstanceGroups", []).append(group)
        else:
            instances["MasterInstanceGroup" if kind == "MASTER" else "CoreInstanceGroup"] = group
    props["Instances"] = instances
    return props


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
    if transient:
        tags = {t.get("Key"): t.get("Value") for t in props.get("Tags", []) if isinstance(t, dict)}
        title = f"transient cluster {tags.get(TRANSIENT_TAG) or logical_id} (a cluster per run)"
    else:
        title = f"cluster {name if isinstance(name, str) else logical_id}"
    lines = [
        f"  {title}: {props.get('ReleaseLabel')} [{apps}]",
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


def _cost_lines(cost: ClusterCost) -> list[str]:
    lines = _capacity_lines(cost)
    if not cost.priced:
        if cost.unpriced:
            lines.append(f"    cost: not estimated, no {cost.region} price for {', '.join(cost.unpriced)}")
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
            f"    commitment {commitment.name} ({commitment.kind}): {commitment.discount:.0%} off EC2 for the "
            f"On-Demand {', '.join(commitment.roles)} instances it covers, up to the floor's count"
        )
    if cost.unpriced:
        lines.append(f"    (not priced: {', '.join(cost.unpriced)})")
    return lines


def _capacity_lines(cost: ClusterCost) -> list[str]:
    lines = []
    for node in cost.nodes:
        low_instances, _ = node.instances(min(node.min_units, node.launch_units))
        _, high_instances = node.instances(node.max_units)
        low_units = min(node.min_units, node.launch_units)
        vcpus_low, vcpus_high = node.vcpus(low_units) or (0, 0), node.vcpus(node.max_units) or (0, 0)
        on_demand = [node.markets[p][0] for p in ("floor", "launch", "max")]
        spot = [node.markets[p][1] for p in ("floor", "launch", "max")]
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
    if len(set(shares)) == 1:
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
    most = cost.per_run(cost.timeout_minutes)
    parts = [f"{_usd(at.hourly)}/h, {at.saving:.0%} less than all-On-Demand x86 ({_usd(at.baseline)}/h)"]
    if typical is not None:
        parts.append(f"{_usd(typical)} for a typical {cost.typical_run_minutes}-min run")
    else:
        parts.append("no typical run declared (typical_run_minutes)")
    if most is not None:
        parts.append(f"at most {_usd(most)} (its {cost.timeout_minutes}-min timeout)")
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


def refresh_prices(path: Path = PRICES_FILE, client: Any = None, s3_client: Any = None) -> PriceTable:
    """Rewrite the price table at ``path`` from the AWS Price List API and the Spot Instance Advisor's data;
    ``client`` and ``s3_client`` default to boto3's (the advisor's file is public: read anonymously)."""
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
    table = refresh(PriceTable.load(path), client, s3_client=s3_client)
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
