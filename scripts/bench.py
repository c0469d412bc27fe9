"""Benchmark: synthesis against plain aws-cdk-lib making the same templates, the test suite, cost per cluster.

Run with ``make bench`` (``--no-suite`` skips the test suite, ``--no-scaling`` the cluster counts, ``--runs N``
sets the number of alternating runs, to iterate quickly). Every synthesis runs in a fresh process, as ``cdk synth``
does, and its wall time counts: the platform through cdk.json's ``app`` command itself, every other app with the
same interpreter and flags (``-O``) and the same ``JSII_NODE``; the median of alternating runs is reported, so that
load from elsewhere weighs on every variant alike. Targets:

1. Synthesis of every environment vs. the reference (below): ratio <= 1.3, median of 5 alternating runs. The
   one-``CfnCluster`` floor is timed in the same rounds and its ratio printed as information only: it makes one
   resource and runs no gate, so no package could come near it.
2. The whole test suite: wall time under 3 minutes (180 s).
3. Scaling: the dev environment with 1, 10 and 50 long-running clusters (copies of its first cluster, named c01,
   c02, ...; its transient clusters kept, at every count alike) in layout ``per_cluster`` (a stack each, as
   dozens of clusters need), median of 3 each. The cost per added cluster (least-squares slope over the three
   points) <= 0.15 s, and linear: the middle point lies within 10% of the
   time the line through the end points adds from 1 cluster to the largest count (or within the run-to-run
   spread, which then hides any curvature). Should the largest count not synthesize (a settings limit, or
   CloudFormation's 500 resources or 200 outputs per stack), its message is printed and the largest count that
   does synthesize replaces it.

The reference is what plain aws-cdk-lib costs for the same output and the same gates, so the ratio is the
package's own overhead. The platform is synthesized once (untimed) into a cloud assembly; from it the bench
generates ``reference_app.py``, which imports only ``aws_cdk``, ``cdk_nag`` and the standard library (never
``emr_platform``) and, for each stack of that assembly, creates a ``Stack`` with the same id, stack name,
environment and termination protection holding one ``cloudformation_include.CfnInclude`` of its template (without
the parameter and rule the reference's own stack synthesizer adds again). It reads cdk.json's context, as the
platform's app does, and registers the same gates: the four cdk-nag packs and ``CloudFormationValidatePlugin``
with the Control Tower Guard rules, read as files from ``emr_platform/rules/control_tower`` (reading files is not
importing the package).

The included templates carry findings that the platform acknowledges, so the reference must deal with them to
pass. It acknowledges them, rather than setting aws-cdk-lib's ``@aws-cdk/core:failSynthOnValidationErrors``
context (cx-api's ``FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT``) to false, because acknowledging is what the
platform does: the gates then run and pass the same way (the acknowledgement calls, the suppression look-ups, the
report of suppressed violations), where the context would leave the findings unsuppressed and the report of
failures shaped differently. The context is used once, in an untimed check run without acknowledgements: its
validation report must name every gate whose findings the platform acknowledges (the packs ran), and lists every
finding the gates raise on the included templates. The timed reference acknowledges exactly those, each on the
resource it is raised on (by logical ID), with the platform's reason. A finding that the platform does not
acknowledge (recorded as ``aws:cdk:acknowledged-rules`` metadata on the resource or a construct above it) must be
one an included template raises by construction, or the bench stops: on a resource the platform writes as a plain
``CfnResource`` (the packs' typed rules skip it; ``CfnInclude`` makes it a typed L1), or of a rule that reads the
L2 construct tree (``TREE_RULES``). The reference so does slightly more gate work than the platform. A verification
run of the timed reference must pass its gates and write the same resources (logical IDs and types) into every
stack as the platform; the bench stops if not. What the reference does not do is stage the platform's assets
(Lambda code, bootstrap scripts): that copying and hashing counts as the package's overhead.

Exit status: that of the test suite (0 with ``--no-suite``). Timing misses are reported as FAIL in the summary
table, never fatal: machines vary. A synthesis that cannot run at all (a broken app, not a slow one), or a
reference that is not the same work, stops the bench with its error.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parent.parent
RUNS = 5
SCALING_RUNS = 3
CLUSTER_COUNTS = (1, 10, 50)
SCALING_ENV = "dev"

RATIO_TARGET = 1.3  # platform / reference (the same templates and gates in plain aws-cdk-lib)
SUITE_TARGET_S = 180.0
SLOPE_TARGET_S = 0.15
LINEARITY_TOLERANCE = 0.10
MAX_RESOURCES = 500  # CloudFormation's limits per stack
MAX_OUTPUTS = 200

Row = tuple[str, str, str, str]  # measure, value, target, result

FLOOR_APP = """
import aws_cdk as cdk
from aws_cdk import aws_emr as emr
app = cdk.App(outdir={outdir!r})
stack = cdk.Stack(app, "Floor", env=cdk.Environment(account="111111111111", region="eu-west-1"))
emr.CfnCluster(stack, "Cluster", name="floor", release_label="emr-7.13.0", job_flow_role="r", service_role="r",
    instances=emr.CfnCluster.JobFlowInstancesConfigProperty(
        master_instance_group=emr.CfnCluster.InstanceGroupConfigProperty(instance_count=1, instance_type="m7g.xlarge")))
