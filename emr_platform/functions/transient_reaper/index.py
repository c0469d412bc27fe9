"""Terminates the cluster of a transient run that ended without terminating it (aborted, timed out, or failed
where the state machine's own clean-up could not run), and reports what it did to the alerts topic.

Runs on ``Step Functions Execution Status Change`` events of one state machine. The run's cluster is named
``<CLUSTER_NAME_PREFIX>-<execution name>`` and tagged ``emr-platform:execution=<execution ARN>``; the function
terminates only a cluster carrying both, so a cluster of another run (or of anything else) is never touched.

Environment: ``CLUSTER_NAME_PREFIX``, ``EXECUTION_TAG`` (the tag key), ``TOPIC_ARN`` (optional).
"""

from __future__ import annotations

import os
from typing import Any

import boto3

emr = boto3.client("emr")
sns = boto3.client("sns")

ACTIVE_STATES = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]


def clusters_of_run(execution_arn: str, execution_name: str) -> list[str]:
    """IDs of the active clusters that this run created."""
    name = f"{os.environ['CLUSTER_NAME_PREFIX']}-{execution_name}"
    found = []
    for page in emr.get_paginator("list_clusters").paginate(ClusterStates=ACTIVE_STATES):
        for summary in page["Clusters"]:
            if summary["Name"] != name:
                continue
            tags = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"].get("Tags", [])
            if {"Key": os.environ["EXECUTION_TAG"], "Value": execution_arn} in tags:
                found.append(summary["Id"])
    return found


def handler(event: dict[str, Any], _context: object = None) -> dict[str, Any]:
    """Handle one execution status change (ABORTED, TIMED_OUT or FAILED)."""
    detail = event["detail"]
    execution_arn, status = detail["executionArn"], detail["status"]
    cluster_ids = clusters_of_run(execution_arn, detail["name"])
    if cluster_ids:
        emr.terminate_job_flows(JobFlowIds=cluster_ids)
    summary = {"execution": execution_arn, "status": status, "terminated": cluster_ids}
    topic = os.environ.get("TOPIC_ARN")
    if topic:
        what = f"terminated {', '.join(cluster_ids)}" if cluster_ids else "no cluster left running"
        sns.publish(
            TopicArn=topic,
            Subject=f"Transient EMR run {status}"[:100],
            Message=f"Run {execution_arn} ended {status}: {what}.",
        )
    print(summary)
    return summary
