#!/usr/bin/env python3
"""A platform team's own CDK app: one EMR cluster from emr-platform's constructs and the team's cluster.yaml."""

from pathlib import Path

import aws_cdk as cdk
import yaml

from emr_platform.constructs import ClusterPlacement, DataLakeStorage, EmrCluster, EmrNetwork, EmrSecurityConfiguration
from emr_platform.constructs.compliance import add_compliance_checks

HERE = Path(__file__).resolve().parent

app = cdk.App()
stack = cdk.Stack(app, "marketing-emr", env=cdk.Environment(account="444444444444", region="eu-west-1"))
storage = DataLakeStorage(stack, "Storage", data_zones=["raw", "curated"])
network = EmrNetwork(stack, "Network", encryption_key=storage.key, availability_zones=["eu-west-1a", "eu-west-1b"])
security = EmrSecurityConfiguration(
    stack,
    "Security",
    encryption_key=storage.key,
    spec={"in_transit_encryption": {"certificates_zip": "s3://marketing-pki/emr/certs.zip"}},
)
cluster = EmrCluster(
    stack,
    "Spark",
    spec=yaml.safe_load((HERE / "cluster.yaml").read_text(encoding="utf-8")),
    placement=ClusterPlacement(
        vpc=network.vpc,
        subnets=network.subnets,
        log_bucket=storage.logs_bucket,
        encryption_key=storage.key,
        security_configuration=security,
    ),
)
storage.grant_read_write(cluster, zones=["curated"])

# The same gates as emr-platform's own stacks (cdk-nag's AwsSolutions, HIPAA, NIST 800-53 and PCI packs, and
# AWS Control Tower's Guard rules). Each construct acknowledges the findings it reviewed, only where their reasons
# hold for this app's resources; anything else fails synthesis.
add_compliance_checks(app)
app.synth()
