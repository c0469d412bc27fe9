"""The CDK app: choose environments, build one stack each, register the compliance gates.

``cdk synth`` synthesizes every environment that has a settings file in ``config/``; ``-c env=dev`` (or
``-c env=dev,prod``) selects some. ``-c pipeline=true`` synthesizes the GitOps pipeline of ``config/pipeline.yaml``
instead (its stages hold the environments it deploys). A bad setting ends the run with one message and exit
code 1, not a traceback.

cdk.json runs ``python -O app.py``: without ``-O``, jsii's generated bindings check the type of every argument at
run time, a quarter of the time spent building the stacks. ``mypy --strict`` checks the same types statically, and
the test suite, which builds the same stacks without ``-O``, still runs them.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App

from emr_platform.constructs.compliance import add_compliance_checks
from emr_platform.spec.errors import EmrPlatformError, SettingsError
from emr_platform.spec.settings import CONFIG_DIR, available_environments, load_pipeline_settings, load_settings
from emr_platform.stacks import EmrPlatformStack


def selected_environments(app: App, config_dir: Path) -> list[str]:
    """The environments named by the ``env`` context value (comma-separated), default all in ``config_dir``."""
    known = available_environments(config_dir)
    requested = app.node.try_get_context("env")
    if requested is None:
        if not known:
            raise SettingsError(
                where=str(config_dir),
                problem="no environment settings files found",
                show_value=False,
                fix="add config/<env>.yaml (see config/dev.yaml)",
            )
        return known
    names = [n.strip() for n in str(requested).split(",") if n.strip()]
    for name in names:
        if name not in known:
            raise SettingsError(
                where="context 'env'",
                problem="unknown environment",
                value=name,
                fix=f"use one of {', '.join(known)} (files in {config_dir.name}/), e.g. -c env={known[0] if known else 'dev'}",
            )
    return names


def pipeline_selected(app: App) -> bool:
    """Whether the ``pipeline`` context value asks for the pipeline (``true``/``false``, default false)."""
    value = app.node.try_get_context("pipeline")
    if value is None or value is False or str(value).lower() == "false":
        return False
    if value is True or str(value).lower() == "true":
        return True
    raise SettingsError(
        where="context 'pipeline'", problem="not a boolean", value=value, fix="use -c pipeline=true (or leave it out)"
    )


def build_app(app: App | None = None, *, config_dir: Path = CONFIG_DIR, **app_kwargs: Any) -> App:
    """Build the app's stacks (one per selected environment, or the pipeline) and register the compliance gates."""
    app = app or App(**app_kwargs)
    if pipeline_selected(app):
        settings, environments = load_pipeline_settings(config_dir)
        from emr_platform.stacks.pipeline_stack import EmrPlatformPipelineStack  # noqa: PLC0415 - only when asked

        EmrPlatformPipelineStack(app, settings.pipeline_name, settings=settings, environments=environments)
    else:
        for name in selected_environments(app, config_dir):
            env_settings = load_settings(name, config_dir)
            EmrPlatformStack(app, env_settings.stack_name, settings=env_settings)
    # The constructs acknowledge their own reviewed findings when the app synthesizes.
    add_compliance_checks(app)
    return app


PROJECT_DIR = Path(__file__).resolve().parent.parent


def cdk_json_context(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The ``context`` of cdk.json: feature flags the CLI passes, loaded too when the app runs without the CLI."""
    path = project_dir / "cdk.json"
    if not path.is_file():
        return {}
    context = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    return dict(context)


_TOO_MANY_RESOURCES = re.compile(
    r"Number of resources in stack '([^']+)': (\d+) is greater than allowed maximum of (\d+)"
)


def _resource_limit_message(error: str) -> str | None:
    """aws-cdk-lib's TooManyResourcesInStack as one line with the fix, or None for any other error."""
    match = _TOO_MANY_RESOURCES.search(error)
    if match is None:
        return None
    stack, count, maximum = match.groups()
    return (
        f"{stack}: {count} CloudFormation resources, more than the {maximum} a stack may hold (each long-running "
        "cluster adds about 33: security groups and their rules, roles, alarms, a dashboard). Fix: set "
        "stacks.layout: per_cluster (a stack per cluster; docs/topology.md#migrating), or put fewer clusters in "
        "each of stacks.groups"
    )


DEBUG_VARIABLE = "EMR_PLATFORM_DEBUG"
"""Set it (``EMR_PLATFORM_DEBUG=1 cdk synth``) to see the traceback behind an internal error."""

_JSII_NOISE = re.compile(r"^(?:Error|RuntimeError|ValidationError|jsii\.errors\.JSIIError): ")
_CONSTRUCT_PATH = re.compile(r"\b(emr-platform-[A-Za-z0-9-]+(?:/[A-Za-z0-9_.-]+)+)")


def _cdk_error_message(error: Exception) -> str:
    """An error aws-cdk-lib raised while building the stacks, as one line: the construct it names (which maps to
    a setting: ``emr-platform-dev/analytics/...`` is ``clusters.analytics``), CDK's own first line, the fix."""
    first = _JSII_NOISE.sub("", str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
    found = _CONSTRUCT_PATH.search(str(error))
    where = f"{found.group(1)}: " if found else ""
    return (
        f"{where}the CDK refused a value derived from the settings: {first[:300]}. Fix: correct the setting the "
        "construct path names (<stack>/<name>/... is clusters.<name> or transient_clusters.<name>, <zone>Bucket is "
        "storage.data_zones); the settings passed validation, so this is a gap in it: please report it "
        f"(with {DEBUG_VARIABLE}=1 for the traceback)"
    )


def main() -> int:
    """Entry point of ``app.py``: synthesize, or print one clear error (never a traceback, unless
    ``EMR_PLATFORM_DEBUG`` is set)."""
    try:
        return _synthesize()
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        if isinstance(error, RuntimeError):  # jsii surfaces aws-cdk-lib's errors as RuntimeError
            print(f"error: {_cdk_error_message(error)}", file=sys.stderr)
        else:
            print(
                f"internal error: {type(error).__name__}: {str(error)[:300]}. Fix: none needed in your settings; "
                f"please report it, with the output of {DEBUG_VARIABLE}=1 cdk synth",
                file=sys.stderr,
            )
        return 1


def _synthesize() -> int:
    try:
        build_app(context=cdk_json_context()).synth()
    except EmrPlatformError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except RuntimeError as error:
        limit = _resource_limit_message(str(error))
        if limit is not None:
            print(f"error: {limit}", file=sys.stderr)
            return 1
        # A compliance gate failed (run without the CDK CLI, which reports it itself): the report, not a traceback.
        if not str(error).startswith(("ValidationFailed", "ValidationFailedWithErrors")):
            raise
        print(
            f"error: a compliance gate failed. Fix: see the findings below, then fix them or acknowledge them in "
            f"the construct that raises them (its reviewed_findings), with a reason\n{error}",
            file=sys.stderr,
        )
        return 1
    return 0