app.synth()
"""


# One environment from a settings folder of the bench's own; an error (a settings limit, a CloudFormation limit)
# becomes one line, marked, on stderr and exit status 3, so that the bench tells it from a crash.
ERROR_MARK = "bench-synth-error: "
SCALED_APP = """
import sys
from pathlib import Path
from emr_platform.app import build_app, cdk_json_context
try:
    build_app(config_dir=Path({config_dir!r}), context={{**cdk_json_context(), "env": {env!r}}}, outdir={outdir!r}).synth()
except Exception as error:
    print({mark!r} + type(error).__name__ + ": " + " ".join(str(error).split()), file=sys.stderr)
    sys.exit(3)
"""


@dataclass(frozen=True)
class Synthesis:
    """One synthesis in a fresh process: its wall time, and either the largest stack's counts or the error."""

    seconds: float
    resources: int = 0
    outputs: int = 0
    error: str | None = None


def app_command(project: Path = PROJECT) -> list[str]:
    """cdk.json's ``app`` command, as the CDK CLI runs it (interpreter, its flags, ``app.py``)."""
    command = json.loads((project / "cdk.json").read_text(encoding="utf-8"))["app"]
    return shlex.split(str(command))


def interpreter(command: Sequence[str]) -> list[str]:
    """The interpreter of ``command`` with its flags (``-O``), without the script: every other app runs with it,
    so that every measurement pays the same interpreter costs."""
    script = next(i for i, word in enumerate(command) if word.endswith(".py"))
    return list(command[:script])


PLATFORM = app_command()
PYTHON = interpreter(PLATFORM)

App = str | Path | None
"""What ``_run`` synthesizes: the platform (None) as the CDK CLI runs it, a script file, or code for ``-c``."""


def _command(app: App, outdir: Path, fields: dict[str, str]) -> list[str]:
    if app is None:
        return PLATFORM
    if isinstance(app, Path):
        return [*PYTHON, str(app)]
    return [*PYTHON, "-c", app.format(outdir=str(outdir), mark=ERROR_MARK, **fields)]


def _run(app: App, *, outdir: Path | None = None, **fields: str) -> Synthesis:
    """Time one synthesis in a fresh process into ``outdir`` (kept), or into a temporary folder (removed).

    ``app`` is None for the platform, as the CDK CLI runs it; else a script or code (formatted with ``outdir``
    and ``fields``) that runs with the same interpreter and flags."""
    with contextlib.ExitStack() as cleanup:
        out = outdir or Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
        command = _command(app, out, fields)
        # CDK_OUTDIR is how the CLI tells an app where to write; the app's App() reads it.
        environment = {**os.environ, "CDK_OUTDIR": str(out)}
        start = time.perf_counter()
        result = subprocess.run(command, cwd=PROJECT, env=environment, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        marked = [line for line in result.stderr.splitlines() if line.startswith(ERROR_MARK)]
        if result.returncode == 3 and marked:
            return Synthesis(seconds, error=marked[-1].removeprefix(ERROR_MARK))
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"bench: a synthesis failed (exit {result.returncode}), see above")
        templates = [_json(p) for p in out.glob("*.template.json")]
        if not templates:
            raise SystemExit(f"bench: {' '.join(command[:3])} ... wrote no template to CDK_OUTDIR")
        return Synthesis(
            seconds,
            resources=max(len(t.get("Resources", {})) for t in templates),
            outputs=max(len(t.get("Outputs", {})) for t in templates),
        )


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _time_alternating(apps: Sequence[App], runs: int) -> list[list[float]]:
    """Wall times of ``runs`` rounds, each app once per round in turn, so that load from elsewhere weighs on all
    alike; one list of samples per app."""
    samples: list[list[float]] = [[] for _ in apps]
    for _ in range(runs):
        for app, times in zip(apps, samples, strict=True):
            times.append(_run(app).seconds)
    return samples


