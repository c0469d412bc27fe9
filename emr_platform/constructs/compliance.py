"""Compliance gates run at every synth, and the one reviewed list of acknowledged findings.

cdk-nag's AwsSolutions pack runs on every stack; synthesis fails on any finding not acknowledged here. Each
acknowledgement is scoped to one construct (and its children) and one granular finding id, with the reason it is
acceptable. Library constructs carry no acknowledgements of their own: a platform team reusing them sees every
finding and decides for itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import (
    Acknowledgment,
    App,
    CfnResource,
    CloudFormationValidatePlugin,
    Stack,
    ValidationRuleSource,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks
from constructs import IConstruct

from emr_platform.constructs import (
    DataLakeStorage,
    EmrBlockPublicAccess,
    EmrCluster,
    EmrNetwork,
    EmrSecurityConfiguration,
    TransientEmrCluster,
)
from emr_platform.constructs.transient import TRANSIENT_TAG
from emr_platform.spec.errors import EmrPlatformError


@dataclass(frozen=True)
class Finding:
    """An acknowledged finding: the construct it applies to, its granular id and why it is acceptable."""

    scope: IConstruct
    finding_id: str
    reason: str


RULE_PACKS = (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks)
"""cdk-nag packs run on every stack: AWS Solutions, HIPAA Security, NIST 800-53 rev 5, PCI DSS 3.2.1."""


GUARD_RULES_DIR = Path(__file__).resolve().parent.parent / "rules" / "control_tower"
"""AWS Control Tower proactive controls (CloudFormation Guard) for EMR, S3 and KMS; see its README."""


def guard_rules() -> list[ValidationRuleSource]:
    """The Control Tower Guard rules, as aws-cdk-lib's CloudFormation validation takes them.

    :raises EmrPlatformError: there are none (an install without the package data), instead of running no gate.
    """
    paths = sorted(GUARD_RULES_DIR.glob("*.guard"))
    if not paths:
        raise EmrPlatformError(
            where=str(GUARD_RULES_DIR),
            problem="no Control Tower Guard rules (*.guard) found: the package was installed without its data",
            show_value=False,
            fix="reinstall emr-platform from a wheel or sdist built by its pyproject.toml (it includes rules/)",
        )
    return [ValidationRuleSource(name=path.stem, content=path.read_text(encoding="utf-8")) for path in paths]


def add_compliance_checks(app: App) -> None:
    """Register the rule packs that run on every stack of ``app`` at synth: the cdk-nag packs, and the CDK's own
    CloudFormation validation (its default rules plus the Control Tower Guard rules)."""
    Validations.of(app).add_plugins(
        *(pack(app) for pack in RULE_PACKS), CloudFormationValidatePlugin(guard_rules=guard_rules())
    )


CHECKOV = "checkov::"
"""Prefix of findings of checkov, which runs on ``cdk.out`` in the tests: acknowledged as a metadata skip on the
CloudFormation resource (``Metadata.checkov.skip``), where checkov reads them."""


def _acknowledge(findings: list[Finding]) -> list[Finding]:
    # Acknowledgments are grouped by construct: one call into aws-cdk-lib per construct, not per finding (each is
    # a round trip to jsii's Node process; about 400 fewer per synthesis of all environments). Grouped by the Python
    # object, which the dict keeps alive (so its id is not reused); should jsii hand out two objects for one
    # construct, it gets two calls, which is still right. Checkov skips must be one metadata entry per resource,
    # so they are grouped by path.
    skips: dict[str, tuple[CfnResource, list[dict[str, str]]]] = {}
    acknowledgments: dict[int, tuple[IConstruct, list[Acknowledgment]]] = {}
    for finding in findings:
        if finding.finding_id.startswith(CHECKOV):
            resource = _cfn_resource(finding.scope)
            skips.setdefault(resource.node.path, (resource, []))[1].append(
                {"id": finding.finding_id.removeprefix(CHECKOV), "comment": finding.reason}
            )
        else:
            acknowledgments.setdefault(id(finding.scope), (finding.scope, []))[1].append(
                Acknowledgment(id=finding.finding_id, reason=finding.reason)
            )
    for scope, acks in acknowledgments.values():
        Validations.of(scope).acknowledge(*acks)
    for resource, skip in skips.values():
        resource.add_metadata("checkov", {"skip": skip})
    return findings


def _cfn_resource(scope: IConstruct) -> CfnResource:
    resource = scope if isinstance(scope, CfnResource) else scope.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{scope.node.path}: a checkov skip needs a CloudFormation resource")
    return resource


HIPAA, NIST, PCI = "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"


def _in_packs(scope: IConstruct, rule: str, packs: tuple[str, ...], reason: str) -> Iterator[Finding]:
    """The same finding as each of ``packs`` names it (``HIPAA.Security-<rule>``, ...)."""
    for pack in packs:
        yield Finding(scope, f"{pack}-{rule}", reason)


def reviewed_findings(
    stack: Stack,
    *,
    storage: DataLakeStorage,
    network: EmrNetwork | None = None,
    clusters: Iterable[EmrCluster] = (),
    security_configuration: EmrSecurityConfiguration | None = None,
) -> Iterator[Finding]:
    """The findings reviewed for this package's core constructs (storage, network, clusters and their roles,
    security configuration), for a stack of your own that composes them; not yet acknowledged.

    Each is one granular finding id on one construct, with the reason it is acceptable; read them (they are
    listed in the README) before you adopt them with :func:`acknowledge_reviewed_findings`.
    """
    if network is not None:
        yield from _network_findings(stack, network)
    yield from _storage_findings(storage)
    for cluster in clusters:
        yield from _cluster_findings(stack, cluster, [storage])
    if security_configuration is not None:
        yield from _security_configuration_findings(security_configuration)


def acknowledge_reviewed_findings(
    stack: Stack,
    *,
    storage: DataLakeStorage,
    network: EmrNetwork | None = None,
    clusters: Iterable[EmrCluster] = (),
    security_configuration: EmrSecurityConfiguration | None = None,
) -> list[Finding]:
    """Acknowledge :func:`reviewed_findings` in ``stack``; returns them. Findings of anything else still fail.

    Example::

        add_compliance_checks(app)
        acknowledge_reviewed_findings(stack, storage=storage, network=network, clusters=[cluster])
    """
    return _acknowledge(
        list(
            reviewed_findings(
                stack,
                storage=storage,
                network=network,
                clusters=clusters,
                security_configuration=security_configuration,
            )
        )
    )


def _security_configuration_findings(security: EmrSecurityConfiguration) -> Iterator[Finding]:
    stated = security.spec.in_transit_encryption.disabled_reason
    if stated is not None:
        yield Finding(
            security.resource,
            "CloudFormation-Validate::emr_sec_config_encryption_in_transit_check",
            f"In-transit encryption is off in this environment, as its settings state: {stated}",
        )
    if security.kdc_admin_secret is not None:
        reason = (
            "The KDC admin password is read by EMR once, when a cluster is created; rotating the secret would not "
            "change the password inside running KDCs and would break the next replacement's match."
        )
        yield Finding(security.kdc_admin_secret, "AwsSolutions-SMG4", reason)
        yield from _in_packs(security.kdc_admin_secret, "SecretsManagerRotationEnabled", (HIPAA, NIST), reason)


def _storage_findings(storage: DataLakeStorage) -> Iterator[Finding]:
    replication = (
        "Cross-region replication is a disaster-recovery choice per environment that doubles storage cost; "
        "versioning, 90-day noncurrent versions and retained buckets already guard against deletion and overwrite."
    )
    for bucket in [*storage.data_buckets.values(), storage.artifacts_bucket, storage.logs_bucket]:
        yield from _in_packs(bucket, "S3BucketReplicationEnabled", (HIPAA, NIST, PCI), replication)
    yield from _access_logs_bucket_findings(
        storage.logs_bucket,
        "EMR writes its own log files here encrypted with the platform key (the cluster's LogEncryptionKmsKeyId).",
    )


def _access_logs_bucket_findings(bucket: s3.IBucket, contents: str) -> Iterator[Finding]:
    """A bucket that receives S3 server access logs: not logged into itself, and SSE-S3 as S3 requires."""
    self_logging = "This is the bucket the others log their access to; logging it into itself would log its own writes."
    yield Finding(bucket, "CloudFormation-Validate::s3_bucket_logging_enabled_check", self_logging)
    yield Finding(bucket, f"{CHECKOV}CKV_AWS_18", self_logging)
    sse_s3 = f"S3 delivers server access logs only to buckets whose default encryption is SSE-S3. {contents}"
    yield Finding(bucket, "CloudFormation-Validate::s3_bucket_default_encryption_kms_check", sse_s3)
    yield from _in_packs(bucket, "S3DefaultEncryptionKMS", (HIPAA, NIST, PCI), sse_s3)


def _block_public_access_findings(stack: Stack, guard: EmrBlockPublicAccess) -> Iterator[Finding]:
    policy = guard.resource.node.try_find_child("CustomResourcePolicy")
    reason = (
        "elasticmapreduce:PutBlockPublicAccessConfiguration is an account-level call without resource-level "
        "permissions; the policy allows that one action and is attached only to the custom resource's function."
    )
    if policy is not None:
        yield Finding(policy, "AwsSolutions-IAM5[Resource::*]", reason)
        yield from _in_packs(policy, "IAMNoInlinePolicy", (HIPAA, NIST, PCI), reason)
    function = stack.node.try_find_child(AWS_CUSTOM_RESOURCE_FUNCTION)
    if function is not None:
        why = (
            "aws-cdk-lib's AwsCustomResource function, run by CloudFormation once per deployment to call one EMR "
            "API: synchronous (CloudFormation reports failures, a DLQ would never be read), one concurrent call, "
            "no data, and only the public EMR API to reach."
        )
        yield Finding(
            function,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            why,
        )
        yield from _in_packs(function, "LambdaConcurrency", (HIPAA, NIST), why)
        yield from _in_packs(function, "LambdaDLQ", (HIPAA, NIST), why)
        yield from _in_packs(function, "LambdaInsideVPC", (HIPAA, NIST, PCI), why)
        yield from _lambda_checkov_skips(function, why)


def _lambda_checkov_skips(function: IConstruct, why: str) -> Iterator[Finding]:
    """checkov's Lambda checks (concurrency limit, DLQ, in a VPC) on a function the CDK writes for a custom resource."""
    for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
        yield Finding(function, f"{CHECKOV}{check}", why)


