"""What the security section of the README promises, proven on the synthesized templates of every environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ENVIRONMENTS, Synthesized


def _resources(synthesized: Synthesized, env: str, kind: str) -> dict[str, Any]:
    return dict(synthesized.templates[env].find_resources(kind))


def _statements(synthesized: Synthesized, env: str) -> Iterator[dict[str, Any]]:
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in _resources(synthesized, env, kind).values():
            yield from policy["Properties"]["PolicyDocument"]["Statement"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_encryption_at_rest_everywhere(synthesized: Synthesized, env: str) -> None:
    for config in _resources(synthesized, env, "AWS::EMR::SecurityConfiguration").values():  # transient runs' too
        document = config["Properties"]["SecurityConfiguration"]
        at_rest = document["EncryptionConfiguration"]["AtRestEncryptionConfiguration"]
        assert at_rest["S3EncryptionConfiguration"]["EncryptionMode"] in ("SSE-KMS", "CSE-KMS")
        assert at_rest["LocalDiskEncryptionConfiguration"]["EncryptionKeyProviderType"] == "AwsKms"
        assert at_rest["LocalDiskEncryptionConfiguration"]["EnableEbsEncryption"] is True
    for bucket in _resources(synthesized, env, "AWS::S3::Bucket").values():
        assert bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    for group in _resources(synthesized, env, "AWS::Logs::LogGroup").values():
        assert "KmsKeyId" in group["Properties"]
    for secret in _resources(synthesized, env, "AWS::SecretsManager::Secret").values():
        assert "KmsKeyId" in secret["Properties"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_imdsv2_and_log_encryption_on_every_cluster(synthesized: Synthesized, env: str) -> None:
    for config in _resources(synthesized, env, "AWS::EMR::SecurityConfiguration").values():
        imds = config["Properties"]["SecurityConfiguration"]["InstanceMetadataServiceConfiguration"]
        assert imds == {"MinimumInstanceMetadataServiceVersion": 2, "HttpPutResponseHopLimit": 1}
    for cluster in _resources(synthesized, env, "AWS::EMR::Cluster").values():
        assert "LogEncryptionKmsKeyId" in cluster["Properties"]
        assert "SecurityConfiguration" in cluster["Properties"]


def test_prod_encrypts_in_transit_and_uses_kerberos(synthesized: Synthesized) -> None:
    [cluster] = _resources(synthesized, "prod", "AWS::EMR::Cluster").values()
    config = _resources(synthesized, "prod", "AWS::EMR::SecurityConfiguration")[
        cluster["Properties"]["SecurityConfiguration"]["Ref"]
    ]
    document = config["Properties"]["SecurityConfiguration"]
    assert document["EncryptionConfiguration"]["EnableInTransitEncryption"] is True
    tls = document["EncryptionConfiguration"]["InTransitEncryptionConfiguration"]["TLSCertificateConfiguration"]
    assert tls["CertificateProviderType"] == "PEM"
    assert document["AuthenticationConfiguration"]["KerberosConfiguration"]["Provider"] == "ClusterDedicatedKdc"
    template = json.dumps(synthesized.templates["prod"].to_json())
    assert "KdcAdminPassword" in template and "{{resolve:secretsmanager:" in template


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_nodes_only_in_private_subnets_with_no_public_ingress(synthesized: Synthesized, env: str) -> None:
    assert _resources(synthesized, env, "AWS::EC2::InternetGateway") == {}
    for subnet in _resources(synthesized, env, "AWS::EC2::Subnet").values():
        assert subnet["Properties"].get("MapPublicIpOnLaunch") is not True
    public = ("0.0.0.0/0", "::/0")
    for group in _resources(synthesized, env, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") not in public and rule.get("CidrIpv6") not in public, rule
    for rule in _resources(synthesized, env, "AWS::EC2::SecurityGroupIngress").values():
        assert rule["Properties"].get("CidrIp") not in public, rule


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_v1_emr_managed_policy_anywhere(synthesized: Synthesized, env: str) -> None:
    template = json.dumps(synthesized.templates[env].to_json())
    for deprecated in ("AmazonElasticMapReduceRole", "AmazonElasticMapReduceforEC2Role", 'AmazonEMRServicePolicy"'):
        assert deprecated not in template
    assert "AmazonEMRServicePolicy_v2" in template


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_pass_role_is_scoped_and_no_data_bucket_is_granted_wholesale(synthesized: Synthesized, env: str) -> None:
    for statement in _statements(synthesized, env):
        actions = _as_list(statement["Action"])
        resources = _as_list(statement["Resource"])
        if "iam:PassRole" in actions:
            assert "*" not in resources
            # The instance role to EC2; a transient run's service role to EMR (each role to its own service only).
            assert statement["Condition"]["StringLike"]["iam:PassedToService"] in (
                "ec2.amazonaws.com",
                "ec2.amazonaws.com*",
                "elasticmapreduce.amazonaws.com*",
            ), statement
        if any(a.startswith("s3:") for a in actions):
            assert "*" not in resources, statement
            assert all(not (isinstance(r, str) and r.startswith("arn:aws:s3:::*")) for r in resources), statement
            assert all(a != "s3:*" for a in actions), statement


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_roles_keep_no_inline_policies_of_their_own(synthesized: Synthesized, env: str) -> None:
    # Exceptions: the CDK's own custom-resource providers (the VPC's default-security-group lock-down and the
    # AwsCustomResource behind EMR Block Public Access), whose policies aws-cdk-lib writes.
    for logical_id, role in _resources(synthesized, env, "AWS::IAM::Role").items():
        if "Policies" in role["Properties"]:
            assert "CustomResourceProvider" in logical_id, logical_id
    inline = list(_resources(synthesized, env, "AWS::IAM::Policy"))
    assert len(inline) <= 1, f"only the AwsCustomResource's own policy is inline, found {inline}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_emr_block_public_access_is_kept_on(synthesized: Synthesized, env: str) -> None:
    [call] = _resources(synthesized, env, "Custom::AWS").values()
    create = json.dumps(call["Properties"]["Create"])
    assert "putBlockPublicAccessConfiguration" in create
    assert '\\"BlockPublicSecurityGroupRules\\":true' in create
    assert '\\"PermittedPublicSecurityGroupRuleRanges\\":[]' in create


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_zone_crawlers_are_encrypted_scoped_and_never_drop_tables(synthesized: Synthesized, env: str) -> None:
    [config] = _resources(synthesized, env, "AWS::Glue::SecurityConfiguration").values()
    encryption = config["Properties"]["EncryptionConfiguration"]
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"
    crawlers = _resources(synthesized, env, "AWS::Glue::Crawler")
    databases = {c["Properties"]["DatabaseName"] for c in crawlers.values()}
    assert databases == {f"emr_platform_{env}_{zone}" for zone in ("raw", "curated", "analytics")}
    for crawler in crawlers.values():
        props = crawler["Properties"]
        assert props["SchemaChangePolicy"] == {
            "UpdateBehavior": "UPDATE_IN_DATABASE",
            "DeleteBehavior": "DEPRECATE_IN_DATABASE",
        }
        assert "CrawlerSecurityConfiguration" in props
        assert ("Schedule" in props) == (env == "prod"), "prod crawls nightly, the others on demand"
    # Each crawler role reads only its own zone's bucket.
    for kind in ("AWS::IAM::ManagedPolicy",):
        for logical_id, policy in _resources(synthesized, env, kind).items():
            if "CrawlersRawRole" not in logical_id:
                continue
            text = json.dumps(policy["Properties"]["PolicyDocument"])
            assert "StorageRawBucket" in text and "StorageCuratedBucket" not in text


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_step_completed_function_is_contained(synthesized: Synthesized, env: str) -> None:
    [function] = [
        f for i, f in _resources(synthesized, env, "AWS::Lambda::Function").items() if i.startswith("StepCompleted")
    ]
    props = function["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["ReservedConcurrentExecutions"] == 5
    assert "TargetArn" in props["DeadLetterConfig"] and "KmsKeyArn" in props
    [queue] = [q for i, q in _resources(synthesized, env, "AWS::SQS::Queue").items() if i.startswith("StepCompleted")]
    assert "KmsMasterKeyId" in queue["Properties"]
    rules = [
        r["Properties"].get("EventPattern", {}) for r in _resources(synthesized, env, "AWS::Events::Rule").values()
    ]
    assert {"source": ["aws.emr"], "detail-type": ["EMR Step Status Change"]}.items() <= next(
        p for p in rules if p.get("detail", {}).get("state") == ["COMPLETED"]
    ).items()
    # Its own policy, and in each cluster stack the policy that lets it describe that stack's steps.
    policies = [
        p
        for i, p in _resources(synthesized, env, "AWS::IAM::ManagedPolicy").items()
        if "StepCompletedRole" in i or "StepCompletedDescribeSteps" in i
    ]
    assert policies, "the function's policy"
    actions = sorted(
        a for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"] for a in _as_list(s["Action"])
    )
    assert actions == sorted(
        [
            "elasticmapreduce:DescribeStep",
            "glue:StartCrawler",
            "sns:Publish",
            "kms:GenerateDataKey",
            "kms:Decrypt",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "sqs:SendMessage",  # the dead-letter queue
        ]
    ), actions
