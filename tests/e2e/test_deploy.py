"""The life of the dev environment on a real AWS API emulator, in order, on one deployment:

1. the real CDK CLI bootstraps the dev account and deploys the dev stack (running app.py);
2. the operations CLI finds the cluster from the stack's outputs, submits the sample job, waits, resizes the task
   fleet, and starts a run of the transient cluster;
3. an in-place change (managed scaling, task capacity, cluster tags) keeps the cluster and every other resource;
4. a replacing change (the release) makes a new cluster and terminates the old one: exactly the resources the
   replacement guard names for the same edit are replaced;
5. ``cdk destroy`` removes the stack and what it does not retain, and leaves every retained bucket (with its
   objects), the key and the log groups;
6. a new deployment is refused in one line (``preflight``, which ``make deploy`` runs): it would fail on the Glue
   databases' fixed names and start empty buckets; ``adopt`` writes the mapping with which ``cdk import`` takes the
   kept resources into a new stack, and ``cdk deploy`` adds the rest, on the old buckets with their data.

What the emulator cannot show, and why:

- it runs no EC2 instances and no Spark: a step never finishes (``wait`` ends on its timeout), and capacities
  are numbers in its records, not instances;
- the resource types in ``SKIPPED_BY_EMULATOR`` are not modelled by moto's CloudFormation at all: Glue databases
  among them, so neither their retention on ``cdk destroy`` nor their fixed names failing the second deployment
  (in AWS: ``AlreadyExistsException``) can be shown; docs/operate.md gives the recovery;
- custom resources' Lambda functions need Docker to run, so they are recorded, not run;
- updates of resources moto cannot update (``update_from_cloudformation_json``) other than the cluster: the
  edits here change the cluster only, which the test asserts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from emr_platform.ops import main
from emr_platform.tools.replacement import replacements
from emr_platform.tools.verdicts import compare
from tests.conftest import PROJECT
from tests.e2e.platform import Deployment, cdk, deployed, replace_once, succeeded

pytestmark = pytest.mark.e2e

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

IN_PLACE = [
    replace_once("maximum_capacity_units: 10", "maximum_capacity_units: 12"),
    replace_once("          spot_capacity: 0", "          spot_capacity: 2"),
    replace_once("    termination_protection: false\n", "    termination_protection: false\n    tags: {team: data}\n"),
]
REPLACING = replace_once(
    "    release_label: emr-7.13.0\n    applications: [Hadoop, Spark, Hive, Livy]",
    "    release_label: emr-7.14.0\n    applications: [Hadoop, Spark, Hive, Livy]",
)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The dev stack, bootstrapped and deployed by the CDK CLI into the emulator; the emulator lives for the
    module, whose tests run in the order of the life above."""
    with deployed("dev", tmp_path_factory.mktemp("e2e-dev")) as deployment:
        yield deployment


def test_the_cli_deploys_the_dev_stack(dev: Deployment) -> None:
    assert dev.stack()["StackStatus"] == "CREATE_COMPLETE"
    assert f"✅  {dev.stack_name}" in dev.log
    assert set(dev.outputs()) >= {
        "analyticsClusterId",
        "analyticsClusterName",
        "AlertsTopicArn",
        "LogUri",
        "ArtifactsBucket",
        "SampleJobScript",
        "weblogsStateMachineArn",
        *(f"{zone}Bucket" for zone in dev.settings.storage.data_zones),
    }


def test_the_emulator_skips_only_the_types_it_cannot_model(dev: Deployment) -> None:
    created = dev.physical_ids()
    skipped = {r["Type"] for logical_id, r in dev.template()["Resources"].items() if logical_id not in created}
    assert skipped == SKIPPED_BY_EMULATOR


