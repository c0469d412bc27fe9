"""Safe changes: no synthesis replaces or deletes a resource unless the committed baseline says so."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App
from aws_cdk.assertions import Template

from emr_platform.spec.settings import load_settings
from emr_platform.stacks import EmrPlatformStack
from emr_platform.tools.guard import (
    STATEFUL_IDS,
    Verdict,
    compare,
    main,
    replacing_properties,
    stack_templates,
    stateful_ids,
)
from emr_platform.tools.replacement import fleet_in_place

from .conftest import PROJECT, Synthesized

BASELINE = PROJECT / "baseline"


def _template(name: str) -> dict[str, Any]:
    return dict(json.loads((BASELINE / f"emr-platform-{name}.template.json").read_text(encoding="utf-8")))


def _of_type(template: dict[str, Any], kind: str) -> str:
    return str(next(i for i, r in template["Resources"].items() if r["Type"] == kind))


def test_the_synthesis_replaces_nothing_of_the_committed_baseline(synthesized: Synthesized) -> None:
    changes = [str(c) for name, path in stack_templates(synthesized.outdir).items() for c in _changes(name, path)]
    assert changes == [], "\n".join(
        [*changes, "If intended: 'make guard-accept', and commit baseline/ with the change."]
    )


def _changes(name: str, path: Path) -> list[Any]:
    baseline = BASELINE / f"{name}.template.json"
    assert baseline.is_file(), f"no baseline for {name}: run 'make guard-accept' and commit baseline/"
    return compare(name, json.loads(baseline.read_text(encoding="utf-8")), json.loads(path.read_text(encoding="utf-8")))


def test_stateful_logical_ids_never_change(synthesized: Synthesized) -> None:
    recorded: dict[str, dict[str, str]] = json.loads((BASELINE / STATEFUL_IDS).read_text(encoding="utf-8"))
    problems = []
    for name, path in stack_templates(synthesized.outdir).items():
        now = stateful_ids(json.loads(path.read_text(encoding="utf-8")))
        for logical_id, kind in recorded[name].items():
            if logical_id not in now:
                problems.append(
                    f"{name}: the {kind} {logical_id} is gone. A renamed construct gets a new logical ID and "
                    "CloudFormation would delete the old resource and its data. Keep the old ID: "
                    f"resource.node.default_child.override_logical_id('{logical_id}'), or restore the construct id."
                )
        for logical_id in sorted(set(now) - set(recorded[name])):
            problems.append(f"{name}: new stateful resource {logical_id}: record it with 'make guard-accept'")
    assert problems == [], "\n".join(problems)


def test_replacing_properties_come_from_the_resource_schemas() -> None:
    cluster = replacing_properties("AWS::EMR::Cluster")
    assert {"/properties/ReleaseLabel", "/properties/Applications", "/properties/Configurations"} <= set(cluster)
    assert "/properties/SecurityConfiguration" in replacing_properties("AWS::EMR::SecurityConfiguration")
    assert "/properties/BucketName" in replacing_properties("AWS::S3::Bucket")
    assert "/properties/DatabaseName" in replacing_properties("AWS::Glue::Database")
    assert "/properties/ManagedScalingPolicy" not in cluster, "managed scaling updates in place"


def _edited(name: str, edit: Any) -> list[Verdict]:
    before = _template(name)
    after = copy.deepcopy(before)
    edit(after)
    return compare(f"emr-platform-{name}", before, after)


def _cluster(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][_of_type(template, "AWS::EMR::Cluster")]["Properties"]
    return properties


def test_a_release_change_is_named_in_the_settings_words_with_what_is_at_risk() -> None:
    def edit(t: dict[str, Any]) -> None:
        _cluster(t)["ReleaseLabel"] = "emr-7.14.0"
        _cluster(t)["ManagedScalingPolicy"]["ComputeLimits"]["MaximumCapacityUnits"] = 200  # in place: not named

    [verdict] = _edited("prod", edit)
    text = str(verdict)
    assert text.startswith("emr-platform-prod: config/prod.yaml: clusters.analytics: release_label\n")
    assert "REPLACE the cluster" in text and "HDFS data, running steps and the state of cluster analytics" in text
    assert f"Acknowledge with: {verdict.id}" in text and verdict.action == "replace"


def test_a_security_configuration_change_replaces_every_cluster_that_refers_to_it() -> None:
    def edit(t: dict[str, Any]) -> None:
        config = _of_type(t, "AWS::EMR::SecurityConfiguration")
        t["Resources"][config]["Properties"]["SecurityConfiguration"]["InstanceMetadataServiceConfiguration"] = {}

    [verdict] = _edited("staging", edit)
    assert verdict.setting == "config/staging.yaml: security"
    assert any(f.startswith("the cluster analytics (") for f in verdict.followers)
    assert "cluster analytics" in verdict.at_risk


def test_a_vpc_change_follows_the_graph_to_subnets_groups_endpoints_and_the_cluster() -> None:
    [verdict] = _edited(
        "prod", lambda t: t["Resources"][_of_type(t, "AWS::EC2::VPC")]["Properties"].update(CidrBlock="10.99.0.0/16")
    )
    assert verdict.setting.endswith("network: network.vpc_cidr")
    followers = " ".join(verdict.followers)
    assert "the cluster analytics" in followers and "AWS::EC2::Subnet" in followers
    assert "AWS::EC2::SecurityGroup" in followers and "AWS::EC2::VPCEndpoint" in followers


def test_fleet_changes_emr_makes_in_place_replace_nothing() -> None:
    def edit(t: dict[str, Any]) -> None:
        instances = _cluster(t)["Instances"]
        instances["CoreInstanceFleet"]["TargetOnDemandCapacity"] = 9  # ModifyInstanceFleet takes capacities
        instances["CoreInstanceFleet"]["InstanceTypeConfigs"][0]["WeightedCapacity"] = 3  # and instance types
        instances["TaskInstanceFleets"][0]["TargetSpotCapacity"] = 40

    assert _edited("prod", edit) == []
    assert {"TargetOnDemandCapacity", "InstanceTypeConfigs", "ResizeSpecifications"} <= fleet_in_place()


@pytest.mark.parametrize(
    ("edit", "cause"),
    [
        (
            lambda t: _cluster(t)["Instances"]["TaskInstanceFleets"][0].update(
                LaunchSpecifications={
                    "SpotSpecification": {"TimeoutAction": "TERMINATE_CLUSTER", "TimeoutDurationMinutes": 5}
                }
            ),
            "Instances/TaskInstanceFleets/spot-task/LaunchSpecifications",
        ),
        (
            lambda t: _cluster(t)["Instances"].update(TaskInstanceFleets=[]),
            "Instances/TaskInstanceFleets/spot-task (removed)",
        ),
        (
            lambda t: _cluster(t)["Instances"]["CoreInstanceFleet"].update(Name="other"),
            "Instances/CoreInstanceFleet/Name",
        ),
    ],
)
def test_fleet_changes_emr_cannot_make_in_place_replace_the_cluster(edit: Any, cause: str) -> None:
    [verdict] = _edited("prod", edit)
    assert verdict.action == "replace" and verdict.cause == cause and "instance_fleets" in verdict.setting


def test_a_retained_bucket_that_disappears_is_reported_orphaned_not_deleted() -> None:
    def edit(t: dict[str, Any]) -> None:
        bucket = _of_type(t, "AWS::S3::Bucket")
        t["Resources"][f"{bucket}Renamed"] = t["Resources"].pop(bucket)

    [verdict] = _edited("prod", edit)
    text = str(verdict)
    assert verdict.action == "orphan" and "KEEP it with its data (DeletionPolicy Retain)" in text
    assert "overrideLogicalId" in text and "DELETE" not in text


def test_a_replaced_retained_bucket_is_kept_and_orphaned_and_a_new_empty_one_made() -> None:
    def edit(t: dict[str, Any]) -> None:
        t["Resources"][_of_type(t, "AWS::S3::Bucket")]["Properties"]["BucketName"] = "a-new-name"  # createOnly

    [verdict] = _edited("prod", edit)
    assert verdict.action == "orphan" and "the new one starts empty" in str(verdict)


def test_turning_retention_off_is_reported_as_data_loss_enabled() -> None:
    def edit(t: dict[str, Any]) -> None:
        for resource in t["Resources"].values():
            if resource["Type"] in {"AWS::S3::Bucket", "AWS::KMS::Key"}:
                resource["DeletionPolicy"] = resource["UpdateReplacePolicy"] = "Delete"

    verdicts = _edited("prod", edit)
    assert {v.action for v in verdicts} == {"destroy-enabled"}
    assert {v.resource_type for v in verdicts} == {"AWS::S3::Bucket", "AWS::KMS::Key"}
    assert all("DELETES it with its data" in str(v) for v in verdicts)


def test_shorter_expiry_and_retention_are_reported_with_the_days() -> None:
    def edit(t: dict[str, Any]) -> None:
        for resource in t["Resources"].values():
            if resource["Type"] == "AWS::S3::Bucket":
                for rule in resource["Properties"].get("LifecycleConfiguration", {}).get("Rules", []):
                    if "NoncurrentVersionExpiration" in rule:
                        rule["NoncurrentVersionExpiration"]["NoncurrentDays"] = 1
            if resource["Type"] == "AWS::Logs::LogGroup":
                resource["Properties"]["RetentionInDays"] = 1

    verdicts = _edited("prod", edit)
    assert verdicts and {v.action for v in verdicts} == {"expiry"}
    assert any("noncurrent versions older than 1 days" in str(v) for v in verdicts)
    assert any(v.resource_type == "AWS::Logs::LogGroup" and "log events older than 1 days" in str(v) for v in verdicts)


def test_renaming_a_glue_database_is_reported_as_a_failing_update() -> None:
    def edit(t: dict[str, Any]) -> None:
        t["Resources"][_of_type(t, "AWS::Glue::Database")]["Properties"]["DatabaseInput"]["Name"] = "renamed"

    [verdict] = _edited("prod", edit)
    assert verdict.action == "fail" and "Glue cannot rename a database" in str(verdict)


def test_replacing_a_resource_whose_custom_name_stays_fails() -> None:
    def edit(t: dict[str, Any]) -> None:
        config = _of_type(t, "AWS::EMR::SecurityConfiguration")
        t["Resources"][config]["Properties"]["Name"] = "fixed-name"
        t["Resources"][config]["Properties"]["SecurityConfiguration"]["X"] = {}

    before = _template("prod")
    before["Resources"][_of_type(before, "AWS::EMR::SecurityConfiguration")]["Properties"]["Name"] = "fixed-name"
    after = copy.deepcopy(before)
    edit(after)
    [verdict] = compare("emr-platform-prod", before, after)
    assert verdict.action == "fail" and "cannot replace a resource with a custom name" in str(verdict)


@pytest.mark.parametrize("accepting", [False, True])
def test_make_guard_fails_until_the_baseline_is_accepted(tmp_path: Path, accepting: bool) -> None:
    assembly, baseline = tmp_path / "cdk.out", tmp_path / "baseline"
    assembly.mkdir()
    (assembly / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "emr-platform-prod": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "p.json"}}
                }
            }
        )
    )
    template = _template("prod")
    (assembly / "p.json").write_text(json.dumps(template))
    assert main([str(assembly), str(baseline), "--accept"]) == 0
    changed = copy.deepcopy(template)
    changed["Resources"][_of_type(changed, "AWS::EMR::Cluster")]["Properties"]["Applications"] = [{"Name": "Spark"}]
    (assembly / "p.json").write_text(json.dumps(changed))
    if accepting:
        assert main([str(assembly), str(baseline), "--accept"]) == 0
        assert main([str(assembly), str(baseline)]) == 0
    else:
        assert main([str(assembly), str(baseline)]) == 1
        (baseline / "emr-platform-prod.template.json").unlink()
        assert main([str(assembly), str(baseline)]) == 1, "a stack without a baseline is not a silent pass"


MAX_RESOURCES = 400  # CloudFormation allows 500 per stack; 400 leaves room for growth and the CDK's own
MAX_TEMPLATE_BYTES = 1_048_576  # CloudFormation's limit for a template uploaded through S3 (the CDK does so)
MAX_OUTPUTS = 200


def test_every_stack_stays_within_cloudformation_limits(synthesized: Synthesized) -> None:
    for name, path in stack_templates(synthesized.outdir).items():
        template = json.loads(path.read_text(encoding="utf-8"))
        resources, size = len(template["Resources"]), path.stat().st_size
        assert resources < MAX_RESOURCES, (
            f"{name} has {resources} resources, over this project's limit of {MAX_RESOURCES} (CloudFormation's: "
            "500). Fix: move clusters to a second environment file (a stack of its own), or fewer interface "
            "endpoints per VPC"
        )
        assert size < MAX_TEMPLATE_BYTES, f"{name}'s template is {size} bytes, over CloudFormation's 1 MiB"
        assert len(template.get("Outputs", {})) < MAX_OUTPUTS, f"{name} has too many outputs"


def _assembly(folder: Path, templates: dict[str, dict[str, Any]]) -> Path:
    folder.mkdir()
    artifacts = {}
    for name, template in templates.items():
        (folder / f"{name}.template.json").write_text(json.dumps(template), encoding="utf-8")
        artifacts[name] = {"type": "aws:cloudformation:stack", "properties": {"templateFile": f"{name}.template.json"}}
    (folder / "manifest.json").write_text(json.dumps({"artifacts": artifacts}), encoding="utf-8")
    return folder


def test_a_pull_request_is_compared_with_its_base_and_needs_a_committed_acknowledgement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prod, dev = _template("prod"), _template("dev")
    head = copy.deepcopy(prod)
    _cluster(head)["ReleaseLabel"] = "emr-7.14.0"
    base = _assembly(tmp_path / "base.out", {"emr-platform-prod": prod, "emr-platform-dev": dev})
    assembly = _assembly(tmp_path / "cdk.out", {"emr-platform-prod": head})
    acks, report = tmp_path / "guard-acknowledgements.yaml", tmp_path / "report.md"
    args = [str(assembly), "--base", str(base), "--acknowledgements", str(acks), "--report", str(report)]
    assert main(args) == 1  # an accepted baseline plays no part: the base branch's synthesis is the reference
    out = capsys.readouterr().out
    assert "emr-platform-dev: " in out and "no longer synthesized" in out  # the stack that disappears
    ids = re.findall(r"Acknowledge with: (\S+)", out)
    assert len(ids) == 2 and "| **no** |" in report.read_text(encoding="utf-8")
    acks.write_text(yaml.safe_dump([{"id": i, "reason": "agreed with the data team, ticket DATA-42"} for i in ids]))
    assert main(args) == 0
    assert "yes: agreed with the data team" in report.read_text(encoding="utf-8")
    _cluster(head)["ReleaseLabel"] = "emr-7.13.1"  # another change: the old acknowledgement does not cover it
    (assembly / "emr-platform-prod.template.json").write_text(json.dumps(head), encoding="utf-8")
    assert main(args) == 1
    acks.write_text(yaml.safe_dump([{"id": ids[0], "reason": "ok"}]))
    assert main(args) == 2 and "reason" in capsys.readouterr().err


def test_a_settings_edit_a_careless_reviewer_would_approve_is_named_with_all_it_replaces(
    context: dict[str, object], tmp_path: Path
) -> None:
    """From the settings file to the verdicts: a new VPC range and shorter log expiry in prod, synthesized for
    real and compared with the committed baseline."""
    text = (PROJECT / "config" / "prod.yaml").read_text(encoding="utf-8")
    assert (
        "vpc_cidr: 10.30.0.0/16" in text
        and "log_expiration_days: 365" in text
        and "flow_logs_retention_days: 365" in text
    )
    edited = text.replace("vpc_cidr: 10.30.0.0/16", "vpc_cidr: 10.40.0.0/16")
    edited = edited.replace("log_expiration_days: 365", "log_expiration_days: 90")
    edited = edited.replace("flow_logs_retention_days: 365", "flow_logs_retention_days: 90")
    (tmp_path / "prod.yaml").write_text(edited, encoding="utf-8")
    settings = load_settings("prod", tmp_path)
    stack = EmrPlatformStack(App(context=context), settings.stack_name, settings=settings)
    verdicts = compare(settings.stack_name, _template("prod"), dict(Template.from_stack(stack).to_json()))
    by_action = {v.action: v for v in verdicts}
    vpc = by_action["replace"]
    assert vpc.setting == "config/prod.yaml: network: network.vpc_cidr"
    assert any(f.startswith("the cluster analytics") for f in vpc.followers)
    expiring = {v.resource_type for v in verdicts if v.action == "expiry"}
    assert expiring == {"AWS::S3::Bucket", "AWS::Logs::LogGroup"}
    assert any("objects older than 90 days (was 365)" in str(v) for v in verdicts)
    assert {v.action for v in verdicts} == {"replace", "expiry"}
