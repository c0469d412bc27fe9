"""Typed spec of a transient cluster: a cluster that exists for one run of a list of steps, then terminates.

A :class:`TransientClusterSpec` is the value behind ``transient_clusters.<name>`` in the settings and behind the
``spec`` of :class:`emr_platform.constructs.TransientEmrCluster`: the same :class:`EmrClusterSpec` as a long-running
cluster, the steps to run, and when to run them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, model_validator

from emr_platform.spec.aws_rules import TRANSIENT_CLUSTER_NAME_MAX, EmrName, EventBridgeSchedule
from emr_platform.spec.cluster import EmrClusterSpec
from emr_platform.spec.model import Spec, invalid

PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([a-z][a-z0-9_]*))?\}")
"""``{sample_job}``, ``{artifacts}``, ``{logs}``, ``{zone:raw}``, ``{database:curated}`` in a step's script or args."""
PLACEHOLDER_NAMES = ("sample_job", "artifacts", "logs", "zone", "database")

TRANSIENT_TAG = "emr-platform:transient"
"""Tag key on every cluster a transient run creates; its value is the transient cluster's name. The state
machine's rights on clusters are limited to clusters carrying it, and the summary names the cluster by it."""


class StepSpec(Spec):
    """One step of a transient run: ``spark-submit`` of a script, or any ``command-runner.jar`` command.

    ``script`` and ``args`` may name the platform's locations with placeholders, resolved at synthesis:
    ``{zone:<zone>}`` (``s3://<zone bucket>``), ``{database:<zone>}`` (the zone's Glue database), ``{artifacts}``
    (``s3://<artifacts bucket>``), ``{logs}`` (the EMR log URI) and ``{sample_job}`` (the sample job's S3 URI).
    """

    name: EmrName = Field(description="The step's name (1-256 characters, no control characters).")
    type: Literal["spark", "command"] = Field(
        default="spark",
        description="`spark`: `spark-submit --deploy-mode cluster <spark_options> <script> <args>`; `command`: "
        "`args` run as they are by command-runner.jar (e.g. `hive-script`, `s3-dist-cp`). Default `spark`.",
    )
    script: str | None = Field(default=None, description="`spark` only: the script, s3:// URI or a placeholder.")
    args: tuple[str, ...] = Field(default=(), description="The script's (or command's) arguments. Default none.")
    spark_options: tuple[str, ...] = Field(
        default=(), description="`spark` only: options of spark-submit, e.g. `[--conf, spark.executor.cores=4]`."
    )

    @model_validator(mode="after")
    def _check(self) -> StepSpec:
        if self.type == "spark" and not self.script:
            raise invalid("a spark step needs a script", "set script: to an s3:// URI or {sample_job}")
        if self.type == "command" and (self.script or self.spark_options):
            raise invalid(
                "a command step runs its args only", "move the command into args:, or use type: spark", at=("script",)
            )
        if self.type == "command" and not self.args:
            raise invalid("a command step needs args", "give the command and its arguments in args:", at=("args",))
        if self.script and not (self.script.startswith("s3://") or PLACEHOLDER.fullmatch(self.script)):
            raise invalid(
                f"script {self.script!r} is neither an s3:// URI nor a placeholder",
                "give s3://bucket/key.py, or {sample_job}",
                at=("script",),
            )
        return self

    def command(self) -> list[str]:
        """The command-runner.jar arguments, placeholders unresolved."""
        if self.type == "command":
            return list(self.args)
        return ["spark-submit", "--deploy-mode", "cluster", *self.spark_options, str(self.script), *self.args]

    def placeholders(self) -> list[tuple[str, str | None]]:
        """The placeholders this step uses: (name, zone or None)."""
        return [(m.group(1), m.group(2)) for part in self.command() for m in PLACEHOLDER.finditer(part)]


