"""examples/platform-team: another team's CDK app, run against the package as pip installs it (not this tree)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

import emr_platform
from emr_platform.constructs.compliance import GUARD_RULES_DIR

from .conftest import PROJECT, cfn_lint_errors

EXAMPLE = PROJECT / "examples" / "platform-team"


def _install_package(tmp_path: Path) -> Path:
    """pip-install the package from a copy of its sources into a target directory; returns that directory."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT / name, source / name)
    shutil.copytree(PROJECT / "emr_platform", source / "emr_platform", ignore=shutil.ignore_patterns("__pycache__"))
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return site


def test_platform_team_example_synthesizes_a_compliant_cluster_from_the_installed_package(tmp_path: Path) -> None:
    site = _install_package(tmp_path)
    assert (site / "emr_platform" / "py.typed").is_file()
    assert (site / f"emr_platform-{emr_platform.__version__}.dist-info").is_dir()
    assert (site / "emr_platform" / "assets" / "jobs" / "web_logs.py").is_file()
    # The Guard rules are package data: without them the Control Tower gate would have nothing to run.
    rules = sorted(p.name for p in (site / "emr_platform" / "rules" / "control_tower").glob("*.guard"))
    assert rules == sorted(p.name for p in GUARD_RULES_DIR.glob("*.guard"))
    assert rules
    example = shutil.copytree(EXAMPLE, tmp_path / "example")
    outdir = tmp_path / "cdk.out"
    context = json.loads((example / "cdk.json").read_text(encoding="utf-8"))["context"]
    # Only the installed copy is importable: the repository is neither the working directory nor on the path.
    env = {**os.environ, "PYTHONPATH": str(site), "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    located = subprocess.run(
        [sys.executable, "-c", "import emr_platform; print(emr_platform.__file__)"],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert located.stdout.startswith(str(site))

    # app.py runs with every compliance gate; any unacknowledged finding would fail it.
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=example, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    template_path = outdir / "marketing-emr.template.json"
    template = json.loads(template_path.read_text(encoding="utf-8"))
    [cluster] = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::EMR::Cluster"]
    spec = yaml.safe_load((example / "cluster.yaml").read_text(encoding="utf-8"))
    assert cluster["ReleaseLabel"] == spec["release_label"]
    assert [a["Name"] for a in cluster["Applications"]] == spec["applications"]
    limits = cluster["ManagedScalingPolicy"]["ComputeLimits"]
    assert limits["MaximumCapacityUnits"] == spec["managed_scaling"]["maximum_capacity_units"]
    assert cluster["AutoTerminationPolicy"]["IdleTimeout"] == spec["idle_timeout_minutes"] * 60
    assert cfn_lint_errors(template_path) == []


def test_example_app_is_a_few_lines() -> None:
    code = [
        line
        for line in (EXAMPLE / "app.py").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith(("#", '"""'))
    ]
    assert len(code) <= 40
