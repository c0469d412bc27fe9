"""Reuse: the whole platform as one construct in someone else's stack, node access without SSH, cluster names, and
the seed's `aws emr create-cluster` example as a recipe. One app with the L3 and the recipe, synthesized once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from emr_platform.constructs import EmrDataPlatform
from emr_platform.constructs.compliance import add_compliance_checks
from emr_platform.constructs.platform import zones_context_key
from emr_platform.spec.cluster import CLUSTER_NAME_MAX, EmrClusterSpec
from emr_platform.spec.errors import PropError
from emr_platform.spec.settings import load_settings
from emr_platform.stacks import EmrPlatformStack

from .conftest import PROJECT, environment_template
from .test_constructs import SPEC

RECIPES = PROJECT / "examples" / "recipes"
ACCOUNT, REGION = "444444444444", "eu-west-1"


def team_spec() -> dict[str, Any]:
    """A team's platform as a mapping (account and region come from the stack)."""
    return {
        "platform_name": "team",
        "tags": {"team": "marketing"},
        "availability_zones": ["eu-west-1a", "eu-west-1c"],
        "security": {"in_transit_encryption": {"certificates_zip": "s3://team-pki/emr/certs.zip"}},
        "clusters": {"spark": {**SPEC, "name": "team-spark"}},
    }


@dataclass
class Built:
    platform: EmrDataPlatform
    team: Template
    recipe: Template
    outdir: Path


@pytest.fixture(scope="module")
def built(context: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Built:
    outdir = tmp_path_factory.mktemp("reuse")
    app = App(context={k: v for k, v in context.items() if k != "aws:cdk:enable-path-metadata"}, outdir=str(outdir))
    stack = Stack(app, "team", env=Environment(account=ACCOUNT, region=REGION))
    platform = EmrDataPlatform(stack, "Platform", spec=team_spec())
    recipe = EmrPlatformStack(app, "mycluster", settings=load_settings("mycluster", RECIPES))
    add_compliance_checks(app)
    app.synth()  # every gate: any unacknowledged finding raises
    return Built(
        platform,
        environment_template(stack, platform.cluster_stacks),
        environment_template(recipe, recipe.cluster_stacks),
        outdir,
    )


def test_the_platform_construct_synthesizes_through_every_gate_with_no_lookup(built: Built) -> None:
    manifest = json.loads((built.outdir / "manifest.json").read_text(encoding="utf-8"))
    assert "missing" not in manifest, "a context lookup was left for the CLI"
    zones = {r["Properties"]["AvailabilityZone"] for r in built.team.find_resources("AWS::EC2::Subnet").values()}
    assert zones == {"eu-west-1a", "eu-west-1c"}


def test_the_platform_construct_makes_the_grants_its_parts_need(built: Built) -> None:
    platform = built.platform
    assert set(platform.clusters) == {"spark"}
    role = built.team.find_resources("AWS::IAM::ManagedPolicy")
    text = json.dumps(role)
    for bucket in platform.storage.data_buckets.values():
        logical = Stack.of(platform).resolve(bucket.node.default_child.logical_id)  # type: ignore[union-attr]
        assert logical in text, f"no grant on {logical}"
    assert "glue:GetTable" in text and "emr-logs/*" in text


def test_a_cluster_name_from_the_spec(built: Built) -> None:
    built.team.has_resource_properties("AWS::EMR::Cluster", {"Name": "team-spark"})


def test_session_manager_reaches_the_nodes_without_ssh(built: Built) -> None:
    built.team.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "ec2.amazonaws.com"}})]}
            ),
            "ManagedPolicyArns": Match.array_with(
                [
                    {
                        "Fn::Join": [
                            "",
                            ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/AmazonSSMManagedInstanceCore"],
                        ]
                    }
                ]
            ),
        },
    )
    endpoints = built.team.find_resources("AWS::EC2::VPCEndpoint").values()
    services = {json.dumps(r["Properties"]["ServiceName"]).strip('"') for r in endpoints}
    assert {f"com.amazonaws.{REGION}.{s}" for s in ("ssm", "ssmmessages", "ec2messages")} <= services
    cluster = next(iter(built.team.find_resources("AWS::EMR::Cluster").values()))
    assert "Ec2KeyName" not in cluster["Properties"]["Instances"]


