"""Safety in someone else's app: the constructs' acknowledgements and removal policies hold outside our stacks.

A platform team composes the constructs in a stack of its own and registers the gates with
``add_compliance_checks``: a finding is acknowledged only where its reason is true of that team's resources, and
data is destroyed only with both keys. One synthesis of one consumer app (three stacks) serves the module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from aws_cdk import App, Environment, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from emr_platform.constructs import (
    ClusterPlacement,
    DataLakeStorage,
    EmrCluster,
    EmrNetwork,
    EmrSecurityConfiguration,
)
from emr_platform.constructs.compliance import VALIDATE_AGAINST_DEFAULT_RULES, add_compliance_checks
from emr_platform.constructs.shared import sse_s3_only, versioned
from emr_platform.spec.errors import EmrPlatformError
from emr_platform.spec.settings import ALLOW_DESTROY_CONTEXT

from .test_constructs import SPEC

TLS: dict[str, object] = {"in_transit_encryption": {"certificates_zip": "s3://team-pki/emr/certs.zip"}}


def consumer_stack(app: App, name: str, *, security: dict[str, object] | None) -> tuple[Stack, EmrCluster]:
    """A team's stack: storage, network, optionally a security configuration, and one cluster."""
    stack = Stack(app, name, env=Environment(account="444444444444", region="eu-west-1"))
    storage = DataLakeStorage(stack, "Storage", data_zones=["raw"])
    network = EmrNetwork(
        stack,
        "Network",
        encryption_key=storage.key,
        availability_zones=["eu-west-1a", "eu-west-1b"],
        interface_endpoints=(),
    )
    configuration = (
        EmrSecurityConfiguration(stack, "Security", encryption_key=storage.key, spec=security)
        if security is not None
        else None
    )
    placement = ClusterPlacement(
        vpc=network.vpc,
        subnets=network.subnets,
        log_bucket=storage.logs_bucket,
        encryption_key=storage.key,
        security_configuration=configuration,
    )
    cluster = EmrCluster(stack, "Spark", spec=SPEC, placement=placement)
    storage.grant_read_write(cluster)
    return stack, cluster


@dataclass
class Report:
    failures: set[tuple[str, str]]  # (finding id, construct path) of every finding that failed synthesis


@pytest.fixture(scope="module")
def report(context: dict[str, object]) -> Report:
    app = App(context={k: v for k, v in context.items() if k != "aws:cdk:enable-path-metadata"})
    consumer_stack(app, "Encrypted", security=TLS)
    consumer_stack(app, "Unencrypted", security=None)
    _, opened = consumer_stack(app, "Opened", security=TLS)
    # A careless edit: SSH from the corporate network into the primary and core nodes.
    opened.connections.allow_from(ec2.Peer.ipv4("10.0.0.0/8"), ec2.Port.tcp(22), "SSH from the office")
    add_compliance_checks(app)
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    found = re.findall(r"^\s+(\S+?)(?: \(\S+\))? \S+\n\s+Acknowledge with '([^']+)'", str(raised.value), re.MULTILINE)
    # Each id as its pack names it ("AwsSolutions::AwsSolutions-EMR4"): the rule after the pack's namespace.
    return Report({(rule.split("::", 1)[-1], path) for path, rule in found})


def _rules_at(report: Report, path: str) -> set[str]:
    return {rule for rule, where in report.failures if where == path or where.startswith(f"{path}/")}


def test_fails_a_cluster_without_security_configuration_naming_the_emr_findings(report: Report) -> None:
    assert {"AwsSolutions-EMR4", "AwsSolutions-EMR5"} <= _rules_at(report, "Unencrypted/Spark")


def test_fails_a_cluster_opened_to_ssh_naming_the_key_pair_and_kerberos_findings(report: Report) -> None:
    rules = _rules_at(report, "Opened/Spark")
    assert {"AwsSolutions-EMR6", "HIPAA.Security-EMRKerberosEnabled", "PCI.DSS.321-EMRKerberosEnabled"} <= rules
    assert "AwsSolutions-EMR4" not in rules, "the encryption acknowledgement still holds: the cluster encrypts"


def test_an_encrypted_closed_cluster_raises_nothing(report: Report) -> None:
    assert _rules_at(report, "Encrypted") == set()


def test_the_unencrypted_cluster_keeps_the_acknowledgements_whose_facts_hold(report: Report) -> None:
    # No key pair and no outside ingress: EMR6 stays acknowledged; only the encryption findings fail.
    assert "AwsSolutions-EMR6" not in _rules_at(report, "Unencrypted/Spark")


def test_fails_without_the_flag_that_makes_guard_findings_errors() -> None:
    app = App(context={VALIDATE_AGAINST_DEFAULT_RULES: False})
    with pytest.raises(EmrPlatformError, match=r"validateAgainstDefaultRules'.*Fix: set"):
        add_compliance_checks(app)


def _storage_template(context: dict[str, object], **extra: object) -> tuple[Template, Annotations]:
    stack = Stack(
        App(context={**context, **extra}), "Lake", env=Environment(account="444444444444", region="eu-west-1")
    )
    DataLakeStorage(stack, "Storage", removal_policy=RemovalPolicy.DESTROY)
    return Template.from_stack(stack), Annotations.from_stack(stack)


def test_destroy_without_the_context_flag_retains_with_a_warning(context: dict[str, object]) -> None:
    template, annotations = _storage_template(context)
    for kind in ("AWS::S3::Bucket", "AWS::KMS::Key"):
        resources = template.find_resources(kind)
        assert resources and all(r["DeletionPolicy"] == "Retain" for r in resources.values()), kind
    annotations.has_warning("/Lake/Storage", Match.string_like_regexp("DESTROY is RETAINED.*allow-destroy=true"))


def test_destroy_with_the_context_flag_destroys(context: dict[str, object]) -> None:
    template, _ = _storage_template(context, **{ALLOW_DESTROY_CONTEXT: "true"})
    buckets = template.find_resources("AWS::S3::Bucket")
    assert buckets and all(r["DeletionPolicy"] == "Delete" for r in buckets.values())


def test_bucket_facts_are_read_from_the_synthesized_bucket(context: dict[str, object]) -> None:
    stack = Stack(App(context=context), "Facts", env=Environment(account="444444444444", region="eu-west-1"))
    storage = DataLakeStorage(stack, "Storage", data_zones=["raw"])
    plain = s3.Bucket(stack, "Plain", encryption=s3.BucketEncryption.KMS_MANAGED)
    assert versioned(storage.bucket("raw")) and not versioned(plain)
    assert sse_s3_only(storage.logs_bucket) and not sse_s3_only(storage.bucket("raw")) and not sse_s3_only(plain)
    # An escape-hatch edit a careless reviewer could approve: versioning off on a zone bucket.
    storage.bucket("raw").node.default_child.versioning_configuration = None  # type: ignore[union-attr]
    rules = {(f.finding_id, f.scope.node.path) for f in storage.reviewed_findings()}
    assert ("HIPAA.Security-S3BucketReplicationEnabled", "Facts/Storage/RawBucket") not in rules
    assert ("HIPAA.Security-S3BucketReplicationEnabled", "Facts/Storage/LogsBucket") in rules
