"""The operations CLI against a real AWS API emulator (moto server on localhost), through the real boto3 client."""

from __future__ import annotations

import gzip
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from emr_platform.ops import main

from .conftest import PROJECT, no_credentials_env, running_emulator

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
    assert "no stderr for s-NONE" in capsys.readouterr().err


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
    assert len(result.stderr.strip().splitlines()) == 1


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
