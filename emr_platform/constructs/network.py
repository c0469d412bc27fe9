"""The network EMR nodes run in: private subnets only, VPC endpoints, flow logs; or an imported VPC."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from aws_cdk import RemovalPolicy, Stack, Tags, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from emr_platform.constructs.compliance import Finding, lambda_checkov_skips
from emr_platform.constructs.shared import (
    EMR_MANAGED_POLICY_TAG,
    ManagedPolicyRole,
    PlatformConstruct,
    allow_cloudwatch_logs,
    resolve_removal_policy,
)
from emr_platform.spec.errors import PropError
from emr_platform.spec.settings import DEFAULT_INTERFACE_ENDPOINTS


class EmrNetwork(PlatformConstruct):
    """A VPC for EMR: private subnets only, VPC endpoints, encrypted flow logs.

    Creates, unless ``vpc`` is given: a VPC with one private subnet per zone and no internet gateway (with NAT
    gateways, public subnets hold only the NAT gateways, never EMR nodes), an S3 gateway endpoint, interface
    endpoints, and flow logs of all traffic to a log group encrypted with ``encryption_key``.

    With ``vpc`` and ``subnet_ids``, uses that VPC (imported by ID: no lookup at synth) and creates nothing.
    Either way, ``subnets`` are the subnets EMR nodes go in, tagged for EMR's v2 managed policy where created here.

    :param encryption_key: the key of the flow logs.
    :param vpc_cidr: the created VPC's range. Default: 10.0.0.0/16.
    :param availability_zones: the zones of the subnets. Default: the stack's.
    :param nat_gateways: NAT gateways (and public subnets for them). Default: 0, no route to the internet.
    :param interface_endpoints: services with an interface endpoint. Default: :data:`DEFAULT_INTERFACE_ENDPOINTS`.
    :param dynamodb_tables: names of the DynamoDB tables (of this account and region) the nodes use: a DynamoDB
        gateway endpoint, whose policy allows those tables only, is their route without NAT. Default: none, and no
        endpoint (the nodes cannot reach DynamoDB).
    :param flow_logs_retention: how long flow logs are kept. Default: one year.
    :param vpc: an existing VPC to use instead. Default: a new one.
    :param subnet_ids: the private subnets of ``vpc`` for EMR nodes (required with ``vpc``).
    :param removal_policy: what happens to the flow log group when it leaves the stack. Default: RETAIN;
        DESTROY needs ``-c emr-platform:allow-destroy=true`` as well.

    Example::

        network = EmrNetwork(self, "Network", encryption_key=storage.key)
        placement = ClusterPlacement(vpc=network.vpc, subnets=network.subnets, log_bucket=storage.logs_bucket)
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
        dynamodb_tables: Sequence[str] = (),
        flow_logs_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        vpc: ec2.IVpc | None = None,
        subnet_ids: Sequence[str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        zones = list(availability_zones or Stack.of(self).availability_zones)
        self.created_vpc: ec2.Vpc | None = None
        self.flow_log: ec2.FlowLog | None = None
        self.endpoint_security_group: ec2.SecurityGroup | None = None
        self.dynamodb_endpoint: ec2.GatewayVpcEndpoint | None = None
        if vpc is not None:
            self.vpc: ec2.IVpc = vpc
            self.subnets: list[ec2.ISubnet] = self._imported_subnets(subnet_ids, zones)
            return
        created = self._vpc(vpc_cidr, zones, nat_gateways)
        self._endpoints(created, vpc_cidr, interface_endpoints)
        self.dynamodb_endpoint = self._dynamodb_endpoint(created, dynamodb_tables)
        self._flow_logs(created, encryption_key, flow_logs_retention, resolve_removal_policy(self, removal_policy))

    def _imported_subnets(self, subnet_ids: Sequence[str] | None, zones: list[str]) -> list[ec2.ISubnet]:
        if not subnet_ids:
            raise PropError(
                where=f"{self.where}: subnet_ids",
                problem="an imported VPC needs the IDs of the private subnets for EMR nodes",
                value=subnet_ids,
                fix="pass subnet_ids=['subnet-...'], one per availability zone",
            )
        return [
            ec2.Subnet.from_subnet_attributes(self, f"Subnet{i + 1}", subnet_id=sid, availability_zone=zone)
            for i, (sid, zone) in enumerate(zip(subnet_ids, zones, strict=False))
        ]

    def _vpc(self, vpc_cidr: str, zones: list[str], nat_gateways: int) -> ec2.Vpc:
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
        self.subnets = list(created.select_subnets(subnet_group_name="emr").subnets)
        for subnet in self.subnets:
            Tags.of(subnet).add(*EMR_MANAGED_POLICY_TAG)
        return created

    def _endpoints(self, created: ec2.Vpc, vpc_cidr: str, interface_endpoints: Sequence[str]) -> None:
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

    def _dynamodb_endpoint(self, created: ec2.Vpc, tables: Sequence[str]) -> ec2.GatewayVpcEndpoint | None:
        """The nodes' route to the tables they were granted, and to no other table: a gateway endpoint (free, as
        S3's) whose policy names only them, their indexes and streams (Amazon VPC User Guide, "Gateway endpoints for
        Amazon DynamoDB": the endpoint policy limits which tables it reaches, IAM still decides who may)."""
        if not tables:
            return None
        endpoint = created.add_gateway_endpoint(
            "DynamoDbEndpoint",
            service=ec2.GatewayVpcEndpointAwsService.DYNAMODB,
            subnets=[ec2.SubnetSelection(subnet_group_name="emr")],
        )
        stack = Stack.of(self)
        arns = [
            stack.format_arn(service="dynamodb", resource="table", resource_name=f"{table}{suffix}")
            for table in tables
            for suffix in ("", "/index/*", "/stream/*")
        ]
        endpoint.add_to_policy(
            iam.PolicyStatement(principals=[iam.AnyPrincipal()], actions=["dynamodb:*"], resources=arns)
        )
        return endpoint

    def _flow_logs(
        self, created: ec2.Vpc, key: kms.IKey, retention: logs.RetentionDays, removal_policy: RemovalPolicy
    ) -> None:
        stack = Stack.of(self)
        log_group = logs.LogGroup(
            self, "FlowLogs", encryption_key=key, retention=retention, removal_policy=removal_policy
        )
        allow_cloudwatch_logs(key, stack)
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

    def reviewed_findings(self) -> Iterator[Finding]:
        """Pinned zones (only where the subnets name literal zones) and the checkov Lambda checks on aws-cdk-lib's
        function that empties the default security group (only where the created VPC has it)."""
        if self.created_vpc is None:
            return
        if any(not Token.is_unresolved(subnet.availability_zone) for subnet in self.subnets):
            yield Finding(
                self.created_vpc,
                "CloudFormation-Validate::W3010",
                "Availability zones are pinned in the environment settings so that synthesis is offline and "
                "deterministic and a zone lookup can never move (and so replace) the subnets.",
            )
        # restrict_default_security_group=True makes aws-cdk-lib add this provider to the stack, once.
        provider = Stack.of(self).node.try_find_child(RESTRICT_DEFAULT_SG_PROVIDER)
        handler = provider.node.try_find_child("Handler") if provider is not None else None
        if handler is not None:
            yield from lambda_checkov_skips(
                handler,
                "aws-cdk-lib's function that removes all rules of the VPC's default security group, run by "
                "CloudFormation on create and delete only: synchronous, no data, calls only the EC2 API.",
            )

    @property
    def public_subnet_ids(self) -> list[str]:
        """The IDs of the VPC's public subnets (where EMR nodes must never go)."""
        return [subnet.subnet_id for subnet in self.vpc.public_subnets]


RESTRICT_DEFAULT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"
"""The id aws-cdk-lib gives the stack's singleton provider behind every VPC's restrictDefaultSecurityGroup."""


def _pascal(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace(".", "-").split("-"))
