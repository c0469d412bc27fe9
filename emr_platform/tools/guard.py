"""Replacement guard: what CloudFormation would replace, delete, orphan or refuse, before anyone deploys.

Two ways to run it:

- ``python -m emr_platform.tools.guard cdk.out baseline`` (``make guard``) compares each stack of a synthesis with
  the committed baseline of the same name; ``--accept`` (``make guard-accept``) makes the synthesis the baseline.
- ``python -m emr_platform.tools.guard cdk.out --base base.out`` compares a pull request's synthesis with its
  base branch's (the pull-request workflow does this), so that a regenerated baseline cannot hide a change. Each
  verdict must then be acknowledged in ``guard-acknowledgements.yaml``, committed with the change: a list of
  ``{id: <the ID the report prints>, reason: <why it is safe>}``. ``--report FILE`` writes the report as Markdown
  (the job summary).

Each verdict is one root cause in the settings' words: the setting that changed (file and field), what
CloudFormation will do, what is replaced with it, and what is at risk. The engine is
:mod:`emr_platform.tools.replacement` (the resource graph and the rules, with their sources).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from emr_platform.tools.assembly import AssemblyError, load_manifest, stack_artifacts
from emr_platform.tools.replacement import STATEFUL_TYPES, create_only, digest
from emr_platform.tools.topology import by_environment, merged, moves
from emr_platform.tools.verdicts import Verdict, compare

__all__ = ["STATEFUL_IDS", "STATEFUL_TYPES", "Verdict", "check", "compare", "main", "replacing_properties"]

replacing_properties = create_only
"""JSON pointers of the properties whose change replaces a resource of a type (the schemas' createOnlyProperties)."""

ACKNOWLEDGEMENTS = Path("guard-acknowledgements.yaml")
STATEFUL_IDS = "stateful-ids.json"


def stack_templates(assembly_dir: Path) -> dict[str, Path]:
    """Stack name -> template file of a cloud assembly: the app's (``cdk.out``) or a pipeline stage's
    (``cdk.out/assembly-<pipeline>-<env>``), whose artifacts are named after the stage but deploy the same stack."""
    stacks = {
        artifact["properties"].get("stackName", name): assembly_dir / artifact["properties"]["templateFile"]
        for name, artifact in stack_artifacts(load_manifest(assembly_dir)).items()
    }
    return dict(sorted(stacks.items()))


def _templates_in(folder: Path) -> dict[str, Path]:
    """A baseline folder's templates by stack name, or an assembly's."""
    if (folder / "manifest.json").is_file():
        return stack_templates(folder)
    return {p.name.removesuffix(".template.json"): p for p in sorted(folder.glob("*.template.json"))}


def check(assembly_dir: Path, baseline_dir: Path, *, missing_stacks: bool = True) -> list[Verdict]:
    """Every verdict from the baseline (a baseline folder or another assembly) to the assembly's stacks; with
    ``missing_stacks`` (the default) also one per baseline stack the assembly no longer has (off for a pipeline
    stage's assembly, which holds one environment of several).

    Each environment's stacks (a foundation and its cluster stacks) are compared as one resource graph
    (:mod:`emr_platform.tools.topology`): a change in the foundation that replaces something in a cluster stack,
    and a resource that moves from one stack to another, are reported like a change inside one stack.
    """
    current = {name: _load(path) for name, path in stack_templates(assembly_dir).items()}
    before = {name: _load(path) for name, path in _templates_in(baseline_dir).items()}
    old_groups = by_environment(before)
    verdicts: list[Verdict] = []
    for group, stacks in by_environment(current).items():
        old_stacks = old_groups.get(group, {})
        if not old_stacks:  # never a silent pass: a stack without a baseline is reported until it has one
            verdicts += [
                Verdict(name, "no-baseline", "", "", "no baseline", fingerprint=digest(["new", name]))
                for name in stacks
            ]
            continue
        verdicts += _compare_group(old_stacks, stacks, missing_stacks=missing_stacks)
    for group in sorted(set(old_groups) - set(by_environment(current))) if missing_stacks else ():
        verdicts += [_stack_removed(name, template) for name, template in old_groups[group].items()]
    return sorted(verdicts, key=lambda v: (v.stack, v.logical_id, v.action))


def _compare_group(
    old_stacks: dict[str, dict[str, Any]], stacks: dict[str, dict[str, Any]], *, missing_stacks: bool
) -> list[Verdict]:
    """The verdicts of one environment: its stacks merged, each verdict under the stack of its resource."""
    old, new = merged(old_stacks), merged(stacks)
    gone = set(old_stacks) - set(stacks)
    found: list[Verdict] = []
    for verdict in compare(new.foundation(), old.template, new.template, moves(old, new)):
        stack = new.stack_of.get(verdict.logical_id) or old.stack_of.get(verdict.logical_id, verdict.stack)
        if stack in gone:
            continue  # in a stack nothing deploys any more: its own verdict says so
        found.append(dataclasses.replace(verdict, stack=stack))
    for name in sorted(gone) if missing_stacks else ():
        found.append(_stack_removed(name, old_stacks[name]))
    return found


def _stack_removed(name: str, template: dict[str, Any]) -> Verdict:
    retained = sorted(
        k
        for k, r in template.get("Resources", {}).items()
        if r.get("DeletionPolicy") in {"Retain", "RetainExceptOnCreate"}
    )
    return Verdict(
        name,
        "stack-removed",
        "",
        "AWS::CloudFormation::Stack",
        "stack-removed",
        detail="its settings file, environment or platform name is gone or renamed: nothing deploys it any more, and "
        f"destroying it would delete everything but the {len(retained)} retained resources (kept, orphaned); a "
        "renamed stack deploys as a new one beside the old, with new, empty buckets",
        fingerprint=digest(["stack-removed", name]),
        setting=f"the settings of stack {name}",
        at_risk="every resource of the stack that is not retained; the data of the retained ones stays, unmanaged",
    )


def acknowledged(path: Path) -> dict[str, str]:
    """The acknowledgement file's entries (ID -> reason); empty when there is no file.

    :raises ValueError: the file is not a list of ``{id, reason}`` with a reason of at least 10 characters.
    """
    if not path.is_file():
        return {}
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    found: dict[str, str] = {}
    for index, entry in enumerate(entries if isinstance(entries, list) else [None]):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("id"), str)
            or len(str(entry.get("reason", ""))) < 10
        ):
            raise ValueError(
                f"{path}: entry {index} must be {{id: <a verdict's ID>, reason: <why it is safe, 10+ characters>}}"
            )
        found[entry["id"]] = str(entry["reason"])
    return found


