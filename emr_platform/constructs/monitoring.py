"""Watching a cluster: a CloudWatch dashboard, the alarms an operator acts on, EMR events, one encrypted topic."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from emr_platform.constructs.catalog import ZoneCrawlers
from emr_platform.constructs.cluster import EmrCluster, IEmrCluster
from emr_platform.constructs.compliance import Finding, outside_vpc
from emr_platform.constructs.shared import PlatformConstruct, platform_function

EMR_NAMESPACE = "AWS/ElasticMapReduce"
METRIC_PERIOD = Duration.minutes(5)
"""The period of every metric of the dashboards and alarms (one object: each new one is a jsii round trip)."""


class PlatformNotifications(PlatformConstruct):
    """The SNS topic alarms and EMR events go to: KMS-encrypted, TLS-only, with ``emails`` subscribed.

    The key policy lets CloudWatch alarms and EventBridge (of this account only) encrypt messages for the topic,
    and the topic policy lets EventBridge rules of this account publish (those of other stacks too).

    :param encryption_key: the topic's key.
    :param emails: addresses subscribed to the topic (each confirms by mail). Default: none.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, encryption_key: kms.IKey, emails: Sequence[str] = ()
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        key = encryption_key
        self.topic = sns.Topic(
            self, "Topic", display_name=f"{stack.stack_name} EMR alerts", master_key=key, enforce_ssl=True
        )
        for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Publish{service.split('.')[0].capitalize()}ToAlertsTopic",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],  # in a key policy, "*" is this key
                    conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
                )
            )
        # EventBridge rules of the cluster stacks publish to the topic by its ARN: they cannot add to its policy.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PublishEventsOfThisAccount",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))


@dataclass(frozen=True)
class AlarmSpec:
    """An alarm on an EMR metric: what it watches and when an operator should look."""

    metric: str
    statistic: str
    comparison: cloudwatch.ComparisonOperator
    threshold: float
    periods: int
    description: str


ALARMS = (
    AlarmSpec(
        "AppsPending",
        "Average",
        cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        0,
        6,
        "YARN applications have waited 30 minutes for capacity: scaling limits reached or Spot capacity unavailable",
    ),
    AlarmSpec(
        "YARNMemoryAvailablePercentage",
        "Average",
        cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        10,
        6,
        "Less than 10% of YARN memory free for 30 minutes: jobs slow down or fail; raise the scaling maximum",
    ),
    AlarmSpec(
        "HDFSUtilization",
        "Average",
        cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        80,
        3,
        "HDFS more than 80% full for 15 minutes: add core capacity or move data to S3 before writes fail",
    ),
    AlarmSpec(
        "MRUnhealthyNodes",
        "Maximum",
        cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        0,
        3,
        "Nodes unhealthy for 15 minutes (disk full, lost NodeManager): EMR replaces core nodes, check task nodes",
    ),
)

DASHBOARD_METRICS = (
    ("Idle", ("IsIdle",)),
    ("YARN memory available (%)", ("YARNMemoryAvailablePercentage",)),
    ("Applications", ("AppsRunning", "AppsPending")),
    ("Containers", ("ContainerAllocated", "ContainerPending")),
    ("HDFS utilization (%)", ("HDFSUtilization",)),
    ("Nodes", ("CoreNodesRunning", "TaskNodesRunning", "MRUnhealthyNodes")),
    ("Capacity units: total, core, task", ("TotalUnitsRunning", "CoreUnitsRunning", "TaskUnitsRunning")),
    # EMR publishes no per-market metric; with the presets, core capacity is On-Demand and task capacity Spot.
    ("Requested vs running units", ("TotalUnitsRequested", "TotalUnitsRunning")),
)


