"""One environment deployed on the emulator by the real CDK CLI, and what the e2e tests read and change in it.

An environment deploys into its own emulator process, acting as its account, in its region, as its settings say.
Edits of its settings are synthesized in-process into an assembly of their own and deployed from it with
``cdk deploy --app <assembly>``: the CLI's own path for a pre-synthesized app, with no second run of app.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from emr_platform.app import build_app, cdk_json_context
from emr_platform.spec.settings import CONFIG_DIR, EnvironmentSettings, load_settings
from tests.conftest import PROJECT, running_emulator


def cdk(*args: str, cwd: Path = PROJECT) -> subprocess.CompletedProcess[str]:
    """The pinned CDK CLI from node_modules, on the pinned Node, against the emulator (``os.environ``), run in
    ``cwd`` (default: the project, whose cdk.json names the app)."""
    node_bins = [p for p in (PROJECT / "node_modules").glob("node-linux-*/bin") if (p / "node").exists()]
    cli = PROJECT / "node_modules" / ".bin" / "cdk"
    assert cli.exists() and node_bins, "the CDK CLI and Node 22 are not installed: run `make setup`"
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(node_bins[0]), str(cli.parent), os.environ.get("PATH", "")]),
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_NODE": str(PROJECT / "scripts" / "jsii-node"),
    }
    return subprocess.run(
        [str(cli), "--no-notices", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    """The CLI's output (CI=true moves its progress to stdout), after asserting that it succeeded."""
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return output


@dataclass
class Deployment:
    """An environment's stack on the emulator: the assembly last deployed, and views of the live stack."""

    environment: str
    settings: EnvironmentSettings
    work: Path
    assembly: Path
    log: str = ""
    edits: list[Callable[[str], str]] = field(default_factory=list)

    @property
    def stack_name(self) -> str:
        return self.settings.stack_name

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.settings.region)  # type: ignore[call-overload]

    def template(self) -> dict[str, Any]:
        """The template of the assembly last deployed."""
        text = (self.assembly / f"{self.stack_name}.template.json").read_text(encoding="utf-8")
        return dict(json.loads(text))

    def stack(self) -> dict[str, Any]:
        return dict(self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"][0])

    def outputs(self) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.stack().get("Outputs", [])}

    def physical_ids(self) -> dict[str, str]:
        """Logical ID -> physical ID of every resource the emulator created for the stack."""
        pages = self.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=self.stack_name)
        summaries = [r for page in pages for r in page["StackResourceSummaries"]]
        # moto lists the custom resources' providers it records without a logical ID: not the stack's resources.
        return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries if r["LogicalResourceId"]}

    def synthesize(self, name: str, *edits: Callable[[str], str]) -> Path:
        """This environment's settings with ``edits`` applied (to the text of its file, after the earlier edits),
        synthesized with every gate into ``work/name``; the settings validate as they would in ``cdk synth``."""
        self.edits.extend(edits)
        config = self.work / f"config-{name}"
        shutil.copytree(CONFIG_DIR, config)
        path = config / f"{self.environment}.yaml"
        text = path.read_text(encoding="utf-8")
        for each in self.edits:
            text = each(text)
        path.write_text(text, encoding="utf-8")
        outdir = self.work / name
        # What the CLI adds to the context of every synthesis (cdk.json's, the construct paths, the assets'
        # metadata), so that the assembly differs from the deployed one by the edit only.
        context = {**cdk_json_context(PROJECT), "env": self.environment, "aws:cdk:enable-path-metadata": True,
                   "aws:cdk:enable-asset-metadata": True, "aws:cdk:version-reporting": True}  # fmt: skip
        build_app(context=context, outdir=str(outdir), config_dir=config).synth()
        return outdir

    def deploy(self, assembly: Path) -> str:
        """``cdk deploy --app <assembly>``: the CLI's output."""
        output = succeeded(cdk("deploy", "--app", str(assembly), self.stack_name, "--require-approval", "never"))
        self.assembly = assembly
        return output


@contextmanager
def deployed(environment: str, work: Path, assembly: Path | None = None) -> Iterator[Deployment]:
    """``environment`` bootstrapped and deployed by the CDK CLI into an emulator acting as its account, in its
    region; the emulator lives as long as the block. The CLI runs the project's app (``cdk deploy -c env=...``),
    or deploys ``assembly`` when given (an assembly the tests synthesized already: one synthesis less)."""
    settings = load_settings(environment)
    with running_emulator(account=settings.account, log=work / "emulator.log", region=settings.region):
        # Outside the project: with an explicit environment the CLI then bootstraps without running the app.
        succeeded(cdk("bootstrap", f"aws://{settings.account}/{settings.region}", cwd=work))
        out = work / "cdk.out"
        app = ["--app", str(assembly)] if assembly else ["-c", f"env={environment}", "--output", str(out)]
        log = succeeded(cdk("deploy", *app, settings.stack_name, "--require-approval", "never"))
        yield Deployment(environment, settings, work, assembly or out, log)


def replace_once(old: str, new: str) -> Callable[[str], str]:
    """An edit of a settings file's text that fails the test unless ``old`` occurs exactly once."""

    def edit(text: str) -> str:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the settings"
        return text.replace(old, new)

    return edit
