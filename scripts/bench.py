"""Benchmark: synthesis against the floor, the test suite's wall time, and synthesis cost per added cluster.

Run with ``make bench`` (``--no-suite`` skips the test suite, to iterate quickly). Every synthesis runs in a fresh
process, as ``cdk synth`` does, and its wall time counts: the platform through cdk.json's ``app`` command itself, the
floor and the scaled apps with the same interpreter and flags; the median of alternating runs is reported, so that
load from elsewhere weighs on every variant alike. Targets (issue "GitOps and ecosystem"):

1. Synthesis of every environment vs. the floor (an app with one ``CfnCluster``): ratio <= 1.5 (median of 5).
2. The whole test suite: wall time under 3 minutes (180 s).
3. Scaling: the dev environment with 1, 5 and 20 long-running clusters (copies of its first cluster, named c01,
   c02, ...; its transient clusters kept, at every count alike), median of 3 each. The cost per added cluster
   (least-squares slope over the three points) <= 0.3 s, and linear: the middle point lies within 10% of the
   time the line through the end points adds from 1 cluster to the largest count (or within the run-to-run
   spread, which then hides any curvature). Should the largest count not synthesize (a settings limit, or
   CloudFormation's 500 resources or 200 outputs per stack), its message is printed and the largest count that
   does synthesize replaces it.

Exit status: that of the test suite (0 with ``--no-suite``). Timing misses are reported as FAIL in the summary
table, never fatal: machines vary. A synthesis that cannot run at all (a broken app, not a slow one) stops the
bench with its error.
"""

from __future__ import annotations

import argparse
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parent.parent
RUNS = 5
SCALING_RUNS = 3
CLUSTER_COUNTS = (1, 5, 20)
SCALING_ENV = "dev"

RATIO_TARGET = 1.5
SUITE_TARGET_S = 180.0
SLOPE_TARGET_S = 0.3
LINEARITY_TOLERANCE = 0.10
MAX_RESOURCES = 500  # CloudFormation's limits per stack
MAX_OUTPUTS = 200

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
    """The interpreter of ``command`` with its flags (``-O``), without the script: the floor and the scaled apps run
    with it, so that every measurement pays the same interpreter costs."""
    script = next(i for i, word in enumerate(command) if word.endswith(".py"))
    return list(command[:script])


PLATFORM = app_command()
PYTHON = interpreter(PLATFORM)


def _run(code: str | None, **fields: str) -> Synthesis:
    """Time one synthesis in a fresh process: the platform app (``code`` None) as the CDK CLI runs it, or ``code``
    (formatted with ``outdir`` and ``fields``) with the same interpreter."""
    with tempfile.TemporaryDirectory() as outdir:
        script = None if code is None else code.format(outdir=outdir, mark=ERROR_MARK, **fields)
        command = PLATFORM if script is None else [*PYTHON, "-c", script]
        # CDK_OUTDIR is how the CLI tells an app where to write; the app's App() reads it.
        environment = {**os.environ, "CDK_OUTDIR": outdir}
        start = time.perf_counter()
        result = subprocess.run(command, cwd=PROJECT, env=environment, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        marked = [line for line in result.stderr.splitlines() if line.startswith(ERROR_MARK)]
        if result.returncode == 3 and marked:
            return Synthesis(seconds, error=marked[-1].removeprefix(ERROR_MARK))
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"bench: a synthesis failed (exit {result.returncode}), see above")
        templates = [json.loads(p.read_text(encoding="utf-8")) for p in Path(outdir).glob("*.template.json")]
        if not templates:
            raise SystemExit(f"bench: {' '.join(command[:3])} ... wrote no template to CDK_OUTDIR")
        return Synthesis(
            seconds,
            resources=max(len(t.get("Resources", {})) for t in templates),
            outputs=max(len(t.get("Outputs", {})) for t in templates),
        )


# --- 1. the whole app vs. the floor ----------------------------------------------------------------------------


def _time_pair(first: str | None, second: str | None) -> tuple[float, float]:
    """Medians of ``RUNS`` alternating runs of both apps, so that load from elsewhere weighs on both alike."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(RUNS):
        samples[0].append(_run(first).seconds)
        samples[1].append(_run(second).seconds)
    return statistics.median(samples[0]), statistics.median(samples[1])


# --- 3. cost per added cluster ---------------------------------------------------------------------------------


def scaled_settings(count: int, source: Path = PROJECT / "config" / f"{SCALING_ENV}.yaml") -> dict[str, Any]:
    """The environment's settings with ``count`` long-running clusters: copies of its first one, c01, c02, ..."""
    data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    template = next(iter(data["clusters"].values()))
    data["clusters"] = {f"c{i:02d}": copy.deepcopy(template) for i in range(1, count + 1)}
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