def test_the_deployed_resources_are_as_synthesized(dev: Deployment) -> None:
    outputs = dev.outputs()
    emr = dev.client("emr")
    cluster = emr.describe_cluster(ClusterId=outputs["analyticsClusterId"])["Cluster"]
    assert cluster["Name"] == outputs["analyticsClusterName"] == f"{dev.stack_name}-analytics"
    assert cluster["Status"]["State"] == "WAITING"
    assert cluster["ReleaseLabel"] == dev.settings.clusters["analytics"].release_label
    assert cluster["LogUri"] == outputs["LogUri"]
    assert {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in cluster["Tags"]
    security = emr.describe_security_configuration(Name=cluster["SecurityConfiguration"])
    assert json.loads(security["SecurityConfiguration"])["EncryptionConfiguration"]["EnableAtRestEncryption"]
    s3 = dev.client("s3")
    for zone in dev.settings.storage.data_zones:
        encryption = s3.get_bucket_encryption(Bucket=outputs[f"{zone}Bucket"])["ServerSideEncryptionConfiguration"]
        assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    # The sample job reached the bootstrap bucket as an asset, byte for byte.
    bucket, _, key = outputs["SampleJobScript"].removeprefix("s3://").partition("/")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == (PROJECT / "emr_platform" / "assets" / "jobs" / "web_logs.py").read_bytes()


def test_operate_the_deployed_cluster(dev: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = dev.outputs()
    cluster_id = outputs["analyticsClusterId"]

    assert main(["status", "dev"]) == 0
    assert f"{dev.stack_name}-analytics ({cluster_id}): WAITING" in capsys.readouterr().out

    raw, curated = outputs["rawBucket"], outputs["curatedBucket"]
    job_args = ["--input", f"s3://{raw}/weblogs/", "--output", f"s3://{curated}/weblogs/"]
    job_args += ["--database", f"{dev.settings.database_prefix}_curated"]
    submitted = main(
        ["submit", "dev", outputs["SampleJobScript"], "--name", "web-logs", *(f"--arg={a}" for a in job_args)]
    )
    assert submitted == 0
    step_id = capsys.readouterr().out.strip()
    step = dev.client("emr").describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]
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

    assert main(["resize", "dev", "--task", "4"]) == 0
    assert "TargetSpotCapacity -> 4" in capsys.readouterr().out
    fleets = dev.client("emr").list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]
    assert [f["TargetSpotCapacity"] for f in fleets if f["InstanceFleetType"] == "TASK"] == [4]


def test_start_a_transient_run(dev: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "dev", "weblogs", "--run-name", "e2e-1"]) == 0
    execution_arn = capsys.readouterr().out.strip()
    execution = dev.client("stepfunctions").describe_execution(executionArn=execution_arn)
    assert execution["stateMachineArn"] == dev.outputs()["weblogsStateMachineArn"]
    assert execution["name"] == "e2e-1"
    assert main(["run", "dev", "nightly"]) == 2
    assert (
        "no transient cluster or Serverless job pipeline 'nightly' in dev. Fix: use one of weblogs"
        in capsys.readouterr().err
    )


@pytest.fixture(scope="module")
def in_place(dev: Deployment) -> dict[str, Any]:
    """The in-place edit, deployed: the templates and physical IDs before and after, and the guard's verdicts."""
    before, ids = dev.template(), dev.physical_ids()
    dev.deploy(dev.synthesize("in-place", *IN_PLACE))
    return {"before": before, "after": dev.template(), "ids": ids, "ids_after": dev.physical_ids()}


def test_an_in_place_change_keeps_the_cluster_and_everything_else(dev: Deployment, in_place: dict[str, Any]) -> None:
    before, after = in_place["before"], in_place["after"]
    changed = {k for k, r in after["Resources"].items() if k in before["Resources"] and r != before["Resources"][k]}
    assert {after["Resources"][k]["Type"] for k in changed} == {"AWS::EMR::Cluster"}  # what the emulator can update
    assert compare(dev.stack_name, before, after) == []  # the guard: nothing is replaced, removed or expiring
    assert in_place["ids_after"] == in_place["ids"]  # the emulator: every resource kept
    assert dev.stack()["StackStatus"] == "UPDATE_COMPLETE"

    cluster_id = dev.outputs()["analyticsClusterId"]
    emr = dev.client("emr")
    limits = emr.get_managed_scaling_policy(ClusterId=cluster_id)["ManagedScalingPolicy"]["ComputeLimits"]
    assert limits["MaximumCapacityUnits"] == 12
    fleets = emr.list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]
    assert [f["TargetSpotCapacity"] for f in fleets if f["InstanceFleetType"] == "TASK"] == [2]
    assert {"Key": "team", "Value": "data"} in emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Tags"]


