"""Transient clusters: the state machine in the dev template, its RunJobFlow request, its rights, its safeguards."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from aws_cdk.assertions import Match, Template
from botocore.validate import ParamValidator

from emr_platform.constructs import EmrMonitoring, EmrSecurityConfiguration, PlatformNotifications, TransientEmrCluster
from emr_platform.spec.errors import PropError, SettingsError
from emr_platform.spec.security import SecuritySpec
from emr_platform.spec.settings import load_settings

from .conftest import PROJECT, Synthesized, base_stack, placement_of, running_emulator

CLUSTER = {
    "release_label": "emr-7.13.0",
    "applications": ["Hadoop", "Spark"],
    "instance_groups": {
        "primary": {"instance_type": "m7g.xlarge", "instance_count": 1},
        "core": {"instance_type": "r7g.xlarge", "instance_count": 2},
    },
}


def _definition(template: Template) -> dict[str, Any]:
    """The state machine's definition, each CloudFormation token replaced by the string TOKEN."""
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return dict(json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts)))


@pytest.fixture(scope="module")
def dev(synthesized: Synthesized) -> Template:
    return synthesized.templates["dev"]


@pytest.fixture(scope="module")
def definition(dev: Template) -> dict[str, Any]:
    return _definition(dev)


def test_a_run_creates_runs_every_step_and_always_terminates(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert definition["StartAt"] == "CreateCluster"
    assert states["CreateCluster"]["Resource"].endswith(":elasticmapreduce:createCluster.sync")
    assert states["CreateCluster"]["Next"] == "Step1"
    # A cluster that did not start was terminated by EMR; the run fails (and the reaper double-checks).
    assert states["CreateCluster"]["Catch"][0] == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.error",
        "Next": "ClusterDidNotStart",
    }
    step = states["Step1"]
    assert step["Resource"].endswith(":elasticmapreduce:addStep.sync")
    assert step["Next"] == "TerminateCluster"
    assert step["Catch"][0]["Next"] == "TerminateCluster"  # a failed step still terminates the cluster
    assert step["Parameters"]["Step"]["ActionOnFailure"] == "CONTINUE"
    terminate = states["TerminateCluster"]
    assert terminate["Resource"].endswith(":elasticmapreduce:terminateCluster.sync")
    assert terminate["Retry"][0]["MaxAttempts"] == 5
    assert states["StepFailed?"]["Choices"][0] == {"Variable": "$.error", "IsPresent": True, "Next": "RunFailed"}
    assert states["RunFailed"]["Type"] == "Fail" and states["Done"]["Type"] == "Succeed"
    assert definition["TimeoutSeconds"] == 120 * 60


def test_the_run_job_flow_request_is_valid_for_the_emr_api(definition: dict[str, Any]) -> None:
    parameters = definition["States"]["CreateCluster"]["Parameters"]
    request = _without_json_paths(parameters)
    request["Name"] = "emr-platform-dev-weblogs-run1"
    shape = botocore.session.get_session().get_service_model("emr").operation_model("RunJobFlow").input_shape
    assert shape is not None
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    instances = request["Instances"]
    assert instances["KeepJobFlowAliveWhenNoSteps"] is True
    assert instances["TerminationProtected"] is False
    assert [f["InstanceFleetType"] for f in instances["InstanceFleets"]] == ["MASTER", "CORE"]
    assert request["AutoTerminationPolicy"] == {"IdleTimeout": 15 * 60}  # the last safeguard
    assert request["SecurityConfiguration"] == "TOKEN"
    assert parameters["Name.$"] == "States.Format('{}-{}', 'emr-platform-dev-weblogs', $$.Execution.Name)"


def _without_json_paths(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_json_paths(v) for k, v in value.items() if not k.endswith(".$")}
    if isinstance(value, list):
        return [_without_json_paths(v) for v in value]
    return value


