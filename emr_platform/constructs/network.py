"""The network EMR nodes run in: private subnets only, VPC endpoints, flow logs; or an imported VPC."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from emr_platform.constructs.shared import EMR_MANAGED_POLICY_TAG, ManagedPolicyRole, allow_cloudwatch_logs
from emr_platform.spec.errors import PropError

DEFAULT_INTERFACE_ENDPOINTS: tuple[str, ...] = (
    "elasticmapreduce",
    "sts",
    "kms",
    "glue",
    "logs",
    "monitoring",
    "secretsmanager",
)
"""Services EMR nodes call; with these and the S3 gateway endpoint a cluster runs with no route to the internet."""


class EmrNetwork(Construct):
    """A VPC for EMR: private subnets only, VPC endpoints, encrypted flow logs.

    Creates, unless ``vpc`` is given: a VPC over ``availability_zones`` (default: the stack's) with one private
    subnet per zone and no internet gateway (``nat_gateways`` default 0; with NAT gateways, public subnets hold
    only the NAT gateways, never EMR nodes), an S3 gateway endpoint, interface endpoints for
    ``interface_endpoints`` (default :data:`DEFAULT_INTERFACE_ENDPOINTS`), and flow logs of all traffic to a
    log group encrypted with ``encryption_key`` kept ``flow_logs_retention`` (default one year).

    With ``vpc`` and ``subnet_ids``, uses that VPC (imported by ID: no lookup at synth) and creates nothing.
    Either way, ``subnets`` are the subnets EMR nodes go in, tagged for EMR's v2 managed policy where created here.

    Example::

        network = EmrNetwork(self, "Network", encryption_key=storage.key)
        EmrCluster(self, "Cluster", vpc=network.vpc, subnets=network.subnets, ...)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        vpc_cidr: str = "10.0.0.0/16",
        availability_zones: Sequence[str] | None = None,
        nat_gateways: int = 0,
        interface_endpoints: Sequence[str] = DEFAULT_INTERFACE_ENDPOINTS,
        flow_logs_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        vpc: ec2.IVpc | None = None,
        subnet_ids: Sequence[str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        zones = list(availability_zones or stack.availability_zones)
        self.created_vpc: ec2.Vpc | None = None
        self.flow_log: ec2.FlowLog | None = None
        self.endpoint_security_group: ec2.SecurityGroup | None = None

        if vpc is not None:
            if not subnet_ids:
                raise PropError(
                    where=f"EmrNetwork {self.node.path}: subnet_ids",
                    problem="an imported VPC needs the IDs of the private subnets for EMR nodes",
                    value=subnet_ids,
                    fix="pass subnet_ids=['subnet-...'], one per availability zone",
                )
            self.vpc: ec2.IVpc = vpc
            self.subnets: list[ec2.ISubnet] = [
                ec2.Subnet.from_subnet_attributes(self, f"Subnet{i + 1}", subnet_id=sid, availability_zone=zone)
                for i, (sid, zone) in enumerate(zip(subnet_ids, zones, strict=False))
            ]
            return

        subnet_configuration = [
            ec2.SubnetConfiguration(
                name="emr",
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS if nat_gateways else ec2.SubnetType.PRIVATE_ISOLATED,
                cidr_mask=20,
            )
        ]
        if nat_gateways:
            # Public subnets only to hold NAT gateways; EMR nodes are never placed in them.
            subnet_configuration.append(
                ec2.SubnetConfiguration(name="nat", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=26)
            )
        # Subnets are pinned to the zones given (by default the stack's): never looked up, never moved.
        created = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(vpc_cidr),
            availability_zones=zones,
            nat_gateways=nat_gateways,
            subnet_configuration=subnet_configuration,
            restrict_default_security_group=True,
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        self.vpc = created
        self.created_vpc = created
        emr_subnets = created.select_subnets(subnet_group_name="emr").subnets
        self.subnets = list(emr_subnets)
        for subnet in emr_subnets:
            Tags.of(subnet).add(*EMR_MANAGED_POLICY_TAG)
        if interface_endpoints:
            # One group for all interface endpoints: HTTPS from inside the VPC only (the CIDR given, not a token,
            # so that reviewers and rule packs can see it).
            self.endpoint_security_group = ec2.SecurityGroup(
                self,
                "EndpointSecurityGroup",
                vpc=created,
                description="Interface VPC endpoints: HTTPS from inside the VPC",
                allow_all_outbound=False,
            )
            self.endpoint_security_group.add_ingress_rule(
                ec2.Peer.ipv4(vpc_cidr), ec2.Port.tcp(443), "HTTPS from the VPC"
            )
        for service in interface_endpoints:
            created.add_interface_endpoint(
                f"{_pascal(service)}Endpoint",
                service=ec2.InterfaceVpcEndpointAwsService(service),
                private_dns_enabled=True,
                subnets=ec2.SubnetSelection(subnet_group_name="emr"),
                security_groups=[self.endpoint_security_group] if self.endpoint_security_group else None,
                open=False,
            )

        log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=encryption_key,
            retention=flow_logs_retention,
            removal_policy=removal_policy,
        )
        allow_cloudwatch_logs(encryption_key, stack)
        flow_log_role = ManagedPolicyRole(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="Lets VPC Flow Logs write to the platform's flow log group",
        )
        self.flow_log = created.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group, flow_log_role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )


def _pascal(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace(".", "-").split("-"))
