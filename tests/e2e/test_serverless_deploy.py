"""dev with an EMR Serverless application and an EMR Studio, deployed by the real CDK CLI on the emulator.

How far the emulator goes (moto 5.2.5): it has no CloudFormation model of ``AWS::EMRServerless::Application``,
``AWS::EMR::Studio`` or ``AWS::EMR::StudioSessionMapping``, and a stack whose outputs read their attributes (the
application's ID, the Studio's URL) fails there ("Fn::GetAtt references undefined resource"), where AWS creates
them. So the test takes those resources and the outputs that read them out of the synthesized template and
deploys the rest: everything around them (the job role and its managed policy, the Studio's service role and its
policy, both Studio security groups and their rules, the application's security group). The EMR Serverless API
itself is modelled, and tests/test_serverless.py runs jobs against it through the operations CLI.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from emr_platform.app import build_app, cdk_json_context
from emr_platform.spec.settings import CONFIG_DIR
from tests.conftest import PROJECT
from tests.e2e.platform import deployed

pytestmark = pytest.mark.e2e


UNMODELLED = {"AWS::EMRServerless::Application", "AWS::EMR::Studio", "AWS::EMR::StudioSessionMapping"}


def _without_unmodelled(path: Path) -> None:
    template = json.loads(path.read_text(encoding="utf-8"))
    gone = {i for i, r in template["Resources"].items() if r["Type"] in UNMODELLED}
    assert len(gone) == 2, gone  # the application and the Studio (IAM sign-in: no session mappings)
    template["Resources"] = {i: r for i, r in template["Resources"].items() if i not in gone}
    template["Outputs"] = {k: o for k, o in template["Outputs"].items() if not any(g in json.dumps(o) for g in gone)}
    path.write_text(json.dumps(template), encoding="utf-8")


def test_serverless_and_studio_deploy_as_far_as_the_emulator_models_them(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    settings = yaml.safe_load((config / "dev.yaml").read_text(encoding="utf-8"))
    settings["serverless_applications"] = {"etl": {"release_label": "emr-7.13.0"}}
    settings["studio"] = {"auth_mode": "IAM"}
    (config / "dev.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    assembly = tmp_path / "assembly"
    context = {**cdk_json_context(PROJECT), "env": "dev", "aws:cdk:enable-path-metadata": True}
    build_app(context=context, outdir=str(assembly), config_dir=config).synth()
    _without_unmodelled(assembly / "emr-platform-dev.template.json")
    with deployed("dev", tmp_path, assembly=assembly) as dev:
        assert dev.stack()["StackStatus"] == "CREATE_COMPLETE"
        template = dev.template()["Resources"]
        created = dev.physical_ids()
        for prefix in (
            "etlServerlessJobRole",
            "etlServerlessSecurityGroup",
            "StudioServiceRole",
            "StudioEngineSecurityGroup",
        ):
            [logical_id] = [
                i
                for i in template
                if i.startswith(prefix) and template[i]["Type"] in {"AWS::IAM::Role", "AWS::EC2::SecurityGroup"}
            ]
            assert created.get(logical_id), f"{logical_id} was not created"
        role = dev.client("iam").get_role(
            RoleName=created[
                next(
                    i
                    for i in template
                    if i.startswith("etlServerlessJobRole") and template[i]["Type"] == "AWS::IAM::Role"
                )
            ]
        )
        assert role["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "emr-serverless.amazonaws.com"
        }