def test_every_run_cluster_is_tagged_and_uses_the_glue_catalog(definition: dict[str, Any]) -> None:
    parameters = definition["States"]["CreateCluster"]["Parameters"]
    tags = parameters["Tags"]
    assert {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in tags
    assert {"Key": "emr-platform:transient", "Value": "weblogs"} in tags
    assert {"Key": "emr-platform:execution", "Value.$": "$$.Execution.Id"} in tags
    assert {"Key": "project", "Value": "emr-platform"} in tags  # the stack's tags, which no CDK tag carries there
    # Rendered at synthesis: the Glue metastore configuration added by the stack after construction is in.
    classifications = {c["Classification"]: c["Properties"] for c in parameters["Configurations"]}
    assert (
        "AWSGlueDataCatalogHiveClientFactory"
        in classifications["spark-hive-site"]["hive.metastore.client.factory.class"]
    )


def test_step_placeholders_are_resolved(definition: dict[str, Any]) -> None:
    args = definition["States"]["Step1"]["Parameters"]["Step"]["HadoopJarStep"]["Args"]
    assert args[:3] == ["spark-submit", "--deploy-mode", "cluster"]
    assert args[3].startswith("s3://cdk-") and args[3].endswith(".py")  # {sample_job}
    assert args[4:] == [
        "--input", "s3://TOKEN/weblogs/", "--output", "s3://TOKEN/weblogs/", "--database", "emr_platform_dev_curated",
    ]  # fmt: skip


def _statements(template: Template, role_path: str) -> list[dict[str, Any]]:
    return [
        statement
        for logical_id, policy in template.find_resources("AWS::IAM::ManagedPolicy").items()
        if logical_id.startswith(role_path)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_state_machine_acts_only_on_clusters_tagged_with_its_name(dev: Template) -> None:
    statements = {s.get("Sid"): s for s in _statements(dev, "weblogsStateMachineRole")}
    create = statements["CreateTaggedClusters"]
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/emr-platform:transient": "weblogs"}}
    drive = statements["DriveOwnClusters"]
    assert drive["Condition"] == {"StringEquals": {"aws:ResourceTag/emr-platform:transient": "weblogs"}}
    assert "elasticmapreduce:TerminateJobFlows" in drive["Action"]
    # The service role only to EMR, the instance role only to EC2.
    assert statements["PassServiceRole"]["Condition"] == {
        "StringLike": {"iam:PassedToService": "elasticmapreduce.amazonaws.com*"}
    }
    assert statements["PassInstanceRole"]["Condition"] == {"StringLike": {"iam:PassedToService": "ec2.amazonaws.com*"}}
    for statement in statements.values():
        assert "*" not in "".join(
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )


def test_a_run_that_ends_badly_wakes_the_reaper_and_the_operators(dev: Template) -> None:
    dev.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": Match.any_value()},
            },
            "Targets": Match.array_with(
                [Match.object_like({"Arn": {"Fn::GetAtt": [Match.string_like_regexp("weblogsReaperFunction"), "Arn"]}})]
            ),
        },
    )
    reaper = _statements(dev, "weblogsReaperRole")
    scoped = next(s for s in reaper if "elasticmapreduce:TerminateJobFlows" in s["Action"])
    assert scoped["Condition"] == {"StringEquals": {"aws:ResourceTag/emr-platform:transient": "weblogs"}}
    dev.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": False}),
        },
    )


def test_the_dev_stack_outputs_the_state_machine(dev: Template) -> None:
    assert dev.find_outputs("weblogsStateMachineArn")