AWS_CUSTOM_RESOURCE_FUNCTION = "AWS679f53fac002430cb0da5b7982bd2287"
RESTRICT_DEFAULT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"
"""The id aws-cdk-lib gives the singleton function behind every AwsCustomResource of a stack."""


def _network_findings(stack: Stack, network: EmrNetwork) -> Iterator[Finding]:
    provider = stack.node.try_find_child(RESTRICT_DEFAULT_SG_PROVIDER)
    handler = provider.node.try_find_child("Handler") if provider is not None else None
    if handler is not None:
        yield from _lambda_checkov_skips(
            handler,
            "aws-cdk-lib's function that removes all rules of the VPC's default security group, run by "
            "CloudFormation on create and delete only: synchronous, no data, calls only the EC2 API.",
        )
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
        stated = security.spec.in_transit_encryption.disabled_reason if security is not None else None
        yield Finding(
            cluster.resource,
            "AwsSolutions-EMR5",
            f"In-transit encryption is off in this environment, as its settings state: {stated}"
            if stated
            else "The cluster has no security configuration; give it an EmrSecurityConfiguration.",
        )
    if security is None or security.spec.kerberos is None:
        yield from _in_packs(
            cluster.resource,
            "EMRKerberosEnabled",
            (HIPAA, PCI),
            "Kerberos is optional per environment (security.kerberos) and off here: work reaches the cluster only "
            "through the EMR API, authorized by IAM; nodes have no SSH key and no ingress from outside the cluster.",
        )
    if security is None or security.spec.kerberos is None:  # EMR6 asks for Kerberos or an SSH key pair
        yield Finding(
            cluster.resource,
            "AwsSolutions-EMR6",
            "No SSH key pair by design: nodes sit in private subnets without ingress from outside the cluster, and "
            "work reaches them only through the EMR API (steps); Kerberos is an optional per-environment feature.",
        )
    yield from _own_resource_findings(stack, cluster.roles.instance_role, storage)


