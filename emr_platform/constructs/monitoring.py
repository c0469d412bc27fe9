"""Watching a cluster: a CloudWatch dashboard, the alarms an operator acts on, EMR events, one encrypted topic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from emr_platform.constructs.cluster import EmrCluster

EMR_NAMESPACE = "AWS/ElasticMapReduce"


class PlatformNotifications(Construct):
    """The SNS topic alarms and EMR events go to: KMS-encrypted with ``key``, TLS-only, with ``emails`` subscribed.

    The key policy lets CloudWatch alarms and EventBridge (of this account only) encrypt messages for the topic.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, emails: Sequence[str] = ()) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
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


class EmrMonitoring(Construct):
    """A dashboard, alarms and EMR event rules for one cluster, all reporting to ``topic``.

    - ``dashboard``: idle state, YARN memory, applications and containers, HDFS, nodes, and capacity units (core
      and task: On-Demand and Spot in the presets; EMR publishes no per-market metric), per 5 minutes;
    - ``alarms``: pending applications, YARN memory, HDFS utilization and unhealthy nodes (see :data:`ALARMS`), each
      notifying ``topic`` when it fires and when it recovers; missing data is not a breach (a terminated cluster
      stops reporting);
    - ``rules``: EventBridge rules sending the cluster's state changes and its failed or cancelled steps to ``topic``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, cluster: EmrCluster, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        dimensions = {"JobFlowId": cluster.cluster_id}

        def metric(name: str, statistic: str = "Average") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=EMR_NAMESPACE,
                metric_name=name,
                dimensions_map=dimensions,
                statistic=statistic,
                period=Duration.minutes(5),
            )

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            widgets=[
                [
                    cloudwatch.GraphWidget(title=title, left=[metric(m) for m in names], width=8, height=6)
                    for title, names in DASHBOARD_METRICS[row : row + 3]
                ]
                for row in range(0, len(DASHBOARD_METRICS), 3)
            ],
        )
        action = actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []
        for spec in ALARMS:
            alarm = cloudwatch.Alarm(
                self,
                f"{spec.metric}Alarm",
                metric=metric(spec.metric, spec.statistic),
                threshold=spec.threshold,
                comparison_operator=spec.comparison,
                evaluation_periods=spec.periods,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{cluster.cluster_name}: {spec.description}",
            )
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            self.alarms.append(alarm)

        target = targets.SnsTopic(topic)
        self.rules = [
            events.Rule(
                self,
                "StateChanges",
                description=f"{cluster.cluster_name}: cluster state changes",
                event_pattern=events.EventPattern(
                    source=["aws.emr"],
                    detail_type=["EMR Cluster State Change"],
                    detail={"clusterId": [cluster.cluster_id]},
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
                    detail={"clusterId": [cluster.cluster_id], "state": ["FAILED", "CANCELLED"]},
                ),
                targets=[target],
            ),
        ]