def test_a_schedule_starts_runs(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    TransientEmrCluster(
        stack,
        "Nightly",
        spec={"cluster": CLUSTER, "schedule": "cron(0 2 * * ? *)", "steps": [{"name": "etl", "script": "s3://a/b.py"}]},
        placement=placement_of(storage, network),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "cron(0 2 * * ? *)",
            "Targets": [Match.object_like({"RoleArn": Match.any_value(), "RetryPolicy": {"MaximumRetryAttempts": 3}})],
        },
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"cluster": {**CLUSTER, "termination_protection": True}, "steps": [{"name": "a", "script": "s3://a/b.py"}]},
            "spec: cluster.termination_protection: a transient cluster cannot have termination protection",
        ),
        (
            {"cluster": {**CLUSTER, "idle_timeout_minutes": None}, "steps": [{"name": "a", "script": "s3://a/b.py"}]},
            "needs idle auto-termination as its last safeguard",
        ),
        ({"cluster": CLUSTER, "steps": [{"name": "a", "script": "b.py"}]}, "is neither an s3:// URI nor a placeholder"),
        ({"cluster": CLUSTER, "steps": []}, "spec: steps: Tuple should have at least 1 item"),
        (
            {"cluster": CLUSTER, "steps": [{"name": "a", "script": "s3://a/b.py", "args": ["{zone:gold}"]}]},
            "spec.steps[0]: unknown placeholder (got '{zone:gold}'). Fix: use one of {zone:raw}",
        ),
    ],
)
def test_bad_props_fail_with_one_message(context: dict[str, object], spec: dict[str, Any], message: str) -> None:
    stack, storage, network = base_stack(context)
    with pytest.raises(PropError) as raised:
        TransientEmrCluster(
            stack,
            "Bad",
            spec=spec,
            placement=placement_of(storage, network),
            placeholders={"zone:raw": "s3://raw"},
        )
    assert message in str(raised.value)


