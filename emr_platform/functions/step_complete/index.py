"""Runs when an EMR step completes: starts the Glue crawler of every data zone the step's arguments name, and
publishes a one-message summary to the platform's alerts topic.

Environment: ``ZONE_BUCKETS`` (JSON, bucket name -> zone), ``CRAWLERS`` (JSON, zone -> crawler name),
``TOPIC_ARN``. Crawling a zone the step only read is harmless (crawlers are incremental); a crawler already
running is left alone.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

emr = boto3.client("emr")
glue = boto3.client("glue")
sns = boto3.client("sns")


def zones_named(args: list[str], zone_buckets: dict[str, str]) -> list[str]:
    """The zones whose bucket appears in ``args`` (``s3://bucket`` or ``s3://bucket/...``), in zone order."""
    found = set()
    for arg in args:
        for bucket, zone in zone_buckets.items():
            if arg == f"s3://{bucket}" or arg.startswith(f"s3://{bucket}/"):
                found.add(zone)
    return sorted(found)


def handler(event: dict[str, Any], _context: object = None) -> dict[str, Any]:
    """Handle an ``EMR Step Status Change`` event of state COMPLETED."""
    detail = event["detail"]
    cluster_id, step_id = detail["clusterId"], detail["stepId"]
    step = emr.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]
    zones = zones_named(step.get("Config", {}).get("Args", []), json.loads(os.environ["ZONE_BUCKETS"]))
    crawlers = json.loads(os.environ["CRAWLERS"])
    started, running = [], []
    for zone in zones:
        try:
            glue.start_crawler(Name=crawlers[zone])
            started.append(crawlers[zone])
        except glue.exceptions.CrawlerRunningException:
            running.append(crawlers[zone])
    summary = {
        "cluster": cluster_id,
        "step": step_id,
        "name": step.get("Name"),
        "state": detail.get("state"),
        "zones": zones,
        "crawlers_started": started,
        "crawlers_already_running": running,
    }
    sns.publish(
        TopicArn=os.environ["TOPIC_ARN"],
        Subject=f"EMR step {step.get('Name', step_id)} completed"[:100],
        Message=json.dumps(summary, indent=1),
    )
    return summary