class EmrMonitoring(PlatformConstruct):
    """A dashboard, alarms and EMR event rules for one cluster, long-running or transient, all reporting to ``topic``.

    - ``rules``: EventBridge rules sending the cluster's state changes and its failed or cancelled steps to
      ``topic`` (for a transient cluster, those of every run's cluster);
    - for a cluster with a fixed ID (:class:`EmrCluster`), also ``dashboard``: idle state, YARN memory,
      applications and containers, HDFS, nodes, and capacity units per 5 minutes; and ``alarms``: pending
      applications, YARN memory, HDFS utilization and unhealthy nodes (see :data:`ALARMS`), each notifying
      ``topic`` when it fires and when it recovers; missing data is not a breach (a terminated cluster stops
      reporting). A transient cluster's runs each have their own ID: no dashboard, no alarms (its state machine
      reports failed runs).

    :param cluster: the cluster to watch (any :class:`IEmrCluster`).
    :param topic: where alarms and events go.
    """

    def __init__(self, scope: Construct, construct_id: str, *, cluster: IEmrCluster, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        self.dashboard: cloudwatch.Dashboard | None = None
        self.alarms: list[cloudwatch.Alarm] = []
        dimensions = cluster.metric_dimensions
        if dimensions is not None:
            self._dashboard(dimensions)
            self._alarms(cluster.cluster_name, dimensions, topic)
        self.rules = self._rules(cluster, topic)

    @staticmethod
    def _metric(dimensions: Mapping[str, str], name: str, statistic: str = "Average") -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=EMR_NAMESPACE,
            metric_name=name,
            dimensions_map=dict(dimensions),
            statistic=statistic,
            period=METRIC_PERIOD,
        )

    def _dashboard(self, dimensions: Mapping[str, str]) -> None:
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            widgets=[
                [
                    cloudwatch.GraphWidget(
                        title=title, left=[self._metric(dimensions, m) for m in names], width=8, height=6
                    )
                    for title, names in DASHBOARD_METRICS[row : row + 3]
                ]
                for row in range(0, len(DASHBOARD_METRICS), 3)
            ],
        )

    def _alarms(self, cluster_name: str, dimensions: Mapping[str, str], topic: sns.ITopic) -> None:
        action = actions.SnsAction(topic)
        for spec in ALARMS:
            alarm = cloudwatch.Alarm(
                self,
                f"{spec.metric}Alarm",
                metric=self._metric(dimensions, spec.metric, spec.statistic),
                threshold=spec.threshold,
                comparison_operator=spec.comparison,
                evaluation_periods=spec.periods,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{cluster_name}: {spec.description}",
            )
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            self.alarms.append(alarm)

    def _rules(self, cluster: IEmrCluster, topic: sns.ITopic) -> list[events.Rule]:
        target = targets.SnsTopic(topic)
        detail = dict(cluster.event_detail)
        return [
            events.Rule(
                self,
                "StateChanges",
                description=f"{cluster.cluster_name}: cluster state changes",
                event_pattern=events.EventPattern(
                    source=["aws.emr"], detail_type=["EMR Cluster State Change"], detail=detail
                ),
                targets=[target],
            ),
            events.Rule(
                self,
                "StepFailures",
                description=f"{cluster.cluster_name}: steps that failed or were cancelled",
                event_pattern=events.EventPattern(
                    source=["aws.emr"],
                    detail_type=["EMR Step Status Change"],
                    detail={**detail, "state": ["FAILED", "CANCELLED"]},
                ),
                targets=[target],
            ),
        ]


