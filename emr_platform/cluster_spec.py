"""The typed spec of one EMR cluster: release, applications, configurations, capacity and lifecycle.

The same model is a section of the settings files (``clusters.<name>``) and the ``spec`` prop of
:class:`emr_platform.constructs.EmrCluster`, so a cluster defined in YAML and one defined in Python are checked
by the same rules.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from emr_platform.capacity import InstanceFleetsSpec, InstanceGroupsSpec, ManagedScalingSpec
from emr_platform.model import Spec, invalid
from emr_platform.releases import EmrRelease, release_for_label

# EMR accepts these ranges (RunJobFlow API reference).
IDLE_TIMEOUT_MINUTES = (1, 7 * 24 * 60)  # IdleTimeout: 60 s to 7 days
STEP_CONCURRENCY = (1, 256)
ROOT_VOLUME_GIB = (15, 100)

PropertyValue = str | bool | int | float


class ConfigurationSpec(Spec):
    """One EMR configuration classification (e.g. ``spark-defaults``) with its properties.

    Property values may be written as YAML scalars; they are passed to EMR as strings (``true``, ``4``).
    """

    classification: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")] = Field(
        description="The configuration classification, e.g. `spark-defaults`, `yarn-site`, `hive-site`."
    )
    properties: dict[str, PropertyValue] = Field(default_factory=dict, description="Properties to set. Default none.")
    configurations: tuple[ConfigurationSpec, ...] = Field(
        default=(), description="Nested classifications (e.g. `export` under `spark-env`). Default none."
    )

    def to_emr(self) -> dict[str, Any]:
        """The configuration in EMR's shape, property values as strings."""
        result: dict[str, Any] = {"Classification": self.classification}
        if self.properties:
            result["Properties"] = {k: _as_emr_string(v) for k, v in self.properties.items()}
        if self.configurations:
            result["Configurations"] = [c.to_emr() for c in self.configurations]
        return result


def _as_emr_string(value: PropertyValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
_ASSET_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class BootstrapActionSpec(Spec):
    """A script every node runs once at launch, before applications start.

    ``script`` is either an ``s3://`` URI or a path under the package's ``assets/`` folder (for example
    ``bootstrap/install-python-packages.sh``), which the cluster publishes as a CDK file asset.
    """

    name: Annotated[str, Field(min_length=1, max_length=256)] = Field(description="Name shown in the EMR console.")
    script: str = Field(description="`s3://bucket/key` or a path under `emr_platform/assets/`.")
    args: tuple[str, ...] = Field(default=(), description="Arguments passed to the script. Default none.")

    @field_validator("script")
    @classmethod
    def _check_script(cls, value: str) -> str:
        if value.startswith("s3://"):
            if not _S3_URI.match(value):
                raise invalid("not a valid S3 URI", "write it as s3://bucket-name/key")
        elif not _ASSET_PATH.match(value) or ".." in value.split("/"):
            raise invalid(
                "neither an s3:// URI nor a relative path under emr_platform/assets/",
                "use s3://bucket/key, or a relative path such as bootstrap/install-python-packages.sh",
            )
        return value

    @property
    def is_asset(self) -> bool:
        """True when the script ships in this package and is uploaded by the stack."""
        return not self.script.startswith("s3://")


class EmrClusterSpec(Spec):
    """Everything about one EMR cluster that is a value rather than an AWS resource.

    Defaults are the safe ones: termination protection on, kept alive between steps, auto-terminated after 60
    idle minutes, one step at a time, the Glue Data Catalog as metastore (wired by the stack), and scale-down at
    task completion. Exactly one of ``instance_fleets`` / ``instance_groups`` must be set.
    """

    release_label: str = Field(description="The EMR release, e.g. `emr-7.12.0`; see `emr_platform.releases`.")
    applications: tuple[str, ...] = Field(
        default=("Hadoop", "Spark", "Hive", "Livy"),
        description="Applications to install, as EMR names them. Default Hadoop, Spark, Hive, Livy.",
    )
    configurations: tuple[ConfigurationSpec, ...] = Field(default=(), description="Extra configurations. Default none.")
    bootstrap_actions: tuple[BootstrapActionSpec, ...] = Field(
        default=(), description="Bootstrap actions. Default none."
    )
    instance_fleets: InstanceFleetsSpec | None = Field(default=None, description="Nodes as instance fleets.")
    instance_groups: InstanceGroupsSpec | None = Field(default=None, description="Nodes as instance groups.")
    managed_scaling: ManagedScalingSpec | None = Field(
        default=None, description="EMR managed scaling limits. Default: fixed size."
    )
    idle_timeout_minutes: Annotated[int, Field(ge=IDLE_TIMEOUT_MINUTES[0], le=IDLE_TIMEOUT_MINUTES[1])] | None = Field(
        default=60, description="Terminate after this many idle minutes (1-10080); null: never. Default 60."
    )
    termination_protection: bool = Field(default=True, description="Refuse API termination. Default on.")
    keep_alive: bool = Field(default=True, description="Keep running when no steps are left. Default on.")
    step_concurrency: Annotated[int, Field(ge=STEP_CONCURRENCY[0], le=STEP_CONCURRENCY[1])] = Field(
        default=1, description="Steps run at once (1-256). Default 1."
    )
    scale_down_behavior: Literal["TERMINATE_AT_TASK_COMPLETION", "TERMINATE_AT_INSTANCE_HOUR"] = Field(
        default="TERMINATE_AT_TASK_COMPLETION", description="How nodes leave on scale-in. Default at task completion."
    )
    ebs_root_volume_size_gib: Annotated[int, Field(ge=ROOT_VOLUME_GIB[0], le=ROOT_VOLUME_GIB[1])] | None = Field(
        default=None, description="Root volume size in GiB (15-100). Default: EMR's (15 GiB)."
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags on the cluster (and its instances).")

    @field_validator("release_label")
    @classmethod
    def _check_release(cls, value: str) -> str:
        release_for_label(value)  # raises a descriptive error for an unknown label
        return value

    @property
    def release(self) -> EmrRelease:
        """The release as a typed value."""
        return release_for_label(self.release_label)

    @model_validator(mode="after")
    def _check(self) -> EmrClusterSpec:
        if (self.instance_fleets is None) == (self.instance_groups is None):
            raise invalid(
                "set exactly one of instance_fleets and instance_groups"
                + (" (both are set)" if self.instance_fleets else " (neither is set)"),
                "describe the nodes either as instance_fleets (recommended: several types, Spot) or as instance_groups",
            )
        release = self.release
        canonical = [release.canonical_application(app) for app in self.applications]
        if len(set(canonical)) != len(canonical):
            raise invalid("an application is listed twice", "list each application once")
        scaling = self.managed_scaling
        if scaling is not None:
            allowed = ("InstanceFleetUnits", "VCPU") if self.instance_fleets else ("Instances", "VCPU")
            if scaling.unit_type not in allowed:
                raise invalid(
                    f"managed_scaling.unit_type {scaling.unit_type!r} does not fit "
                    + ("instance fleets" if self.instance_fleets else "instance groups"),
                    f"use one of {', '.join(allowed)}",
                )
        return self

    @property
    def canonical_applications(self) -> tuple[str, ...]:
        """The applications spelled as EMR spells them."""
        return tuple(self.release.canonical_application(app) for app in self.applications)

    def has_application(self, name: str) -> bool:
        """Whether the cluster installs ``name`` (case-insensitive)."""
        return name.lower() in {a.lower() for a in self.applications}
