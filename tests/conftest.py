"""Shared fixtures: the cdk.json context (same feature flags as the CLI) and one synthesis of the whole app."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

from emr_platform.app import build_app, cdk_json_context
from emr_platform.constructs import ClusterPlacement, DataLakeStorage, EmrNetwork, EmrSecurityConfiguration
from emr_platform.stacks import EmrPlatformStack
from emr_platform.tools.topology import merged

PROJECT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("dev", "prod", "staging")


@pytest.fixture(scope="session")
def context() -> dict[str, object]:
    """cdk.json's context, and the construct paths the CLI asks for in the template metadata: tests synthesize
    what ``cdk synth`` does."""
    return {**cdk_json_context(PROJECT), "aws:cdk:enable-path-metadata": True}


@dataclass
class Synthesized:
    app: App
    outdir: Path
    stacks: dict[str, EmrPlatformStack]
    templates: dict[str, Template]
    """Each environment's stacks (the foundation and its cluster stacks) as one template."""
    stack_templates: dict[str, Template]
    """Each stack's own template, by stack name."""


def environment_template(foundation: Stack, cluster_stacks: dict[str, Stack]) -> Template:
    """An environment's stacks as one template, as the guard sees them (``merged``: a cluster stack's reads of the
    foundation's SSM parameters replaced by what the foundation writes), with the outputs of all: what its tests
    look for is wherever the layout puts it."""
    stacks = {s.stack_name: dict(Template.from_stack(s).to_json()) for s in [foundation, *cluster_stacks.values()]}
    template = merged(stacks).template
    for stack_template in stacks.values():
        template.setdefault("Outputs", {}).update(stack_template.get("Outputs", {}))
    return Template.from_json(template, skip_cyclical_dependencies_check=True)


@pytest.fixture(scope="session")
def synthesized(context: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The whole app (every environment), synthesized once per test session, with all gates."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(context=context, outdir=str(outdir))
    app.synth()
    stacks = {child.settings.environment: child for child in app.node.children if isinstance(child, EmrPlatformStack)}
    templates = {env: environment_template(s, s.cluster_stacks) for env, s in stacks.items()}
    every = {s.stack_name: Template.from_stack(s) for s in app.node.children if isinstance(s, Stack)}
    return Synthesized(app, outdir, stacks, templates, every)


def pinned_stack(app: App, name: str = "Test") -> Stack:
    """A stack with a fixed environment and pinned zones, like the platform's."""

    class _Pinned(Stack):
        @property
        def availability_zones(self) -> list[str]:
            return ["eu-west-1a", "eu-west-1b"]

    return _Pinned(app, name, env=Environment(account="123456789012", region="eu-west-1"))


def cfn_lint_errors(*templates: Path, ignore: tuple[str, ...] = ()) -> list[str]:
    """cfn-lint's errors (not warnings) on ``templates``, one line each; empty when clean. ``ignore``: rule ids."""
    ignored = ["--ignore-checks", *ignore] if ignore else []
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", *ignored, "--", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in result.stdout.splitlines() if ":E" in line] + (
        [result.stderr] if result.returncode not in (0, 4, 8, 12) else []
    )


PROPERTY_CASES = {"generated": 0, "synthesized": 0, "rejected": 0}
"""Counts of tests/test_properties.py, reported at the end of the run."""


CORPUS_COUNTS: Counter[str] = Counter()
"""Outcomes of tests/test_corpus.py (rejected, accepted, synthesized clean, accepted but invalid, traceback)."""


_COUNTS_DIR = PROJECT / ".pytest_cache" / "emr-platform-counts"
"""Where each xdist worker leaves its counts for the controller's summary (workers print nothing themselves)."""


def pytest_sessionstart(session: Any) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist): start afresh
        shutil.rmtree(_COUNTS_DIR, ignore_errors=True)


def pytest_sessionfinish(session: Any) -> None:
    worker = getattr(session.config, "workerinput", None)
    if worker is not None and (CORPUS_COUNTS or PROPERTY_CASES["generated"]):
        _COUNTS_DIR.mkdir(parents=True, exist_ok=True)
        counts = {"corpus": dict(CORPUS_COUNTS), "property": PROPERTY_CASES}
        (_COUNTS_DIR / f"{worker['workerid']}.json").write_text(json.dumps(counts), encoding="utf-8")