class TransientClusterSpec(Spec):
    """A cluster created for one run of ``steps``, then always terminated, by a Step Functions state machine.

    The cluster is built from ``cluster`` exactly as a long-running one (same defaults and checks), except that it
    never has termination protection and stays up between steps until the run ends. ``idle_timeout_minutes`` stays
    on as the backstop should everything else fail to terminate it. Runs start on ``schedule`` and on demand
    (``emr-platform-ops run <env> <name>``); a run that takes longer than ``timeout_minutes`` is stopped and its
    cluster terminated.
    """

    cluster: EmrClusterSpec = Field(description="The cluster, as under `clusters:`.")
    steps: tuple[StepSpec, ...] = Field(min_length=1, max_length=100, description="The steps, run in order.")
    schedule: EventBridgeSchedule | None = Field(
        default=None,
        description="When runs start, an EventBridge expression such as `cron(0 2 * * ? *)` (UTC) or "
        "`rate(6 hours)`. Default: on demand only.",
    )
    timeout_minutes: Annotated[int, Field(ge=10, le=10080)] = Field(
        default=480, description="A run is stopped (and its cluster terminated) after this long. Default 480."
    )
    typical_run_minutes: Annotated[int, Field(ge=1, le=10080)] | None = Field(
        default=None,
        description="How long a run usually takes, for the cost estimate's per-run figure (no resource changes). "
        "At most `timeout_minutes`. Default: not declared (the summary prices a run at its timeout only).",
    )
    kerberos_disabled_reason: Annotated[str, Field(min_length=20)] | None = Field(
        default=None,
        description="Why runs of this cluster need no Kerberos (at least 20 characters). Required when "
        "`security.kerberos` is set: a cluster-dedicated KDC needs its admin password in the run request, which would "
        "write it into the state machine's definition and every execution's history. The cluster then gets a "
        "security configuration of its own with the same encryption, without Kerberos. Default: none.",
    )
    failure_action: Literal["terminate"] = Field(
        default="terminate",
        description="What a failed step does: the run stops and the cluster is terminated. The only choice: a "
        "transient cluster never outlives its run.",
    )

    @model_validator(mode="after")
    def _check(self) -> TransientClusterSpec:
        cluster = self.cluster
        if self.typical_run_minutes is not None and self.typical_run_minutes > self.timeout_minutes:
            raise invalid(
                f"a typical run of {self.typical_run_minutes} minutes is longer than the {self.timeout_minutes}-minute "
                "timeout that stops every run",
                "lower typical_run_minutes, or raise timeout_minutes",
                at=("typical_run_minutes",),
            )
        if "termination_protection" in cluster.model_fields_set and cluster.termination_protection:
            raise invalid(
                "a transient cluster cannot have termination protection (its run must be able to end it)",
                "remove termination_protection",
                at=("cluster", "termination_protection"),
            )
        if "keep_alive" in cluster.model_fields_set and not cluster.keep_alive:
            raise invalid(
                "a transient cluster stays up between its steps (the run adds them one by one)",
                "remove keep_alive",
                at=("cluster", "keep_alive"),
            )
        if cluster.name is not None and len(cluster.name) > TRANSIENT_CLUSTER_NAME_MAX:
            # Each run names its cluster <name>-<execution name>, and an execution name takes up to 80 characters.
            raise invalid(
                f"a transient cluster's name is at most {TRANSIENT_CLUSTER_NAME_MAX} characters (each run appends "
                f"'-<execution name>', up to 80, to EMR's 256), got {len(cluster.name)}",
                f"shorten cluster.name to {TRANSIENT_CLUSTER_NAME_MAX} characters",
                at=("cluster", "name"),
            )
        if cluster.idle_timeout_minutes is None:
            raise invalid(
                "a transient cluster needs idle auto-termination as its last safeguard",
                "set cluster.idle_timeout_minutes (e.g. 30), or remove it for the default 60",
                at=("cluster", "idle_timeout_minutes"),
            )
        return self

    def as_cluster(self) -> EmrClusterSpec:
        """The cluster spec a run creates: no termination protection, kept alive between steps."""
        return self.cluster.model_copy(update={"termination_protection": False, "keep_alive": True})
