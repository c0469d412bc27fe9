"""``emr-platform-ops``: operate a deployed environment's clusters with boto3.

Every command takes the environment's name; the stack name and region come from its settings file, the cluster
from the stack's outputs (``<cluster>ClusterId``), so nobody copies cluster IDs around::

    emr-platform-ops status dev
    emr-platform-ops submit dev jobs/etl.py --arg s3://raw/ --arg s3://curated/     # a script in the artifacts bucket
    emr-platform-ops submit dev s3://my-bucket/job.py
    emr-platform-ops wait dev s-1234567890ABC --timeout 3600
    emr-platform-ops logs dev s-1234567890ABC --stream stderr
    emr-platform-ops resize dev --task 10
    emr-platform-ops terminate dev --yes
    emr-platform-ops run dev weblogs                 # a run of a transient cluster (its state machine)

A problem (no credentials, an unknown environment, a stack that does not exist, a cluster that is gone) ends the
command with one line on stderr and a non-zero exit code: 1 for errors, 2 for wrong usage, 3 when ``wait`` times out
or the step fails.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, WaiterError

from emr_platform.spec.errors import EmrPlatformError
from emr_platform.spec.settings import CONFIG_DIR, load_settings

TERMINAL_STEP_STATES = {"COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"}


class OpsError(Exception):
    """A failure to report in one line, with its fix."""

    def __init__(self, problem: str, fix: str, code: int = 1) -> None:
        super().__init__(f"{problem}. Fix: {fix}")
        self.code = code


@dataclass
class Environment:
    """A deployed environment: its stack's outputs and the clients to reach it."""

    name: str
    stack_name: str
    region: str
    outputs: dict[str, str]
    session: boto3.Session

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` in the environment's region (untyped: one method serves every service)."""
        make: Any = self.session.client
        return make(service, region_name=self.region)

    def cluster_id(self, cluster: str | None) -> str:
        """The ID of ``cluster`` (a name from the settings), or of the only cluster when there is one."""
        ids = {key.removesuffix("ClusterId"): value for key, value in self.outputs.items() if key.endswith("ClusterId")}
        if not ids:
            raise OpsError(f"stack {self.stack_name} has no <cluster>ClusterId output", "deploy the environment first")
        if cluster is None:
            if len(ids) > 1:
                raise OpsError(f"{self.name} has clusters {', '.join(sorted(ids))}", "name one with --cluster", code=2)
            return next(iter(ids.values()))
        if cluster not in ids:
            raise OpsError(f"no cluster {cluster!r} in {self.name}", f"use one of {', '.join(sorted(ids))}", code=2)
        return ids[cluster]


def open_environment(name: str, config_dir: Path = CONFIG_DIR, session: boto3.Session | None = None) -> Environment:
    """Read the environment's settings and its stack's outputs."""
    try:
        settings = load_settings(name, config_dir)
    except EmrPlatformError as error:
        raise OpsError(str(error).split(". Fix: ")[0], str(error).split(". Fix: ")[-1], code=2) from None
    session = session or boto3.Session()
    if session.get_credentials() is None:
        raise OpsError(
            "no AWS credentials found",
            "configure credentials for the environment's account (AWS_PROFILE, SSO login or environment variables)",
        )
    cloudformation = session.client("cloudformation", region_name=settings.region)
    try:
        stacks = cloudformation.describe_stacks(StackName=settings.stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise OpsError(
                f"stack {settings.stack_name} does not exist in {settings.region}",
                f"deploy it: make deploy ENV={name}",
            ) from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return Environment(name, settings.stack_name, settings.region, outputs, session)


# --- commands ------------------------------------------------------------------------------------------------------


def status(env: Environment, args: argparse.Namespace) -> int:
    """The cluster's state, release, capacity and its latest steps."""
    emr = env.client("emr")
    cluster_id = env.cluster_id(args.cluster)
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    print(f"{cluster['Name']} ({cluster_id}): {cluster['Status']['State']}, {cluster.get('ReleaseLabel', '?')}")
    for group in _instance_groups(emr, cluster_id, cluster):
        print(f"  {group}")
    for step in emr.list_steps(ClusterId=cluster_id).get("Steps", [])[: args.steps]:
        print(f"  step {step['Id']} {step['Status']['State']:<11} {step['Name']}")
    return 0


def _instance_groups(emr: Any, cluster_id: str, cluster: dict[str, Any]) -> list[str]:
    if cluster.get("InstanceCollectionType") == "INSTANCE_FLEET":
        fleets = emr.list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]
        return [
            f"{f['InstanceFleetType'].lower():<7} fleet {f.get('ProvisionedOnDemandCapacity', 0)} On-Demand + "
            f"{f.get('ProvisionedSpotCapacity', 0)} Spot units (target {f.get('TargetOnDemandCapacity', 0)} + "
            f"{f.get('TargetSpotCapacity', 0)})"
            for f in fleets
        ]
    groups = emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
    return [
        f"{g['InstanceGroupType'].lower():<7} group {g.get('RunningInstanceCount', 0)}/{g.get('RequestedInstanceCount', 0)} "
        f"x {g['InstanceType']} {g.get('Market', 'ON_DEMAND')}"
        for g in groups
    ]


def submit(env: Environment, args: argparse.Namespace) -> int:
    """Add a Spark step: ``script`` is an ``s3://`` URI or a key in the environment's artifacts bucket."""
    script = args.script
    if not script.startswith("s3://"):
        bucket = env.outputs.get("ArtifactsBucket")
        if bucket is None:
            raise OpsError(f"stack {env.stack_name} has no ArtifactsBucket output", "give the script as an s3:// URI")
        script = f"s3://{bucket}/{script.lstrip('/')}"
    step: dict[str, Any] = {
        "Name": args.name or Path(script).name,
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": ["spark-submit", "--deploy-mode", "cluster", script, *args.arg],
        },
    }
    request: dict[str, Any] = {"JobFlowId": env.cluster_id(args.cluster), "Steps": [step]}
    if args.execution_role:
        request["ExecutionRoleArn"] = args.execution_role
    [step_id] = env.client("emr").add_job_flow_steps(**request)["StepIds"]
    print(step_id)
    return 0


def wait(env: Environment, args: argparse.Namespace) -> int:
    """Wait for a step to finish, printing each state it passes through; exit 3 if it fails or time runs out."""
    emr = env.client("emr")
    cluster_id = env.cluster_id(args.cluster)
    waiter = emr.get_waiter("step_complete")
    deadline = time.monotonic() + args.timeout
    shown = None
    while True:
        try:
            # One attempt per call: the waiter's own acceptors decide success and terminal failure.
            waiter.wait(ClusterId=cluster_id, StepId=args.step_id, WaiterConfig={"Delay": 1, "MaxAttempts": 1})
            print(f"{args.step_id}: COMPLETED")
            return 0
        except WaiterError as error:
            response: dict[str, Any] = dict(error.last_response or {})
            step_status = response.get("Step", {}).get("Status", {})
            state = step_status.get("State", "UNKNOWN")
            if state in TERMINAL_STEP_STATES:
                reason = step_status.get("FailureDetails", {})
                detail = f": {reason.get('Message')}" if reason.get("Message") else ""
                print(f"{args.step_id}: {state}{detail}", file=sys.stderr)
                return 3
            if state != shown:
                print(f"{args.step_id}: {state}", flush=True)
                shown = state
        if time.monotonic() >= deadline:
            print(
                f"error: {args.step_id} still {shown} after {args.timeout} s. Fix: wait again, or raise --timeout",
                file=sys.stderr,
            )
            return 3
        time.sleep(args.poll)


def logs(env: Environment, args: argparse.Namespace) -> int:
    """Print a step's stderr or stdout from the cluster's S3 log location (EMR copies them every few minutes)."""
    cluster_id = env.cluster_id(args.cluster)
    log_uri = env.outputs.get("LogUri")
    if not log_uri:
        raise OpsError(f"stack {env.stack_name} has no LogUri output", "deploy the environment first")
    bucket, _, prefix = log_uri.removeprefix("s3://").partition("/")
    key = f"{prefix.rstrip('/')}/{cluster_id}/steps/{args.step_id}/{args.stream}.gz".lstrip("/")
    try:
        body = env.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise OpsError(
                f"no {args.stream} for {args.step_id} at s3://{bucket}/{key} yet",
                "EMR uploads step logs about every five minutes: try again shortly",
            ) from None
        raise
    sys.stdout.write(gzip.decompress(body).decode("utf-8", errors="replace"))
    return 0


def resize(env: Environment, args: argparse.Namespace) -> int:
    """Set the task capacity: units of the task fleet, or instances of the first task group."""
    emr = env.client("emr")
    cluster_id = env.cluster_id(args.cluster)
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    if cluster.get("InstanceCollectionType") == "INSTANCE_FLEET":
        [fleet] = [
            f
            for f in emr.list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]
            if f["InstanceFleetType"] == "TASK"
        ] or [None]
        if fleet is None:
            raise OpsError(f"{cluster_id} has no task fleet", "add one in the settings and deploy")
        market = "TargetSpotCapacity" if args.market == "spot" else "TargetOnDemandCapacity"
        emr.modify_instance_fleet(
            ClusterId=cluster_id, InstanceFleet={"InstanceFleetId": fleet["Id"], market: args.task}
        )
        print(f"task fleet {fleet['Id']}: {market} -> {args.task}")
        return 0
    groups = [
        g for g in emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"] if g["InstanceGroupType"] == "TASK"
    ]
    if not groups:
        raise OpsError(f"{cluster_id} has no task group", "add one in the settings and deploy")
    emr.modify_instance_groups(
        ClusterId=cluster_id, InstanceGroups=[{"InstanceGroupId": groups[0]["Id"], "InstanceCount": args.task}]
    )
    print(f"task group {groups[0]['Id']}: {args.task} instances")
    return 0


def terminate(env: Environment, args: argparse.Namespace) -> int:
    """Terminate the cluster (asks for --yes; refuses while termination protection is on)."""
    emr = env.client("emr")
    cluster_id = env.cluster_id(args.cluster)
    if not args.yes:
        raise OpsError(f"terminating {cluster_id} in {env.name} ends every running step", "add --yes", code=2)
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    if cluster.get("TerminationProtected"):
        raise OpsError(
            f"{cluster_id} has termination protection on",
            "set termination_protection: false for the cluster in the settings and deploy, then terminate",
        )
    emr.terminate_job_flows(JobFlowIds=[cluster_id])
    print(f"{cluster_id}: terminating")
    return 0


def run(env: Environment, args: argparse.Namespace) -> int:
    """Start a run of a transient cluster: an execution of its state machine (``<name>StateMachineArn``)."""
    machines = {k.removesuffix("StateMachineArn"): v for k, v in env.outputs.items() if k.endswith("StateMachineArn")}
    if args.transient not in machines:
        raise OpsError(
            f"no transient cluster {args.transient!r} in {env.name}",
            f"use one of {', '.join(sorted(machines))}" if machines else "add one under transient_clusters and deploy",
            code=2,
        )
    request: dict[str, Any] = {"stateMachineArn": machines[args.transient], "input": "{}"}
    if args.run_name:
        request["name"] = args.run_name
    execution = env.client("stepfunctions").start_execution(**request)
    print(execution["executionArn"])
    return 0


# --- entry point ---------------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    """The command line."""
    root = argparse.ArgumentParser(prog="emr-platform-ops", description=__doc__.split("\n\n")[0])
    root.add_argument("--config-dir", type=Path, default=CONFIG_DIR, help="where the settings files are")
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("environment", help="the environment's name (config/<name>.yaml)")
        sub.add_argument("--cluster", help="the cluster's name in the settings (default: the only one)")
        sub.set_defaults(handler=handler)
        return sub

    command("status", status, "state, capacity and latest steps").add_argument("--steps", type=int, default=5)
    sub = command("submit", submit, "add a Spark step")
    sub.add_argument("script", help="s3:// URI, or a key in the artifacts bucket")
    sub.add_argument("--arg", action="append", default=[], help="an argument of the script (repeatable)")
    sub.add_argument("--name", help="the step's name (default: the script's file name)")
    sub.add_argument("--execution-role", help="runtime role ARN the step runs as")
    sub = command("wait", wait, "wait for a step, showing its progress")
    sub.add_argument("step_id")
    sub.add_argument("--timeout", type=int, default=3600, help="seconds (default 3600)")
    sub.add_argument("--poll", type=float, default=15, help="seconds between checks (default 15)")
    sub = command("logs", logs, "a step's stderr or stdout")
    sub.add_argument("step_id")
    sub.add_argument("--stream", choices=["stderr", "stdout", "controller", "syslog"], default="stderr")
    sub = command("resize", resize, "set the task capacity")
    sub.add_argument("--task", type=int, required=True, help="task units (fleet) or instances (group)")
    sub.add_argument("--market", choices=["spot", "on-demand"], default="spot", help="fleets only (default spot)")
    command("terminate", terminate, "terminate the cluster").add_argument("--yes", action="store_true")
    sub = commands.add_parser("run", help="start a run of a transient cluster")
    sub.add_argument("environment", help="the environment's name (config/<name>.yaml)")
    sub.add_argument("transient", help="the transient cluster's name in the settings")
    sub.add_argument("--run-name", help="the execution's name, part of the cluster's name (default: a UUID)")
    sub.set_defaults(handler=run)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; one line on stderr and a non-zero exit on any failure."""
    args = parser().parse_args(argv)
    try:
        env = open_environment(args.environment, args.config_dir)
        return int(args.handler(env, args))
    except OpsError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    except NoCredentialsError:
        print("error: no AWS credentials found. Fix: configure credentials (AWS_PROFILE, SSO login)", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"error: {error}. Fix: check the environment's account, region and your permissions", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
