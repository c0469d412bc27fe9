"""An EMR Serverless application in the platform's network, logging to its logs bucket with its key."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emrserverless as emrserverless
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from emr_platform.constructs.compliance import Finding, own_wildcards, rendered
from emr_platform.constructs.shared import ManagedPolicyRole, PlatformConstruct, resolve_removal_policy
from emr_platform.constructs.transient import resolve_placeholders
from emr_platform.spec.serverless import ServerlessApplicationSpec, ServerlessJobSpec, WorkerSpec

SERVERLESS_LOGS_PREFIX = "emr-serverless/"


@jsii.implements(iam.IGrantable)
class EmrServerlessApplication(PlatformConstruct):
    """An ``AWS::EMRServerless::Application`` and the role its jobs run as.

    Creates the application from ``spec`` (type, release, architecture, capacity, pre-initialized workers,
    auto-start and auto-stop, image) in ``subnets`` with a security group of its own (``security_group``: no
    inbound rule, HTTPS out only, which the VPC's endpoints serve), logging to ``log_bucket`` under
    ``emr-serverless/<name>/`` encrypted with ``encryption_key``, and ``job_role``, which only EMR Serverless of
    this account may assume. The job role may write the logs and use the key; grant it the rest as to a cluster
    (``storage.grant_read_write(application)``, ``catalog.grant_read_write(application)``): the application is
    ``IGrantable``, its principal is the job role.

    :param spec: the application (see :class:`ServerlessApplicationSpec`).
    :param name: the application's name. Default: the construct's id.
    :param vpc: the VPC of the subnets.
    :param subnets: the private subnets jobs run in.
    :param log_bucket: where job logs go (under ``emr-serverless/<name>/``).
    :param encryption_key: the key of the logs.

    Example::

        application = EmrServerlessApplication(self, "Etl", spec={"release_label": "emr-7.13.0"}, vpc=vpc,
                                               subnets=vpc.private_subnets, log_bucket=logs, encryption_key=key)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: ServerlessApplicationSpec,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        log_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.application_name = name or construct_id
        self.log_prefix = f"{SERVERLESS_LOGS_PREFIX}{self.application_name}/"
        self.log_bucket = log_bucket
        stack = Stack.of(self)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"EMR Serverless application {self.application_name}: HTTPS out to the VPC endpoints",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(443), "VPC endpoints")
        self.job_role = ManagedPolicyRole(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal(
                "emr-serverless.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"Jobs of EMR Serverless application {self.application_name}",
        )
        iam.Grant.add_to_principal(
            grantee=self.job_role,
            actions=["s3:PutObject", "s3:GetObject"],
            resource_arns=[log_bucket.arn_for_objects(f"{self.log_prefix}*")],
        )
        iam.Grant.add_to_principal(
            grantee=self.job_role,
            actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            resource_arns=[encryption_key.key_arn],
        )
        self.resource = emrserverless.CfnApplication(self, "Resource", **self._properties(subnets, encryption_key))

    def _properties(self, subnets: Sequence[ec2.ISubnet], key: kms.IKey) -> dict[str, Any]:
        spec = self.spec
        properties: dict[str, Any] = {
            "name": self.application_name,
            "release_label": spec.release_label,
            "type": spec.type,
            "architecture": spec.architecture,
            "auto_start_configuration": emrserverless.CfnApplication.AutoStartConfigurationProperty(
                enabled=spec.auto_start
            ),
            "auto_stop_configuration": emrserverless.CfnApplication.AutoStopConfigurationProperty(
                enabled=True, idle_timeout_minutes=spec.idle_timeout_minutes
            ),
            "maximum_capacity": emrserverless.CfnApplication.MaximumAllowedResourcesProperty(
                cpu=f"{spec.maximum_vcpus} vCPU",
                memory=f"{spec.maximum_memory_gb} GB",
                disk=f"{spec.maximum_disk_gb} GB",
            ),
            "network_configuration": emrserverless.CfnApplication.NetworkConfigurationProperty(
                subnet_ids=[s.subnet_id for s in subnets], security_group_ids=[self.security_group.security_group_id]
            ),
            "monitoring_configuration": emrserverless.CfnApplication.MonitoringConfigurationProperty(
                s3_monitoring_configuration=emrserverless.CfnApplication.S3MonitoringConfigurationProperty(
                    log_uri=self.log_uri, encryption_key_arn=key.key_arn
                )
            ),
        }
        initial = [
            emrserverless.CfnApplication.InitialCapacityConfigKeyValuePairProperty(
                key=kind, value=_initial_capacity(worker)
            )
            for kind, worker in (("Driver", spec.drivers), ("Executor", spec.executors))
            if worker is not None
        ]
        if initial:
            properties["initial_capacity"] = initial
        if spec.image_uri is not None:
            properties["image_configuration"] = emrserverless.CfnApplication.ImageConfigurationInputProperty(
                image_uri=spec.image_uri
            )
        return properties

    def grant_read_asset(self, asset: s3_assets.Asset) -> iam.Grant:
        """Let the jobs read exactly ``asset``'s object (a job script): not the CDK asset bucket's other objects,
        which hold other stacks' code."""
        return iam.Grant.add_to_principal(
            grantee=self.job_role,
            actions=["s3:GetObject"],
            resource_arns=[asset.bucket.arn_for_objects(asset.s3_object_key)],
        )

    @property
    def log_uri(self) -> str:
        """``s3://<logs bucket>/emr-serverless/<name>/``: where the jobs' logs go."""
        return self.log_bucket.s3_url_for_object(self.log_prefix)

    @property
    def application_id(self) -> str:
        """The application's ID (``00f...``), as ``start-job-run`` takes it."""
        return self.resource.attr_application_id

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The job role."""
        return self.job_role

    def reviewed_findings(self) -> Iterator[Finding]:
        """The log-prefix wildcard of the job role's own grant, only where it spans this application's logs."""
        owned = {
            rendered(self, self.log_bucket.arn_for_objects(f"{self.log_prefix}*")): "EMR Serverless writes each "
            "job's logs under a key it names itself, below this application's prefix of the logs bucket."
        }
        yield from own_wildcards([self.job_role], owned)


def _initial_capacity(worker: WorkerSpec) -> emrserverless.CfnApplication.InitialCapacityConfigProperty:
    return emrserverless.CfnApplication.InitialCapacityConfigProperty(
        worker_count=worker.count,
        worker_configuration=emrserverless.CfnApplication.WorkerConfigurationProperty(
            cpu=f"{worker.vcpus} vCPU", memory=f"{worker.memory_gb} GB", disk=f"{worker.disk_gb} GB"
        ),
    )


class ServerlessPipeline(PlatformConstruct):
    """A Step Functions state machine that runs ``jobs`` on ``application`` one after the other (the
    ``emr-serverless:startJobRun.sync`` integration: each waits for its job run; the first failure ends the run),
    on ``schedule`` and on demand.

    Its role may start job runs on this application only, read and cancel their job runs, pass the application's
    job role to EMR Serverless only, and manage the one EventBridge rule the integration uses. Its logs are
    encrypted with ``encryption_key`` (kept a year); it is traced with X-Ray.

    :param application: the application whose jobs it runs.
    :param jobs: the jobs, in order (see :class:`ServerlessJobSpec`).
    :param placeholders: the values the jobs' placeholders stand for.
    :param encryption_key: the key of its logs.
    :param schedule: an EventBridge schedule expression. Default: on demand only.
    :param removal_policy: what happens to its log group when it leaves the stack. Default: RETAIN.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        application: EmrServerlessApplication,
        jobs: Sequence[ServerlessJobSpec],
        placeholders: Mapping[str, str],
        encryption_key: kms.IKey,
        schedule: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.application = application
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"Runs the jobs of EMR Serverless application {application.application_name}",
        )
        self._grant(self.role)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=encryption_key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=resolve_removal_policy(self, removal_policy),
        )
        states = [self._job_state(i, job, placeholders) for i, job in enumerate(jobs)]
        chain: sfn.IChainable = states[0]
        for previous, state in itertools.pairwise(states):
            previous.next(state)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(chain),
            role=self.role,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            comment=f"EMR Serverless application {application.application_name}: {len(states)} job(s) in order",
        )
        self.schedule: events.Rule | None = None
        if schedule is not None:
            start = ManagedPolicyRole(
                self,
                "ScheduleRole",
                assumed_by=iam.ServicePrincipal(
                    "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
                ),
                description=f"Starts the jobs of {application.application_name} on schedule",
            )
            self.schedule = events.Rule(
                self,
                "Schedule",
                description=f"Run the jobs of EMR Serverless application {application.application_name}",
                schedule=events.Schedule.expression(schedule),
                targets=[targets.SfnStateMachine(self.state_machine, role=start, retry_attempts=3)],
            )

    def _arn(self, resource_name: str) -> str:
        return Stack.of(self).format_arn(
            service="emr-serverless",
            resource="/applications",
            resource_name=resource_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def _grant(self, role: iam.IRole) -> None:
        stack = Stack.of(self)
        application = self.application
        iam.Grant.add_to_principal(
            grantee=role, actions=["emr-serverless:StartJobRun"], resource_arns=[self._arn(application.application_id)]
        )
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
            resource_arns=[self._arn(f"{application.application_id}/jobruns/*")],
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[application.job_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
            )
        )
        # The .sync integration watches the job run through this one rule (Step Functions' IAM policies for
        # EMR Serverless).
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resource_arns=[
                stack.format_arn(
                    service="events", resource="rule", resource_name="StepFunctionsGetEventsForEMRServerlessJobRule"
                )
            ],
        )

    def _job_state(self, index: int, job: ServerlessJobSpec, values: Mapping[str, str]) -> sfn.CustomState:
        where = f"{self.where}: jobs[{index}]"
        script, *args = resolve_placeholders([job.script, *job.args], values, where)
        driver: dict[str, Any] = {"EntryPoint": script, "EntryPointArguments": args}
        if job.spark_parameters:
            driver["SparkSubmitParameters"] = job.spark_parameters
        application = self.application
        return sfn.CustomState(
            self,
            f"Job{index + 1}",
            state_json={
                "Type": "Task",
                "Comment": job.name,
                "Resource": f"arn:{Stack.of(self).partition}:states:::emr-serverless:startJobRun.sync",
                "Parameters": {
                    "ApplicationId": application.application_id,
                    "ExecutionRoleArn": application.job_role.role_arn,
                    "Name": job.name,
                    "JobDriver": {"SparkSubmit": driver},
                    "ConfigurationOverrides": {
                        "MonitoringConfiguration": {"S3MonitoringConfiguration": {"LogUri": application.log_uri}}
                    },
                },
                "ResultSelector": {"JobRunId.$": "$.JobRunId"},
                "ResultPath": f"$.job{index + 1}",
            },
        )

    def reviewed_findings(self) -> Iterator[Finding]:
        """The job-run wildcard of its role (job run IDs exist only once a run starts them, on this application),
        and the ``*`` of the log-delivery and X-Ray actions Step Functions needs, which take no resource."""
        owned = {
            rendered(self, self._arn(f"{self.application.application_id}/jobruns/*")): "A job run's ID exists only "
            "once the state machine starts it; the statement covers the job runs of this application only.",
            "*": "The log-delivery and X-Ray APIs of Step Functions accept no resource but '*'.",
        }
        yield from own_wildcards([self.role], owned)