def test_kerberos_is_refused_rather_than_leaking_the_kdc_password(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    security = EmrSecurityConfiguration(
        stack,
        "Security",
        encryption_key=storage.key,
        spec=SecuritySpec.model_validate(
            {"in_transit_encryption": {"disabled_reason": "a test of transient clusters only"}, "kerberos": {}}
        ),
    )
    with pytest.raises(PropError, match="would write the password into the state machine's definition"):
        TransientEmrCluster(
            stack,
            "Kerberized",
            spec={"cluster": CLUSTER, "steps": [{"name": "a", "script": "s3://a/b.py"}]},
            placement=placement_of(storage, network, security_configuration=security),
        )


def test_settings_name_the_bad_placeholder(tmp_path: Path) -> None:
    text = (PROJECT / "config" / "dev.yaml").read_text(encoding="utf-8").replace("{zone:curated}", "{zone:gold}")
    (tmp_path / "dev.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", tmp_path)
    message = str(raised.value)
    line = next(i for i, text in enumerate(text.splitlines(), 1) if "- name: web-logs raw to curated" in text)
    assert f"dev.yaml:{line}: transient_clusters.weblogs.steps[0]" in message, message
    assert "no data zone 'gold'" in message, message


def test_the_reaper_terminates_only_the_cluster_of_its_run(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location(
        "transient_reaper", PROJECT / "emr_platform" / "functions" / "transient_reaper" / "index.py"
    )
    assert spec is not None and spec.loader is not None
    execution = "arn:aws:states:eu-west-1:111111111111:execution:weblogs:run-1"
    with running_emulator():
        emr = boto3.client("emr")

        def cluster(name: str, execution_arn: str) -> str:
            return str(
                emr.run_job_flow(
                    Name=name,
                    ReleaseLabel="emr-7.13.0",
                    Instances={
                        "InstanceCount": 1,
                        "MasterInstanceType": "m7g.xlarge",
                        "KeepJobFlowAliveWhenNoSteps": True,
                    },
                    JobFlowRole="profile",
                    ServiceRole="role",
                    Tags=[{"Key": "emr-platform:execution", "Value": execution_arn}],
                )["JobFlowId"]
            )

        ours = cluster("dev-weblogs-run-1", execution)
        other_run = cluster("dev-weblogs-run-2", execution.replace("run-1", "run-2"))
        same_name_untagged = cluster("dev-weblogs-run-1", "someone else's")
        monkeypatch.setenv("CLUSTER_NAME_PREFIX", "dev-weblogs")
        monkeypatch.setenv("EXECUTION_TAG", "emr-platform:execution")
        monkeypatch.delenv("TOPIC_ARN", raising=False)
        reaper = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(reaper)
        summary = reaper.handler({"detail": {"executionArn": execution, "name": "run-1", "status": "ABORTED"}})
        assert summary["terminated"] == [ours]
        states = {
            c: emr.describe_cluster(ClusterId=c)["Cluster"]["Status"]["State"]
            for c in (ours, other_run, same_name_untagged)
        }
        assert states[ours] in ("TERMINATING", "TERMINATED")
        assert states[other_run] == states[same_name_untagged] == "WAITING"


def test_construct_is_grantable_like_a_cluster(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    transient = TransientEmrCluster(
        stack,
        "Grants",
        spec={"cluster": CLUSTER, "steps": [{"name": "a", "script": "s3://a/b.py"}]},
        placement=placement_of(storage, network),
    )
    storage.grant_read(transient)
    assert transient.grant_principal is transient.roles.instance_role


def test_settings_refuse_a_transient_cluster_named_like_a_cluster(tmp_path: Path) -> None:
    text = (PROJECT / "config" / "dev.yaml").read_text(encoding="utf-8").replace("  weblogs:", "  analytics:")
    (tmp_path / "dev.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match="'analytics' names both a cluster and a transient cluster"):
        load_settings("dev", tmp_path)


def test_a_transient_cluster_is_monitored_by_its_runs_events(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    nightly = TransientEmrCluster(
        stack,
        "Nightly",
        spec={"cluster": CLUSTER, "steps": [{"name": "etl", "script": "s3://a/b.py"}]},
        placement=placement_of(storage, network),
    )
    topic = PlatformNotifications(stack, "Alerts", encryption_key=storage.key).topic
    monitoring = EmrMonitoring(stack, "NightlyMonitoring", cluster=nightly, topic=topic)
    assert monitoring.dashboard is None and monitoring.alarms == []  # each run has its own cluster ID
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.emr"],
                "detail-type": ["EMR Cluster State Change"],
                "detail": {"name": [{"prefix": f"{nightly.cluster_name}-"}]},
            }
        },
    )


@pytest.mark.parametrize(
    ("env", "old", "new", "message"),
    [
        (
            "prod",
            '    kerberos_disabled_reason: "a run\'s cluster has no interactive users and is terminated when its steps end"\n',
            "",
            "prod.yaml:{line}: transient_clusters.weblogs: security.kerberos is set, and a transient cluster cannot "
            "use a cluster-dedicated KDC",
        ),
        (
            "dev",
            "    timeout_minutes: 120\n",
            "    timeout_minutes: 120\n    kerberos_disabled_reason: no users ever log in to this one\n",
            "dev.yaml:{line}: transient_clusters.weblogs.kerberos_disabled_reason: kerberos_disabled_reason is set but "
            "security.kerberos is not",
        ),
    ],
    ids=["kerberos-without-a-reason", "a-reason-without-kerberos"],
)
def test_settings_say_why_a_transient_cluster_goes_without_kerberos(
    tmp_path: Path, env: str, old: str, new: str, message: str
) -> None:
    text = (PROJECT / "config" / f"{env}.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1
    edited = text.replace(old, new)
    (tmp_path / f"{env}.yaml").write_text(edited, encoding="utf-8")
    line = next(i for i, row in enumerate(edited.splitlines(), 1) if row.startswith("  weblogs:"))
    line += 2 if new else 0  # the reason's own line
    with pytest.raises(SettingsError) as raised:
        load_settings(env, tmp_path)
    assert message.format(line=line) in str(raised.value), str(raised.value)


def test_under_kerberos_runs_get_the_same_encryption_without_a_kdc(synthesized: Synthesized) -> None:
    prod = synthesized.templates["prod"]
    configurations = prod.find_resources("AWS::EMR::SecurityConfiguration")
    assert len(configurations) == 2
    by_kerberos = {
        "AuthenticationConfiguration" in c["Properties"]["SecurityConfiguration"]: (
            k,
            c["Properties"]["SecurityConfiguration"],
        )
        for k, c in configurations.items()
    }
    (kdc_id, with_kdc), (run_id, without) = by_kerberos[True], by_kerberos[False]
    assert {k: v for k, v in with_kdc.items() if k != "AuthenticationConfiguration"} == without
    [cluster] = prod.find_resources("AWS::EMR::Cluster").values()
    assert cluster["Properties"]["SecurityConfiguration"] == {"Ref": kdc_id}
    [machine] = prod.find_resources("AWS::StepFunctions::StateMachine").values()
    assert {"Ref": run_id} in machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    assert {"Ref": kdc_id} not in machine["Properties"]["DefinitionString"]["Fn::Join"][1]
