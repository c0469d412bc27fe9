"""A short per-environment summary of a synthesized cloud assembly: stacks, cluster topology, capacity limits.

Reads the templates in ``cdk.out`` (what would be deployed), not the settings: ``python -m emr_platform.summary``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def summarize(assembly_dir: Path) -> str:
    """The summary text of every stack in ``assembly_dir``."""
    manifest = json.loads((assembly_dir / "manifest.json").read_text(encoding="utf-8"))
    lines: list[str] = []
    for name, artifact in sorted(manifest.get("artifacts", {}).items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_file = artifact["properties"]["templateFile"]
        template = json.loads((assembly_dir / template_file).read_text(encoding="utf-8"))
        resources: dict[str, Any] = template.get("Resources", {})
        env = artifact.get("environment", "")
        lines.append(f"{name}  ({env.removeprefix('aws://')}, {len(resources)} resources)")
        for logical_id, resource in sorted(resources.items()):
            if resource["Type"] == "AWS::EMR::Cluster":
                lines.extend(_cluster_lines(logical_id, resource["Properties"]))
    return "\n".join(lines)


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


def _fleet_line(role: str, fleet: dict[str, Any]) -> str:
    types = [t["InstanceType"] for t in fleet.get("InstanceTypeConfigs", [])]
    shown = ", ".join(types[:4]) + (f" +{len(types) - 4} more" if len(types) > 4 else "")
    return (
        f"    {role:<7} fleet: {fleet.get('TargetOnDemandCapacity', 0)} On-Demand + "
        f"{fleet.get('TargetSpotCapacity', 0)} Spot units, {len(types)} types ({shown})"
    )


def _group_line(role: str, group: dict[str, Any]) -> str:
    return f"    {role:<7} group: {group['InstanceCount']} x {group['InstanceType']} {group.get('Market', 'ON_DEMAND')}"


def main(argv: list[str] | None = None) -> int:
    """Print the summary of the assembly folder given (default ``cdk.out``)."""
    args = sys.argv[1:] if argv is None else argv
    assembly = Path(args[0] if args else "cdk.out")
    if not (assembly / "manifest.json").is_file():
        print(f"error: {assembly}: no cloud assembly here. Fix: run 'make synth' first", file=sys.stderr)
        return 1
    print(summarize(assembly))
    return 0


if __name__ == "__main__":
    sys.exit(main())
