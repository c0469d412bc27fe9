"""A transient EMR cluster: a Step Functions state machine creates it, runs steps on it and always terminates it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import CfnResource, Duration, IStableAnyProducer, Lazy, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from emr_platform.constructs.cluster import ClusterPlacement, EmrClusterBase
from emr_platform.constructs.compliance import Finding, outside_vpc, own_wildcards, rendered
from emr_platform.constructs.shared import (
    ASSETS_DIR,
    EMR_MANAGED_POLICY_TAG,
    ManagedPolicyRole,
    platform_function,
    resolve_removal_policy,
    substitute_placeholders,
)
from emr_platform.spec.errors import PropError
from emr_platform.spec.transient import PLACEHOLDER, TRANSIENT_TAG, TransientClusterSpec

EXECUTION_TAG = "emr-platform:execution"
"""Tag key naming the execution (ARN) that created a cluster: what the reaper matches."""

# RunJobFlow names that are not the PascalCase of the CDK's snake_case property names.
_API_NAMES = {
    "size_in_gb": "SizeInGB",
    "os_release_label": "OSReleaseLabel",
    "configuration_properties": "Properties",
    "ad_domain_join_user": "ADDomainJoinUser",
    "ad_domain_join_password": "ADDomainJoinPassword",
}
# The .sync integrations create these EventBridge rules in the account to learn when EMR is done.
_SYNC_RULES = (
    "StepFunctionsGetEventsForEMRRunJobFlowRule",
    "StepFunctionsGetEventForEMRAddJobFlowStepsRule",
    "StepFunctionsGetEventForEMRTerminateJobFlowsRule",
)


class TransientEmrCluster(EmrClusterBase):
    """A cluster that exists for one run of ``spec.steps``: a Step Functions state machine creates it from
    ``spec.cluster`` (the same typed spec, checks and defaults as :class:`EmrCluster`), runs the steps in order
    and terminates it, also when a step fails.

    Termination never depends on one mechanism alone:

    1. the state machine catches any failure of a step and terminates the cluster before failing the run;
    2. a run that is aborted, times out (``spec.timeout_minutes``) or fails anyway triggers a reaper function
       (EventBridge, ``Step Functions Execution Status Change``) that terminates the cluster tagged with that run;
    3. the cluster's own idle auto-termination (``spec.cluster.idle_timeout_minutes``) ends it if all else fails.

    Each run's cluster is named ``<cluster_name>-<execution name>`` and tagged ``emr-platform:transient=<name>``,
    ``emr-platform:execution=<execution ARN>``, the spec's tags and ``tags``. The state machine's role may create
    clusters only with that tag and act only on clusters carrying it; it may pass exactly the cluster's roles.
    Runs start on ``spec.schedule`` (if any) and on demand (``StartExecution``); run failures, aborts and timeouts
    are published to ``topic``. The state machine logs (all events, without execution data) to a log group
    encrypted with the placement's ``encryption_key`` and is traced with X-Ray.

    ``placeholders`` maps the names steps may use (``sample_job``, ``artifacts``, ``logs``, ``zone:<zone>``,
    ``database:<zone>``) to values; a step using another name fails at synth. The construct is an ``IGrantable``
    (the nodes' instance role) and an ``IConnectable`` with the same grants and integrations as :class:`EmrCluster`.

    :param spec: the cluster and its steps, schedule and timeout (see :class:`TransientClusterSpec`).
    :param placement: where the runs' clusters run and log (its ``encryption_key`` is required: it encrypts the
        state machine's and the reaper's logs; a cluster-dedicated KDC is refused).
    :param cluster_name: the start of each run's cluster name. Default: ``<stack name>-<construct id>``.
    :param placeholders: values of the placeholders steps may use. Default: none.
    :param topic: where failed, aborted and timed-out runs are published. Default: none.
    :param tags: tags of every run's cluster, beside the spec's own. Default: none.
    :param assets_dir: where bootstrap scripts given as relative paths are read. Default: the package's assets.
    :param removal_policy: what happens to the log groups when they leave the stack. Default: RETAIN; DESTROY needs
        ``-c emr-platform:allow-destroy=true`` as well.

    Example::

        nightly = TransientEmrCluster(self, "Nightly", spec=spec, placement=placement,
                                      placeholders={"zone:raw": "s3://raw-bucket"})
        storage.grant_read_write(nightly)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: TransientClusterSpec | Mapping[str, Any],
        placement: ClusterPlacement,
        cluster_name: str | None = None,
        placeholders: Mapping[str, str] | None = None,
        topic: sns.ITopic | None = None,
        tags: Mapping[str, str] | None = None,
        assets_dir: Path | None = ASSETS_DIR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        where = f"TransientEmrCluster {'/'.join([scope.node.path, construct_id]).lstrip('/')}"
        spec = TransientClusterSpec.parse(spec, where=f"{where}: spec")
        key = _validate_transient(placement, where)
        self.transient_spec = spec
        super().__init__(
            scope,
            construct_id,
            spec=spec.as_cluster(),
            placement=placement,
            cluster_name=cluster_name,
            assets_dir=assets_dir,
            placeholders=placeholders,
        )
        self.name = construct_id
        self._tags = dict(tags or {})
        values = dict(placeholders or {})
        self.steps = [
            resolve_placeholders(step.command(), values, f"{where}: spec.steps[{i}]")
            for i, step in enumerate(spec.steps)
        ]
        self.role = ManagedPolicyRole(
            self,
            "StateMachineRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"Runs transient EMR cluster {self.cluster_name}: creates, drives and terminates it",
        )
        self._grant_state_machine(self.role)
        policy = resolve_removal_policy(self, removal_policy)
        self.log_group = logs.LogGroup(
            self, "StateMachineLogs", encryption_key=key, retention=logs.RetentionDays.ONE_YEAR, removal_policy=policy
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(self._definition()),
            role=self.role,
            timeout=Duration.minutes(spec.timeout_minutes),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            comment=f"Transient EMR cluster {self.cluster_name}: create, {len(self.steps)} step(s), terminate",
        )
        self._reaper(key, topic, policy)
        self.schedule = self._schedule(spec.schedule)
        self._declare_run_duration(spec)

    def _declare_run_duration(self, spec: TransientClusterSpec) -> None:
        """For the cost estimate's per-run figure: metadata, which CloudFormation ignores."""
        self._cost_metadata.update(timeout_minutes=spec.timeout_minutes)
        if spec.typical_run_minutes is not None:
            self._cost_metadata.update(typical_run_minutes=spec.typical_run_minutes)
        self._write_cost_metadata()

    def _definition(self) -> sfn.IChainable:
        """Create the cluster, run each step (any failure jumps to terminate), terminate, then fail or succeed."""
        stack = Stack.of(self)
        create = self._create_state()
        terminate = sfn.CustomState(
            self,
            "TerminateCluster",
            state_json={
                "Type": "Task",
                "Resource": f"arn:{stack.partition}:states:::elasticmapreduce:terminateCluster.sync",
                "Parameters": {"ClusterId.$": "$.cluster.ClusterId"},
                "ResultPath": "$.terminated",
            },
        )
        terminate.add_retry(errors=["States.ALL"], interval=Duration.seconds(30), max_attempts=5, backoff_rate=2)
        run_failed = sfn.Fail(self, "RunFailed", error_path="$.error.Error", cause_path="$.error.Cause")
        terminate.next(
            sfn.Choice(self, "StepFailed?")
            .when(sfn.Condition.is_present("$.error"), run_failed)
            .otherwise(sfn.Succeed(self, "Done"))
        )
        create.add_catch(
            sfn.Fail(self, "ClusterDidNotStart", error_path="$.error.Error", cause_path="$.error.Cause"),
            errors=["States.ALL"],
            result_path="$.error",
        )
        previous: Any = create
        for i, (step, args) in enumerate(zip(self.transient_spec.steps, self.steps, strict=True)):
            state = self._step_state(i, step.name, args)
            state.add_catch(terminate, errors=["States.ALL"], result_path="$.error")
            previous.next(state)
            previous = state
        previous.next(terminate)
        return create

    def _step_state(self, index: int, name: str, args: list[str]) -> sfn.CustomState:
        return sfn.CustomState(
            self,
            f"Step{index + 1}",
            state_json={
                "Type": "Task",
                "Comment": name,
                "Resource": f"arn:{Stack.of(self).partition}:states:::elasticmapreduce:addStep.sync",
                "Parameters": {
                    "ClusterId.$": "$.cluster.ClusterId",
                    "Step": {
                        "Name": name,
                        # The run decides what a failure does (terminate), not EMR.
                        "ActionOnFailure": "CONTINUE",
                        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args},
                    },
                },
                "ResultSelector": {"StepId.$": "$.StepId"},
                "ResultPath": "$.lastStep",
            },
        )

    def _schedule(self, expression: str | None) -> events.Rule | None:
        if expression is None:
            return None
        start_role = ManagedPolicyRole(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description=f"Starts runs of transient EMR cluster {self.cluster_name} on schedule",
        )
        return events.Rule(
            self,
            "Schedule",
            description=f"Start a run of transient EMR cluster {self.cluster_name}",
            schedule=events.Schedule.expression(expression),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine, role=start_role, dead_letter_queue=self.dead_letters, retry_attempts=3
                )
            ],
        )

    # --- IEmrCluster -------------------------------------------------------------------------------------------

    @property
    def event_detail(self) -> Mapping[str, Any]:
        """The EMR events of this cluster's runs: their clusters are named ``<cluster_name>-<run>``."""
        return {"name": [{"prefix": f"{self.cluster_name}-"}]}

    @property
    def metric_dimensions(self) -> None:
        """None: each run's cluster has an ID of its own, so there are no fixed metric dimensions."""
        return None

    # --- findings ----------------------------------------------------------------------------------------------

    def reviewed_findings(self) -> Iterator[Finding]:
        """The state machine's and the reaper's ``*`` and tag-scoped cluster wildcards, and the reaper outside the
        VPC (only while it has no VPC configuration)."""
        yield from super().reviewed_findings()
        clusters = rendered(
            self, Stack.of(self).format_arn(service="elasticmapreduce", resource="cluster", resource_name="*")
        )
        owned = {
            "*": "RunJobFlow, ListClusters and the log-delivery APIs of Step Functions accept no resource but '*'; "
            "cluster creation is further limited to requests tagged with this transient cluster's name.",
            clusters: "A run's cluster ID exists only once the run creates it; the statement is limited by condition "
            f"to clusters tagged {TRANSIENT_TAG}={self.name}.",
        }
        yield from own_wildcards([self.role, self.reaper_role], owned)
        yield from outside_vpc(
            self.reaper,
            "The reaper calls only the EMR and SNS APIs and touches no data; the platform's VPC has no route to the "
            "internet and no EMR or SNS endpoint, so inside it the function could not reach them.",
        )

    # --- the state machine's parts -----------------------------------------------------------------------------

    def _create_state(self) -> sfn.CustomState:
        """RunJobFlow through the ``createCluster.sync`` integration: the cluster, named and tagged per run."""
        stack = Stack.of(self)
        request = {_pascal(k): _to_api(v) for k, v in self._properties.items() if v is not None}
        request["Instances"] = _run_job_flow_instances(request["Instances"])
        # No CDK tag reaches a cluster RunJobFlow creates: the stack's tags, the spec's and the one
        # AmazonEMRServicePolicy_v2 requires are set here.
        key, value = EMR_MANAGED_POLICY_TAG
        tags = {**self._tags, **self.spec.tags, key: value}
        request["Tags"] = [
            *({"Key": k, "Value": v} for k, v in sorted(tags.items())),
            {"Key": TRANSIENT_TAG, "Value": self.name},
            {"Key": EXECUTION_TAG, "Value.$": "$$.Execution.Id"},
        ]
        # Rendered at synthesis: configurations added after construction (use_glue_catalog, ...) are included.
        request["Configurations"] = Lazy.any(_Producer(lambda: _to_api(self._render_configurations())))
        request["Name.$"] = f"States.Format('{{}}-{{}}', '{self.cluster_name}', $$.Execution.Name)"
        return sfn.CustomState(
            self,
            "CreateCluster",
            state_json={
                "Type": "Task",
                "Resource": f"arn:{stack.partition}:states:::elasticmapreduce:createCluster.sync",
                "Parameters": request,
                "ResultSelector": {"ClusterId.$": "$.ClusterId"},
                "ResultPath": "$.cluster",
            },
        )

    def _grant_state_machine(self, role: iam.IRole) -> None:
        """What the createCluster / addStep / terminateCluster .sync integrations call, on this run's clusters."""
        stack = Stack.of(self)
        tagged_request = {"StringEquals": {f"aws:RequestTag/{TRANSIENT_TAG}": self.name}}
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="CreateTaggedClusters",
                actions=["elasticmapreduce:RunJobFlow", "elasticmapreduce:AddTags"],
                resources=["*"],  # RunJobFlow has no resource type; the tag condition scopes it
                conditions=tagged_request,
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DriveOwnClusters",
                actions=[
                    "elasticmapreduce:DescribeCluster",
                    "elasticmapreduce:TerminateJobFlows",
                    "elasticmapreduce:AddJobFlowSteps",
                    "elasticmapreduce:DescribeStep",
                    "elasticmapreduce:CancelSteps",
                ],
                resources=[stack.format_arn(service="elasticmapreduce", resource="cluster", resource_name="*")],
                conditions={"StringEquals": {f"aws:ResourceTag/{TRANSIENT_TAG}": self.name}},
            )
        )
        # Each role only to the service that uses it (as AmazonEMRFullAccessPolicy_v2 does).
        passed = [
            ("PassServiceRole", self.roles.service_role, "elasticmapreduce.amazonaws.com*"),
            ("PassInstanceRole", self.roles.instance_role, "ec2.amazonaws.com*"),
        ]
        if self.roles.autoscaling_role is not None:
            passed.append(
                ("PassAutoscalingRole", self.roles.autoscaling_role, "application-autoscaling.amazonaws.com*")
            )
        for sid, passed_role, service in passed:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid=sid,
                    actions=["iam:PassRole"],
                    resources=[passed_role.role_arn],
                    conditions={"StringLike": {"iam:PassedToService": service}},
                )
            )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SyncIntegrationRules",
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[stack.format_arn(service="events", resource="rule", resource_name=r) for r in _SYNC_RULES],
            )
        )

    def _reaper(self, key: kms.IKey, topic: sns.ITopic | None, removal_policy: RemovalPolicy) -> None:
        """The function that terminates a run's cluster when the run ends without doing so."""
        reaper = Construct(self, "Reaper")
        stack = Stack.of(self)
        environment = {"CLUSTER_NAME_PREFIX": self.cluster_name, "EXECUTION_TAG": EXECUTION_TAG}
        if topic is not None:
            environment["TOPIC_ARN"] = topic.topic_arn
        self.reaper, role, self.reaper_log_group, self.dead_letters = platform_function(
            reaper,
            code="transient_reaper",
            description=f"Terminates the cluster of a run of {self.cluster_name} that ended without terminating it",
            key=key,
            environment=environment,
            removal_policy=removal_policy,
        )
        self.reaper_role = role
        # ListClusters has no resource type: "*" is the only resource it accepts.
        iam.Grant.add_to_principal(grantee=role, actions=["elasticmapreduce:ListClusters"], resource_arns=["*"])
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["elasticmapreduce:DescribeCluster", "elasticmapreduce:TerminateJobFlows"],
                resources=[stack.format_arn(service="elasticmapreduce", resource="cluster", resource_name="*")],
                conditions={"StringEquals": {f"aws:ResourceTag/{TRANSIENT_TAG}": self.name}},
            )
        )
        if topic is not None:
            iam.Grant.add_to_principal(grantee=role, actions=["sns:Publish"], resource_arns=[topic.topic_arn])
            iam.Grant.add_to_principal(
                grantee=role, actions=["kms:GenerateDataKey", "kms:Decrypt"], resource_arns=[key.key_arn]
            )
        ended = events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={
                "stateMachineArn": [self.state_machine.state_machine_arn],
                "status": ["FAILED", "TIMED_OUT", "ABORTED"],
            },
        )
        rule_targets: list[events.IRuleTarget] = [
            targets.LambdaFunction(self.reaper, dead_letter_queue=self.dead_letters, retry_attempts=2)
        ]
        if topic is not None:
            rule_targets.append(targets.SnsTopic(topic))
        self.run_ended_badly = events.Rule(
            reaper,
            "RunEndedBadly",
            description=f"Runs of {self.cluster_name} that failed, timed out or were aborted",
            event_pattern=ended,
            targets=rule_targets,
        )

    def _configurations_changed(self) -> None:
        """Nothing to do: the create state renders the configurations lazily, at synthesis."""

    def _defining_resource(self) -> CfnResource:
        # A StateMachine's default child is its CfnStateMachine.
        return cast(CfnResource, self.state_machine.node.default_child)


