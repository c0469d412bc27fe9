"""The commands on a deployed environment's EMR Serverless applications: job-run, job-wait, job-logs, job-cancel."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from emr_platform.ops.commands import log_text, read_log, script_uri
from emr_platform.ops.environment import Environment
from emr_platform.ops.errors import OpsError

TERMINAL_JOB_STATES = frozenset({"SUCCESS", "FAILED", "CANCELLED"})
"""JobRunState values after which a job run never changes (botocore's ``emr-serverless`` model, JobRunState)."""


def application(env: Environment, name: str) -> tuple[str, str, str]:
    """The application ``name``'s ID, job role ARN and log URI, from the foundation's outputs."""
    ids = {
        k.removesuffix("ServerlessApplicationId"): v
        for k, v in env.outputs.items()
        if k.endswith("ServerlessApplicationId")
    }
    if name not in ids:
        known = ", ".join(sorted(ids)) or "none (add serverless_applications to the settings and deploy)"
        raise OpsError(f"no EMR Serverless application {name!r} in {env.name}", f"use one of: {known}", code=2)
    role = env.outputs.get(f"{name}ServerlessJobRoleArn")
    logs = env.outputs.get(f"{name}ServerlessLogUri")
    if role is None or logs is None:
        raise OpsError(
            f"stack {env.stack_name} lacks the outputs of application {name!r}", f"make deploy ENV={env.name}"
        )
    return ids[name], role, logs


def job_run(env: Environment, args: argparse.Namespace) -> int:
    """Start a Spark job run: ``script`` is an ``s3://`` URI or a key in the artifacts bucket, checked first."""
    application_id, role, logs = application(env, args.application)
    script = script_uri(env, args.script)
    request: dict[str, Any] = {
        "applicationId": application_id,
        "executionRoleArn": role,
        "name": args.name or Path(script).name,
        "jobDriver": {"sparkSubmit": {"entryPoint": script, "entryPointArguments": list(args.arg)}},
        "configurationOverrides": {"monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": logs}}},
    }
    run = env.client("emr-serverless").start_job_run(**request)
    print(run["jobRunId"])
    return 0


def job_wait(env: Environment, args: argparse.Namespace) -> int:
    """Wait for a job run to end, printing each state; exit 3 if it does not succeed or time runs out."""
    application_id = application(env, args.application)[0]
    client = env.client("emr-serverless")
    deadline = time.monotonic() + args.timeout
    shown = None
    while True:
        run = client.get_job_run(applicationId=application_id, jobRunId=args.job_run_id)["jobRun"]
        state = run["state"]
        if state != shown:
            print(f"{args.job_run_id}: {state}{' (' + run['stateDetails'] + ')' if run.get('stateDetails') else ''}")
            shown = state
        if state in TERMINAL_JOB_STATES:
            return 0 if state == "SUCCESS" else 3
        if time.monotonic() >= deadline:
            raise OpsError(
                f"job run {args.job_run_id} is still {state} after {args.timeout} s",
                f"wait longer (--timeout), or cancel it: emr-platform-ops job-cancel {env.name} "
                f"{args.application} {args.job_run_id}",
                code=3,
            )
        time.sleep(args.poll)


def job_cancel(env: Environment, args: argparse.Namespace) -> int:
    """Cancel a job run."""
    application_id = application(env, args.application)[0]
    env.client("emr-serverless").cancel_job_run(applicationId=application_id, jobRunId=args.job_run_id)
    print(f"{args.job_run_id}: cancelling")
    return 0


def job_logs(env: Environment, args: argparse.Namespace) -> int:
    """Print a job run's driver stderr or stdout from the application's S3 log location, where EMR Serverless
    writes ``applications/<id>/jobs/<job run>/SPARK_DRIVER/<stream>.gz`` (EMR Serverless User Guide, "Storing
    logs")."""
    application_id, _, log_uri = application(env, args.application)
    bucket, _, prefix = log_uri.removeprefix("s3://").partition("/")
    folder = f"{prefix.rstrip('/')}/applications/{application_id}/jobs/{args.job_run_id}/".lstrip("/")
    key = f"{folder}SPARK_DRIVER/{args.stream}.gz"
    body = read_log(env, bucket, key)
    if body is None:
        raise OpsError(
            f"no {args.stream} log of job run {args.job_run_id} at s3://{bucket}/{key} yet",
            "EMR Serverless writes driver logs while the job runs: check the id with job-wait, try again shortly, "
            "or choose --stream stdout",
        )
    sys.stdout.write(log_text(body, f"s3://{bucket}/{key}"))
    return 0
