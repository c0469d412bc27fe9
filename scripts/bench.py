"""Benchmark: synthesis of every environment vs. the floor (a one-CfnCluster app), and the test suite's wall time.

Run with ``make bench``. Each synthesis runs in a fresh process (as ``cdk synth`` does), three times; the median
counts. Targets (issue "Foundation"): ratio <= 2.0.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
RUNS = 5

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

PLATFORM_APP = """
from emr_platform.app import build_app, cdk_json_context
build_app(context=cdk_json_context(), outdir={outdir!r}).synth()
"""


def _run(code: str) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code.format(outdir=outdir)], cwd=PROJECT, check=True)
        return time.perf_counter() - start


def _time_pair(first: str, second: str) -> tuple[float, float]:
    """Medians of ``RUNS`` alternating runs of both apps, so that load from elsewhere weighs on both alike."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(RUNS):
        samples[0].append(_run(first))
        samples[1].append(_run(second))
    return statistics.median(samples[0]), statistics.median(samples[1])


def main() -> int:
    floor, platform = _time_pair(FLOOR_APP, PLATFORM_APP)
    print(f"floor (one CfnCluster):          {floor:6.2f} s  (median of {RUNS})")
    print(f"all environments (3 stacks):     {platform:6.2f} s  (median of {RUNS})")
    print(f"ratio:                           {platform / floor:6.2f}   (target <= 2.0)")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=PROJECT, check=False)
    print(f"test suite wall time:            {time.perf_counter() - start:6.2f} s  (exit {result.returncode})")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