def _transient_findings(
    stack: Stack, transient: TransientEmrCluster, storage: list[DataLakeStorage]
) -> Iterator[Finding]:
    """A transient cluster has no CloudFormation cluster; its roles, state machine and reaper have findings."""
    yield Finding(
        transient.roles,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2]",
        "AmazonEMRServicePolicy_v2 is AWS's least-privilege EMR service policy; it only acts on resources tagged "
        "for-use-with-amazon-emr-managed-policies=true, which the run's RunJobFlow request tags.",
    )
    yield from _own_resource_findings(stack, transient.roles.instance_role, storage)
    for role in (transient.role, transient.reaper_role):
        for finding_id, resource in _wildcard_resources(stack, role):
            if resource == "*":
                yield Finding(
                    role,
                    finding_id,
                    "RunJobFlow, ListClusters and the log-delivery APIs of Step Functions accept no resource but "
                    "'*'; cluster creation is further limited to requests tagged with this transient cluster's name.",
                )
            elif ":elasticmapreduce:" in resource and resource.endswith(":cluster/*"):
                yield Finding(
                    role,
                    finding_id,
                    "A run's cluster ID exists only once the run creates it; the statement is limited by condition "
                    f"to clusters tagged {TRANSIENT_TAG}={transient.name}.",
                )
    outside_vpc = (
        "The reaper calls only the EMR and SNS APIs and touches no data; the platform's VPC has no route to the "
        "internet and no EMR or SNS endpoint, so inside it the function could not reach them."
    )
    yield from _in_packs(transient.reaper, "LambdaInsideVPC", (HIPAA, NIST, PCI), outside_vpc)
    yield Finding(transient.reaper, f"{CHECKOV}CKV_AWS_117", outside_vpc)


def _own_resource_findings(stack: Stack, role: iam.IRole, storage: list[DataLakeStorage]) -> Iterator[Finding]:
    """IAM5 wildcard-resource findings that only span the platform's own buckets, Glue tables and log groups."""
    buckets = {
        _logical_id(stack, bucket): name
        for store in storage
        for name, bucket in [
            *store.data_buckets.items(),
            ("artifacts", store.artifacts_bucket),
            ("logs", store.logs_bucket),
        ]
    }
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
        elif resource.endswith(":log-group:/aws-glue/crawlers*"):
            yield Finding(
                role,
                finding_id,
                "Glue names a crawler's log group after its role and security configuration at run time; the "
                "pattern covers only Glue crawler log groups of this account and region.",
            )


# --- rendering policy documents the way the rule packs name findings -----------------------------------------------


def _statements(stack: Stack, role: iam.IRole) -> list[dict[str, Any]]:
    policy = role.node.try_find_child("Policy") or role.node.try_find_child("DefaultPolicy")
    if not isinstance(policy, iam.ManagedPolicy | iam.Policy):
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
