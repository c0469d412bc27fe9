"""The deploy path, end to end, against a real AWS API emulator: the real CDK CLI bootstraps the dev environment's
account and deploys the dev stack into a moto server on localhost; then the operations CLI finds the cluster from
the stack's outputs, submits the sample Spark job, waits, reads its status and terminates the cluster.

What the emulator cannot show (it runs no EC2 instances and no Spark): a step never finishes, so ``wait`` ends
with its timeout; custom resources' Lambda functions need Docker to run, so they are recorded, not run; the
resource types in ``SKIPPED_BY_EMULATOR`` are not modelled by moto's CloudFormation at all.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from emr_platform.ops import main
from emr_platform.spec.settings import load_settings
from tests.conftest import PROJECT, running_emulator

pytestmark = pytest.mark.e2e

SETTINGS = load_settings("dev")
STACK = SETTINGS.stack_name

# moto 5.2.5's CloudFormation has no model for these types: it warns, skips them and completes the stack. Keep this
# list to what moto cannot model; a type that disappears from it is a type moto learned (then delete it here).
SKIPPED_BY_EMULATOR = {
    "AWS::CDK::Metadata",
    "AWS::CloudWatch::Alarm",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::Glue::Crawler",
    "AWS::Glue::Database",
    "AWS::Glue::SecurityConfiguration",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
}


def _cdk(*args: str) -> subprocess.CompletedProcess[str]:
    """The pinned CDK CLI from node_modules, on the pinned Node, against the emulator (``os.environ``)."""
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
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The dev stack, bootstrapped and deployed by the CDK CLI into the emulator; its outputs and template."""
    work = tmp_path_factory.mktemp("e2e")
    with running_emulator(account=SETTINGS.account, log=work / "emulator.log"):
        bootstrap = _cdk("bootstrap", f"aws://{SETTINGS.account}/{SETTINGS.region}")
        assert bootstrap.returncode == 0, (bootstrap.stdout + bootstrap.stderr)[-3000:]
        deploy = _cdk(
            "deploy", "-c", "env=dev", STACK, "--require-approval", "never", "--output", str(work / "cdk.out"),
        )  # fmt: skip
        assert deploy.returncode == 0, (deploy.stdout + deploy.stderr)[-3000:]
        stack = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
        template = json.loads((work / "cdk.out" / f"{STACK}.template.json").read_text(encoding="utf-8"))
        yield {
            "stack": stack,
            "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
            "template": template,
            "deploy_log": deploy.stdout + deploy.stderr,  # CI=true moves the CLI's progress to stdout
        }


def test_the_cli_deploys_the_dev_stack(deployment: dict[str, Any]) -> None:
    assert deployment["stack"]["StackStatus"] == "CREATE_COMPLETE"
    assert f"✅  {STACK}" in deployment["deploy_log"]
    assert set(deployment["outputs"]) >= {
        "analyticsClusterId",
        "analyticsClusterName",
        "AlertsTopicArn",
        "LogUri",
        "ArtifactsBucket",
        "SampleJobScript",
        "weblogsStateMachineArn",
        *(f"{zone}Bucket" for zone in SETTINGS.storage.data_zones),
    }


def test_the_emulator_skips_only_the_types_it_cannot_model(deployment: dict[str, Any]) -> None:
    created = {
        r["LogicalResourceId"]
        for r in boto3.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    }
    skipped = {
        resource["Type"]
        for logical_id, resource in deployment["template"]["Resources"].items()
        if logical_id not in created
    }
    assert skipped == SKIPPED_BY_EMULATOR


def test_the_deployed_resources_are_as_synthesized(deployment: dict[str, Any]) -> None:
    outputs = deployment["outputs"]
    emr = boto3.client("emr")
    cluster = emr.describe_cluster(ClusterId=outputs["analyticsClusterId"])["Cluster"]
    assert cluster["Name"] == outputs["analyticsClusterName"] == f"{STACK}-analytics"
    assert cluster["Status"]["State"] == "WAITING"
    assert cluster["ReleaseLabel"] == SETTINGS.clusters["analytics"].release_label
    assert cluster["LogUri"] == outputs["LogUri"]
    assert {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in cluster["Tags"]
    security = emr.describe_security_configuration(Name=cluster["SecurityConfiguration"])
    assert json.loads(security["SecurityConfiguration"])["EncryptionConfiguration"]["EnableAtRestEncryption"]
    s3 = boto3.client("s3")
    for zone in SETTINGS.storage.data_zones:
        encryption = s3.get_bucket_encryption(Bucket=outputs[f"{zone}Bucket"])["ServerSideEncryptionConfiguration"]
        assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    # The sample job reached the bootstrap bucket as an asset, byte for byte.
    bucket, _, key = outputs["SampleJobScript"].removeprefix("s3://").partition("/")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == (PROJECT / "emr_platform" / "assets" / "jobs" / "web_logs.py").read_bytes()


def test_operate_the_deployed_cluster(deployment: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    outputs = deployment["outputs"]
    cluster_id = outputs["analyticsClusterId"]

    assert main(["status", "dev"]) == 0
    assert f"{STACK}-analytics ({cluster_id}): WAITING" in capsys.readouterr().out

    raw, curated = outputs["rawBucket"], outputs["curatedBucket"]
    job_args = ["--input", f"s3://{raw}/weblogs/", "--output", f"s3://{curated}/weblogs/"]
    job_args += ["--database", f"{SETTINGS.database_prefix}_curated"]
    assert (
        main(["submit", "dev", outputs["SampleJobScript"], "--name", "web-logs", *(f"--arg={a}" for a in job_args)])
        == 0
    )
    step_id = capsys.readouterr().out.strip()
    step = boto3.client("emr").describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]
    assert step["Config"]["Args"] == [
        "spark-submit", "--deploy-mode", "cluster", outputs["SampleJobScript"], *job_args,
    ]  # fmt: skip

    # The emulator runs no Spark: the step stays RUNNING, so wait shows the progress and ends on its timeout.
    assert main(["wait", "dev", step_id, "--timeout", "1", "--poll", "0.2"]) == 3
    waited = capsys.readouterr()
    assert f"{step_id}: RUNNING" in waited.out
    assert f"error: {step_id} still RUNNING after 1 s" in waited.err

    assert main(["status", "dev"]) == 0
    assert f"step {step_id} RUNNING     web-logs" in capsys.readouterr().out

    assert main(["terminate", "dev", "--yes"]) == 0
    assert f"{cluster_id}: terminating" in capsys.readouterr().out
    state = boto3.client("emr").describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
    assert state in ("TERMINATING", "TERMINATED")


def test_start_a_transient_run(deployment: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "dev", "weblogs", "--run-name", "e2e-1"]) == 0
    execution_arn = capsys.readouterr().out.strip()
    execution = boto3.client("stepfunctions").describe_execution(executionArn=execution_arn)
    assert execution["stateMachineArn"] == deployment["outputs"]["weblogsStateMachineArn"]
    assert execution["name"] == "e2e-1"
    assert main(["run", "dev", "nightly"]) == 2
    assert "no transient cluster 'nightly' in dev. Fix: use one of weblogs" in capsys.readouterr().err
