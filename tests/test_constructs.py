"""Each construct on its own: secure defaults, validation, grants (one small stack per module)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Match, Template

from emr_platform import EmrClusterSpec
from emr_platform.constructs import (
    ClusterPlacement,
    DataCatalog,
    DataLakeStorage,
    EmrCluster,
    EmrMonitoring,
    EmrNetwork,
    EmrSecurityConfiguration,
    PlatformNotifications,
    RedshiftAccessRole,
)
from emr_platform.constructs.shared import ManagedPolicyRole
from emr_platform.spec.errors import PropError
from emr_platform.spec.settings import DEFAULT_INTERFACE_ENDPOINTS

from .conftest import base_stack, pinned_stack, placement_of

SPEC: dict[str, Any] = {
    "release_label": "emr-7.13.0",
    "applications": ["Hadoop", "Spark", "Hive", "Trino"],
    "idle_timeout_minutes": 45,
    "step_concurrency": 4,
    "bootstrap_actions": [{"name": "pip", "script": "bootstrap/install-python-packages.sh", "args": ["pandas==2.2.3"]}],
    "configurations": [{"classification": "spark-defaults", "properties": {"spark.dynamicAllocation.enabled": True}}],
    "instance_fleets": {
        "primary": {"instance_types": [{"instance_type": "m7g.xlarge"}], "on_demand_capacity": 1},
        "core": {
            "instance_types": [
                {"instance_type": "r7g.xlarge", "ebs_volumes": [{"size_gib": 128}]},
                {"instance_type": "r7g.2xlarge", "weighted_capacity": 2},
            ],
            "on_demand_capacity": 2,
        },
        "tasks": [{"instance_types": [{"instance_type": "m7g.xlarge"}], "spot_capacity": 4}],
    },
    "managed_scaling": {
        "unit_type": "InstanceFleetUnits",
        "minimum_capacity_units": 3,
        "maximum_capacity_units": 20,
        "maximum_core_capacity_units": 2,
        "maximum_on_demand_capacity_units": 3,
    },
    "tags": {"team": "data"},
}


CERTIFICATES = "s3://pki-bucket/emr/certs.zip"


class Platform:
    """One small stack with every construct, built once for this module."""

    def __init__(self, context: dict[str, object]) -> None:
        self.app = App(context=context)
        self.stack = pinned_stack(self.app)
        self.storage = DataLakeStorage(self.stack, "Storage", data_zones=["raw", "curated"])
        self.network = EmrNetwork(self.stack, "Network", encryption_key=self.storage.key)
        self.catalog = DataCatalog(
            self.stack, "Catalog", database_prefix="lake_test", zone_locations=self.storage.zone_uris
        )
        self.security = EmrSecurityConfiguration(
            self.stack,
            "Security",
            encryption_key=self.storage.key,
            spec={
                "in_transit_encryption": {"certificates_zip": CERTIFICATES},
                "kerberos": {"ticket_lifetime_hours": 10},
            },
        )
        self.cluster = EmrCluster(
            self.stack,
            "Cluster",
            spec=EmrClusterSpec.model_validate(SPEC),
            placement=placement_of(self.storage, self.network, security_configuration=self.security),
        )
        self.storage.grant_read_write(self.cluster, zones=["curated"])
        self.storage.grant_read(self.cluster, zones=["raw"])
        self.cluster.use_glue_catalog(self.catalog)
        self.template = Template.from_stack(self.stack)


@pytest.fixture(scope="module")
def platform(context: dict[str, object]) -> Platform:
    return Platform(context)


def _policy_statements(template: Template) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    policies = {**template.find_resources("AWS::IAM::Policy"), **template.find_resources("AWS::IAM::ManagedPolicy")}
    for policy in policies.values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


# --- storage ----------------------------------------------------------------------------------------------------


def test_key_rotates_and_is_retained(platform: Platform) -> None:
    platform.template.has_resource(
        "AWS::KMS::Key",
        {"Properties": Match.object_like({"EnableKeyRotation": True}), "DeletionPolicy": "Retain"},
    )


def test_every_bucket_blocks_public_access_and_is_versioned_retained_and_expires_uploads(platform: Platform) -> None:
    buckets = platform.template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 4  # raw, curated, logs, artifacts
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id
        assert "BucketName" not in props, "bucket names are generated, never hard-coded"
        rules = props["LifecycleConfiguration"]["Rules"]
        assert any(r.get("AbortIncompleteMultipartUpload") for r in rules), logical_id
        assert bucket["DeletionPolicy"] == "Retain", logical_id


def test_data_buckets_use_the_platform_key_and_log_access(platform: Platform) -> None:
    key_id = platform.stack.resolve(platform.storage.key.key_arn)
    for zone in ("raw", "curated"):
        bucket = platform.storage.bucket(zone)
        props = platform.template.to_json()["Resources"][platform.stack.resolve(bucket.node.default_child.logical_id)][  # type: ignore[union-attr]
            "Properties"
        ]
        encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_id}
        assert encryption["BucketKeyEnabled"] is True
        assert props["LoggingConfiguration"]["LogFilePrefix"] == f"s3-access-logs/data/{zone}/"


def test_logs_bucket_expires_logs(platform: Platform) -> None:
    platform.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "LifecycleConfiguration": {
                "Rules": Match.array_with([Match.object_like({"Id": "expire-logs", "ExpirationInDays": 365})])
            },
        },
    )


def test_every_bucket_denies_insecure_transport(platform: Platform) -> None:
    policies = platform.template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 4
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in statements
        )


def test_scripts_are_not_copied_by_a_lambda_function(platform: Platform) -> None:
    # Bootstrap scripts are CDK file assets that the CLI publishes: no copy function to patch or to run.
    platform.template.resource_count_is("Custom::CDKBucketDeployment", 0)


def test_storage_fails_on_an_unknown_zone(platform: Platform) -> None:
    with pytest.raises(PropError, match=r"no such data zone \(got 'gold'\). Fix: use one of raw, curated"):
        platform.storage.bucket("gold")


def test_storage_fails_on_duplicate_zones(context: dict[str, object]) -> None:
    stack = pinned_stack(App(context=context))
    with pytest.raises(PropError, match=r"data_zones: a zone is listed twice"):
        DataLakeStorage(stack, "Storage", data_zones=["raw", "raw"])


def test_storage_fails_without_the_access_log_feature_flag() -> None:
    stack = pinned_stack(App())
    with pytest.raises(PropError, match=r"serverAccessLogsUseBucketPolicy.*Fix: set"):
        DataLakeStorage(stack, "Storage")


# --- network ----------------------------------------------------------------------------------------------------


def test_network_has_private_subnets_only(platform: Platform) -> None:
    template = platform.template
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    for subnet in template.find_resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        assert tags["for-use-with-amazon-emr-managed-policies"] == "true"
    assert [s.availability_zone for s in platform.network.subnets] == ["eu-west-1a", "eu-west-1b"]


def test_network_has_an_s3_gateway_and_interface_endpoints(platform: Platform) -> None:
    endpoints = platform.template.find_resources("AWS::EC2::VPCEndpoint")
    types = sorted(e["Properties"].get("VpcEndpointType", "Gateway") for e in endpoints.values())
    assert types.count("Gateway") == 1
    assert types.count("Interface") == len(DEFAULT_INTERFACE_ENDPOINTS)
    platform.template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupIngress": [
                Match.object_like({"CidrIp": "10.0.0.0/16", "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp"})
            ]
        },
    )


def test_network_logs_all_traffic_to_an_encrypted_log_group(platform: Platform) -> None:
    platform.template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})
    platform.template.has_resource_properties(
        "AWS::Logs::LogGroup", {"KmsKeyId": Match.any_value(), "RetentionInDays": 365}
    )


def test_imported_network_creates_nothing(context: dict[str, object]) -> None:
    stack = pinned_stack(App(context=context))
    storage = DataLakeStorage(stack, "Storage")
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-0123456789abcdef0", availability_zones=["eu-west-1a", "eu-west-1b"]
    )
    network = EmrNetwork(
        stack,
        "Network",
        encryption_key=storage.key,
        vpc=vpc,
        subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::VPC", 0)
    template.resource_count_is("AWS::EC2::Subnet", 0)
    assert [s.subnet_id for s in network.subnets] == ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]


def test_imported_network_fails_without_subnets(context: dict[str, object]) -> None:
    stack = pinned_stack(App(context=context))
    storage = DataLakeStorage(stack, "Storage")
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", vpc_id="vpc-0123456789abcdef0", availability_zones=["eu-west-1a"])
    with pytest.raises(PropError, match=r"subnet_ids: an imported VPC needs the IDs"):
        EmrNetwork(stack, "Network", encryption_key=storage.key, vpc=vpc)


# --- catalog ----------------------------------------------------------------------------------------------------


def test_catalog_has_one_retained_database_per_zone(platform: Platform) -> None:
    databases = platform.template.find_resources("AWS::Glue::Database")
    names = sorted(d["Properties"]["DatabaseInput"]["Name"] for d in databases.values())
    assert names == ["lake_test_curated", "lake_test_raw"]
    assert all(d["DeletionPolicy"] == "Retain" for d in databases.values())


def test_cluster_uses_glue_as_hive_spark_and_trino_metastore(platform: Platform) -> None:
    factory = "com.amazonaws.glue.catalog.metastore.AWSGlueDataCatalogHiveClientFactory"
    platform.template.has_resource_properties(
        "AWS::EMR::Cluster",
        {
            "Configurations": Match.array_with(
                [
                    {
                        "Classification": "hive-site",
                        "ConfigurationProperties": {"hive.metastore.client.factory.class": factory},
                    },
                    {
                        "Classification": "spark-defaults",
                        "ConfigurationProperties": {"spark.dynamicAllocation.enabled": "true"},
                    },
                    {
                        "Classification": "spark-hive-site",
                        "ConfigurationProperties": {"hive.metastore.client.factory.class": factory},
                    },
                    {"Classification": "trino-connector-hive", "ConfigurationProperties": {"hive.metastore": "glue"}},
                ]
            )
        },
    )


def test_glue_grants_never_create_or_drop_databases(platform: Platform) -> None:
    actions = {a for s in _policy_statements(platform.template) for a in _as_list(s["Action"])}
    assert {"glue:GetTable", "glue:CreateTable", "glue:BatchCreatePartition"} <= actions
    assert not {"glue:CreateDatabase", "glue:DeleteDatabase", "glue:*"} & actions


# --- roles --------------------------------------------------------------------------------------------------------


def test_service_role_uses_the_v2_policy_with_a_confused_deputy_guard(platform: Platform) -> None:
    roles = platform.template.find_resources("AWS::IAM::Role")
    service = [
        r
        for r in roles.values()
        if "elasticmapreduce.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert len(service) == 1
    props = service[0]["Properties"]
    assert "AmazonEMRServicePolicy_v2" in json.dumps(props["ManagedPolicyArns"])
    condition = props["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert "aws:SourceArn" in condition["ArnLike"]


def test_no_deprecated_emr_managed_policy_anywhere(platform: Platform) -> None:
    text = json.dumps(platform.template.to_json())
    assert "AmazonElasticMapReduceRole" not in text
    assert "AmazonElasticMapReduceforEC2Role" not in text


def test_pass_role_is_scoped_to_the_instance_role_and_ec2(platform: Platform) -> None:
    passes = [s for s in _policy_statements(platform.template) if s["Action"] == "iam:PassRole"]
    assert len(passes) == 1
    assert passes[0]["Condition"] == {"StringLike": {"iam:PassedToService": "ec2.amazonaws.com*"}}
    assert passes[0]["Resource"] != "*"


def test_instance_role_has_no_wildcard_actions_and_no_star_resource(platform: Platform) -> None:
    role = platform.cluster.roles.instance_role
    assert isinstance(role, ManagedPolicyRole) and role.policy is not None, "grants go to a managed policy"
    assert role.node.try_find_child("DefaultPolicy") is None, "no inline policy"
    document = platform.stack.resolve(role.policy.document.to_json())
    for statement in document["Statement"]:
        assert all("*" not in a for a in _as_list(statement["Action"])), statement
        assert "*" not in _as_list(statement["Resource"]), statement


def test_read_only_zone_gets_no_write_actions(platform: Platform) -> None:
    raw = platform.stack.resolve(platform.storage.bucket("raw").arn_for_objects("*"))
    for statement in _policy_statements(platform.template):
        if raw in _as_list(statement["Resource"]):
            assert "s3:PutObject" not in _as_list(statement["Action"])
            assert "s3:GetObject" in _as_list(statement["Action"])


# --- security configuration -----------------------------------------------------------------------------------------


def test_security_configuration_encrypts_at_rest(platform: Platform) -> None:
    configs = platform.template.find_resources("AWS::EMR::SecurityConfiguration")
    (config,) = configs.values()
    assert "Name" not in config["Properties"], "a fixed name makes every replacement fail"
    document = config["Properties"]["SecurityConfiguration"]
    at_rest = document["EncryptionConfiguration"]["AtRestEncryptionConfiguration"]
    assert document["EncryptionConfiguration"]["EnableAtRestEncryption"] is True
    assert at_rest["S3EncryptionConfiguration"]["EncryptionMode"] == "SSE-KMS"
    assert at_rest["LocalDiskEncryptionConfiguration"]["EncryptionKeyProviderType"] == "AwsKms"
    assert at_rest["LocalDiskEncryptionConfiguration"]["EnableEbsEncryption"] is True
    assert document["InstanceMetadataServiceConfiguration"]["MinimumInstanceMetadataServiceVersion"] == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, r"in_transit_encryption: required setting is missing"),
        (
            {"in_transit_encryption": {}},
            r"in_transit_encryption: set exactly one of certificates_zip and disabled_reason",
        ),
        (
            {"in_transit_encryption": {"certificates_zip": "https://x/certs.zip"}},
            r"in_transit_encryption.certificates_zip: does not have",
        ),
        (
            {"in_transit_encryption": {"disabled_reason": "no"}},
            r"in_transit_encryption.disabled_reason: String should have at least 20",
        ),
        ({"in_transit_encryption": {"disabled_reason": "x" * 20}, "s3_encryption": "SSE-S3"}, r"s3_encryption: "),
    ],
)
def test_security_configuration_fails_on_a_bad_spec(context: dict[str, object], spec: object, message: str) -> None:
    stack = pinned_stack(App(context=context))
    storage = DataLakeStorage(stack, "Storage")
    with pytest.raises(PropError, match=r"EmrSecurityConfiguration Test/Security: spec: " + message) as raised:
        EmrSecurityConfiguration(stack, "Security", encryption_key=storage.key, spec=spec)  # type: ignore[arg-type]
    assert ". Fix: " in str(raised.value)


def test_security_configuration_encrypts_in_transit_with_the_given_certificates(platform: Platform) -> None:
    [config] = platform.template.find_resources("AWS::EMR::SecurityConfiguration").values()
    encryption = config["Properties"]["SecurityConfiguration"]["EncryptionConfiguration"]
    assert encryption["EnableInTransitEncryption"] is True
    assert encryption["InTransitEncryptionConfiguration"] == {
        "TLSCertificateConfiguration": {"CertificateProviderType": "PEM", "S3Object": CERTIFICATES}
    }
    reads = [s for s in _policy_statements(platform.template) if "pki-bucket/emr/certs.zip" in json.dumps(s)]
    assert [s["Action"] for s in reads] == ["s3:GetObject"], "the nodes read exactly the certificates object"


def test_kerberos_password_is_generated_and_never_in_the_template(platform: Platform) -> None:
    [config] = platform.template.find_resources("AWS::EMR::SecurityConfiguration").values()
    assert config["Properties"]["SecurityConfiguration"]["AuthenticationConfiguration"] == {
        "KerberosConfiguration": {
            "Provider": "ClusterDedicatedKdc",
            "ClusterDedicatedKdcConfiguration": {"TicketLifetimeInHours": 10},
        }
    }
    [secret] = platform.template.find_resources("AWS::SecretsManager::Secret").values()
    assert "KmsKeyId" in secret["Properties"] and "GenerateSecretString" in secret["Properties"]
    [cluster] = platform.template.find_resources("AWS::EMR::Cluster").values()
    attributes = cluster["Properties"]["KerberosAttributes"]
    assert attributes["Realm"] == "EU-WEST-1.COMPUTE.INTERNAL"
    password = json.dumps(attributes["KdcAdminPassword"])
    assert "{{resolve:secretsmanager:" in password, "a dynamic reference, resolved by CloudFormation at deploy time"


def test_client_side_encryption_is_a_setting(context: dict[str, object]) -> None:
    stack = pinned_stack(App(context=context))
    storage = DataLakeStorage(stack, "Storage")
    security = EmrSecurityConfiguration(
        stack,
        "Security",
        encryption_key=storage.key,
        spec={"s3_encryption": "CSE-KMS", "in_transit_encryption": {"disabled_reason": "x" * 20}},
    )
    s3_config = security.configuration["EncryptionConfiguration"]["AtRestEncryptionConfiguration"]
    assert s3_config["S3EncryptionConfiguration"]["EncryptionMode"] == "CSE-KMS"
    assert security.configuration["EncryptionConfiguration"]["EnableInTransitEncryption"] is False


# --- cluster ------------------------------------------------------------------------------------------------------


def test_cluster_renders_the_spec(platform: Platform) -> None:
    platform.template.has_resource_properties(
        "AWS::EMR::Cluster",
        {
            "ReleaseLabel": "emr-7.13.0",
            "Applications": [{"Name": "Hadoop"}, {"Name": "Spark"}, {"Name": "Hive"}, {"Name": "Trino"}],
            "AutoTerminationPolicy": {"IdleTimeout": 2700},
            "StepConcurrencyLevel": 4,
            "VisibleToAllUsers": True,
            "ScaleDownBehavior": "TERMINATE_AT_TASK_COMPLETION",
            "LogEncryptionKmsKeyId": Match.any_value(),
            "SecurityConfiguration": Match.any_value(),
            "ManagedScalingPolicy": {
                "ComputeLimits": {
                    "UnitType": "InstanceFleetUnits",
                    "MinimumCapacityUnits": 3,
                    "MaximumCapacityUnits": 20,
                    "MaximumCoreCapacityUnits": 2,
                    "MaximumOnDemandCapacityUnits": 3,
                }
            },
            "BootstrapActions": [
                Match.object_like(
                    {"Name": "pip", "ScriptBootstrapAction": Match.object_like({"Args": ["pandas==2.2.3"]})}
                )
            ],
            "Instances": Match.object_like(
                {
                    "TerminationProtected": True,
                    "KeepJobFlowAliveWhenNoSteps": True,
                    "Ec2SubnetIds": Match.any_value(),
                    "CoreInstanceFleet": Match.object_like(
                        {
                            "TargetOnDemandCapacity": 2,
                            "InstanceTypeConfigs": [
                                Match.object_like(
                                    {
                                        "InstanceType": "r7g.xlarge",
                                        "EbsConfiguration": Match.object_like(
                                            {"EbsBlockDeviceConfigs": [Match.object_like({"VolumesPerInstance": 1})]}
                                        ),
                                    }
                                ),
                                Match.object_like({"InstanceType": "r7g.2xlarge", "WeightedCapacity": 2}),
                            ],
                        }
                    ),
                    "TaskInstanceFleets": [
                        Match.object_like(
                            {
                                "TargetSpotCapacity": 4,
                                "LaunchSpecifications": Match.object_like(
                                    {
                                        "SpotSpecification": {
                                            "AllocationStrategy": "price-capacity-optimized",
                                            "TimeoutAction": "SWITCH_TO_ON_DEMAND",
                                            "TimeoutDurationMinutes": 10,
                                        }
                                    }
                                ),
                            }
                        )
                    ],
                }
            ),
        },
    )


def test_cluster_and_its_groups_carry_the_v2_policy_tag(platform: Platform) -> None:
    tag = {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"}
    platform.template.has_resource_properties("AWS::EMR::Cluster", {"Tags": Match.array_with([tag])})
    cluster_groups = [
        g for lid, g in platform.template.find_resources("AWS::EC2::SecurityGroup").items() if lid.startswith("Cluster")
    ]
    assert len(cluster_groups) == 3
    for group in cluster_groups:
        assert tag in group["Properties"]["Tags"]


def test_no_security_group_admits_the_internet(platform: Platform) -> None:
    rules = [
        rule
        for group in platform.template.find_resources("AWS::EC2::SecurityGroup").values()
        for rule in group["Properties"].get("SecurityGroupIngress", [])
    ]
    rules += [r["Properties"] for r in platform.template.find_resources("AWS::EC2::SecurityGroupIngress").values()]
    assert rules
    for rule in rules:
        assert rule.get("CidrIp") not in ("0.0.0.0/0",) and rule.get("CidrIpv6") != "::/0", rule


def test_service_access_group_has_the_rules_emr_needs(platform: Platform) -> None:
    service = platform.stack.resolve(platform.cluster.service_access_security_group.security_group_id)
    platform.template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress", {"GroupId": service, "FromPort": 9443, "ToPort": 9443}
    )
    platform.template.has_resource_properties(
        "AWS::EC2::SecurityGroupEgress", {"GroupId": service, "FromPort": 8443, "ToPort": 8443}
    )


def test_cluster_with_instance_groups_uses_one_subnet(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    spec = EmrClusterSpec.model_validate(
        {
            "release_label": "emr-6.15.0",
            "instance_groups": {
                "primary": {"instance_type": "m6g.xlarge", "instance_count": 1},
                "core": {"instance_type": "r6g.xlarge", "instance_count": 2, "market": "SPOT"},
            },
        }
    )
    with pytest.raises(PropError, match=r"spec.instance_groups.core.market: Spot capacity on core nodes"):
        EmrCluster(stack, "Refused", spec=spec, placement=placement_of(storage, network))
    EmrCluster(
        stack,
        "Cluster",
        spec=spec,
        placement=placement_of(storage, network, allow_spot_on_primary_and_core=True),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::EMR::Cluster",
        {
            "Instances": Match.object_like(
                {
                    "Ec2SubnetId": Match.any_value(),
                    "Ec2SubnetIds": Match.absent(),
                    "CoreInstanceGroup": Match.object_like({"InstanceCount": 2, "Market": "SPOT"}),
                }
            ),
            "SecurityConfiguration": Match.absent(),
        },
    )


def test_cluster_accepts_its_own_roles(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    service = iam.Role.from_role_name(stack, "Service", "my-emr-service-role")
    instance = iam.Role.from_role_name(stack, "Instance", "my-emr-instance-role")
    cluster = EmrCluster(
        stack,
        "Cluster",
        spec=EmrClusterSpec.model_validate({**SPEC, "bootstrap_actions": []}),
        placement=placement_of(storage, network),
        service_role=service,
        instance_role=instance,
    )
    template = Template.from_stack(stack)
    assert not [r for r in template.find_resources("AWS::IAM::Role").values() if "elasticmapreduce" in json.dumps(r)]
    template.resource_count_is("AWS::IAM::InstanceProfile", 1)
    assert cluster.grant_principal is instance


def test_cluster_fails_on_a_packaged_script_without_assets_dir(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    with pytest.raises(PropError, match=r"spec.bootstrap_actions: no such script in assets_dir \(None\)"):
        EmrCluster(
            stack,
            "Cluster",
            spec=EmrClusterSpec.model_validate(SPEC),
            placement=placement_of(storage, network),
            assets_dir=None,
        )


def test_cluster_fails_without_subnets(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    placement = ClusterPlacement(vpc=network.vpc, subnets=[], log_bucket=storage.logs_bucket)
    with pytest.raises(PropError, match=r"placement.subnets: no subnets given"):
        EmrCluster(stack, "Cluster", spec=EmrClusterSpec.model_validate(SPEC), placement=placement)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_fails_on_a_bootstrap_script_that_is_not_shipped(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    spec = {**SPEC, "bootstrap_actions": [{"name": "x", "script": "bootstrap/nope.sh"}]}
    with pytest.raises(
        PropError, match=r"no such script.*\(got 'bootstrap/nope.sh'\).*bootstrap/install-python-packages.sh"
    ):
        EmrCluster(
            stack,
            "Cluster",
            spec=EmrClusterSpec.model_validate(spec),
            placement=placement_of(storage, network),
        )


def test_bootstrap_script_is_a_file_asset_only_the_cluster_may_read(platform: Platform) -> None:
    actions = platform.template.to_json()["Resources"][platform.stack.resolve(platform.cluster.resource.logical_id)][
        "Properties"
    ]["BootstrapActions"]
    path = actions[0]["ScriptBootstrapAction"]["Path"]
    assert "cdk-hnb659fds-assets" in json.dumps(path) and ".sh" in json.dumps(path)
    object_grants = [
        s for s in _policy_statements(platform.template) if "cdk-hnb659fds-assets" in json.dumps(s.get("Resource"))
    ]
    assert [s["Action"] for s in object_grants] == ["s3:GetObject"]


def test_runtime_roles_with_lake_formation(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    team_role = "arn:aws:iam::123456789012:role/team-a-emr-steps"
    security = EmrSecurityConfiguration(
        stack,
        "Security",
        encryption_key=storage.key,
        spec={
            "in_transit_encryption": {"certificates_zip": CERTIFICATES},
            "runtime_roles": {"role_arns": [team_role], "lake_formation": True},
        },
    )
    EmrCluster(
        stack,
        "Cluster",
        spec=EmrClusterSpec.model_validate({**SPEC, "bootstrap_actions": []}),
        placement=placement_of(storage, network, security_configuration=security),
    )
    template = Template.from_stack(stack)
    [config] = template.find_resources("AWS::EMR::SecurityConfiguration").values()
    assert config["Properties"]["SecurityConfiguration"]["AuthorizationConfiguration"] == {
        "IAMConfiguration": {
            "EnableApplicationScopedIAMRole": True,
            "ApplicationScopedIAMRoleConfiguration": {"PropagateSourceIdentity": True},
        },
        "LakeFormationConfiguration": {"AuthorizedSessionTagValue": "Amazon EMR"},
    }
    assumes = [s for s in _policy_statements(template) if "sts:AssumeRole" in _as_list(s["Action"])]
    assert [(sorted(s["Action"]), s["Resource"]) for s in assumes] == [
        (["sts:AssumeRole", "sts:TagSession"], team_role)
    ]


# --- monitoring -----------------------------------------------------------------------------------------------------


def test_monitoring_watches_the_cluster_and_alerts_an_encrypted_topic(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    cluster = EmrCluster(
        stack,
        "Cluster",
        spec=EmrClusterSpec.model_validate({**SPEC, "bootstrap_actions": []}),
        placement=placement_of(storage, network),
    )
    notifications = PlatformNotifications(stack, "Alerts", encryption_key=storage.key, emails=["ops@example.com"])
    EmrMonitoring(stack, "Monitoring", cluster=cluster, topic=notifications.topic)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})
    topic_policy = json.dumps(template.find_resources("AWS::SNS::TopicPolicy"))
    assert "aws:SecureTransport" in topic_policy and "events.amazonaws.com" in topic_policy
    key_policy = json.dumps(template.find_resources("AWS::KMS::Key"))
    assert "cloudwatch.amazonaws.com" in key_policy and "events.amazonaws.com" in key_policy
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert sorted(a["Properties"]["MetricName"] for a in alarms.values()) == [
        "AppsPending",
        "HDFSUtilization",
        "MRUnhealthyNodes",
        "YARNMemoryAvailablePercentage",
    ]
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["Namespace"] == "AWS/ElasticMapReduce"
        assert props["Dimensions"][0]["Name"] == "JobFlowId"
        assert props["AlarmActions"] and props["OKActions"] and props["TreatMissingData"] == "notBreaching"
    rules = [r["Properties"]["EventPattern"] for r in template.find_resources("AWS::Events::Rule").values()]
    assert sorted(p["detail-type"][0] for p in rules) == ["EMR Cluster State Change", "EMR Step Status Change"]
    assert all(p["source"] == ["aws.emr"] for p in rules)
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


# --- integrations ---------------------------------------------------------------------------------------------------


def test_integrations_grant_exactly_what_the_connectors_need(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    catalog = DataCatalog(stack, "Catalog", database_prefix="lake", zone_locations=storage.zone_uris)
    cluster = EmrCluster(
        stack,
        "Cluster",
        spec=EmrClusterSpec.model_validate({**SPEC, "bootstrap_actions": []}),
        placement=placement_of(storage, network),
    )
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=storage.key,
    )
    cluster.grant_dynamodb(table, write=False)
    database = ec2.SecurityGroup.from_security_group_id(stack, "Database", "sg-0123456789abcdef0")
    secret = secretsmanager.Secret.from_secret_complete_arn(
        stack, "Jdbc", "arn:aws:secretsmanager:eu-west-1:111111111111:secret:jdbc-AbCdEf"
    )
    cluster.connect_to_database(database, secret, port=5432)
    cluster.grant_redshift(cluster_identifier="warehouse", database="analytics", db_user="emr_loader")
    redshift = RedshiftAccessRole(stack, "Redshift", catalog=catalog, storage=storage)
    template = Template.from_stack(stack)
    statements = _policy_statements(template)
    actions = {a for s in statements for a in _as_list(s["Action"])}
    assert {"dynamodb:Scan", "dynamodb:DescribeTable"} <= actions and "dynamodb:PutItem" not in actions
    assert {
        "secretsmanager:GetSecretValue",
        "redshift:GetClusterCredentials",
        "redshift-data:ExecuteStatement",
    } <= actions
    assert not [a for a in actions if a.endswith(":*")]
    ingress = template.find_resources("AWS::EC2::SecurityGroupIngress")
    jdbc = [r["Properties"] for r in ingress.values() if r["Properties"].get("GroupId") == "sg-0123456789abcdef0"]
    assert sorted((r["FromPort"], r["ToPort"]) for r in jdbc) == [(5432, 5432), (5432, 5432)]
    credentials = next(s for s in statements if s["Action"] == "redshift:GetClusterCredentials")
    assert "dbuser:warehouse/emr_loader" in json.dumps(credentials["Resource"])
    trust = template.to_json()["Resources"][stack.resolve(redshift.role.node.default_child.logical_id)]  # type: ignore[union-attr]
    assert "redshift.amazonaws.com" in json.dumps(trust["Properties"]["AssumeRolePolicyDocument"])
