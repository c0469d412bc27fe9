"""The GitOps pipeline (``-c pipeline=true``): synthesized once for the module, offline, through every gate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match, Template

from emr_platform.app import build_app
from emr_platform.constructs.compliance import CHECKOV, RULE_PACKS, Finding
from emr_platform.constructs.pipeline import PipelineFindings
from emr_platform.spec.errors import PropError, SettingsError
from emr_platform.spec.settings import CONFIG_DIR, load_pipeline_settings
from emr_platform.stacks import EmrPlatformPipelineStack
from emr_platform.tools import guard
from emr_platform.tools.guard import STATEFUL_TYPES

from .conftest import PROJECT, cfn_lint_errors

SETTINGS, ENVIRONMENTS = load_pipeline_settings()


@pytest.fixture(scope="module")
def pipeline(context: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Template]:
    """The pipeline app synthesized once (all compliance gates run: a finding fails the fixture)."""
    outdir = tmp_path_factory.mktemp("pipeline.out")
    app = build_app(context={**context, "pipeline": "true"}, outdir=str(outdir))
    app.synth()
    [stack] = [c for c in app.node.children if isinstance(c, EmrPlatformPipelineStack)]
    return outdir, Template.from_stack(stack)


def _stages(template: Template) -> list[dict[str, Any]]:
    [resource] = template.find_resources("AWS::CodePipeline::Pipeline").values()
    return list(resource["Properties"]["Stages"])


def _actions(template: Template, stage: str) -> list[tuple[str, str, int]]:
    [found] = [s for s in _stages(template) if s["Name"] == stage]
    return [(a["Name"], a["ActionTypeId"]["Provider"], a["RunOrder"]) for a in found["Actions"]]


def test_stages_follow_the_promotion_order_after_build_and_self_mutation(pipeline: tuple[Path, Template]) -> None:
    names = [s["Name"] for s in _stages(pipeline[1])]
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", *(s.environment for s in SETTINGS.stages)]


def test_source_is_the_connection_repository_and_branch_of_the_settings(pipeline: tuple[Path, Template]) -> None:
    [source] = _stages(pipeline[1])[0]["Actions"]
    config = source["Configuration"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert config["ConnectionArn"] == SETTINGS.source.connection_arn
    assert config["FullRepositoryId"] == SETTINGS.source.repository
    assert config["BranchName"] == SETTINGS.source.branch


def test_build_runs_the_test_suite_then_synthesizes_the_pipeline(pipeline: tuple[Path, Template]) -> None:
    specs = [
        json.loads(p["Properties"]["Source"]["BuildSpec"])
        for p in pipeline[1].find_resources("AWS::CodeBuild::Project").values()
        if "make test" in p["Properties"]["Source"].get("BuildSpec", "")
    ]
    assert len(specs) == 1
    assert specs[0]["phases"]["build"]["commands"] == ["make test", "make synth-pipeline"]
    assert specs[0]["artifacts"]["base-directory"] == "cdk.out"


def test_prod_waits_for_an_approval_of_its_change_set_and_staging_does_not(pipeline: tuple[Path, Template]) -> None:
    for environment, approved in (("prod", True), ("staging", False)):
        actions = _actions(pipeline[1], environment)
        assert actions[0] == ("Diff", "CodeBuild", 1)
        for stack in ENVIRONMENTS[environment].stack_names():  # the foundation, then each cluster stack
            steps = {name.split(".", 1)[1]: order for name, _, order in actions if name.startswith(f"{stack}.")}
            expected = ["Prepare", "Approve", "Deploy"] if approved else ["Prepare", "Deploy"]
            assert sorted(steps, key=steps.__getitem__) == expected, (stack, steps)
        foundation = max(o for n, _, o in actions if n.startswith(f"{ENVIRONMENTS[environment].stack_name}."))
        clusters = [o for n, _, o in actions if n.split(".")[0] != ENVIRONMENTS[environment].stack_name and o > 1]
        assert all(o > foundation for o in clusters)  # any cluster stack after the foundation it reads from


def test_diff_steps_may_only_assume_the_lookup_role_of_their_target_account(pipeline: tuple[Path, Template]) -> None:
    template = pipeline[1]
    for stage in SETTINGS.stages:
        [project] = [
            p
            for lid, p in template.find_resources("AWS::CodeBuild::Project").items()
            if lid.startswith(f"CodePipeline{stage.environment}Diff")
        ]
        spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
        assert spec["phases"]["build"]["commands"] == [
            f"cdk diff --no-notices --app assembly-emr-platform-pipeline-{stage.environment} --all"
        ]
        # The CLI the step installs is the one package.json and its lock pin (a newer CLI may not read the
        # assembly; an older one may misread it).
        assert spec["phases"]["install"]["commands"] == [
            f"npm install --global --no-audit --no-fund aws-cdk@{_pinned_cdk_cli()}"
        ]
    account = {"staging": "222222222222", "prod": "333333333333"}
    for number in account.values():
        template.has_resource_properties(
            "AWS::IAM::Policy",
            {
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            {
                                "Action": "sts:AssumeRole",
                                "Effect": "Allow",
                                "Resource": f"arn:aws:iam::{number}:role/cdk-hnb659fds-lookup-role-{number}-eu-west-1",
                            }
                        ]
                    )
                }
            },
        )


def _pinned_cdk_cli() -> str:
    """The aws-cdk version package.json pins, checked against the lock file."""
    pinned = json.loads((PROJECT / "package.json").read_text(encoding="utf-8"))["devDependencies"]["aws-cdk"]
    lock = json.loads((PROJECT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == pinned
    return str(pinned)


def test_artifacts_are_kms_encrypted_versioned_and_access_logged(pipeline: tuple[Path, Template]) -> None:
    template = pipeline[1]
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like({"ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"})})
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "artifacts/"}),
        },
    )
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    # Each stage account's CDK deploy role reads the artifacts it deploys: decrypt with the key, read the bucket.
    [key] = template.find_resources("AWS::KMS::Key").values()
    decrypting = json.dumps([st for st in key["Properties"]["KeyPolicy"]["Statement"] if "kms:Decrypt" in st["Action"]])
    for number in ("222222222222", "333333333333"):
        assert f":iam::{number}:role/cdk-hnb659fds-deploy-role-{number}-eu-west-1" in decrypting
    [pipeline_resource] = template.find_resources("AWS::CodePipeline::Pipeline").values()
    assert pipeline_resource["Properties"]["PipelineType"] == "V2"
    assert pipeline_resource["Properties"]["RestartExecutionOnUpdate"] is True


def test_pipeline_template_is_cfn_lint_clean(pipeline: tuple[Path, Template]) -> None:
    # E3703 reads the cross-account deploy actions' RoleArn, an Fn::Join of the partition that CDK Pipelines writes
    # and CloudFormation accepts, as an error ("prefer Fn::Sub"): cfn-lint 1.58's schema allows only strings there.
    assert cfn_lint_errors(pipeline[0] / "emr-platform-pipeline.template.json", ignore=("E3703",)) == []


def test_stage_stacks_keep_the_stack_names_and_stateful_logical_ids_of_a_deploy_by_hand(
    pipeline: tuple[Path, Template],
) -> None:
    for stage in SETTINGS.stages:
        assembly = pipeline[0] / f"assembly-emr-platform-pipeline-{stage.environment}"
        manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
        artifacts = [a for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
        names = {a["properties"]["stackName"] for a in artifacts}
        assert names == set(ENVIRONMENTS[stage.environment].stack_names())

        def stateful(template: dict[str, Any]) -> dict[str, str]:
            return {k: r["Type"] for k, r in template["Resources"].items() if r["Type"] in STATEFUL_TYPES}

        for artifact in artifacts:
            staged = json.loads((assembly / artifact["properties"]["templateFile"]).read_text(encoding="utf-8"))
            name = artifact["properties"]["stackName"]
            by_hand = json.loads((PROJECT / "baseline" / f"{name}.template.json").read_text(encoding="utf-8"))
            assert stateful(staged) == stateful(by_hand)


def test_the_guard_names_what_moving_a_hand_deployed_environment_into_the_pipeline_changes(
    pipeline: tuple[Path, Template],
) -> None:
    """The known cost of switching routes (README "GitOps"): rules whose logical IDs carry the construct path,
    which gains the stage. The guard, run on a stage's assembly against the hand-deployed baseline, names them all,
    and nothing stateful is among them."""
    for stage in SETTINGS.stages:
        stage_assembly = pipeline[0] / f"assembly-emr-platform-pipeline-{stage.environment}"
        changes = guard.check(stage_assembly, PROJECT / "baseline", missing_stacks=False)
        assert {c.stack for c in changes} <= set(ENVIRONMENTS[stage.environment].stack_names())
        assert {c.cause for c in changes} == {"removed"} and {c.action for c in changes} == {"delete"}
        types = {c.resource_type for c in changes}
        assert types <= {"AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress", "AWS::Lambda::Permission"}
        assert not types & STATEFUL_TYPES
        assert "AWS::EC2::SecurityGroupIngress" in types


def _pipeline_dir(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "pipeline.yaml").write_text(text, encoding="utf-8")
    return config


PIPELINE_YAML = (CONFIG_DIR / "pipeline.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  - environment: prod\n", "  - environment: production\n", "stages.1.environment: no settings file"),
        ("  - environment: prod\n", "  - environment: staging\n", "environment 'staging' is deployed twice"),
        ("connection_arn: arn:aws:codeconnections", "connection_arn: arn:aws:codecommit", "source.connection_arn"),
        ("  branch: main\n", "  branch: main\n  branches: [main]\n", "source.branches"),
        (
            "    manual_approval: false",
            "    manual_approval: false\n    wave: first\n  - environment: dev\n  - environment: dr\n    wave: first",
            "stages[2].wave: the stages of wave 'first' are not listed together",
        ),
        (
            "  - environment: prod\n",
            "  - environment: prod\n    wave: staging\n",
            "stages[1].wave: wave 'staging' is named like a stage of the pipeline",
        ),
        ("  project: emr-platform\n", "  project: emr<platform>\n", "tags.project: the value of tag 'project'"),
    ],
    ids=[
        "unknown-environment",
        "twice",
        "bad-connection",
        "unknown-key",
        "wave-apart",
        "wave-named-like-a-stage",
        "bad-tag",
    ],
)
def test_fails_on_bad_pipeline_settings_naming_file_line_and_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in PIPELINE_YAML
    config = _pipeline_dir(tmp_path, PIPELINE_YAML.replace(old, new))
    with pytest.raises(SettingsError) as error:
        load_pipeline_settings(config)
    message = str(error.value)
    assert "pipeline.yaml:" in message
    assert expected in message
    assert "Fix:" in message


def test_fails_without_a_pipeline_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "pipeline.yaml").unlink()
    with pytest.raises(SettingsError, match=r"no pipeline settings file\. Fix: create"):
        load_pipeline_settings(config)


def test_pipeline_yaml_is_not_an_environment() -> None:
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=PROJECT,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps({"env": "pipeline"})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert "context 'env': unknown environment (got 'pipeline')" in result.stderr


def test_fails_on_a_pipeline_context_that_is_not_a_boolean(context: dict[str, object]) -> None:
    with pytest.raises(SettingsError, match=r"context 'pipeline': not a boolean \(got 'yes'\)\. Fix: use -c"):
        build_app(context={**context, "pipeline": "yes"})


def test_pipeline_acknowledgements_are_exactly_what_the_rule_packs_raise(context: dict[str, object]) -> None:
    """Built without acknowledgements: every cdk-nag finding on the pipeline's own resources is one of
    the pipeline's and its artifact store's reviewed findings, and each of those is still raised (CloudFormation validation and checkov ids aside,
    which the module fixture's synthesis and the platform's compliance tests cover)."""
    app = App(context=context)
    stack = EmrPlatformPipelineStack(app, "emr-platform-pipeline", settings=SETTINGS, environments=ENVIRONMENTS)
    stages = tuple(f"{stage.node.path}/" for stage in stack.stages.values())
    raised = {
        (v.rule_name, r.construct_path or "")
        for pack in RULE_PACKS
        for v in pack(app).validate_scope(stack).violations
        for r in v.violating_resources
        if not (r.construct_path or "").startswith(stages)
    }
    reviewed = [
        *PipelineFindings(stack.pipeline, stack.artifacts).reviewed_findings(),
        *stack.artifacts.reviewed_findings(),
    ]
    findings = [f for f in reviewed if not f.finding_id.startswith(("CloudFormation-Validate", CHECKOV))]

    def covers(finding: Finding, rule: str, path: str) -> bool:
        scope = finding.scope.node.path
        return rule == finding.finding_id and (path == scope or path.startswith(f"{scope}/"))

    assert [(r, p) for r, p in sorted(raised) if not any(covers(f, r, p) for f in findings)] == []
    stale = [(f.finding_id, f.scope.node.path) for f in findings if not any(covers(f, r, p) for r, p in raised)]
    assert stale == []
    assert all(len(f.reason) >= 20 for f in findings)


def test_a_stage_without_environment_settings_fails_naming_the_prop(context: dict[str, object]) -> None:
    partial = {name: env for name, env in ENVIRONMENTS.items() if name != "prod"}
    with pytest.raises(PropError, match=r"environments: no settings for stage 'prod' \(got \['staging'\]\)\. Fix:"):
        EmrPlatformPipelineStack(App(context=context), "emr-platform-pipeline", settings=SETTINGS, environments=partial)


def test_a_pipeline_over_two_regions_and_three_accounts_in_waves_synthesizes_through_every_gate(
    context: dict[str, object], tmp_path: Path
) -> None:
    """The tooling account's pipeline in eu-west-1; staging (its own account) in eu-west-1; then, in one wave,
    prod in eu-central-1 and a second production environment in eu-west-1 (both in the production account)."""
    prod = (CONFIG_DIR / "prod.yaml").read_text(encoding="utf-8")
    central = prod.replace("region: eu-west-1", "region: eu-central-1").replace(
        "eu-west-1a, eu-west-1b, eu-west-1c", "eu-central-1a, eu-central-1b, eu-central-1c"
    )
    assert central.count("eu-central-1") == 4
    waves = PIPELINE_YAML.replace(
        "  - environment: prod\n",
        "  - environment: prod\n    wave: production\n  - environment: prodwest\n    wave: production\n",
    )
    config = _pipeline_dir(tmp_path, waves)
    (config / "prod.yaml").write_text(central, encoding="utf-8")
    west = prod.replace("environment: prod\n", "environment: prodwest\n").replace("10.30.0.0/16", "10.31.0.0/16")
    (config / "prodwest.yaml").write_text(west, encoding="utf-8")
    outdir = tmp_path / "out"
    app = build_app(context={**context, "pipeline": "true"}, outdir=str(outdir), config_dir=config)
    app.synth()  # every gate: cdk-nag's four packs, the Control Tower Guard rules, CloudFormation validation

    stacks = {c.node.id: c for c in app.node.children if isinstance(c, Stack)}
    assert set(stacks) == {"emr-platform-pipeline", "emr-platform-pipeline-artifacts-eu-central-1"}
    store = stacks["emr-platform-pipeline-artifacts-eu-central-1"]
    assert (store.account, store.region, store.termination_protection) == ("999999999999", "eu-central-1", True)
    template = Template.from_stack(stacks["emr-platform-pipeline"])
    [resource] = template.find_resources("AWS::CodePipeline::Pipeline").values()
    regions = {s["Region"] for s in resource["Properties"]["ArtifactStores"]}
    assert regions == {"eu-west-1", "eu-central-1"}
    names = [s["Name"] for s in _stages(template)]
    assert names[-2:] == ["staging", "production"]
    deploys = {
        a.get("Region", "eu-west-1")  # no Region: the pipeline's own
        for a in _stages(template)[-1]["Actions"]
        if a["ActionTypeId"]["Provider"] == "CloudFormation"
    }
    assert deploys == {"eu-west-1", "eu-central-1"}
    accounts = {
        json.dumps(a.get("RoleArn", "")).split(":iam::")[-1][:12]
        for s in _stages(template)[-2:]
        for a in s["Actions"]
        if "RoleArn" in a
    }
    assert {"222222222222", "333333333333"} <= accounts
    # The replication store is secured like the pipeline's own: versioned, access-logged, KMS with rotation.
    replica = Template.from_stack(store)
    replica.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    replica.has_resource_properties(
        "AWS::S3::Bucket", {"VersioningConfiguration": {"Status": "Enabled"}, "LoggingConfiguration": Match.any_value()}
    )
    templates = sorted(outdir.glob("*.template.json")) + sorted(outdir.glob("assembly-*/*.template.json"))
    assert cfn_lint_errors(*templates) == []
