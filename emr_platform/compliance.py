"""Compliance gates run at every synth, and the one reviewed list of acknowledged findings.

cdk-nag's AwsSolutions pack runs on every stack; synthesis fails on any finding not acknowledged here. Each
acknowledgement is scoped to one construct (and its children) and one granular finding id, with the reason it is
acceptable. Library constructs carry no acknowledgements of their own: a platform team reusing them sees every
finding and decides for itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_cdk import Acknowledgment, App, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from emr_platform.constructs import DataLakeStorage, EmrCluster, EmrNetwork
from emr_platform.stacks import EmrPlatformStack


@dataclass(frozen=True)
class Finding:
    """An acknowledged finding: the construct it applies to, its granular id and why it is acceptable."""

    scope: IConstruct
    finding_id: str
    reason: str


def add_compliance_checks(app: App) -> None:
    """Register the rule packs that run on every stack of ``app`` at synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge_findings(stack: EmrPlatformStack) -> list[Finding]:
    """Acknowledge the reviewed findings of ``stack``'s constructs; returns them (for tests and the README)."""
    findings = list(_findings(stack))
    for finding in findings:
        Validations.of(finding.scope).acknowledge(Acknowledgment(id=finding.finding_id, reason=finding.reason))
    return findings


def _findings(stack: EmrPlatformStack) -> Iterator[Finding]:
    # The stack's own attributes name its constructs: walking the construct tree instead costs a jsii round trip
    # per node, a quarter of the synthesis time.
    yield from _network_findings(stack.network)
    for cluster in stack.clusters.values():
        yield from _cluster_findings(stack, cluster, [stack.storage])


def _network_findings(network: EmrNetwork) -> Iterator[Finding]:
    if network.created_vpc is not None:
        yield Finding(
            network.created_vpc,
            "CloudFormation-Validate::W3010",
            "Availability zones are pinned in the environment settings so that synthesis is offline and "
            "deterministic and a zone lookup can never move (and so replace) the subnets.",
        )


def _cluster_findings(stack: Stack, cluster: EmrCluster, storage: list[DataLakeStorage]) -> Iterator[Finding]:
    yield Finding(
        cluster.roles,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2]",
        "AmazonEMRServicePolicy_v2 is AWS's least-privilege EMR service policy; it only acts on resources tagged "
        "for-use-with-amazon-emr-managed-policies=true, which this platform tags.",
    )
    if cluster.roles.autoscaling_role is not None:
        yield Finding(
            cluster.roles,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonElasticMapReduceforAutoScalingRole]",
            "Custom autoscaling of instance groups needs this AWS managed policy: it only lets Application Auto "
            "Scaling read the EMR metrics alarms and resize the cluster's instance groups.",
        )
    yield Finding(
        cluster.resource,
        "AwsSolutions-EMR4",
        "False positive: the rule reads EnableAtRestEncryption at the top level of the security configuration, EMR "
        "nests it under EncryptionConfiguration; local disk and EBS encryption with KMS are asserted by "
        "tests/test_constructs.py::test_security_configuration_encrypts_at_rest.",
    )
    security = cluster.security_configuration
    if security is not None and security.tls_certificates_uri is not None:
        yield Finding(
            cluster.resource,
            "AwsSolutions-EMR5",
            "False positive: in-transit TLS is enabled under EncryptionConfiguration, where EMR reads it; the rule "
            "reads the top level.",
        )
    else:
        yield Finding(
            cluster.resource,
            "AwsSolutions-EMR5",
            "In-transit TLS needs a certificate bundle that this environment does not set yet (EmrSecurityConfiguration "
            "tls_certificates_uri); nodes talk only inside private subnets with no internet route meanwhile.",
        )
    yield Finding(
        cluster.resource,
        "AwsSolutions-EMR6",
        "No SSH key pair by design: nodes sit in private subnets without ingress from outside the cluster, and work "
        "reaches them only through the EMR API (steps); Kerberos is an optional per-environment feature.",
    )
    buckets = {
        _logical_id(stack, bucket): name
        for store in storage
        for name, bucket in [
            *store.data_buckets.items(),
            ("artifacts", store.artifacts_bucket),
            ("logs", store.logs_bucket),
        ]
    }
    role = cluster.roles.instance_role
    for finding_id, resource in _wildcard_resources(stack, role):
        bucket = next((name for lid, name in buckets.items() if resource.startswith(f"<{lid}.Arn>/")), None)
        if bucket is not None:
            yield Finding(
                role,
                finding_id,
                f"Object-level actions need the objects of the platform's own {bucket} bucket, under one prefix.",
            )
        elif ":glue:" in resource and (":table/" in resource or ":userDefinedFunction/" in resource):
            yield Finding(
                role,
                finding_id,
                "Metastore clients read and write the tables and functions of the platform's own Glue databases, "
                "whose names are not known before they are created.",
            )


# --- rendering policy documents the way the rule packs name findings -----------------------------------------------


def _statements(stack: Stack, role: iam.IRole) -> list[dict[str, Any]]:
    policy = role.node.try_find_child("DefaultPolicy")
    if not isinstance(policy, iam.Policy):
        return []
    document = stack.resolve(policy.document.to_json())
    return list(document.get("Statement", []))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard_actions(stack: Stack, role: iam.IRole) -> list[str]:
    actions = {a for st in _statements(stack, role) for a in _as_list(st.get("Action", [])) if "*" in a}
    return [f"AwsSolutions-IAM5[Action::{a}]" for a in sorted(actions)]


def _wildcard_resources(stack: Stack, role: iam.IRole) -> list[tuple[str, str]]:
    rendered = {_render(r) for st in _statements(stack, role) for r in _as_list(st.get("Resource", []))}
    return [(f"AwsSolutions-IAM5[Resource::{r}]", r) for r in sorted(rendered) if "*" in r]


def _render(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag prints it (``<Logical.Arn>/*``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            return f"<{logical}.{attribute}>"
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(_render(p) for p in parts)
    return json.dumps(value, sort_keys=True)


def _logical_id(stack: Stack, bucket: s3.Bucket) -> str:
    return str(stack.resolve(bucket.node.default_child.logical_id))  # type: ignore[union-attr]