def markdown(verdicts: list[Verdict], acknowledgements: dict[str, str]) -> str:
    """The report as Markdown: a table of verdicts, then each one's block."""
    if not verdicts:
        return "## Replacement guard\n\nNo replacement, deletion or data loss.\n"
    lines = [
        "## Replacement guard",
        "",
        "| Stack | Setting | CloudFormation will | Acknowledged |",
        "| --- | --- | --- | --- |",
    ]
    for v in verdicts:
        reason = acknowledgements.get(v.id)
        lines.append(
            f"| {v.stack} | {v.setting} | {v.action} {v.logical_id} | {'yes: ' + reason if reason else '**no**'} |"
        )
    lines += ["", "```", *(str(v) for v in verdicts), "```", ""]
    return "\n".join(lines)


def accept(assembly_dir: Path, baseline_dir: Path) -> list[Path]:
    """Make the assembly's templates the baseline, and record their stateful logical IDs; returns the files."""
    baseline_dir.mkdir(parents=True, exist_ok=True)
    written = []
    ids = {}
    for name, path in stack_templates(assembly_dir).items():
        target = baseline_dir / f"{name}.template.json"
        shutil.copyfile(path, target)
        written.append(target)
        ids[name] = stateful_ids(_load(path))
    record = baseline_dir / STATEFUL_IDS
    record.write_text(json.dumps(ids, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return [*written, record]


def stateful_ids(template: dict[str, Any]) -> dict[str, str]:
    """Logical ID -> type of every stateful resource of a template."""
    return {
        logical_id: resource["Type"]
        for logical_id, resource in sorted(template.get("Resources", {}).items())
        if resource["Type"] in STATEFUL_TYPES
    }


def _load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emr_platform.tools.guard", description=__doc__.split("\n")[0])
    parser.add_argument("assembly", nargs="?", type=Path, default=Path("cdk.out"))
    parser.add_argument("baseline", nargs="?", type=Path, default=Path("baseline"))
    parser.add_argument("--accept", action="store_true", help="make the synthesis the baseline")
    parser.add_argument("--base", type=Path, help="compare with this assembly (the base branch's) instead")
    parser.add_argument("--acknowledgements", type=Path, default=ACKNOWLEDGEMENTS)
    parser.add_argument("--report", type=Path, help="also write the report as Markdown here")
    parser.add_argument(
        "--stage", action="store_true", help="a pipeline stage's assembly (one environment): other stacks not missing"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Report the verdicts (exit 1 while any is not acknowledged), or accept the synthesis as the baseline."""
    args = _parser().parse_args(argv)
    try:
        if args.accept:
            for path in accept(args.assembly, args.baseline):
                print(f"baseline updated: {path}")
            return 0
        verdicts = check(args.assembly, args.base or args.baseline, missing_stacks=not args.stage)
        acknowledgements = acknowledged(args.acknowledgements) if args.base else {}
    except (AssemblyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.report:
        args.report.write_text(markdown(verdicts, acknowledgements), encoding="utf-8")
    open_verdicts = [v for v in verdicts if v.id not in acknowledgements]
    for verdict in verdicts:
        print(
            verdict
            if verdict.cause != "new"
            else f"{verdict.stack}: no baseline to compare with (a new environment?): review it, then 'make guard-accept'"
        )
    if open_verdicts:
        how = (
            f"add each ID with its reason to {args.acknowledgements} in this change"
            if args.base
            else "if intended, run 'make guard-accept' and commit the new baseline with the change"
        )
        print(f"{len(open_verdicts)} change(s) would replace, delete or lose data: {how}.", file=sys.stderr)
        return 1
    print(f"no replacement: {', '.join(stack_templates(args.assembly))} match {args.base or args.baseline}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