def _gather_worker_counts() -> None:
    for path in sorted(_COUNTS_DIR.glob("*.json")):
        counts = json.loads(path.read_text(encoding="utf-8"))
        CORPUS_COUNTS.update(counts["corpus"])
        for key, value in counts["property"].items():
            PROPERTY_CASES[key] += value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    _gather_worker_counts()
    if CORPUS_COUNTS:
        outcomes = (
            "rejected",
            "accepted",
            "synthesized clean",
            "accepted but invalid",
            "traceback",
            "stacks synthesized",
        )
        counts = dict.fromkeys(outcomes, 0)
        counts.update(CORPUS_COUNTS)
        terminalreporter.write_line(
            "corpus of mistakes: " + ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
        )
    if PROPERTY_CASES["generated"]:
        terminalreporter.write_line(
            "property-based settings: {generated} generated, {synthesized} synthesized (cfn-lint clean), "
            "{rejected} rejected with the project's own error".format(**PROPERTY_CASES)
        )


def base_stack(context: dict[str, object]) -> tuple[Stack, DataLakeStorage, EmrNetwork]:
    """A pinned stack with storage and a small network (no interface endpoints): what a cluster needs around it."""
    stack = pinned_stack(App(context=context))
    storage = DataLakeStorage(stack, "Storage")
    return stack, storage, EmrNetwork(stack, "Network", encryption_key=storage.key, interface_endpoints=())


def placement_of(
    storage: DataLakeStorage,
    network: EmrNetwork,
    *,
    security_configuration: EmrSecurityConfiguration | None = None,
    allow_spot_on_primary_and_core: bool = False,
) -> ClusterPlacement:
    """Where a test's cluster runs and logs, as the platform places its own: the network's private subnets, logs
    under emr-logs/ of the logs bucket encrypted with the storage key."""
    return ClusterPlacement(
        vpc=network.vpc,
        subnets=network.subnets,
        log_bucket=storage.logs_bucket,
        encryption_key=storage.key,
        security_configuration=security_configuration,
        allow_spot_on_primary_and_core=allow_spot_on_primary_and_core,
    )


def assert_cli_error_line(*args: str, returncode: int = 2) -> None:
    """``python -m <args>`` from the project fails with ``returncode`` and one ``error: ... Fix: ...`` line, no
    traceback (the tools' command-line contract)."""
    result = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, check=False, cwd=PROJECT, timeout=120
    )
    assert result.returncode == returncode, result.stderr
    assert result.stderr.startswith("error: ") and "Fix: " in result.stderr
    assert "Traceback" not in result.stderr


def no_credentials_env(home: Path) -> dict[str, str]:
    """An environment in which boto3 finds no AWS credentials at all (no files, no instance metadata)."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_emulator(
    account: str = "111111111111", log: Path | None = None, region: str = "eu-west-1"
) -> Iterator[str]:
    """A moto server on localhost (with the fixes of ``tests/e2e/emulator.py``) acting as ``account``, and the
    environment variables that point boto3 and the CDK CLI at it; yields its endpoint URL.

    ``localhost``, not 127.0.0.1: moto finds templates the CLI uploads by that host name.
    """
    port = _free_port()
    with open(log or os.devnull, "w", encoding="utf-8") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.emulator", "-H", "localhost", "-p", str(port)],
            cwd=PROJECT,
            env={**os.environ, "MOTO_ACCOUNT_ID": account},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://localhost:{port}"
    variables = {
        "AWS_ENDPOINT_URL": endpoint,
        # One access key per emulated account: the CDK CLI caches the account behind a key (~/.cdk/cache), and a
        # second account behind the same key fails with "current credentials are for <the first account>".
        "AWS_ACCESS_KEY_ID": f"TESTING{account}",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        for _ in range(150):
            try:
                socket.create_connection(("localhost", port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"the emulator exited with code {server.returncode}; see {log}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