class StepCompletedHandler(PlatformConstruct):
    """When a step of a watched cluster completes, crawl the data zones it names and publish a summary to ``topic``.

    A Python function (``emr_platform/functions/step_complete``, the latest Lambda Python runtime) behind
    EventBridge rules on ``EMR Step Status Change`` / ``COMPLETED``: :meth:`watch` adds one for some clusters, in
    their stack (the handler's, or a cluster stack that reads the handler's ARNs from the foundation). Its role may
    describe steps of the watched clusters, start these crawlers and publish to this topic, nothing else. Events it
    cannot handle go to an encrypted dead-letter queue (``dead_letters``, kept 14 days), which accepts them only
    from rules of this stack and of stacks whose name starts with ``<this stack's name>-``; its logs and
    environment are encrypted with ``encryption_key``; it runs at most 5 at a time.

    :param clusters: the clusters of this stack whose completed steps are handled (a rule named ``StepCompleted``
        in the handler). Default: none (call :meth:`watch`).
    :param crawlers: the crawlers of the data zones (and so their buckets).
    :param topic: where summaries go.
    :param encryption_key: the key of the function's logs, environment and dead letters, and of the topic.
    :param removal_policy: what happens to the function's log group when it leaves the stack. Default: RETAIN;
        DESTROY needs ``-c emr-platform:allow-destroy=true`` as well.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        crawlers: ZoneCrawlers,
        topic: sns.ITopic,
        encryption_key: kms.IKey,
        clusters: Sequence[EmrCluster] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        key = encryption_key
        names = {zone: crawler.ref for zone, crawler in crawlers.crawlers.items()}
        self.function, self.role, self.log_group, self.dead_letters = platform_function(
            self,
            code="step_complete",
            description="Runs when an EMR step completes: describes it, starts crawlers, publishes a summary",
            key=key,
            environment={
                "ZONE_BUCKETS": stack.to_json_string({b.bucket_name: zone for zone, b in crawlers.buckets.items()}),
                "CRAWLERS": stack.to_json_string(names),
                "TOPIC_ARN": topic.topic_arn,
            },
            removal_policy=removal_policy,
        )
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["glue:StartCrawler"],
            resource_arns=[
                stack.format_arn(service="glue", resource="crawler", resource_name=n) for n in names.values()
            ],
        )
        # Explicit rather than topic.grant_publish, whose key actions are a wildcard (kms:GenerateDataKey*).
        iam.Grant.add_to_principal(grantee=self.role, actions=["sns:Publish"], resource_arns=[topic.topic_arn])
        iam.Grant.add_to_principal(
            grantee=self.role, actions=["kms:Decrypt", "kms:GenerateDataKey"], resource_arns=[key.key_arn]
        )
        self._other_stacks = False
        self.rule: events.Rule | None = None
        if clusters:
            self.rule = self.watch(self, "StepCompleted", clusters=clusters)

    def watch(
        self,
        scope: Construct,
        construct_id: str,
        *,
        clusters: Sequence[EmrCluster],
        function: lambda_.IFunction | None = None,
        role: iam.IRole | None = None,
        dead_letters: sqs.IQueue | None = None,
    ) -> events.Rule:
        """Handle the completed steps of ``clusters``: a rule in ``scope`` (their stack) and permission for the
        function to describe their steps; ``function``, ``role`` and ``dead_letters`` are the handler's own as
        imported in that stack (default: the handler's, in its own stack)."""
        stack = Stack.of(scope)
        if stack is not Stack.of(self):
            self._accept_dead_letters_from_other_stacks()
        describe = iam.PolicyStatement(
            actions=["elasticmapreduce:DescribeStep"],
            resources=[
                stack.format_arn(service="elasticmapreduce", resource="cluster", resource_name=c.cluster_id)
                for c in clusters
            ],
        )
        if role is None:
            self.role.add_to_principal_policy(describe)
        else:  # an imported role's grants would be an inline policy (IAMNoInlinePolicy): a managed one instead
            iam.ManagedPolicy(scope, f"{construct_id}DescribeSteps", statements=[describe], roles=[role])
        return events.Rule(
            scope,
            construct_id,
            description="EMR steps that completed: crawl the zones they name",
            event_pattern=events.EventPattern(
                source=["aws.emr"],
                detail_type=["EMR Step Status Change"],
                detail={"clusterId": [c.cluster_id for c in clusters], "state": ["COMPLETED"]},
            ),
            targets=[
                targets.LambdaFunction(
                    function or self.function, dead_letter_queue=dead_letters or self.dead_letters, retry_attempts=2
                )
            ],
        )

    def _accept_dead_letters_from_other_stacks(self) -> None:
        """Rules of other stacks (the cluster stacks, named ``<this stack>-<suffix>``) cannot add to the dead-letter
        queue's policy, so it accepts dead letters from rules named like theirs, in this account and region."""
        if self._other_stacks:
            return
        self._other_stacks = True
        stack = Stack.of(self)
        rules = stack.format_arn(service="events", resource="rule", resource_name=f"{stack.stack_name}-*")
        self.dead_letters.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DeadLettersOfClusterStackRules",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.dead_letters.queue_arn],
                conditions={"ArnLike": {"aws:SourceArn": rules}},
            )
        )

    def reviewed_findings(self) -> Iterator[Finding]:
        """The function outside the VPC, only while it has no VPC configuration."""
        yield from outside_vpc(
            self.function,
            "The step-completed function calls only the EMR, Glue and SNS APIs and touches no data; the platform's "
            "VPC has no route to the internet and no SNS endpoint, so inside it the function could not publish.",
        )
