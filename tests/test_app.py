"""The app as the CLI runs it: every environment synthesizes offline, clean, deterministic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App, Stack
from aws_cdk.assertions import Match
from aws_cdk.aws_s3 import Bucket
from cdk_nag import AwsSolutionsChecks

import emr_platform.app as app_module
from emr_platform.app import build_app
from emr_platform.constructs.compliance import RULE_PACKS, add_compliance_checks
from emr_platform.spec.settings import DEFAULT_INTERFACE_ENDPOINTS
from emr_platform.stacks import EmrPlatformStack
from emr_platform.tools.guard import STATEFUL_TYPES

from .conftest import ENVIRONMENTS, PROJECT, Synthesized, cfn_lint_errors, environment_template


def test_every_environment_has_a_stack_with_one_cluster(synthesized: Synthesized) -> None:
    assert sorted(synthesized.stacks) == sorted(ENVIRONMENTS)
    for env, template in synthesized.templates.items():
        template.resource_count_is("AWS::EMR::Cluster", 1)
        settings = synthesized.stacks[env].settings
        # Under Kerberos, transient runs have a security configuration of their own: the same without a KDC.
        runs_apart = settings.security.kerberos is not None and bool(settings.transient_clusters)
        template.resource_count_is("AWS::EMR::SecurityConfiguration", 2 if runs_apart else 1)


def test_stacks_target_the_account_and_region_of_their_settings(synthesized: Synthesized) -> None:
    for env, stack in synthesized.stacks.items():
        assert stack.account == stack.settings.account
        assert stack.region == "eu-west-1"
        assert stack.stack_name == f"emr-platform-{env}"


def test_no_placeholder_availability_zones(synthesized: Synthesized) -> None:
    for path in synthesized.outdir.glob("*.template.json"):
        text = path.read_text()
        assert "dummy1" not in text, path.name
        assert "Fn::GetAZs" not in text, path.name


def test_cfn_lint_reports_no_errors(synthesized: Synthesized) -> None:
    templates = sorted(synthesized.outdir.glob("*.template.json"))
    assert len(templates) == sum(len(s.settings.stack_names()) for s in synthesized.stacks.values())
    assert cfn_lint_errors(*templates) == []


@pytest.mark.parametrize("pack", RULE_PACKS, ids=lambda p: p.__name__)
def test_every_rule_pack_has_no_unacknowledged_findings(synthesized: Synthesized, pack: Any) -> None:
    for env, stack in synthesized.stacks.items():
        report = pack(synthesized.app).validate_scope(stack)
        assert report.success, f"{env}: " + "; ".join(f"{v.rule_name}: {v.description}" for v in report.violations)


def test_instance_groups_with_autoscaling_pass_the_gates_too(context: dict[str, object], tmp_path: Path) -> None:
    # An environment shaped unlike the shipped ones: instance groups, custom autoscaling, x86, emr-6.15.0.
    (tmp_path / "groups.yaml").write_text(
        """
