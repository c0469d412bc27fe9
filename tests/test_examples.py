"""examples/platform-team: another team's CDK app, built from the wheel in a fresh venv, with its README's commands.

Nothing of this repository is on the path: the wheel is built from the sources (as ``make dist`` does), installed
into a fresh venv outside the repository with its dependencies, and the example's own pinned CDK CLI and Node 22
synthesize it with no AWS credentials and no injected context. One run serves the module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import emr_platform
from emr_platform.constructs.compliance import GUARD_RULES_DIR

from .conftest import PROJECT, cfn_lint_errors, no_credentials_env

EXAMPLE = PROJECT / "examples" / "platform-team"
MAX_APP_LINES = 15


def build_dist(outdir: Path) -> list[Path]:
    """The wheel and sdist of the package, built from a copy of its sources as ``make dist`` builds them."""
    source = outdir.parent / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT / name, source / name)
    shutil.copytree(PROJECT / "emr_platform", source / "emr_platform", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return sorted(outdir.iterdir())


def readme_commands() -> list[str]:
    """The commands of the example README's console block, in order."""
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```console\n(.*?)```", readme, re.DOTALL)
    assert block is not None, "examples/platform-team/README.md has no ```console block"
    return [line for line in block.group(1).splitlines() if line.strip()]


@dataclass
class Run:
    dist: list[Path]
    example: Path
    template: dict[str, Any]
    outputs: list[subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("platform-team")
    dist = build_dist(root / "dist")
    example = shutil.copytree(
        EXAMPLE, root / "example", ignore=shutil.ignore_patterns(".venv", "node_modules", "cdk.out")
    )
    env = {
        **no_credentials_env(root),
        # The machine's Python and Node only: not this repository's venv, CDK CLI or Node 22.
        "PATH": f"{Path(sys.base_prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "EMR_PLATFORM_DIST": str(root / "dist"),
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        # npm and pip keep their caches (and pip its index settings), as on the team's machine.
        "NPM_CONFIG_CACHE": os.environ.get("NPM_CONFIG_CACHE", str(Path.home() / ".npm")),
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **{k: v for k, v in os.environ.items() if k.startswith(("PIP_", "npm_config_", "SSL_CERT"))},
    }
    if (Path.home() / ".npmrc").is_file():
        shutil.copy(Path.home() / ".npmrc", root / ".npmrc")
    outputs = []
    for command in readme_commands():
        result = subprocess.run(
            ["bash", "-c", command], cwd=example, env=env, capture_output=True, text=True, check=False, timeout=600
        )
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        outputs.append(result)
    template = json.loads((example / "cdk.out" / "marketing-emr.template.json").read_text(encoding="utf-8"))
    return Run(dist, example, template, outputs)


def test_make_dist_builds_a_wheel_and_an_sdist_with_the_package_data(run: Run) -> None:
    names = [p.name for p in run.dist]
    version = emr_platform.__version__
    assert names == [f"emr_platform-{version}-py3-none-any.whl", f"emr_platform-{version}.tar.gz"]
    site = next((run.example / ".venv" / "lib").glob("python3*/site-packages"))
    assert (site / "emr_platform" / "py.typed").is_file()
    assert (site / "emr_platform" / "assets" / "jobs" / "web_logs.py").is_file()
    # The Guard rules are package data: without them the Control Tower gate would have nothing to run.
    rules = sorted(p.name for p in (site / "emr_platform" / "rules" / "control_tower").glob("*.guard"))
    assert rules and rules == sorted(p.name for p in GUARD_RULES_DIR.glob("*.guard"))


def test_the_example_synthesizes_offline_from_the_installed_wheel(run: Run) -> None:
    synth = run.outputs[-2]
    assert "Need to perform AWS calls" not in synth.stderr
    manifest = json.loads((run.example / "cdk.out" / "manifest.json").read_text(encoding="utf-8"))
    assert "missing" not in manifest, "a context lookup was left for the CLI to do"
    assert not (run.example / "cdk.context.json").exists(), "the CLI looked something up"
    # Node 22 from the example's own package.json: no end-of-life banner from jsii.
    assert "This software is currently running on node v20" not in synth.stderr


def test_the_installed_package_prices_the_teams_cluster_with_its_own_price_table(run: Run) -> None:
    """The summary of the team's synthesis, from the wheel: its price table is package data, its sources named."""
    summary = run.outputs[-1].stdout
    assert "cluster mkt-marketing-spark:" in summary
    assert re.search(r"\n      floor +\d+ +\$[\d,.]+ +\$[\d,]+ +\d+% less", summary), summary
    assert "Sources: emr_platform/data/prices.json" in summary and "not estimated" not in summary


def test_the_example_platform_is_the_settings_file(run: Run) -> None:
    resources = run.template["Resources"].values()
    [cluster] = [r["Properties"] for r in resources if r["Type"] == "AWS::EMR::Cluster"]
    assert cluster["ReleaseLabel"] == "emr-7.13.0"
    assert cluster["Name"] == "mkt-marketing-spark"
    assert cluster["ManagedScalingPolicy"]["ComputeLimits"]["MaximumCapacityUnits"] == 12
    subnets = [r["Properties"]["AvailabilityZone"] for r in resources if r["Type"] == "AWS::EC2::Subnet"]
    assert sorted(subnets) == ["eu-west-1a", "eu-west-1b"]
    assert cfn_lint_errors(run.example / "cdk.out" / "marketing-emr.template.json") == []


def test_example_app_is_a_few_lines() -> None:
    code = [
        line
        for line in (EXAMPLE / "app.py").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith(("#", '"""'))
    ]
    assert len(code) <= MAX_APP_LINES