# --- 1. the whole app vs. the same templates in plain aws-cdk-lib ----------------------------------------------

ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"  # aws-cdk-lib's Validations.ACKNOWLEDGED_RULES_METADATA_KEY
FAIL_SYNTH_ON_VALIDATION_ERRORS = "@aws-cdk/core:failSynthOnValidationErrors"  # cx-api's constant of that name
NAG_PACKS = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
CFN_VALIDATE = "CloudFormation Validate"
PLAIN_CFN_RESOURCE = "aws-cdk-lib.CfnResource"
TREE_RULES = frozenset({"VPCDefaultSecurityGroupClosed"})
"""cdk-nag rules whose result depends on the L2 construct tree, not on the resource: VPCDefaultSecurityGroupClosed
looks for the VPC construct's RestrictDefaultSecurityGroupCustomResource child, which an included template has not."""
SYNTHESIZER_PARAMETERS = ("BootstrapVersion",)  # what the reference's DefaultStackSynthesizer adds to a template
SYNTHESIZER_RULES = ("CheckBootstrapVersion",)
GUARD_RULES_DIR = "emr_platform/rules/control_tower"  # relative to the project, where both apps run

REFERENCE_APP = '''\
"""The bench's reference (generated by scripts/bench.py): the platform's templates, included as they are, through
plain aws-cdk-lib with the platform's gates. Imports nothing of emr_platform."""

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import cloudformation_include
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks

spec = json.loads(Path({spec!r}).read_text(encoding="utf-8"))
context = json.loads(Path("cdk.json").read_text(encoding="utf-8"))["context"]
app = cdk.App(context={{**context, **spec["context"]}})
for entry in spec["stacks"]:
    stack = cdk.Stack(
        app,
        entry["id"],
        stack_name=entry["stack_name"],
        env=cdk.Environment(account=entry["account"], region=entry["region"]),
        termination_protection=entry["termination_protection"],
    )
    included = cloudformation_include.CfnInclude(stack, "Include", template_file=entry["template"])
    for logical_id, rules in entry["acknowledgements"].items():
        cdk.Validations.of(included.get_resource(logical_id)).acknowledge(
            *(cdk.Acknowledgment(id=rule, reason=reason) for rule, reason in rules.items())
        )
guard_rules = [
    cdk.ValidationRuleSource(name=path.stem, content=path.read_text(encoding="utf-8"))
    for path in sorted(Path(spec["rules_dir"]).glob("*.guard"))
]
cdk.Validations.of(app).add_plugins(
    AwsSolutionsChecks(app),
    HIPAASecurityChecks(app),
    NIST80053R5Checks(app),
    PCIDSS321Checks(app),
    cdk.CloudFormationValidatePlugin(guard_rules=guard_rules),
)
app.synth()
'''


@dataclass(frozen=True)
class PlatformStack:
    """One stack of the platform's cloud assembly, as the reference needs it."""

    artifact_id: str
    stack_name: str
    account: str
    region: str
    termination_protection: bool
    template_file: str  # its name in the assembly
    resources: dict[str, str]  # logical ID -> resource type
    acknowledged: dict[str, dict[str, str]]  # logical ID -> {rule ID: reason}, acknowledged on it or a construct above
    plain: frozenset[str]  # logical IDs of the resources the platform writes as a plain CfnResource


@dataclass(frozen=True, order=True)
class Finding:
    """A finding of a gate on one included resource, with the rule ID as ``Validations.acknowledge`` takes it."""

    stack: str
    logical_id: str
    rule: str
    gate: str


def resource_types(template: dict[str, Any]) -> dict[str, str]:
    return {logical_id: str(r.get("Type")) for logical_id, r in template.get("Resources", {}).items()}