environment: groups
account: "444444444444"
region: us-east-1
availability_zones: [us-east-1a, us-east-1b]
security:
  in_transit_encryption: {certificates_zip: s3://pki-bucket/emr/certs.zip}
  permissions_boundary_arn: arn:aws:iam::444444444444:policy/platform-boundary
clusters:
  batch:
    release_label: emr-6.15.0
    architecture: x86
    instance_groups:
      primary: {instance_type: m7i.xlarge, instance_count: 1}
      core: {instance_type: r7i.2xlarge, instance_count: 2}
      tasks:
        - instance_type: m7i.2xlarge
          instance_count: 1
          market: SPOT
          autoscaling: {min_capacity: 0, max_capacity: 8}
""",
        encoding="utf-8",
    )
    app = build_app(config_dir=tmp_path, context=context, outdir=str(tmp_path / "out"))
    app.synth()  # the CDK's CloudFormation validation and cdk-nag run here and fail on any finding
    [stack] = [c for c in app.node.children if isinstance(c, EmrPlatformStack)]
    report = AwsSolutionsChecks(app).validate_scope(stack)
    assert report.success, "; ".join(f"{v.rule_name}: {v.description}" for v in report.violations)
    assert cfn_lint_errors(*(tmp_path / "out").glob("*.template.json")) == []
    templates = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.template.json")]
    roles = [r for t in templates for r in t["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles and all(
        "platform-boundary" in json.dumps(r["Properties"].get("PermissionsBoundary")) for r in roles
    ), "every role, the CDK's own too, carries the permissions boundary"


def test_synthesis_is_deterministic(synthesized: Synthesized, context: dict[str, object], tmp_path: object) -> None:
    again = build_app(context=context, outdir=str(tmp_path))
    again.synth()
    for path in synthesized.outdir.glob("*.template.json"):
        first = json.loads(path.read_text())
        second = json.loads((tmp_path / path.name).read_text())  # type: ignore[operator]
        assert first == second, path.name


def test_prod_differs_from_dev_by_settings_only(synthesized: Synthesized) -> None:
    dev, prod = synthesized.templates["dev"], synthesized.templates["prod"]
    dev.has_resource_properties(
        "AWS::EMR::Cluster",
        {
            "Instances": Match.object_like({"TerminationProtected": False}),
            "AutoTerminationPolicy": {"IdleTimeout": 1800},
        },
    )
    prod.has_resource_properties(
        "AWS::EMR::Cluster",
        {
            "Instances": Match.object_like(
                {
                    "TerminationProtected": True,
                    "MasterInstanceFleet": Match.object_like({"TargetOnDemandCapacity": 3}),
                    "CoreInstanceFleet": Match.object_like({"TargetOnDemandCapacity": 4, "TargetSpotCapacity": 0}),
                }
            ),
            "AutoTerminationPolicy": Match.absent(),
        },
    )


def test_stateful_resources_are_retained(synthesized: Synthesized) -> None:
    for env, template in synthesized.templates.items():
        for resource_type in sorted(STATEFUL_TYPES - {"AWS::EMR::Cluster"}):
            resources = template.find_resources(resource_type)
            assert resources or (resource_type == "AWS::SecretsManager::Secret" and env == "dev"), resource_type
            for logical_id, resource in resources.items():
                assert resource.get("DeletionPolicy") == "Retain", (resource_type, logical_id)
                assert resource.get("UpdateReplacePolicy") == "Retain", (resource_type, logical_id)


def test_outputs_name_the_cluster_and_buckets(synthesized: Synthesized) -> None:
    outputs = synthesized.templates["dev"].find_outputs("*")
    assert {"analyticsClusterId", "analyticsClusterName", "LogUri", "ArtifactsBucket", "rawBucket"} <= set(outputs)


@pytest.mark.parametrize(
    ("context_json", "expected"),
    [
        ({"env": "qa"}, "context 'env': unknown environment (got 'qa'). Fix: use one of dev, prod, staging"),
    ],
)
def test_fails_on_an_unknown_environment_with_one_line_and_no_traceback(
    context_json: dict[str, str], expected: str
) -> None:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context_json)}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=PROJECT, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _dev(context: dict[str, object], **extra: object) -> tuple[EmrPlatformStack, dict[str, Any]]:
    app = build_app(context={**context, "env": "dev", **extra})
    [stack] = [c for c in app.node.children if isinstance(c, EmrPlatformStack)]
    return stack, dict(environment_template(stack, stack.cluster_stacks).to_json())


def _warnings(stack: EmrPlatformStack) -> list[str]:
    return [str(m.data) for m in stack.node.metadata if m.type == "aws:cdk:warning"]


def test_data_is_destroyed_only_with_both_switches(context: dict[str, object]) -> None:
    half, template = _dev(context)  # dev.yaml allows it; the context flag does not
    policies = {r.get("DeletionPolicy") for r in template["Resources"].values() if r["Type"] in STATEFUL_TYPES}
    assert policies == {"Retain", None}, "retained (the cluster itself has no deletion policy)"
    assert any("data is RETAINED" in w and "-c emr-platform:allow-destroy=true" in w for w in _warnings(half))
    both, template = _dev(context, **{"emr-platform:allow-destroy": "true"})
    stateful = [r for r in template["Resources"].values() if r["Type"] in STATEFUL_TYPES - {"AWS::EMR::Cluster"}]
    assert stateful and all(r.get("DeletionPolicy") == "Delete" for r in stateful)
    assert any("deleting this stack deletes its buckets" in w for w in _warnings(both))


def test_prod_stack_has_termination_protection_and_dev_does_not(synthesized: Synthesized) -> None:
    assert synthesized.stacks["prod"].termination_protection is True
    assert synthesized.stacks["staging"].termination_protection is True
    assert synthesized.stacks["dev"].termination_protection is False
    prod_cluster = synthesized.templates["prod"].find_resources("AWS::EMR::Cluster")
    assert all(c["Properties"]["Instances"]["TerminationProtected"] for c in prod_cluster.values())


def test_a_failed_compliance_gate_is_a_report_not_a_traceback(
    context: dict[str, object], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def unacknowledged(**_: object) -> App:
        app = App(context=context, outdir=str(tmp_path))
        Bucket(Stack(app, "Plain"), "Bucket")  # no TLS policy, no logging: AwsSolutions findings
        add_compliance_checks(app)
        return app

    monkeypatch.setattr(app_module, "build_app", unacknowledged)
    assert app_module.main() == 1
    err = capsys.readouterr().err
    assert err.startswith("error: a compliance gate failed. Fix: ")
    assert "AwsSolutions-S1" in err and "Traceback" not in err


def test_an_error_the_cdk_raises_is_one_line_naming_the_construct(
    context: dict[str, object], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def clashing(**_: object) -> App:
        app = App(context=context, outdir=str(tmp_path))
        stack = Stack(app, "emr-platform-dev")
        Bucket(stack, "analytics")
        Bucket(stack, "analytics")  # aws-cdk-lib: "There is already a Construct with name 'analytics' in ..."
        return app

    monkeypatch.setattr(app_module, "build_app", clashing)
    assert app_module.main() == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "There is already a Construct with name 'analytics'" in err and "Fix: " in err


def test_an_internal_error_is_one_line_unless_debugging(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(**_: object) -> App:
        raise KeyError("missing")

    monkeypatch.setattr(app_module, "build_app", broken)
    assert app_module.main() == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: KeyError: 'missing'. Fix: ") and err.count("\n") == 1
    monkeypatch.setenv(app_module.DEBUG_VARIABLE, "1")
    with pytest.raises(KeyError):
        app_module.main()


def test_integrations_from_settings_pass_the_gates(context: dict[str, object], tmp_path: Path) -> None:
    # Each integration in the settings becomes the construct's grant on every cluster, transient ones too.
    dev = (PROJECT / "config" / "dev.yaml").read_text(encoding="utf-8")
    # Without NAT the nodes reach Redshift's API through its endpoint (emr_platform.spec.aws_rules.required_endpoints).
    endpoints = ", ".join((*DEFAULT_INTERFACE_ENDPOINTS, "redshift"))
    dev = dev.replace("network:\n", f"network:\n  interface_endpoints: [{endpoints}]\n", 1)
    (tmp_path / "dev.yaml").write_text(
        dev
        + """
integrations:
  dynamodb_tables:
    - {table_name: clickstream, write: true}
  databases:
    - security_group_id: sg-0123456789abcdef0
      port: 5432
      secret_arn: arn:aws:secretsmanager:eu-west-1:111111111111:secret:orders-db-AbCdEf
  redshift: {cluster_identifier: warehouse, database: analytics, db_user: emr_loader}
""",
        encoding="utf-8",
    )
    app = build_app(config_dir=tmp_path, context=context, outdir=str(tmp_path / "out"))
    app.synth()  # every rule pack runs here and fails on any unacknowledged finding
    [stack] = [c for c in app.node.children if isinstance(c, EmrPlatformStack)]
    template = environment_template(stack, stack.cluster_stacks)
    policies = json.dumps(template.find_resources("AWS::IAM::ManagedPolicy"))
    for expected in (
        "table/clickstream",
        "dynamodb:BatchWriteItem",
        "secret:orders-db-AbCdEf",
        "dbuser:warehouse/emr_loader",
        "redshift-data:ExecuteStatement",
    ):
        assert policies.count(expected) >= 2, f"{expected}: not granted to both the cluster and the transient one"
    ingress = template.find_resources(
        "AWS::EC2::SecurityGroupIngress", {"Properties": {"GroupId": "sg-0123456789abcdef0"}}
    )
    assert {r["Properties"]["FromPort"] for r in ingress.values()} == {5432}
    assert len(ingress) == 4  # primary and core groups of each of the two clusters
    assert template.find_outputs("RedshiftRoleArn")
    assert cfn_lint_errors(*(tmp_path / "out").glob("*.template.json")) == []
    # Without NAT the nodes reach the table through a gateway endpoint that reaches no other table.
    (endpoint,) = [
        e["Properties"]
        for e in template.find_resources("AWS::EC2::VPCEndpoint").values()
        if "dynamodb" in json.dumps(e["Properties"]["ServiceName"])
    ]
    assert endpoint["VpcEndpointType"] == "Gateway" and len(endpoint["RouteTableIds"]) == 2
    (statement,) = endpoint["PolicyDocument"]["Statement"]
    resources = json.dumps(statement["Resource"])
    assert statement["Action"] == "dynamodb:*" and resources.count("table/clickstream") == 3
    assert "table/*" not in resources


def test_no_dynamodb_route_without_a_declared_table(synthesized: Synthesized) -> None:
    for template in synthesized.templates.values():
        services = json.dumps(
            [e["Properties"]["ServiceName"] for e in template.find_resources("AWS::EC2::VPCEndpoint").values()]
        )
        assert "dynamodb" not in services


def test_fails_on_too_many_clusters_for_one_stack_with_one_line(tmp_path: Path) -> None:
    settings = yaml.safe_load((PROJECT / "config" / "dev.yaml").read_text(encoding="utf-8"))
    cluster = next(iter(settings["clusters"].values()))
    settings["clusters"] = {f"c{i:02d}": cluster for i in range(1, 14)}  # 13 x 33 resources and the rest > 500
    settings["stacks"] = {"layout": "single"}
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            # app.py's main() with this settings directory instead of config/.
            "import functools, sys, emr_platform.app as a;"
            f"a.build_app = functools.partial(a.build_app, config_dir=__import__('pathlib').Path({str(tmp_path)!r}));"
            "sys.exit(a.main())",
        ],
        cwd=PROJECT,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps({"env": "dev"}), "CDK_OUTDIR": str(tmp_path / "out")},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: emr-platform-dev: ") and "more than the 500 a stack may hold" in line
    assert "Fix: set stacks.layout: per_cluster" in line