def test_the_create_cluster_recipe_is_the_cli_example(built: Built) -> None:
    [cluster] = built.recipe.find_resources("AWS::EMR::Cluster").values()
    props = cluster["Properties"]
    assert props["Name"] == "MyCluster"
    assert [a["Name"] for a in props["Applications"]] == ["Hadoop", "Spark"]
    instances = props["Instances"]
    assert instances["Ec2KeyName"] == "myKey"
    groups = [instances["MasterInstanceGroup"], instances["CoreInstanceGroup"]]
    assert [(g["InstanceType"], g["InstanceCount"]) for g in groups] == [("m5.xlarge", 1), ("m5.xlarge", 2)]
    text = (RECIPES / "mycluster.yaml").read_text(encoding="utf-8")
    assert "aws emr create-cluster --name MyCluster" in text


def test_a_key_pair_without_a_reason_is_refused_saying_why_and_what_instead() -> None:
    with pytest.raises(ValueError, match=r"key_name: an SSH key pair is refused on purpose.*Session Manager.*key_pair"):
        EmrClusterSpec.model_validate({**SPEC, "key_name": "myKey"})
    with pytest.raises(ValueError, match=r"reason"):
        EmrClusterSpec.model_validate({**SPEC, "key_pair": {"name": "myKey", "reason": "ssh"}})


def test_the_cluster_name_rule_is_emrs() -> None:
    model = botocore.session.get_session().get_service_model("emr")
    request = model.operation_model("RunJobFlow").input_shape
    assert request is not None
    shape = request.members["Name"]
    assert shape.metadata["max"] == CLUSTER_NAME_MAX
    with pytest.raises(ValueError, match="name"):
        EmrClusterSpec.model_validate({**SPEC, "name": "x" * (CLUSTER_NAME_MAX + 1)})
    with pytest.raises(ValueError, match="name"):
        EmrClusterSpec.model_validate({**SPEC, "name": "bad\x07name"})


def test_the_platform_construct_fails_when_its_stack_already_has_children(context: dict[str, object]) -> None:
    stack = Stack(App(context=context), "team", env=Environment(account=ACCOUNT, region=REGION))
    s3.Bucket(stack, "Earlier")
    with pytest.raises(PropError, match=re.escape(zones_context_key(ACCOUNT, REGION))):
        EmrDataPlatform(stack, "Platform", spec=team_spec())


def test_the_platform_construct_fails_on_another_account_than_its_stacks(context: dict[str, object]) -> None:
    stack = Stack(App(context=context), "team", env=Environment(account=ACCOUNT, region=REGION))
    with pytest.raises(PropError, match=r"spec.account: differs from the stack's account"):
        EmrDataPlatform(stack, "Platform", spec={**team_spec(), "account": "555555555555"})


def test_the_platform_construct_fails_on_a_spec_that_is_not_a_mapping(context: dict[str, object]) -> None:
    stack = Stack(App(context=context), "team", env=Environment(account=ACCOUNT, region=REGION))
    with pytest.raises(PropError, match=r"spec: not a settings mapping \(got 'list'\)\. Fix:"):
        EmrDataPlatform(stack, "Platform", spec=["clusters"])  # type: ignore[arg-type]


def test_a_short_construct_id_still_gives_a_valid_environment_name(context: dict[str, object]) -> None:
    stack = Stack(App(context=context), "team", env=Environment(account=ACCOUNT, region=REGION))
    assert EmrDataPlatform(stack, "P", spec=team_spec()).settings.environment == "platform-p"


def test_the_platform_constructs_tags_reach_its_resources(built: Built) -> None:
    built.team.has_resource_properties(
        "AWS::S3::Bucket", {"Tags": Match.array_with([{"Key": "team", "Value": "marketing"}])}
    )
