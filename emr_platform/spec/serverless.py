"""EMR Serverless applications: the settings of one (no CDK), with AWS's rules for them.

The limits are EMR Serverless's own (Amazon EMR Serverless User Guide, "Supported worker configurations" and
"Configuring an application"): a worker has 1, 2, 4, 8 or 16 vCPUs, memory in a range that depends on them, and
20 to 200 GB of disk; an application auto-stops after 1 to 10080 idle minutes; EMR Serverless runs releases from
emr-6.6.0 on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from emr_platform.spec.aws_rules import EmrName, EventBridgeSchedule
from emr_platform.spec.model import Spec, invalid
from emr_platform.spec.releases import EmrRelease, release_for_label
from emr_platform.spec.transient import PLACEHOLDER

WORKER_MEMORY_GB: dict[int, tuple[int, int]] = {1: (2, 8), 2: (4, 16), 4: (8, 30), 8: (16, 60), 16: (32, 120)}
"""vCPUs of a worker -> the memory it may have, in GB (EMR Serverless User Guide, "Supported worker
configurations")."""
WORKER_DISK_GB = (20, 200)
MINIMUM_RELEASE = (6, 6, 0)
IDLE_MINUTES = (1, 10080)


class WorkerSpec(Spec):
    """One kind of pre-initialized worker (drivers or executors) of an application."""

    count: int = Field(ge=1, le=1000, description="How many stay warm.")
    vcpus: int = Field(default=4, description="vCPUs per worker: 1, 2, 4, 8 or 16. Default 4.")
    memory_gb: int = Field(default=16, description="Memory per worker, GB, within the range of its vCPUs. Default 16.")
    disk_gb: int = Field(default=20, description="Disk per worker, GB, 20 to 200. Default 20.")

    @model_validator(mode="after")
    def _check(self) -> WorkerSpec:
        if self.vcpus not in WORKER_MEMORY_GB:
            raise invalid(f"{self.vcpus} vCPUs is not a worker size", "use 1, 2, 4, 8 or 16", at=("vcpus",))
        low, high = WORKER_MEMORY_GB[self.vcpus]
        if not low <= self.memory_gb <= high:
            raise invalid(
                f"a {self.vcpus}-vCPU worker has {low} to {high} GB of memory, not {self.memory_gb}",
                f"set memory_gb from {low} to {high}",
                at=("memory_gb",),
            )
        if not WORKER_DISK_GB[0] <= self.disk_gb <= WORKER_DISK_GB[1]:
            raise invalid(
                f"a worker has {WORKER_DISK_GB[0]} to {WORKER_DISK_GB[1]} GB of disk, not {self.disk_gb}",
                f"set disk_gb from {WORKER_DISK_GB[0]} to {WORKER_DISK_GB[1]}",
                at=("disk_gb",),
            )
        return self


class ServerlessJobSpec(Spec):
    """One Spark job of an application's pipeline (``jobs``), run by Step Functions after the one before it.

    ``script`` and ``args`` may name the platform's locations with the placeholders of transient steps:
    ``{zone:<zone>}``, ``{database:<zone>}``, ``{artifacts}``, ``{logs}``, ``{sample_job}``.
    """

    name: EmrName = Field(description="The job run's name.")
    script: str = Field(description="The entry point: an s3:// URI or a placeholder such as {sample_job}.")
    args: tuple[str, ...] = Field(default=(), description="The script's arguments. Default none.")
    spark_parameters: str | None = Field(
        default=None, description="spark-submit options, e.g. `--conf spark.executor.cores=4`. Default none."
    )

    @model_validator(mode="after")
    def _check(self) -> ServerlessJobSpec:
        if not (self.script.startswith("s3://") or PLACEHOLDER.fullmatch(self.script)):
            raise invalid(
                f"script {self.script!r} is neither an s3:// URI nor a placeholder",
                "give s3://bucket/key.py, or {sample_job}",
                at=("script",),
            )
        return self

    def placeholders(self) -> list[tuple[str, str | None]]:
        """The placeholders this job uses: (name, zone or None)."""
        return [(m.group(1), m.group(2)) for part in (self.script, *self.args) for m in PLACEHOLDER.finditer(part)]


class ServerlessApplicationSpec(Spec):
    """An EMR Serverless application: Spark or Hive jobs on the platform's data, catalog, network and key.

    It runs in the platform's private subnets with a security group of its own, logs to the logs bucket under
    ``emr-serverless/<name>/`` encrypted with the platform key, and its jobs run as a role of its own that may
    read and write every data zone, read the artifacts and use the Glue catalog, as a cluster's nodes may.
    """

    type: Literal["Spark", "Hive"] = Field(default="Spark", description="The engine. Default `Spark`.")
    release_label: str = Field(description="EMR release, emr-6.6.0 or later (EMR Serverless's first).")
    architecture: Literal["ARM64", "X86_64"] = Field(
        default="ARM64", description="Worker architecture. Default `ARM64` (Graviton: about 20% cheaper)."
    )
    maximum_vcpus: int = Field(
        default=100, ge=1, le=100_000, description="The most vCPUs the application's jobs use at once. Default 100."
    )
    maximum_memory_gb: int = Field(
        default=400, ge=1, le=1_000_000, description="The most memory, GB, at once. Default 400."
    )
    maximum_disk_gb: int = Field(
        default=2000, ge=20, le=10_000_000, description="The most disk, GB, at once. Default 2000."
    )
    drivers: WorkerSpec | None = Field(default=None, description="Pre-initialized drivers. Default none.")
    executors: WorkerSpec | None = Field(default=None, description="Pre-initialized executors. Default none.")
    auto_start: bool = Field(default=True, description="Start when a job is submitted. Default true.")
    idle_timeout_minutes: int = Field(
        default=15,
        ge=IDLE_MINUTES[0],
        le=IDLE_MINUTES[1],
        description="Stop after this many idle minutes (1 to 10080). Default 15.",
    )
    jobs: tuple[ServerlessJobSpec, ...] = Field(
        default=(),
        description="A pipeline of Spark jobs a Step Functions state machine runs in order (the first failure "
        "ends the run), on `schedule` and on demand (emr-platform-ops run <env> <name>). Default none.",
    )
    schedule: EventBridgeSchedule | None = Field(
        default=None, description="When the jobs run: `cron(...)` or `rate(...)`; needs `jobs`. Default on demand only."
    )
    image_uri: str | None = Field(
        default=None,
        pattern=r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$",
        description="A custom image in ECR (its repository must let EMR Serverless pull). Default the release's.",
    )

    @property
    def release(self) -> EmrRelease:
        """The release as a typed value."""
        return release_for_label(self.release_label)

    @model_validator(mode="after")
    def _check(self) -> ServerlessApplicationSpec:
        release = self.release
        if release.label.startswith("emr-spark-"):
            raise invalid(
                f"{release.label} is a release of Spark on EC2 clusters; EMR Serverless runs emr-<version> releases",
                "use an emr-7.x release label",
                at=("release_label",),
            )
        if release.version < MINIMUM_RELEASE:
            raise invalid(
                f"{release.label} is older than EMR Serverless (emr-6.6.0 is its first release)",
                "use emr-6.6.0 or later",
                at=("release_label",),
            )
        if self.schedule is not None and not self.jobs:
            raise invalid("a schedule with no jobs to run", "add jobs:, or remove schedule:", at=("schedule",))
        for kind in ("drivers", "executors"):
            worker: WorkerSpec | None = getattr(self, kind)
            if worker is not None and worker.count * worker.vcpus > self.maximum_vcpus:
                raise invalid(
                    f"{worker.count} pre-initialized {kind} of {worker.vcpus} vCPUs exceed maximum_vcpus "
                    f"({self.maximum_vcpus})",
                    "raise maximum_vcpus or pre-initialize fewer workers",
                    at=(kind,),
                )
        return self
