"""Workload profiles: the defaults of a cluster for one kind of work, overridden field by field by the spec.

A cluster spec with ``profile: hbase-s3`` starts from :data:`PROFILES` ``["hbase-s3"]``; every field the spec sets
replaces the profile's (``configurations`` are the exception: the profile's come first and the spec's are added
after them, so a property set in the spec wins). ``{zone:<zone>}``, ``{database:<zone>}``, ``{artifacts}`` and
``{logs}`` in a configuration value are replaced by the platform's S3 URIs and names when the cluster is built.

Example (a settings file)::

    clusters:
      tables:
        profile: hbase-s3
        release_label: emr-7.13.0
"""

from __future__ import annotations

from typing import Any, Literal

ProfileName = Literal["spark-batch", "spark-ml", "hbase-s3", "flink-streaming", "trino-interactive"]

_FLEETS_ON_DEMAND_CORE: dict[str, Any] = {
    # No instance types: the architecture's diversified defaults for each role (see capacity.DEFAULT_INSTANCE_TYPES).
    "primary": {"on_demand_capacity": 1},
    "core": {"on_demand_capacity": 2},
    "tasks": [{"name": "spot-task", "spot_capacity": 0}],
}

PROFILES: dict[str, dict[str, Any]] = {
    # Batch ETL, typically transient: Spark with dynamic allocation, short idle timeout, Spot task capacity.
    "spark-batch": {
        "applications": ["Hadoop", "Spark"],
        "idle_timeout_minutes": 15,
        "instance_fleets": _FLEETS_ON_DEMAND_CORE,
        "configurations": [
            {"classification": "spark-defaults", "properties": {"spark.dynamicAllocation.enabled": True}},
        ],
    },
    # Spark MLlib from notebooks or jobs: memory-heavy executors sized by EMR, notebooks through Livy and JEG.
    "spark-ml": {
        "applications": ["Hadoop", "Spark", "Livy", "JupyterEnterpriseGateway"],
        "idle_timeout_minutes": 60,
        "instance_fleets": _FLEETS_ON_DEMAND_CORE,
        "configurations": [
            {"classification": "spark", "properties": {"maximizeResourceAllocation": True}},
            {
                "classification": "spark-defaults",
                "properties": {"spark.serializer": "org.apache.spark.serializer.KryoSerializer"},
            },
        ],
    },
    # HBase on S3: the store files live in a data zone (they outlive the cluster); a long-running cluster that never
    # idles out and refuses API termination. EMR's HBase-on-S3 settings: storage mode s3, rootdir in the bucket.
    "hbase-s3": {
        "applications": ["Hadoop", "HBase", "ZooKeeper"],
        "idle_timeout_minutes": None,
        "termination_protection": True,
        "instance_fleets": _FLEETS_ON_DEMAND_CORE,
        "configurations": [
            {"classification": "hbase", "properties": {"hbase.emr.storageMode": "s3"}},
            {"classification": "hbase-site", "properties": {"hbase.rootdir": "{zone:curated}/hbase/"}},
        ],
    },
    # Flink streaming: long-running, checkpoints and savepoints in a data zone so a job survives a new cluster.
    "flink-streaming": {
        "applications": ["Hadoop", "Flink"],
        "idle_timeout_minutes": None,
        "instance_fleets": _FLEETS_ON_DEMAND_CORE,
        "configurations": [
            {
                "classification": "flink-conf",
                "properties": {
                    "state.checkpoints.dir": "{zone:curated}/flink/checkpoints/",
                    "state.savepoints.dir": "{zone:curated}/flink/savepoints/",
                    "execution.checkpointing.interval": "60s",
                },
            },
        ],
    },
    # Trino on the Glue catalog for interactive SQL: kept up for the working day, scaled by managed scaling.
    "trino-interactive": {
        "applications": ["Hadoop", "Trino"],
        "idle_timeout_minutes": 240,
        "instance_fleets": _FLEETS_ON_DEMAND_CORE,
    },
}
"""Each profile's defaults, in the shape of ``clusters.<name>`` of a settings file."""


def with_profile(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` over the defaults of its ``profile`` (unchanged without one; an unknown profile is left to the
    schema, which names the allowed ones)."""
    defaults = PROFILES.get(str(data.get("profile")))
    if defaults is None:
        return data
    merged = {**defaults, **data}
    merged["configurations"] = [*defaults.get("configurations", []), *data.get("configurations", [])]
    return merged