@pytest.fixture(scope="module")
def replaced(dev: Deployment, in_place: dict[str, Any]) -> dict[str, Any]:
    """The replacing edit on top of the in-place one, deployed."""
    before, ids = dev.template(), dev.physical_ids()
    dev.deploy(dev.synthesize("replacing", REPLACING))
    return {"before": before, "after": dev.template(), "ids": ids, "ids_after": dev.physical_ids()}


def test_a_replacing_change_replaces_exactly_what_the_guard_predicted(
    dev: Deployment, replaced: dict[str, Any]
) -> None:
    predicted = replacements(replaced["before"], replaced["after"])
    [verdict] = compare(dev.stack_name, replaced["before"], replaced["after"])
    assert verdict.action == "replace" and verdict.setting == "config/dev.yaml: clusters.analytics: release_label"
    ids, ids_after = replaced["ids"], replaced["ids_after"]
    observed = {k for k in ids if ids_after.get(k) != ids[k]}
    assert observed == set(predicted) == {verdict.logical_id}

    emr = dev.client("emr")
    old, new = ids[verdict.logical_id], ids_after[verdict.logical_id]
    assert emr.describe_cluster(ClusterId=old)["Cluster"]["Status"]["State"] in ("TERMINATING", "TERMINATED")
    cluster = emr.describe_cluster(ClusterId=new)["Cluster"]
    assert cluster["Status"]["State"] == "WAITING" and cluster["ReleaseLabel"] == "emr-7.14.0"
    assert dev.outputs()["analyticsClusterId"] == new


