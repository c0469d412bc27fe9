"""The commands on a deployed environment's clusters: status, submit, wait, logs, resize, terminate, run."""

from __future__ import annotations

import argparse
import gzip
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    ClientError,
    WaiterError,
)

from emr_platform.ops.args import step_name
from emr_platform.ops.environment import Environment
from emr_platform.ops.errors import TERMINAL_STEP_STATES, OpsError, one_line

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
    """Add a Spark step: ``script`` is an ``s3://`` URI or a key in the environment's artifacts bucket; it must be
    there, and readable, before the step is added."""
    script = script_uri(env, args.script)
    name = args.name or Path(script).name
    if args.name is None:
        try:
            step_name(name)
        except argparse.ArgumentTypeError as error:
            problem = str(error).split(". Fix: ")[0]
            raise OpsError(f"the script's file name, the step's default name, is {problem}", "add --name") from None
    step: dict[str, Any] = {
        "Name": name,
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": ["spark-submit", "--deploy-mode", "cluster", script, *args.arg],
        },
    }
    request: dict[str, Any] = {"JobFlowId": env.cluster_id(args.cluster), "Steps": [step]}
    if args.execution_role:
        request["ExecutionRoleArn"] = args.execution_role
    [new_step] = env.client("emr").add_job_flow_steps(**request)["StepIds"]
    print(new_step)
    return 0


def script_uri(env: Environment, given: str) -> str:
    """``given`` as an ``s3://`` URI: as it is, or a key in the environment's artifacts bucket; checked to be there
    and readable (:func:`check_script`)."""
    script = given
    if not script.startswith("s3://"):
        bucket = env.outputs.get("ArtifactsBucket")
        if bucket is None:
            raise OpsError(f"stack {env.stack_name} has no ArtifactsBucket output", "give the script as an s3:// URI")
        script = f"s3://{bucket}/{script}"
    check_script(env, script, given)
    return script


def check_script(env: Environment, uri: str, given: str) -> None:
    """Fail before AddJobFlowSteps when the step's script ``uri`` (``given`` on the command line) is not in S3, or
    the caller may not read it (HeadObject). The cluster reads it with its own role, which the stack grants on the
    artifacts bucket; a script elsewhere needs that grant too."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        env.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
            local = given if not given.startswith("s3://") and Path(given).is_file() else "<your script>"
            raise OpsError(
                f"the script {uri} does not exist",
                f"upload it first (aws s3 cp {local} {uri}), or correct the path",
            ) from None
        if code in ("403", "AccessDenied", "Forbidden"):
            raise OpsError(
                f"you may not read the script {uri} (HeadObject: {code})",
                f"grant s3:GetObject on arn:aws:s3:::{bucket}/{key} to the identity you run as, and s3:ListBucket on "
                f"arn:aws:s3:::{bucket} (without it S3 answers 403 for a missing object too)",
            ) from None
        raise


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
            if "Error" in response:
                # The waiter swallows the call's error (a denied or refused DescribeStep): report it as one.
                raise ClientError(response, "DescribeStep") from None  # type: ignore[arg-type]
            if "Step" not in response:
                raise OpsError(f"no step {args.step_id} on {cluster_id}", "check the id with status", code=2) from None
            step_status = response["Step"].get("Status", {})
            state = step_status.get("State", "UNKNOWN")
            if state in TERMINAL_STEP_STATES:
                reason = step_status.get("FailureDetails", {})
                detail = f": {one_line(reason['Message'], 400)}" if reason.get("Message") else ""
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
    folder = f"{prefix.rstrip('/')}/{cluster_id}/steps/{args.step_id}/".lstrip("/")
    key = f"{folder}{args.stream}.gz"
    s3 = env.client("s3")
    body = read_log(env, bucket, key)
    if body is None:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=folder, MaxKeys=100).get("Contents", [])
        streams = sorted(item["Key"].removeprefix(folder).removesuffix(".gz") for item in listed)
        if not streams:
            raise OpsError(
                f"no logs yet for {args.step_id} of {cluster_id} (nothing under s3://{bucket}/{folder})",
                "EMR uploads step logs about every five minutes: try again shortly, and check the step id with status",
            ) from None
        raise OpsError(
            f"no {args.stream} log for {args.step_id} at s3://{bucket}/{key} yet; there is {', '.join(streams)}",
            f"try again shortly, or choose one with --stream (e.g. --stream {streams[0]})",
        ) from None
    sys.stdout.write(log_text(body, f"s3://{bucket}/{key}"))
    return 0


def read_log(env: Environment, bucket: str, key: str) -> bytes | None:
    """The log object's bytes, or None when it is not there (yet)."""
    try:
        return bytes(env.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404", "NoSuchBucket"):
            raise
        return None


GZIP_MAGIC = b"\x1f\x8b"


def log_text(body: bytes, where: str) -> str:
    """The text of the log object ``body`` (at ``where``): EMR gzips step logs; a plain text one is shown as it is,
    anything else is one error line."""
    if body.startswith(GZIP_MAGIC):
        try:
            return gzip.decompress(body).decode("utf-8", errors="replace")
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise OpsError(
                f"{where} is truncated or corrupt gzip ({one_line(str(error), 100)})",
                f"EMR may still be uploading it: try again shortly; if it stays so, download it (aws s3 cp {where} .) "
                "and inspect it",
            ) from None
    if b"\x00" not in body:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    raise OpsError(
        f"{where} is neither gzip nor text ({len(body)} bytes, starting {body[:8]!r})",
        f"download it (aws s3 cp {where} .) and inspect it: EMR writes step logs as gzip text",
    )


def resize(env: Environment, args: argparse.Namespace) -> int:
    """Set the task capacity: units of the task fleet, or instances of the first task group."""
    emr = env.client("emr")
    cluster_id = env.cluster_id(args.cluster)
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    if cluster.get("InstanceCollectionType") == "INSTANCE_FLEET":
        fleets = [
            f
            for f in emr.list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]
            if f["InstanceFleetType"] == "TASK"
        ]
        if not fleets:
            raise OpsError(f"{cluster_id} has no task fleet", "add one in the settings and deploy")
        if len(fleets) > 1:
            # A cluster may have several task fleets (AWS::EMR::InstanceFleetConfig); which one to resize is the
            # operator's choice, not ours.
            raise OpsError(
                f"{cluster_id} has task fleets {', '.join(f['Id'] for f in fleets)}",
                f"resize one with aws emr modify-instance-fleet --cluster-id {cluster_id} "
                "--instance-fleet InstanceFleetId=<id>,TargetSpotCapacity=<units>",
            )
        [fleet] = fleets
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
    # The job pipelines of EMR Serverless applications run the same way (their names never clash: settings).
    machines |= {
        k.removesuffix("ServerlessPipelineArn"): v
        for k, v in env.outputs.items()
        if k.endswith("ServerlessPipelineArn")
    }
    if args.transient not in machines:
        raise OpsError(
            f"no transient cluster or Serverless job pipeline {args.transient!r} in {env.name}",
            f"use one of {', '.join(sorted(machines))}"
            if machines
            else "add one under transient_clusters (or jobs to a Serverless application) and deploy",
            code=2,
        )
    request: dict[str, Any] = {"stateMachineArn": machines[args.transient], "input": "{}"}
    if args.run_name:
        request["name"] = args.run_name
    execution = env.client("stepfunctions").start_execution(**request)
    print(execution["executionArn"])
    return 0
