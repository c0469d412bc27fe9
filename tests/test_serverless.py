"""EMR Serverless applications and EMR Studio: settings, templates (network, encryption, roles, grants), gates, and
the operations CLI's job runs."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from emr_platform.app import build_app
from emr_platform.ops import main
from emr_platform.spec.errors import SettingsError
from emr_platform.spec.settings import load_settings
from emr_platform.tools.guard import compare
from emr_platform.tools.summary import summarize

from .conftest import PROJECT, cfn_lint_errors, running_emulator
from .test_compliance import checkov_failures
from .test_ops import SETTINGS as OPS_ENVIRONMENT

APPLICATION = {
    "release_label": "emr-7.13.0",
    "maximum_vcpus": 64,
    "maximum_memory_gb": 256,
    "drivers": {"count": 1},
    "executors": {"count": 4, "vcpus": 4, "memory_gb": 16},
}
PIPELINE = {
    "jobs": [
        {"name": "raw to curated", "script": "{sample_job}", "args": ["--input", "{zone:raw}/web/"]},
        {"name": "report", "script": "s3://reports/report.py", "spark_parameters": "--conf spark.executor.cores=4"},
    ],
    "schedule": "cron(0 3 * * ? *)",
}


STUDIO = {"auth_mode": "SSO", "users": ["alice"], "groups": ["data-engineers"]}


def _settings(studio: dict[str, Any] | None = None, **applications: Any) -> dict[str, Any]:
    settings = dict(yaml.safe_load((PROJECT / "config" / "dev.yaml").read_text(encoding="utf-8")))
    settings["serverless_applications"] = applications
    if studio is not None:
        settings["studio"] = studio
    return settings


def _write(folder: Path, settings: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dev.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def template(context: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """dev with an EMR Serverless application and an EMR Studio, through every gate (an unacknowledged finding
    raises)."""
    root = tmp_path_factory.mktemp("serverless")
    config = _write(root / "config", _settings(studio=STUDIO, etl={**APPLICATION, **PIPELINE}))
    out = root / "cdk.out"
    build_app(config_dir=config, context={**context, "env": "dev"}, outdir=str(out)).synth()
    path = out / "emr-platform-dev.template.json"
    return json.loads(path.read_text(encoding="utf-8")), path


def _of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _id(template: dict[str, Any], kind: str, prefix: str) -> str:
    [found] = [k for k in _of(template, kind) if k.startswith(prefix)]
    return found


def test_the_application_runs_in_the_private_subnets_and_logs_encrypted(template: tuple[dict[str, Any], Path]) -> None:
    resources = template[0]
    [application] = _of(resources, "AWS::EMRServerless::Application").values()
    props = application["Properties"]
    assert props["Name"] == "emr-platform-dev-etl" and props["Type"] == "Spark"
    assert props["ReleaseLabel"] == "emr-7.13.0" and props["Architecture"] == "ARM64"
    assert props["AutoStopConfiguration"] == {"Enabled": True, "IdleTimeoutMinutes": 15}
    assert props["MaximumCapacity"] == {"Cpu": "64 vCPU", "Memory": "256 GB", "Disk": "2000 GB"}
    private = set(_of(resources, "AWS::EC2::Subnet"))  # the platform's VPC has private subnets only
    subnets = {s["Ref"] for s in props["NetworkConfiguration"]["SubnetIds"]}
    assert subnets == private
    group = _id(resources, "AWS::EC2::SecurityGroup", "etlServerlessSecurityGroup")
    assert props["NetworkConfiguration"]["SecurityGroupIds"] == [{"Fn::GetAtt": [group, "GroupId"]}]
    monitoring = props["MonitoringConfiguration"]["S3MonitoringConfiguration"]
    assert monitoring["EncryptionKeyArn"] == {"Fn::GetAtt": [_id(resources, "AWS::KMS::Key", "StorageKey"), "Arn"]}
    assert "StorageLogsBucket" in json.dumps(
        monitoring["LogUri"]
    ) and "/emr-serverless/emr-platform-dev-etl/" in json.dumps(monitoring["LogUri"])
    capacity = {c["Key"]: c["Value"] for c in props["InitialCapacity"]}
    assert capacity["Executor"]["WorkerCount"] == 4
    assert capacity["Executor"]["WorkerConfiguration"] == {"Cpu": "4 vCPU", "Memory": "16 GB", "Disk": "20 GB"}


def test_its_security_group_admits_nothing_and_sends_only_https_inside_the_vpc(
    template: tuple[dict[str, Any], Path],
) -> None:
    resources = template[0]["Resources"]
    group = resources[_id(template[0], "AWS::EC2::SecurityGroup", "etlServerlessSecurityGroup")]["Properties"]
    assert "SecurityGroupIngress" not in group
    [egress] = group["SecurityGroupEgress"]
    assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 443, 443)
    assert egress["CidrIp"] == {"Fn::GetAtt": [_id(template[0], "AWS::EC2::VPC", "NetworkVpc"), "CidrBlock"]}
    ingress = [
        r for r in _of(template[0], "AWS::EC2::SecurityGroupIngress").values() if "etlServerless" in json.dumps(r)
    ]
    assert ingress == []


def test_jobs_run_as_a_role_with_the_grants_of_a_clusters_nodes(template: tuple[dict[str, Any], Path]) -> None:
    resources = template[0]
    role = resources["Resources"][_id(resources, "AWS::IAM::Role", "etlServerlessJobRole")]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "emr-serverless.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}
    assert "Policies" not in role  # no inline policy: every grant is in the managed policy
    policy = resources["Resources"][_id(resources, "AWS::IAM::ManagedPolicy", "etlServerlessJobRolePolicy")]
    text = json.dumps(policy["Properties"]["PolicyDocument"])
    for expected in ("StorageRawBucket", "StorageCuratedBucket", "StorageAnalyticsBucket", "StorageArtifactsBucket"):
        assert expected in text, expected
    for action in ("s3:PutObject", "glue:CreateTable", "kms:GenerateDataKey", "kms:Decrypt"):
        assert action in text, action
    assert "database/emr_platform_dev_raw" in text and "s3:*" not in text and '"*"' not in text


def test_outputs_cfn_lint_and_checkov(template: tuple[dict[str, Any], Path]) -> None:
    outputs = template[0]["Outputs"]
    assert {"etlServerlessApplicationId", "etlServerlessJobRoleArn", "etlServerlessLogUri"} <= set(outputs)
    assert cfn_lint_errors(template[1]) == []
    assert checkov_failures(template[1].parent) == []  # the four packs and Control Tower's rules ran at synthesis


@pytest.mark.parametrize(
    ("application", "expected"),
    [
        (
            {"release_label": "emr-6.5.0"},
            "serverless_applications.etl.release_label: emr-6.5.0 is older than EMR Serverless",
        ),
        ({"release_label": "emr-spark-8.0.0"}, "EMR Serverless runs emr-<version> releases"),
        ({**APPLICATION, "executors": {"count": 2, "vcpus": 3}}, "executors.vcpus: 3 vCPUs is not a worker size"),
        ({**APPLICATION, "executors": {"count": 2, "vcpus": 4, "memory_gb": 64}}, "has 8 to 30 GB of memory, not 64"),
        ({**APPLICATION, "executors": {"count": 2, "disk_gb": 500}}, "20 to 200 GB of disk"),
        ({**APPLICATION, "executors": {"count": 40}}, "exceed maximum_vcpus (64)"),
        ({**APPLICATION, "idle_timeout_minutes": 0}, "idle_timeout_minutes"),
        ({**APPLICATION, "architecture": "arm"}, "architecture"),
        ({**APPLICATION, "image_uri": "public.ecr.aws/x:1"}, "image_uri"),
        ({**APPLICATION, "schedule": "rate(1 day)"}, "a schedule with no jobs to run"),
        ({**APPLICATION, "jobs": [{"name": "a", "script": "{zone:gold}"}]}, "jobs[0]: no data zone 'gold'"),
        ({**APPLICATION, "jobs": [{"name": "a", "script": "report.py"}]}, "neither an s3:// URI nor a placeholder"),
    ],
)
def test_fails_on_a_bad_application_with_the_field_and_the_fix(
    tmp_path: Path, application: dict[str, Any], expected: str
) -> None:
    config = _write(tmp_path, _settings(etl=application))
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", config)
    assert expected in str(raised.value) and "Fix:" in str(raised.value), str(raised.value)


def test_fails_on_a_name_longer_than_emr_serverless_takes(tmp_path: Path) -> None:
    config = _write(tmp_path, {**_settings(**{"a" * 32: APPLICATION}), "platform_name": "p" * 32})
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", config)
    assert "more than EMR Serverless's 64" in str(raised.value)


def test_the_jobs_run_in_order_from_step_functions_on_schedule(template: tuple[dict[str, Any], Path]) -> None:
    resources = template[0]
    machine = resources["Resources"][_id(resources, "AWS::StepFunctions::StateMachine", "etlServerlessJobs")]
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    assert definition.count("states:::emr-serverless:startJobRun.sync") == 2
    assert "raw to curated" in definition and "--conf spark.executor.cores=4" in definition
    assert "StorageRawBucket" in definition and "{zone:raw}" not in definition  # placeholders resolved
    application = _id(resources, "AWS::EMRServerless::Application", "etlServerless")
    assert application in definition
    policy = resources["Resources"][_id(resources, "AWS::IAM::ManagedPolicy", "etlServerlessJobsRolePolicy")]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    [start] = [s for s in statements if s["Action"] == "emr-serverless:StartJobRun"]
    assert application in json.dumps(start["Resource"]) and "jobruns" not in json.dumps(start["Resource"])
    [passing] = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}
    [rule] = [r for k, r in _of(resources, "AWS::Events::Rule").items() if k.startswith("etlServerlessJobsSchedule")]
    assert rule["Properties"]["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert "etlServerlessPipelineArn" in resources["Outputs"]


# --- EMR Studio ---------------------------------------------------------------------------------------------------


def test_studio_runs_in_the_private_subnets_and_backs_up_encrypted_to_the_artifacts_bucket(
    template: tuple[dict[str, Any], Path],
) -> None:
    resources = template[0]
    [studio] = _of(resources, "AWS::EMR::Studio").values()
    props = studio["Properties"]
    assert props["AuthMode"] == "SSO" and props["Name"] == "emr-platform-dev"
    assert {s["Ref"] for s in props["SubnetIds"]} == set(_of(resources, "AWS::EC2::Subnet"))
    assert "StorageArtifactsBucket" in json.dumps(props["DefaultS3Location"]) and "/studio/" in json.dumps(
        props["DefaultS3Location"]
    )
    assert props["EncryptionKeyArn"] == {"Fn::GetAtt": [_id(resources, "AWS::KMS::Key", "StorageKey"), "Arn"]}
    mappings = {
        (m["Properties"]["IdentityName"], m["Properties"]["IdentityType"])
        for m in _of(resources, "AWS::EMR::StudioSessionMapping").values()
    }
    assert mappings == {("alice", "USER"), ("data-engineers", "GROUP")}
    assert "StudioUrl" in resources["Outputs"]


def test_studio_workspaces_reach_only_their_engines_and_the_vpc(template: tuple[dict[str, Any], Path]) -> None:
    resources = template[0]
    engine = _id(resources, "AWS::EC2::SecurityGroup", "StudioEngineSecurityGroup")
    workspace = _id(resources, "AWS::EC2::SecurityGroup", "StudioWorkspaceSecurityGroup")
    rules = [
        r["Properties"]
        for r in [
            *_of(resources, "AWS::EC2::SecurityGroupIngress").values(),
            *_of(resources, "AWS::EC2::SecurityGroupEgress").values(),
        ]
        if engine in json.dumps(r) or workspace in json.dumps(r)
    ]
    ingress = [r for r in rules if "SourceSecurityGroupId" in r]
    assert [(r["FromPort"], r["SourceSecurityGroupId"]["Fn::GetAtt"][0]) for r in ingress] == [(18888, workspace)]
    egress = resources["Resources"][workspace]["Properties"]["SecurityGroupEgress"]
    assert [(e["FromPort"], "CidrIp" in e) for e in egress] == [(443, True)]
    to_engine = [r for r in rules if "DestinationSecurityGroupId" in r]
    assert [(r["FromPort"], r["DestinationSecurityGroupId"]["Fn::GetAtt"][0]) for r in to_engine] == [(18888, engine)]
    for group in (engine, workspace):
        tags = {t["Key"]: t["Value"] for t in resources["Resources"][group]["Properties"]["Tags"]}
        assert tags["for-use-with-amazon-emr-managed-policies"] == "true"


def test_studio_service_role_acts_on_network_interfaces_only_by_the_emr_tag(
    template: tuple[dict[str, Any], Path],
) -> None:
    resources = template[0]
    role = resources["Resources"][_id(resources, "AWS::IAM::Role", "StudioServiceRole")]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "elasticmapreduce.amazonaws.com"}
    assert set(trust["Condition"]) == {"StringEquals", "ArnLike"}
    policy = resources["Resources"][_id(resources, "AWS::IAM::ManagedPolicy", "StudioServiceRolePolicy")]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    [network] = [s for s in statements if "ec2:CreateNetworkInterface" in s["Action"]]
    assert network["Condition"] == {
        "StringEquals": {"aws:ResourceTag/for-use-with-amazon-emr-managed-policies": "true"}
    }
    assert all(s["Resource"] != "*" or "Describe" in json.dumps(s) or "Condition" in s for s in statements)


@pytest.mark.parametrize(
    ("studio", "expected"),
    [
        ({"auth_mode": "SSO"}, "auth_mode SSO with no users and no groups"),
        ({"auth_mode": "IAM", "users": ["alice"]}, "studio.users: users and groups are Identity Center's"),
        ({"auth_mode": "LDAP"}, "studio.auth_mode"),
    ],
)
def test_fails_on_a_bad_studio_with_the_field_and_the_fix(
    tmp_path: Path, studio: dict[str, Any], expected: str
) -> None:
    config = _write(tmp_path, _settings(studio=studio))
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", config)
    assert expected in str(raised.value) and "Fix:" in str(raised.value), str(raised.value)


# --- the operations CLI against the emulator --------------------------------------------------------------------

# The operations tests' environment, with an EMR Serverless application.
OPS_SETTINGS = OPS_ENVIRONMENT.replace("environment: opsdev", "environment: opsless") + (
    "serverless_applications:\n  etl: {release_label: emr-7.13.0}\n"
)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An environment with an EMR Serverless application as a deployment leaves it (the emulator's EMR Serverless
    has no CloudFormation model: the application is created by its API, the stack carries the outputs)."""
    with running_emulator():
        config = tmp_path_factory.mktemp("config")
        (config / "opsless.yaml").write_text(OPS_SETTINGS, encoding="utf-8")
        serverless = boto3.client("emr-serverless", region_name="eu-west-1")
        application_id = serverless.create_application(
            name="emr-platform-opsless-etl", releaseLabel="emr-7.13.0", type="SPARK"
        )["applicationId"]
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="opsless-artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(Bucket="opsless-artifacts", Key="jobs/etl.py", Body=b"print('etl')")
        s3.create_bucket(Bucket="opsless-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        outputs = {
            "ArtifactsBucket": "opsless-artifacts",
            "etlServerlessApplicationId": application_id,
            "etlServerlessJobRoleArn": "arn:aws:iam::111111111111:role/etl-jobs",
            "etlServerlessLogUri": "s3://opsless-logs/emr-serverless/emr-platform-opsless-etl/",
        }
        boto3.client("cloudformation", region_name="eu-west-1").create_stack(
            StackName="emr-platform-opsless",
            TemplateBody=json.dumps(
                {
                    "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                    "Outputs": {k: {"Value": v} for k, v in outputs.items()},
                }
            ),
        )
        yield {"config": config, "application_id": application_id, "client": serverless}