def included_template(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` without what the reference's own stack synthesizer adds again (or the include would clash)."""
    result = copy.deepcopy(template)
    for section, names in (("Parameters", SYNTHESIZER_PARAMETERS), ("Rules", SYNTHESIZER_RULES)):
        for name in names:
            result.get(section, {}).pop(name, None)
        if section in result and not result[section]:
            del result[section]
    return result


def acknowledged_by_logical_id(metadata: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, str]]:
    """The rule IDs acknowledged on each resource of a stack's construct metadata, or on a construct above it
    (an acknowledgement covers the construct's children), with their reasons."""
    logical_ids = {
        path: str(entry["data"])
        for path, entries in metadata.items()
        for entry in entries
        if entry["type"] == "aws:cdk:logicalId"
    }
    result: dict[str, dict[str, str]] = {}
    for scope, entries in metadata.items():
        for entry in entries:
            if entry["type"] != ACKNOWLEDGED_RULES:
                continue
            for path, logical_id in logical_ids.items():
                if path == scope or path.startswith(f"{scope}/"):
                    result.setdefault(logical_id, {}).update(entry["data"])
    return result


def _construct_fqns(tree: dict[str, Any]) -> dict[str, str]:
    """Construct path -> class (fqn) of tree.json, paths with the leading slash of the metadata's."""
    result: dict[str, str] = {}
    nodes = [tree["tree"]]
    while nodes:
        node = nodes.pop()
        result[f"/{node.get('path', '')}"] = node.get("constructInfo", {}).get("fqn", "")
        nodes.extend(node.get("children", {}).values())
    return result


def read_assembly(outdir: Path) -> list[PlatformStack]:
    """The CloudFormation stacks of the platform's cloud assembly in ``outdir``."""
    manifest = _json(outdir / "manifest.json")
    fqns = _construct_fqns(_json(outdir / "tree.json"))
    stacks = []
    for artifact_id, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        metadata: dict[str, list[dict[str, Any]]] = dict(artifact.get("metadata", {}))
        if "additionalMetadataFile" in artifact:
            for path, entries in _json(outdir / artifact["additionalMetadataFile"]).items():
                metadata[path] = [*metadata.get(path, []), *entries]
        properties = artifact["properties"]
        account, region = str(artifact["environment"]).removeprefix("aws://").split("/")
        stacks.append(
            PlatformStack(
                artifact_id=artifact_id,
                stack_name=properties.get("stackName", artifact_id),
                account=account,
                region=region,
                termination_protection=bool(properties.get("terminationProtection", False)),
                template_file=properties["templateFile"],
                resources=resource_types(_json(outdir / properties["templateFile"])),
                acknowledged=acknowledged_by_logical_id(metadata),
                plain=frozenset(
                    str(entry["data"])
                    for path, entries in metadata.items()
                    for entry in entries
                    if entry["type"] == "aws:cdk:logicalId" and fqns.get(path) == PLAIN_CFN_RESOURCE
                ),
            )
        )
    if not stacks:
        raise SystemExit(f"bench: the platform's cloud assembly in {outdir} has no stack")
    return stacks


def acknowledgement_id(gate: str, rule: str) -> str:
    """A gate's rule as ``Validations.acknowledge`` records it: cdk-nag's under ``Annotation::``, others under the
    plugin's name (``CloudFormation-Validate::W3010``)."""
    namespace = "Annotation" if gate in NAG_PACKS else gate.replace(" ", "-")
    return f"{namespace}::{rule}"


def raised_findings(report: dict[str, Any]) -> set[Finding]:
    """Every violation of a validation report of the reference, one finding per included resource."""
    findings = set()
    for plugin in report.get("pluginReports", []):
        gate = str(plugin["pluginName"])
        for violation in plugin.get("violations", []):
            rule = acknowledgement_id(gate, str(violation["ruleName"]))
            for construct in violation.get("violatingConstructs", []):
                parts = str(construct["constructPath"]).split("/")
                if len(parts) != 3 or parts[1] != "Include":
                    raise SystemExit(f"bench: {gate} reports {rule} on {'/'.join(parts)}, not on an included resource")
                findings.add(Finding(parts[0], parts[2], rule, gate))
    return findings


def _rule_name(rule: str) -> str:
    """``Annotation::HIPAA.Security-LambdaDLQ`` -> ``LambdaDLQ``; ``AwsSolutions-IAM4[Policy::...]`` -> ``IAM4``."""
    name = rule.split("::", 1)[-1]
    return name.split("-", 1)[-1].split("[", 1)[0]


def why_reference_only(finding: Finding, stack: PlatformStack) -> str | None:
    """Why the platform's gates cannot raise ``finding``, raised on the included template; None if they could."""
    if finding.logical_id in stack.plain:
        return "the platform writes it as a plain CfnResource, which the packs' typed rules skip"
    if finding.gate in NAG_PACKS and _rule_name(finding.rule) in TREE_RULES:
        return "the rule reads the L2 construct tree, which an included template has not"
    return None


def reference_acknowledgements(
    findings: Iterable[Finding], stacks: Sequence[PlatformStack]
) -> tuple[dict[str, dict[str, dict[str, str]]], list[Finding], list[Finding]]:
    """What the timed reference acknowledges (stack -> logical ID -> {rule ID: reason}): every finding its gates
    raise, with the platform's reason where the platform acknowledges it. Also returns the findings raised only
    on the included templates and explained by :func:`why_reference_only`, and those it cannot explain."""
    by_id = {stack.artifact_id: stack for stack in stacks}
    acknowledgements: dict[str, dict[str, dict[str, str]]] = {stack.artifact_id: {} for stack in stacks}
    explained: list[Finding] = []
    unexplained: list[Finding] = []
    for finding in sorted(findings):
        stack = by_id.get(finding.stack)
        if stack is None:
            unexplained.append(finding)
            continue
        reason = stack.acknowledged.get(finding.logical_id, {}).get(finding.rule)
        if reason is None:
            why = why_reference_only(finding, stack)
            (explained if why else unexplained).append(finding)
            reason = f"Raised on the included template only: {why}."
        acknowledgements[stack.artifact_id].setdefault(finding.logical_id, {})[finding.rule] = reason
    return acknowledgements, explained, unexplained


def gates_acknowledged(stacks: Iterable[PlatformStack]) -> set[str]:
    """The gates (plugin names) whose findings the platform acknowledges."""
    gates = set()
    for stack in stacks:
        for rules in stack.acknowledged.values():
            for rule in rules:
                namespace, _, name = rule.partition("::")
                pack = name.split("-", 1)[0]
                if namespace == "Annotation" and pack in NAG_PACKS:
                    gates.add(pack)
                elif namespace == CFN_VALIDATE.replace(" ", "-"):
                    gates.add(CFN_VALIDATE)
    return gates


def compare_resources(platform: dict[str, dict[str, str]], reference: dict[str, dict[str, str]]) -> list[str]:
    """How the reference's stacks (name -> logical ID -> type) differ from the platform's; empty if they do not."""
    problems = [f"{name}: no such stack in the reference" for name in sorted(set(platform) - set(reference))]
    problems += [f"{name}: a stack the platform has not" for name in sorted(set(reference) - set(platform))]
    for name in sorted(set(platform) & set(reference)):
        ours, theirs = platform[name], reference[name]
        problems += [f"{name}: {lid} ({ours[lid]}) is missing" for lid in sorted(set(ours) - set(theirs))]
        problems += [f"{name}: {lid} ({theirs[lid]}) is extra" for lid in sorted(set(theirs) - set(ours))]
        problems += [
            f"{name}: {lid} is {theirs[lid]}, the platform's {ours[lid]}"
            for lid in sorted(set(ours) & set(theirs))
            if ours[lid] != theirs[lid]
        ]
    return problems


def _normalized(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with each resource's DependsOn as a sorted list (CfnInclude sorts them; the order is moot)."""
    result = copy.deepcopy(template)
    for resource in result.get("Resources", {}).values():
        depends = resource.get("DependsOn")
        if isinstance(depends, list):
            resource["DependsOn"] = sorted(depends)
    return result


def templates_of(outdir: Path) -> dict[str, dict[str, Any]]:
    return {p.name.removesuffix(".template.json"): _json(p) for p in sorted(outdir.glob("*.template.json"))}


def write_reference(
    directory: Path,
    stacks: Sequence[PlatformStack],
    include_dir: Path,
    acknowledgements: dict[str, dict[str, dict[str, str]]],
    context: dict[str, Any],
) -> Path:
    """Write the reference app and its spec into ``directory``; returns the script."""
    directory.mkdir()
    spec = {
        "context": context,
        "rules_dir": GUARD_RULES_DIR,
        "stacks": [
            {
                "id": stack.artifact_id,
                "stack_name": stack.stack_name,
                "account": stack.account,
                "region": stack.region,
                "termination_protection": stack.termination_protection,
                "template": str(include_dir / stack.template_file),
                "acknowledgements": acknowledgements.get(stack.artifact_id, {}),
            }
            for stack in stacks
        ],
    }
    (directory / "spec.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    script = directory / "reference_app.py"
    script.write_text(REFERENCE_APP.format(spec=str(directory / "spec.json")), encoding="utf-8")
    return script


def _check_gates(root: Path, stacks: Sequence[PlatformStack], include_dir: Path) -> dict[str, Any]:
    """The untimed check run: the reference without acknowledgements, synthesis not failed by its findings. Its
    gates must have run; every finding must be acknowledged by the platform or explained. Returns what the timed
    reference acknowledges."""
    script = write_reference(root / "check", stacks, include_dir, {}, {FAIL_SYNTH_ON_VALIDATION_ERRORS: False})
    outdir = root / "check.out"
    outdir.mkdir()
    _run(script, outdir=outdir)
    report_file = outdir / "validation-report.json"
    if not report_file.is_file():
        raise SystemExit("bench: the reference's check run wrote no validation-report.json: did its gates run?")
    report = _json(report_file)
    named = {str(plugin["pluginName"]) for plugin in report.get("pluginReports", [])}
    missing = sorted(gates_acknowledged(stacks) - named)
    if missing:
        raise SystemExit(
            f"bench: the platform acknowledges findings of {', '.join(missing)}, but without acknowledgements "
            "the reference's validation report names no such gate: it did not run"
        )
    findings = raised_findings(report)
    acknowledgements, explained, unexplained = reference_acknowledgements(findings, stacks)
    if unexplained:
        listed = "\n".join(f"  {f.stack} {f.logical_id}: {f.rule}" for f in unexplained)
        raise SystemExit(
            f"bench: the reference's gates raise findings the platform neither acknowledges nor could miss by "
            f"construction, so the two do not do the same gate work:\n{listed}"
        )
    kinds = sorted({why_reference_only(f, s) or "" for f in explained for s in stacks if s.artifact_id == f.stack})
    print(
        f"  gates on the included templates, unacknowledged: {len(findings)} findings in {', '.join(sorted(named))}; "
        f"{len(findings) - len(explained)} acknowledged by the platform on the same resources"
    )
    if explained:
        print(f"  {len(explained)} raised only on the included templates ({'; '.join(kinds)}): acknowledged too")
    return acknowledgements


def _verify_reference(root: Path, script: Path, platform_out: Path) -> None:
    """The untimed verification run of the timed reference: it passes its gates, writes the same resources."""
    outdir = root / "reference.out"
    outdir.mkdir()
    _run(script, outdir=outdir)
    ours, theirs = templates_of(platform_out), templates_of(outdir)
    problems = compare_resources(
        {name: resource_types(t) for name, t in ours.items()}, {name: resource_types(t) for name, t in theirs.items()}
    )
    if problems:
        listed = "\n".join(f"  {p}" for p in problems[:40])
        raise SystemExit(f"bench: the reference does not make the platform's resources, no fair comparison:\n{listed}")
    report = _json(outdir / "validation-report.json")
    failed = [p["pluginName"] for p in report.get("pluginReports", []) if p.get("conclusion") != "success"]
    if failed:
        raise SystemExit(f"bench: the reference passed synthesis, but its report says {', '.join(failed)} failed")
    same = sum(_normalized(t) == _normalized(theirs[name]) for name, t in ours.items())
    count = sum(len(t.get("Resources", {})) for t in ours.values())
    print(
        f"  the reference writes the platform's {count} resources in {len(ours)} stacks (logical IDs and types); "
        f"{same} of {len(ours)} templates identical (DependsOn order aside)"
    )


def prepare_reference(root: Path) -> Path:
    """Synthesize the platform once, generate the reference from its cloud assembly, check that the two do the
    same work (see the module's docstring); returns the timed reference's script."""
    platform_out = root / "platform.out"
    platform_out.mkdir()
    _run(None, outdir=platform_out)
    stacks = read_assembly(platform_out)
    include_dir = root / "include"
    include_dir.mkdir()
    for stack in stacks:
        template = included_template(_json(platform_out / stack.template_file))
        (include_dir / stack.template_file).write_text(json.dumps(template), encoding="utf-8")
    acknowledgements = _check_gates(root, stacks, include_dir)
    script = write_reference(root / "reference", stacks, include_dir, acknowledgements, {})
    _verify_reference(root, script, platform_out)
    return script


def ratio_rows(platform: float, reference: float, floor: float) -> list[Row]:
    """The summary rows of the synthesis ratios: the target against the reference, the floor as information."""
    ratio = platform / reference
    return [
        ("synthesis, all envs / same templates", f"{ratio:.2f}", f"<= {RATIO_TARGET}", _verdict(ratio <= RATIO_TARGET)),
        ("synthesis, all envs / floor", f"{platform / floor:.2f}", "-", "info"),
    ]


def run_synthesis(rows: list[Row], runs: int) -> None:
    """Time the platform, the reference and the floor in alternating rounds; print them, add the summary rows."""
    print("synthesis of all environments: the platform vs. the same templates and gates in plain aws-cdk-lib")
    with tempfile.TemporaryDirectory() as root:
        reference = prepare_reference(Path(root))
        samples = _time_alternating([None, reference, FLOOR_APP], runs)
    platform, reference_s, floor = (statistics.median(times) for times in samples)
    spread = [f"{min(times):.2f}-{max(times):.2f} s" for times in samples]
    print(f"  platform:                  {platform:6.2f} s  (median of {runs}, runs {spread[0]}; {' '.join(PLATFORM)})")
    print(
        f"  reference:                 {reference_s:6.2f} s  (median of {runs}, runs {spread[1]}; "
        f"{' '.join(PYTHON)} reference_app.py)"
    )
    print(f"  ratio:                     {platform / reference_s:6.2f}   (target <= {RATIO_TARGET})")
    print(
        f"  floor (one CfnCluster):    {floor:6.2f} s  (median of {runs}, runs {spread[2]}; information: "
        f"platform / floor {platform / floor:.2f})",
        flush=True,
    )
    rows.extend(ratio_rows(platform, reference_s, floor))


# --- 3. cost per added cluster ---------------------------------------------------------------------------------


def scaled_settings(count: int, source: Path = PROJECT / "config" / f"{SCALING_ENV}.yaml") -> dict[str, Any]:
    """The environment's settings with ``count`` long-running clusters, copies of its first one (c01, c02, ...),
    each in a stack of its own (layout ``per_cluster``)."""
    data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    template = next(iter(data["clusters"].values()))
    data["clusters"] = {f"c{i:02d}": copy.deepcopy(template) for i in range(1, count + 1)}
    data["stacks"] = {"layout": "per_cluster"}
    return data


class ScalingBench:
    """Synthesizes the environment with N clusters, each N's settings written once to a folder of its own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.samples: dict[int, list[float]] = {}
        self.last: dict[int, Synthesis] = {}

    def synth(self, count: int) -> Synthesis:
        config_dir = self.root / f"n{count}"
        if not config_dir.is_dir():
            config_dir.mkdir()
            text = yaml.safe_dump(scaled_settings(count), sort_keys=False)
            (config_dir / f"{SCALING_ENV}.yaml").write_text(text, encoding="utf-8")
        result = _run(SCALED_APP, config_dir=str(config_dir), env=SCALING_ENV)
        self.last[count] = result
        if result.error is None:
            self.samples.setdefault(count, []).append(result.seconds)
        return result

    def largest_working(self, works: int, fails: int) -> int:
        """The largest count in (works, fails) that synthesizes: first where the smaller counts' resources and
        outputs reach CloudFormation's limits (and its neighbour, to confirm), then by bisection."""
        guess = _predicted_limit(self.last)
        probes = 0
        while fails - works > 1:
            near_guess = probes < 2 and guess is not None
            count = min(max(guess or 0, works + 1), fails - 1) if near_guess else (works + fails) // 2
            result = self.synth(count)
            probes += 1
            if result.error is None:
                works, guess = count, count + 1
            else:
                fails, guess = count, count - 1
                shown = result.error if len(result.error) <= 160 else result.error[:160] + " ..."
                print(f"  {count} clusters fail too: {shown}", flush=True)
        return works


def _predicted_limit(results: dict[int, Synthesis]) -> int | None:
    """The largest count within CloudFormation's per-stack limits, extrapolated from two working counts."""
    working = sorted((n, r) for n, r in results.items() if r.error is None)
    if len(working) < 2:
        return None
    (n1, r1), (n2, r2) = working[0], working[-1]
    limits = []
    for low, high, cap in ((r1.resources, r2.resources, MAX_RESOURCES), (r1.outputs, r2.outputs, MAX_OUTPUTS)):
        per_cluster = (high - low) / (n2 - n1)
        if per_cluster > 0:
            limits.append(n1 + int((cap - low) // per_cluster))
    return min(limits) if limits else None


@dataclass(frozen=True)
class Fit:
    """A least-squares line through (clusters, seconds) and how far the middle point strays from the chord."""

    slope: float
    intercept: float
    r_squared: float
    middle_deviation: float  # seconds above (+) or below (-) the line through the first and last points
    chord_rise: float  # seconds the chord adds from the first to the last count


def fit(points: Sequence[tuple[int, float]]) -> Fit:
    xs = [float(n) for n, _ in points]
    ys = [t for _, t in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = mean_y - slope * mean_x
    total = sum((y - mean_y) ** 2 for y in ys)
    residual = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    (x0, y0), (x2, y2) = (xs[0], ys[0]), (xs[-1], ys[-1])
    chord_slope = (y2 - y0) / (x2 - x0)
    middle = len(xs) // 2
    return Fit(
        slope=slope,
        intercept=intercept,
        r_squared=1 - residual / total if total > 0 else 1.0,
        middle_deviation=ys[middle] - (y0 + chord_slope * (xs[middle] - x0)),
        chord_rise=y2 - y0,
    )


def _first_round(bench: ScalingBench) -> list[int]:
    """Each count once, in order, so that a count that does not synthesize is known before the others are repeated;
    returns the counts to measure (the largest that synthesizes in place of one that does not)."""
    counts = list(CLUSTER_COUNTS)
    for count in counts:
        result = bench.synth(count)
        if result.error is None:
            continue
        if count == counts[0]:
            raise SystemExit(f"bench: {count} cluster(s) do not synthesize: {result.error}")
        print(f"  {count} clusters do not synthesize:", flush=True)
        print(textwrap.indent(textwrap.fill(result.error, 114), "    "), flush=True)
        largest = bench.largest_working(max(n for n in bench.samples if n < count), count)
        print(f"  -> using {largest} clusters, the largest count that synthesizes, instead of {count}", flush=True)
        return sorted({*counts[: counts.index(count)], largest})
    return counts


def _measure_scaling(root: Path) -> tuple[list[tuple[int, float]], dict[int, list[float]]]:
    """The median time of each cluster count, and its samples."""
    bench = ScalingBench(root)
    counts = _first_round(bench)
    for _ in range(SCALING_RUNS):
        for count in counts:
            if len(bench.samples.get(count, [])) < SCALING_RUNS:
                result = bench.synth(count)
                if result.error is not None:
                    raise SystemExit(f"bench: {count} clusters synthesized once, then failed: {result.error}")
    samples = {n: bench.samples[n][:SCALING_RUNS] for n in counts}
    points = [(n, statistics.median(samples[n])) for n in counts]
    for n, seconds in points:
        r = bench.last[n]
        print(
            f"  {n:3d} cluster{'s' if n > 1 else ' '}: {seconds:6.2f} s   (runs {min(samples[n]):.2f}-{max(samples[n]):.2f} s; "
            f"{r.resources} resources, {r.outputs} outputs in the stack)"
        )
    return points, samples


def linearity(line: Fit, middle: int, points: Sequence[tuple[int, float]], noise: float) -> tuple[str, str]:
    """Print how far the middle point strays from the chord; returns the summary's value and verdict."""
    if line.chord_rise <= 0:
        print(f"  linearity: {points[-1][0]} clusters took no longer than 1: no shape to judge (noise?)")
        return "n/a (no rise)", "FAIL"
    relative = line.middle_deviation / line.chord_rise
    if abs(relative) <= LINEARITY_TOLERANCE:
        shape = "linear"
    elif line.middle_deviation > 0:
        shape = "sublinear: later clusters cost less"
    else:
        shape = "superlinear: later clusters cost more"
    print(
        f"  linearity: the {middle}-cluster point is {line.middle_deviation:+.2f} s off the line through "
        f"{points[0][0]} and {points[-1][0]} clusters\n"
        f"             ({relative:+.0%} of its {line.chord_rise:.2f} s rise: {shape}; "
        f"largest run-to-run spread {noise:.2f} s)"
    )
    if abs(relative) <= LINEARITY_TOLERANCE:
        verdict = "PASS"
    elif abs(line.middle_deviation) <= noise:
        verdict = "PASS (within noise)"
    else:
        verdict = "FAIL"
    return f"{relative:+.0%} of rise", verdict


def run_scaling(rows: list[Row]) -> None:
    """Time the environment at each cluster count; print the points, the fit, and add the summary rows."""
    print(f"scaling: {SCALING_ENV} with N long-running clusters (fresh process each, median of {SCALING_RUNS})")
    with tempfile.TemporaryDirectory() as root:
        points, samples = _measure_scaling(Path(root))
    label = ", ".join(str(n) for n, _ in points)
    if len(points) < 3:
        print("  fewer than 3 cluster counts synthesize: no slope, no linearity")
        rows.append((f"cost per added cluster ({label})", "n/a", f"<= {SLOPE_TARGET_S:.2f} s", "FAIL"))
        return
    line = fit(points)
    # Run-to-run spread: a deviation within it says nothing about the shape of the curve.
    noise = max(max(runs) - min(runs) for runs in samples.values())
    middle = points[1][0]
    print(f"  least-squares: {line.intercept:.2f} s + {line.slope:.3f} s per cluster   (R^2 {line.r_squared:.4f})")
    value, verdict = linearity(line, middle, points, noise)
    slope = (f"cost per added cluster ({label})", f"{line.slope:.3f} s", f"<= {SLOPE_TARGET_S:.2f} s")
    rows.append((*slope, _verdict(line.slope <= SLOPE_TARGET_S)))
    rows.append((f"linearity ({middle}-cluster point vs chord)", value, f"within {LINEARITY_TOLERANCE:.0%}", verdict))
    if points[-1][0] != CLUSTER_COUNTS[-1]:
        rows.append(
            (f"{CLUSTER_COUNTS[-1]} clusters in one environment", f"no, max {points[-1][0]}", "-", "LIMIT (see above)")
        )


# --- the whole bench --------------------------------------------------------------------------------------------


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def run_suite(rows: list[Row]) -> int:
    """Run the whole test suite, add its rows; returns its exit status."""
    print("test suite:", flush=True)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=PROJECT, check=False)
    suite = time.perf_counter() - start
    print(f"test suite wall time:            {suite:6.2f} s  (exit {result.returncode})")
    rows.append(
        ("test suite wall time", f"{suite:.1f} s", f"< {SUITE_TARGET_S:.0f} s", _verdict(suite < SUITE_TARGET_S))
    )
    rows.append(("test suite result", f"exit {result.returncode}", "exit 0", _verdict(result.returncode == 0)))
    return result.returncode


def summary_table(rows: Sequence[Row]) -> list[str]:
    """The summary's lines: a header and one line per row, in aligned columns."""
    table = [("measure", "value", "target", "result"), *rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-suite", action="store_true", help="skip the test suite (exit status 0)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the cost per added cluster")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"alternating runs of each synthesis (default {RUNS})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows: list[Row] = []
    run_synthesis(rows, max(1, args.runs))
    if not args.no_scaling:
        run_scaling(rows)
    status = 0
    if args.no_suite:
        rows.append(("test suite wall time", "skipped", f"< {SUITE_TARGET_S:.0f} s", "-"))
    else:
        status = run_suite(rows)
    took = time.perf_counter() - started
    print(f"\nsummary (bench took {took:.0f} s; timing misses are not fatal, the exit status is the test suite's)")
    print("\n".join(summary_table(rows)))
    return status


if __name__ == "__main__":
    sys.exit(main())
