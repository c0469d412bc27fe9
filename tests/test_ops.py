"""The operations CLI against a real AWS API emulator (moto server on localhost), through the real boto3 client."""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber

from emr_platform.ops import args as checks
from emr_platform.ops import cli, main
from emr_platform.ops.environment import Environment
from emr_platform.ops.errors import OpsError
from emr_platform.ops.recovery import IMPORT_IDENTIFIERS, preflight

from .conftest import PROJECT, Synthesized, no_credentials_env, running_emulator

SETTINGS = """
environment: opsdev
account: "111111111111"
region: eu-west-1
availability_zones: [eu-west-1a]
security:
  in_transit_encryption: {disabled_reason: "operations tests against the local emulator"}
clusters:
  analytics:
    release_label: emr-7.13.0
    instance_groups:
      primary: {instance_type: m7g.xlarge, instance_count: 1}
      core: {instance_type: r7g.xlarge, instance_count: 2}
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    """A moto server on localhost, and the environment variables that point boto3 at it."""
    with running_emulator() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def deployed(emulator: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An environment as a deployment leaves it: a cluster, a logs bucket, the stack's outputs."""
    config = tmp_path_factory.mktemp("config")
    (config / "opsdev.yaml").write_text(SETTINGS, encoding="utf-8")
    emr = boto3.client("emr", region_name="eu-west-1")
    cluster_id = emr.run_job_flow(
        Name="emr-platform-opsdev-analytics",
        ReleaseLabel="emr-7.13.0",
        LogUri="s3://opsdev-logs/emr-logs/",
        Instances={
            "InstanceGroups": [
                {"InstanceRole": "MASTER", "InstanceType": "m7g.xlarge", "InstanceCount": 1, "Market": "ON_DEMAND"},
                {"InstanceRole": "CORE", "InstanceType": "r7g.xlarge", "InstanceCount": 2, "Market": "ON_DEMAND"},
                {"InstanceRole": "TASK", "InstanceType": "m7g.xlarge", "InstanceCount": 1, "Market": "SPOT"},
            ],
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="instance-profile",
        ServiceRole="service-role",
    )["JobFlowId"]
    s3 = boto3.client("s3", region_name="eu-west-1")
    for bucket in ("opsdev-logs", "opsdev-artifacts"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    outputs = {
        "analyticsClusterId": cluster_id,
        "LogUri": "s3://opsdev-logs/emr-logs/",
        "ArtifactsBucket": "opsdev-artifacts",
    }
    boto3.client("cloudformation", region_name="eu-west-1").create_stack(
        StackName="emr-platform-opsdev",
        TemplateBody=json.dumps(
            {
                "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                "Outputs": {k: {"Value": v} for k, v in outputs.items()},
            }
        ),
    )
    return {"config": config, "cluster_id": cluster_id, "emr": emr, "s3": s3}


def run(deployed: dict[str, Any], *args: str) -> int:
    return main(["--config-dir", str(deployed["config"]), *args])


def test_status_finds_the_cluster_from_the_stack(deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(deployed, "status", "opsdev") == 0
    out = capsys.readouterr().out
    assert f"emr-platform-opsdev-analytics ({deployed['cluster_id']}): WAITING, emr-7.13.0" in out
    assert "core    group 2/2 x r7g.xlarge ON_DEMAND" in out


def test_submit_a_script_from_the_artifacts_bucket_and_wait(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    deployed["s3"].put_object(Bucket="opsdev-artifacts", Key="jobs/etl.py", Body=b"print('etl')\n")
    assert run(deployed, "submit", "opsdev", "jobs/etl.py", "--arg", "s3://raw/", "--name", "etl") == 0
    step_id = capsys.readouterr().out.strip()
    step = deployed["emr"].describe_step(ClusterId=deployed["cluster_id"], StepId=step_id)["Step"]
    assert step["Config"]["Args"] == [
        "spark-submit",
        "--deploy-mode",
        "cluster",
        "s3://opsdev-artifacts/jobs/etl.py",
        "s3://raw/",
    ]
    # The emulator never finishes a step: wait shows the progress, then gives up with exit code 3.
    assert run(deployed, "wait", "opsdev", step_id, "--timeout", "2", "--poll", "0.5") == 3
    captured = capsys.readouterr()
    assert f"{step_id}: RUNNING" in captured.out
    assert f"error: {step_id} still RUNNING after 2 s. Fix: " in captured.err


def test_logs_reads_a_steps_stderr_from_s3(deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    key = f"emr-logs/{deployed['cluster_id']}/steps/s-LOGS/stderr.gz"
    deployed["s3"].put_object(Bucket="opsdev-logs", Key=key, Body=gzip.compress(b"Traceback: boom\n"))
    assert run(deployed, "logs", "opsdev", "s-LOGS") == 0
    assert capsys.readouterr().out == "Traceback: boom\n"
    assert run(deployed, "logs", "opsdev", "s-NONE") == 1
    assert "no logs yet for s-NONE of " in capsys.readouterr().err


def test_resize_sets_the_task_group(deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(deployed, "resize", "opsdev", "--task", "4") == 0
    groups = deployed["emr"].list_instance_groups(ClusterId=deployed["cluster_id"])["InstanceGroups"]
    assert [g["RequestedInstanceCount"] for g in groups if g["InstanceGroupType"] == "TASK"] == [4]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("status", "nope"), 2, "there is no settings file for environment 'nope'. Fix: use one of"),
        (("terminate", "opsdev"), 2, "ends every running step. Fix: add --yes"),
        (("status", "opsdev", "--cluster", "other"), 2, "no cluster 'other' in opsdev. Fix: use one of analytics"),
    ],
)
def test_fails_in_one_line(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], args: tuple[str, ...], code: int, message: str
) -> None:
    assert run(deployed, *args) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert message in err, err


def test_fails_when_the_stack_does_not_exist(deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    (deployed["config"] / "ghost.yaml").write_text(SETTINGS.replace("opsdev", "ghost"), encoding="utf-8")
    assert run(deployed, "status", "ghost") == 1
    assert "stack emr-platform-ghost does not exist in eu-west-1. Fix: deploy it: make deploy ENV=ghost" in (
        capsys.readouterr().err
    )


def test_terminate_ends_the_cluster(deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(deployed, "terminate", "opsdev", "--yes") == 0
    state = deployed["emr"].describe_cluster(ClusterId=deployed["cluster_id"])["Cluster"]["Status"]["State"]
    assert state in ("TERMINATING", "TERMINATED")


def test_fails_without_credentials(tmp_path: Path) -> None:
    env = no_credentials_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "emr_platform.ops", "status", "dev"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: no AWS credentials found. Fix: ")
    assert_one_line(result.stderr)


def test_step_completed_function_crawls_the_zones_a_step_names(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The function's own code, run against the emulator: it reads the step, starts crawlers, publishes a summary.
    glue = boto3.client("glue", region_name="eu-west-1")
    glue.create_database(DatabaseInput={"Name": "lake_curated"})
    glue.create_crawler(
        Name="opsdev-curated",
        Role="arn:aws:iam::111111111111:role/crawler",
        DatabaseName="lake_curated",
        Targets={"S3Targets": [{"Path": "s3://opsdev-curated/"}]},
    )
    sns = boto3.client("sns", region_name="eu-west-1")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    step_id = deployed["emr"].add_job_flow_steps(
        JobFlowId=deployed["cluster_id"],
        Steps=[
            {
                "Name": "etl",
                "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {
                    "Jar": "command-runner.jar",
                    "Args": ["spark-submit", "s3://opsdev-raw/in/", "s3://opsdev-curated/out/"],
                },
            }
        ],
    )["StepIds"][0]
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("ZONE_BUCKETS", json.dumps({"opsdev-raw": "raw", "opsdev-curated": "curated"}))
    monkeypatch.setenv("CRAWLERS", json.dumps({"raw": "opsdev-raw-missing", "curated": "opsdev-curated"}))
    monkeypatch.setenv("TOPIC_ARN", topic)
    spec = importlib.util.spec_from_file_location(
        "step_complete", PROJECT / "emr_platform" / "functions" / "step_complete" / "index.py"
    )
    assert spec is not None and spec.loader is not None
    function = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(function)
    assert function.zones_named(
        ["s3://opsdev-raw", "s3://opsdev-rawx/a", "s3://opsdev-curated/x"],
        {"opsdev-raw": "raw", "opsdev-curated": "curated"},
    ) == ["curated", "raw"]
    event = {"detail": {"clusterId": deployed["cluster_id"], "stepId": step_id, "state": "COMPLETED"}}
    monkeypatch.setenv("CRAWLERS", json.dumps({"curated": "opsdev-curated"}))
    monkeypatch.setenv("ZONE_BUCKETS", json.dumps({"opsdev-curated": "curated"}))
    summary = function.handler(event)
    assert summary["zones"] == ["curated"] and summary["crawlers_started"] == ["opsdev-curated"]
    assert glue.get_crawler(Name="opsdev-curated")["Crawler"]["State"] in ("RUNNING", "STOPPING", "READY")


# --- failing cases: each ends in one line with its fix, never a traceback --------------------------------------


def assert_one_line(err: str, *parts: str) -> None:
    """``err`` is one ``error: ... Fix: ...`` line, no traceback, containing each of ``parts``."""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and "Fix: " in err, err
    assert "Traceback" not in err, err
    for part in parts:
        assert part in err, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("resize", "opsdev", "--task", "-1"), "argument --task: out of range: must be from 0 to 2,147,483,647"),
        (("resize", "opsdev", "--task", "2147483648"), "argument --task: out of range"),
        (("resize", "opsdev", "--task", "1.5"), "argument --task: not a whole number (got '1.5')"),
        (("wait", "opsdev", "s-ABC", "--poll", "0"), "argument --poll: out of range: must be from 0.1 to 3,600"),
        (("wait", "opsdev", "s-ABC", "--poll", "-1"), "argument --poll: out of range"),
        (("wait", "opsdev", "s-ABC", "--poll", "nan"), "argument --poll: not a number"),
        (("wait", "opsdev", "s-ABC", "--timeout", "-5"), "argument --timeout: out of range: must be from 1 to 604,800"),
        (("status", "opsdev", "--cluster", "j-bad!"), "argument --cluster: neither a cluster name"),
        (("status", "opsdev", "--steps", "0"), "argument --steps: out of range: must be from 1 to 50"),
        (("logs", "opsdev", "s-../../other"), "argument step_id: not an EMR step id"),
        (("status", "../opsdev"), "argument environment: not a name the settings allow"),
        (("submit", "opsdev", "jobs/x.py", "--name", "n" * 257), "argument --name: not a valid step name"),
        (("submit", "opsdev", "s3://Bad_Bucket/x.py"), "the bucket name 'Bad_Bucket' breaks S3's naming rules"),
        (("submit", "opsdev", "s3://opsdev-artifacts/jobs/"), "names a bucket or folder, not an object"),
        (("submit", "opsdev", "/home/me/etl.py"), "a path on this machine: the cluster reads the script from S3"),
        (("submit", "opsdev", "jobs/x.py", "--execution-role", "admin"), "argument --execution-role: not an IAM role"),
        (("run", "opsdev", "weblogs", "--run-name", "a b"), "argument --run-name: not a Step Functions execution name"),
        (("status",), "the following arguments are required: environment. Fix: see emr-platform-ops status --help"),
    ],
)
def test_fails_on_a_bad_argument_before_calling_aws(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    assert run(deployed, *args) == 2
    assert_one_line(capsys.readouterr().err, message)


def test_the_rules_are_read_from_botocores_model() -> None:
    # The limits the checks use are the EMR API's own (botocore's service model), not copies.
    emr: Any = botocore.session.get_session().get_service_model("emr")
    fleet = emr.shape_for("InstanceFleetModifyConfig").members
    assert fleet["TargetSpotCapacity"].metadata == {"min": 0} == fleet["TargetOnDemandCapacity"].metadata
    assert emr.shape_for("StepConfig").members["Name"].metadata["max"] == 256
    assert checks.task_capacity("2147483647") == checks.INT32_MAX
    assert checks.step_name("n" * 256) == "n" * 256
    assert checks.poll_seconds("0.5") == 0.5
    assert checks.cluster_ref("j-2AXXXXXXGAPLF") == "j-2AXXXXXXGAPLF" and checks.cluster_ref("analytics") == "analytics"


def test_a_cluster_id_is_used_as_it_is_and_aws_refusal_is_one_line(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(deployed, "status", "opsdev", "--cluster", deployed["cluster_id"]) == 0
    assert f"({deployed['cluster_id']}): " in capsys.readouterr().out
    # A well-formed id of no cluster: the emulator answers InvalidRequestException, shown with AWS's message.
    assert run(deployed, "status", "opsdev", "--cluster", "j-0000000000000") == 1
    assert_one_line(
        capsys.readouterr().err, "AWS refused a parameter of DescribeCluster: Cluster id 'j-0000000000000' is not valid"
    )


def test_submit_fails_when_the_script_is_not_in_s3(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = len(deployed["emr"].list_steps(ClusterId=deployed["cluster_id"])["Steps"])
    assert run(deployed, "submit", "opsdev", "s3://opsdev-artifacts/jobs/missing.py") == 1
    assert_one_line(
        capsys.readouterr().err,
        "the script s3://opsdev-artifacts/jobs/missing.py does not exist. Fix: upload it first (aws s3 cp <your script>",
    )
    # A key that is still only a file here: the fix is the upload of that file.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "new.py").write_text("print('new')\n", encoding="utf-8")
    assert run(deployed, "submit", "opsdev", "jobs/new.py") == 1
    assert_one_line(capsys.readouterr().err, "aws s3 cp jobs/new.py s3://opsdev-artifacts/jobs/new.py")
    assert len(deployed["emr"].list_steps(ClusterId=deployed["cluster_id"])["Steps"]) == steps


def stub_error(
    monkeypatch: pytest.MonkeyPatch, service: str, method: str, code: str, message: str, status: int
) -> None:
    """Make ``service``'s client answer ``method`` with an AWS error, for what the emulator cannot do (deny a
    request, throttle, expire a token); every other client still talks to the emulator."""
    real = Environment.client

    def client(self: Environment, name: str) -> Any:
        made = real(self, name)
        if name == service:
            stubber = Stubber(made)
            stubber.add_client_error(method, service_error_code=code, service_message=message, http_status_code=status)
            stubber.activate()
        return made

    monkeypatch.setattr(Environment, "client", client)


def test_submit_fails_when_the_script_may_not_be_read(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stub_error(monkeypatch, "s3", "head_object", "403", "Forbidden", 403)
    assert run(deployed, "submit", "opsdev", "s3://opsdev-artifacts/jobs/etl.py") == 1
    assert_one_line(
        capsys.readouterr().err,
        "you may not read the script s3://opsdev-artifacts/jobs/etl.py",
        "grant s3:GetObject on arn:aws:s3:::opsdev-artifacts/jobs/etl.py",
    )


@pytest.mark.parametrize(
    ("code", "status", "message", "expected"),
    [
        ("ExpiredTokenException", 400, "The security token included in the request is expired", "refresh them"),
        ("AccessDeniedException", 400, "not authorized", "Fix: grant elasticmapreduce:DescribeCluster to the identity"),
        (
            "ThrottlingException",
            400,
            "Rate exceeded",
            "AWS throttled DescribeCluster (ThrottlingException). Fix: retry",
        ),
        ("ValidationException", 400, "x" * 5000, "AWS refused a parameter of DescribeCluster: xxx"),
    ],
)
def test_aws_errors_name_their_fix(
    deployed: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    status: int,
    message: str,
    expected: str,
) -> None:
    stub_error(monkeypatch, "emr", "describe_cluster", code, message, status)
    assert run(deployed, "status", "opsdev") == 1
    err = capsys.readouterr().err
    assert_one_line(err, expected)
    assert len(err) < 500, err  # AWS's message is cut to about 200 characters


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is neither gzip nor text (10 bytes"),
        (gzip.compress(b"a log line\n" * 100, mtime=0)[:40], "is truncated or corrupt gzip"),
        (gzip.compress(b"a log line\n", mtime=0)[:-8] + b"\x00" * 8, "is truncated or corrupt gzip"),  # wrong CRC
        (b"\x1f\x8b" + b"garbage" * 10, "is truncated or corrupt gzip"),
    ],
)
def test_logs_fails_in_one_line_on_a_log_that_is_not_gzip_text(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], body: bytes, message: str
) -> None:
    key = f"emr-logs/{deployed['cluster_id']}/steps/s-BAD/stderr.gz"
    deployed["s3"].put_object(Bucket="opsdev-logs", Key=key, Body=body)
    assert run(deployed, "logs", "opsdev", "s-BAD") == 1
    assert_one_line(capsys.readouterr().err, f"s3://opsdev-logs/{key} {message}")


def test_logs_shows_a_plain_text_log_and_says_which_logs_exist(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = f"emr-logs/{deployed['cluster_id']}/steps/s-PLAIN/"
    deployed["s3"].put_object(Bucket="opsdev-logs", Key=f"{folder}stderr.gz", Body=b"not compressed after all\n")
    assert run(deployed, "logs", "opsdev", "s-PLAIN") == 0
    assert capsys.readouterr().out == "not compressed after all\n"
    assert run(deployed, "logs", "opsdev", "s-PLAIN", "--stream", "stdout") == 1
    assert_one_line(capsys.readouterr().err, "there is stderr. Fix: try again shortly, or choose one with --stream")
    assert run(deployed, "logs", "opsdev", "s-NOLOGS") == 1
    assert_one_line(capsys.readouterr().err, "no logs yet for s-NOLOGS", "Fix: EMR uploads step logs about every")


def test_wait_fails_in_one_line_on_an_unknown_step(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(deployed, "wait", "opsdev", "s-NOSUCHSTEP", "--timeout", "5") == 2
    assert_one_line(capsys.readouterr().err, "no step s-NOSUCHSTEP on j-")


def test_fails_when_the_endpoint_cannot_be_reached(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("localhost", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://localhost:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert run(deployed, "status", "opsdev") == 1
    assert_one_line(
        capsys.readouterr().err,
        f"cannot reach http://localhost:{port}/ (EndpointConnectionError)",
        f"AWS_ENDPOINT_URL (now 'http://localhost:{port}'; unset it to reach AWS)",
    )


def test_a_bug_still_raises(deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the arguments' and AWS's failures become one line; a programming error keeps its traceback.
    def broken(env: Environment, args: Any) -> int:
        raise KeyError("bug")

    monkeypatch.setattr(cli, "status", broken)
    with pytest.raises(KeyError):
        run(deployed, "status", "opsdev")


def test_adopt_identifies_each_kept_type_as_its_resource_schema_does() -> None:
    """``adopt``'s import identifiers are the types' primaryIdentifier in CloudFormation's resource schemas."""
    spec = importlib.util.find_spec("cfnlint")
    assert spec is not None and spec.origin is not None
    schemas = Path(spec.origin).parent / "data" / "schemas"
    providers = json.loads((schemas / "providers" / "us-east-1.json").read_text(encoding="utf-8"))
    for kind, identifier in IMPORT_IDENTIFIERS.items():
        schema = json.loads((schemas / "resources" / f"{providers[kind]}.json").read_text(encoding="utf-8"))
        assert schema["primaryIdentifier"] == [f"/properties/{identifier}"], kind


def test_every_type_the_stacks_retain_can_be_adopted(synthesized: Synthesized) -> None:
    retained = {
        r["Type"]
        for template in synthesized.templates.values()
        for r in template.to_json()["Resources"].values()
        if r.get("DeletionPolicy") == "Retain"
    }
    assert retained <= set(IMPORT_IDENTIFIERS)


class _StubbedSession:
    """A session whose CloudFormation client answers from a Stubber: moto never rolls a failed creation back, so
    ROLLBACK_COMPLETE exists on no emulator; the real client still checks every request and answer shape."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, service: str, region_name: str) -> Any:
        assert service == "cloudformation" and region_name == "eu-west-1"
        return self._client


@pytest.mark.parametrize("kept", [True, False])
def test_preflight_refuses_a_rolled_back_first_deployment_that_kept_resources(
    kept: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    client = boto3.client(
        "cloudformation",
        region_name="eu-west-1",
        aws_access_key_id="stub",
        aws_secret_access_key="stub",  # noqa: S106
    )
    summaries = [
        {
            "LogicalResourceId": "CatalogRawDatabase",
            "PhysicalResourceId": "emr_platform_dev_raw",
            "ResourceType": "AWS::Glue::Database",
            "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
            "ResourceStatus": "DELETE_SKIPPED" if kept else "DELETE_COMPLETE",
        }
    ]
    with Stubber(client) as stub:
        stub.add_response(
            "list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": "emr-platform-dev"}
        )
        env = Environment(
            "dev",
            "emr-platform-dev",
            "eu-west-1",
            {},
            _StubbedSession(client),  # type: ignore[arg-type]
            statuses={"emr-platform-dev": "ROLLBACK_COMPLETE"},
        )
        if kept:
            with pytest.raises(OpsError) as raised:
                preflight(env, argparse.Namespace())
            problem, fix = str(raised.value).split(". Fix: ")
            assert (
                "emr-platform-dev is in ROLLBACK_COMPLETE" in problem and "keeping 1 resources (1 Database)" in problem
            )
            assert "delete-stack --stack-name emr-platform-dev" in fix and "emr-platform-ops adopt dev" in fix
        else:
            assert preflight(env, argparse.Namespace()) == 0
            assert "rolled back and kept nothing" in capsys.readouterr().out