def _run(deployed: dict[str, Any], *args: str) -> int:
    return main(["--config-dir", str(deployed["config"]), *args])


def test_a_job_runs_waits_and_cancels_through_the_cli(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(deployed, "job-run", "opsless", "etl", "jobs/etl.py", "--arg=--date=2026-12-01") == 0
    job_run_id = capsys.readouterr().out.strip()
    run = deployed["client"].get_job_run(applicationId=deployed["application_id"], jobRunId=job_run_id)["jobRun"]
    assert run["executionRole"] == "arn:aws:iam::111111111111:role/etl-jobs"
    assert run["jobDriver"]["sparkSubmit"] == {
        "entryPoint": "s3://opsless-artifacts/jobs/etl.py",
        "entryPointArguments": ["--date=2026-12-01"],
    }
    assert _run(deployed, "job-wait", "opsless", "etl", job_run_id, "--poll", "0.1") == 0
    assert f"{job_run_id}: SUCCESS" in capsys.readouterr().out
    driver = f"emr-serverless/emr-platform-opsless-etl/applications/{deployed['application_id']}/jobs/{job_run_id}"
    boto3.client("s3", region_name="eu-west-1").put_object(
        Bucket="opsless-logs", Key=f"{driver}/SPARK_DRIVER/stderr.gz", Body=gzip.compress(b"INFO etl done\n")
    )
    assert _run(deployed, "job-logs", "opsless", "etl", job_run_id) == 0
    assert capsys.readouterr().out == "INFO etl done\n"
    assert _run(deployed, "job-logs", "opsless", "etl", job_run_id, "--stream", "stdout") != 0
    assert "no stdout log of job run" in capsys.readouterr().err
    assert _run(deployed, "job-cancel", "opsless", "etl", job_run_id) == 0
    assert _run(deployed, "job-wait", "opsless", "etl", job_run_id, "--poll", "0.1") == 3  # cancelled: not a success


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("job-run", "opsless", "nightly", "jobs/etl.py"), "no EMR Serverless application 'nightly' in opsless"),
        (
            ("job-run", "opsless", "etl", "jobs/missing.py"),
            "the script s3://opsless-artifacts/jobs/missing.py does not exist",
        ),
        (("job-wait", "opsless", "etl", "NOT-AN-ID"), "not an EMR Serverless job run id"),
        (("job-wait", "opsless", "etl", "0000000000000000"), "ResourceNotFound"),
    ],
)
def test_fails_in_one_line(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: str
) -> None:
    assert _run(deployed, *args) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected in err and "Fix:" in err, err


def test_the_summary_and_the_guard_know_the_application(template: tuple[dict[str, Any], Path]) -> None:
    summary = summarize(template[1].parent)
    assert "serverless emr-platform-dev-etl: Spark emr-7.13.0 ARM64, at most 64 vCPU / 256 GB" in summary
    old = template[0]
    new = copy.deepcopy(old)
    [name] = _of(new, "AWS::EMRServerless::Application")
    new["Resources"][name]["Properties"]["Type"] = "Hive"  # create-only, and the name stays: CloudFormation fails
    [verdict] = compare("emr-platform-dev", old, new)
    assert verdict.action == "fail" and "custom name 'emr-platform-dev-etl'" in verdict.detail