def test_the_operations_cli_follows_the_new_cluster(
    dev: Deployment, replaced: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cluster_id = dev.outputs()["analyticsClusterId"]
    assert main(["status", "dev"]) == 0
    assert f"({cluster_id}): WAITING" in capsys.readouterr().out
    assert main(["terminate", "dev", "--yes"]) == 0
    assert f"{cluster_id}: terminating" in capsys.readouterr().out
    state = dev.client("emr").describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
    assert state in ("TERMINATING", "TERMINATED")


@pytest.fixture(scope="module")
def destroyed(dev: Deployment, replaced: dict[str, Any]) -> dict[str, Any]:
    """An object written into every bucket the stack retains, then ``cdk destroy``."""
    template, ids, stack_id = dev.template(), dev.physical_ids(), dev.stack()["StackId"]
    retained = {k for k, r in template["Resources"].items() if r.get("DeletionPolicy") == "Retain" and k in ids}
    s3 = dev.client("s3")
    buckets = {ids[k] for k in retained if template["Resources"][k]["Type"] == "AWS::S3::Bucket"}
    for bucket in buckets:
        s3.put_object(Bucket=bucket, Key="kept/data.csv", Body=b"id,value\n1,kept\n")
    output = succeeded(cdk("destroy", "--app", str(dev.assembly), dev.stack_name, "--force"))
    return {"template": template, "ids": ids, "retained": retained, "buckets": buckets, "output": output,
            "stack": dev.client("cloudformation").describe_stacks(StackName=stack_id)["Stacks"][0]}  # fmt: skip


def test_cdk_destroy_keeps_every_retained_resource_with_its_data(dev: Deployment, destroyed: dict[str, Any]) -> None:
    assert destroyed["stack"]["StackStatus"] == "DELETE_COMPLETE"
    template, ids = destroyed["template"], destroyed["ids"]
    kinds = {template["Resources"][k]["Type"] for k in destroyed["retained"]}
    assert kinds == {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup"}  # Glue databases: not modelled
    s3, kms, logs = dev.client("s3"), dev.client("kms"), dev.client("logs")
    assert len(destroyed["buckets"]) == 1 + len(dev.settings.storage.data_zones) + 1  # logs, zones, artifacts
    for bucket in destroyed["buckets"]:
        assert s3.get_object(Bucket=bucket, Key="kept/data.csv")["Body"].read() == b"id,value\n1,kept\n"
    for logical_id in destroyed["retained"]:
        kind, physical = template["Resources"][logical_id]["Type"], ids[logical_id]
        if kind == "AWS::KMS::Key":
            assert kms.describe_key(KeyId=physical)["KeyMetadata"]["KeyState"] == "Enabled"
        elif kind == "AWS::Logs::LogGroup":
            assert logs.describe_log_groups(logGroupNamePrefix=physical)["logGroups"][0]["logGroupName"] == physical


def test_cdk_destroy_removes_what_is_not_retained(dev: Deployment, destroyed: dict[str, Any]) -> None:
    template, ids = destroyed["template"], destroyed["ids"]
    by_type = {template["Resources"][k]["Type"]: ids[k] for k in ids if k not in destroyed["retained"]}
    ec2, iam = dev.client("ec2"), dev.client("iam")
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [by_type["AWS::EC2::VPC"]]}])["Vpcs"]
    # The security groups EMR manages are gone with the VPC: they did not block the deletion.
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [by_type["AWS::EC2::VPC"]]}])
    assert groups["SecurityGroups"] == []
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert not roles & {ids[k] for k in ids if template["Resources"][k]["Type"] == "AWS::IAM::Role"}
    assert dev.client("stepfunctions").list_state_machines()["stateMachines"] == []
    cluster = dev.client("emr").describe_cluster(ClusterId=by_type["AWS::EMR::Cluster"])["Cluster"]
    assert cluster["Status"]["State"] in ("TERMINATING", "TERMINATED")


def test_a_deployment_after_destroy_is_refused_in_one_line_until_the_kept_resources_are_adopted(
    dev: Deployment, destroyed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preflight", "dev"]) == 1
    refused = capsys.readouterr().err
    assert refused.count("\n") == 1 and f"{dev.stack_name} was deleted on " in refused
    assert f"kept {len(destroyed['retained'])} resources" in refused and "emr-platform-ops adopt dev" in refused


def test_adopting_the_kept_resources_brings_their_data_back_into_a_new_stack(
    dev: Deployment, destroyed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = dev.work / "import-dev.json"
    assert main(["adopt", "dev", "--output", str(mapping)]) == 0
    assert f"Next: cdk import -c env=dev {dev.stack_name} --resource-mapping {mapping}" in capsys.readouterr().out
    assert set(json.loads(mapping.read_text(encoding="utf-8"))) == destroyed["retained"]

    succeeded(cdk("import", "--app", str(dev.assembly), dev.stack_name, "--resource-mapping", str(mapping)))
    assert dev.stack()["StackStatus"] == "IMPORT_COMPLETE"
    assert dev.physical_ids() == {k: destroyed["ids"][k] for k in destroyed["retained"]}
    dev.deploy(dev.assembly)  # then everything else
    assert dev.stack()["StackStatus"] == "UPDATE_COMPLETE"
    assert main(["preflight", "dev"]) == 0
    capsys.readouterr()

    outputs, s3 = dev.outputs(), dev.client("s3")
    for zone in dev.settings.storage.data_zones:  # the same buckets, with their data
        assert outputs[f"{zone}Bucket"] in destroyed["buckets"]
        assert (
            s3.get_object(Bucket=outputs[f"{zone}Bucket"], Key="kept/data.csv")["Body"].read() == b"id,value\n1,kept\n"
        )
    cluster = dev.client("emr").describe_cluster(ClusterId=outputs["analyticsClusterId"])["Cluster"]
    assert cluster["Status"]["State"] == "WAITING"