def run_scaling(rows: list[tuple[str, str, str, str]]) -> None:
    """Time the environment at each cluster count; print the points, the fit, and add the summary rows."""
    counts = list(CLUSTER_COUNTS)
    print(f"scaling: {SCALING_ENV} with N long-running clusters (fresh process each, median of {SCALING_RUNS})")
    with tempfile.TemporaryDirectory() as root:
        bench = ScalingBench(Path(root))
        # First round: in order, so a count that does not synthesize is known before the others are repeated.
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
            counts = sorted({*counts[: counts.index(count)], largest})
            break
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
    label = ", ".join(str(n) for n, _ in points)
    if len(points) < 3:
        print("  fewer than 3 cluster counts synthesize: no slope, no linearity")
        rows.append((f"cost per added cluster ({label})", "n/a", f"<= {SLOPE_TARGET_S:.1f} s", "FAIL"))
        return
    line = fit(points)
    # Run-to-run spread: a deviation within it says nothing about the shape of the curve.
    noise = max(max(runs) - min(runs) for runs in samples.values())
    middle = points[1][0]
    print(f"  least-squares: {line.intercept:.2f} s + {line.slope:.3f} s per cluster   (R^2 {line.r_squared:.4f})")
    if line.chord_rise > 0:
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
        value = f"{relative:+.0%} of rise"
    else:
        print(f"  linearity: {points[-1][0]} clusters took no longer than 1: no shape to judge (noise?)")
        value, verdict = "n/a (no rise)", "FAIL"
    rows.append(
        (
            f"cost per added cluster ({label})",
            f"{line.slope:.3f} s",
            f"<= {SLOPE_TARGET_S:.1f} s",
            _verdict(line.slope <= SLOPE_TARGET_S),
        )
    )
    rows.append((f"linearity ({middle}-cluster point vs chord)", value, f"within {LINEARITY_TOLERANCE:.0%}", verdict))
    if points[-1][0] != CLUSTER_COUNTS[-1]:
        rows.append(
            (f"{CLUSTER_COUNTS[-1]} clusters in one environment", f"no, max {points[-1][0]}", "-", "LIMIT (see above)")
        )


# --- the whole bench --------------------------------------------------------------------------------------------


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-suite", action="store_true", help="skip the test suite (exit status 0)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows: list[tuple[str, str, str, str]] = []

    floor, platform = _time_pair(FLOOR_APP, None)
    ratio = platform / floor
    print(f"floor (one CfnCluster):          {floor:6.2f} s  (median of {RUNS}; {' '.join(PYTHON)} -c ...)")
    print(f"all environments:                {platform:6.2f} s  (median of {RUNS}; {' '.join(PLATFORM)})")
    print(f"ratio:                           {ratio:6.2f}   (target <= {RATIO_TARGET})", flush=True)
    rows.append(("synthesis, all envs / floor", f"{ratio:.2f}", f"<= {RATIO_TARGET}", _verdict(ratio <= RATIO_TARGET)))

    run_scaling(rows)

    status = 0
    if args.no_suite:
        rows.append(("test suite wall time", "skipped", f"< {SUITE_TARGET_S:.0f} s", "-"))
    else:
        print("test suite:", flush=True)
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=PROJECT, check=False
        )
        suite = time.perf_counter() - start
        status = result.returncode
        print(f"test suite wall time:            {suite:6.2f} s  (exit {status})")
        rows.append(
            ("test suite wall time", f"{suite:.1f} s", f"< {SUITE_TARGET_S:.0f} s", _verdict(suite < SUITE_TARGET_S))
        )
        rows.append(("test suite result", f"exit {status}", "exit 0", _verdict(status == 0)))

    table = [("measure", "value", "target", "result"), *rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    took = time.perf_counter() - started
    print(f"\nsummary (bench took {took:.0f} s; timing misses are not fatal, the exit status is the test suite's)")
    for row in table:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return status


if __name__ == "__main__":
    sys.exit(main())