@jsii.implements(IStableAnyProducer)
class _Producer:
    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self) -> Any:
        return self._produce()


def _pascal(name: str) -> str:
    return _API_NAMES.get(name) or "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _to_api(value: Any) -> Any:
    """CloudFormation property structs (the CDK's L1 classes) as the EMR API spells them; None dropped. Plain
    mappings inside them are data (configuration properties) and keep their keys."""
    if isinstance(value, list | tuple):
        return [_to_api(v) for v in value]
    values = getattr(value, "_values", None)
    if isinstance(values, dict):
        return {_pascal(k): _to_api(v) for k, v in values.items() if v is not None}
    return value


def _run_job_flow_instances(instances: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's ``Instances`` (a property per fleet or group) as RunJobFlow's (lists with a role each)."""
    out = {
        k: v
        for k, v in instances.items()
        if not k.endswith(("InstanceFleet", "InstanceFleets", "InstanceGroup", "InstanceGroups"))
    }
    if "MasterInstanceFleet" in instances:
        out["InstanceFleets"] = [
            {**instances["MasterInstanceFleet"], "InstanceFleetType": "MASTER"},
            {**instances["CoreInstanceFleet"], "InstanceFleetType": "CORE"},
            *({**t, "InstanceFleetType": "TASK"} for t in instances.get("TaskInstanceFleets", [])),
        ]
    else:
        out["InstanceGroups"] = [
            {**instances["MasterInstanceGroup"], "InstanceRole": "MASTER"},
            {**instances["CoreInstanceGroup"], "InstanceRole": "CORE"},
            *({**t, "InstanceRole": "TASK"} for t in instances.get("TaskInstanceGroups", [])),
        ]
    return out


def resolve_placeholders(command: list[str], values: Mapping[str, str], where: str) -> list[str]:
    """``command`` with its placeholders replaced by ``values``; an unknown placeholder is a PropError."""

    def key_of(match: re.Match[str]) -> str:
        return str(match.group(1) if match.group(2) is None else f"{match.group(1)}:{match.group(2)}")

    return [substitute_placeholders(PLACEHOLDER, part, values, key_of=key_of, where=where) for part in command]


def _validate_transient(placement: ClusterPlacement, where: str) -> kms.IKey:
    """What a transient cluster needs of its placement: a key for its logs, and no cluster-dedicated KDC."""
    security = placement.security_configuration
    if security is not None and security.kdc_admin_secret is not None:
        raise PropError(
            where=f"{where}: placement.security_configuration",
            problem="a cluster-dedicated KDC needs its admin password in RunJobFlow, which would write the "
            "password into the state machine's definition",
            show_value=False,
            fix="run transient clusters without Kerberos (or with an external KDC), or use a long-running cluster",
        )
    if placement.encryption_key is None:
        raise PropError(
            where=f"{where}: placement.encryption_key",
            problem="a transient cluster encrypts its state machine's and reaper's logs with the placement's key",
            value=None,
            fix="pass ClusterPlacement(encryption_key=storage.key, ...)",
        )
    return placement.encryption_key
