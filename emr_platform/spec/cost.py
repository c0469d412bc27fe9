"""Typed spec of what an environment has committed to pay for: Savings Plans and reservations.

A commitment changes no resource: it tells the cost estimate (``make synth``'s summary) that the On-Demand instances
it covers are billed below list price. The clusters carry it in their template metadata, so the summary reads it
from the synthesized templates like everything else it prices.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from emr_platform.spec.model import Spec, invalid

Role = Literal["primary", "core", "task"]

COST_METADATA = "emr-platform:cost"
"""Template metadata key, on the resource that defines a cluster (``AWS::EMR::Cluster``, or a transient cluster's
state machine), holding what the template alone cannot say about its cost: the commitments covering it and a
transient run's typical duration and timeout. CloudFormation ignores resource metadata: it changes nothing."""

MAX_DISCOUNT_PERCENT = {"compute_savings_plan": 66, "ec2_instance_savings_plan": 72, "reserved_instances": 72}
"""The deepest discount off EC2 On-Demand each kind of commitment offers (AWS Savings Plans: "up to 66 %" for Compute
Savings Plans, "up to 72 %" for EC2 Instance Savings Plans; Reserved Instances "up to 72 %"); a larger figure is a
typo, not a deal."""

_TYPE_OR_FAMILY = r"^[a-z][a-z0-9-]*(\.[a-z0-9]+)?$"


class CommitmentSpec(Spec):
    """A Savings Plan or a set of Reserved Instances, and the cluster instances it covers.

    Savings Plans and reservations discount the EC2 price only: EMR's per-instance charge is never discounted. The
    estimate applies the discount to the covered On-Demand instances up to the number running at the scaling floor
    (what an hourly commitment, or a set of reservations, is sized to); growth above it is priced On-Demand.
    """

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")] = Field(
        description="A name for the commitment, shown in the summary (e.g. `compute-sp-2026`)."
    )
    kind: Literal["compute_savings_plan", "ec2_instance_savings_plan", "reserved_instances"] = Field(
        description="`compute_savings_plan` (any type, any region), `ec2_instance_savings_plan` (one family in one "
        "region: give `instance_types`), or `reserved_instances` (given types or families)."
    )
    discount_percent: Annotated[float, Field(gt=0, lt=100)] = Field(
        description="The discount off the EC2 On-Demand price, from your Savings Plan or reservation (e.g. 28 for a "
        "one-year, no-upfront Compute Savings Plan). At most 66 for a Compute Savings Plan, 72 otherwise."
    )
    covers: tuple[Role, ...] = Field(
        default=("primary", "core"),
        min_length=1,
        description="The node types whose On-Demand instances it covers. Default `[primary, core]`: the nodes that "
        "run all the time.",
    )
    instance_types: tuple[Annotated[str, Field(pattern=_TYPE_OR_FAMILY)], ...] = Field(
        default=(),
        description="The instance types (`m7g.2xlarge`) or families (`m7g`) it covers. Required for EC2 Instance "
        "Savings Plans (families) and reservations; empty for a Compute Savings Plan, which covers any type.",
    )
    clusters: tuple[str, ...] = Field(
        default=(),
        description="The clusters (under `clusters:` or `transient_clusters:`) it covers. Default: every long-running "
        "cluster (a commitment sized to the always-on nodes covers a transient run only if named here).",
    )

    @model_validator(mode="after")
    def _check(self) -> CommitmentSpec:
        most = MAX_DISCOUNT_PERCENT[self.kind]
        if self.discount_percent > most:
            raise invalid(
                f"a {self.kind} discounts EC2 by at most {most} %, not {self.discount_percent:g} %",
                f"give the discount of your {self.kind.replace('_', ' ')} (above 0, at most {most})",
                at=("discount_percent",),
            )
        if self.kind == "compute_savings_plan" and self.instance_types:
            raise invalid(
                "a Compute Savings Plan covers every instance type",
                "remove instance_types, or use kind: ec2_instance_savings_plan / reserved_instances",
                at=("instance_types",),
            )
        if self.kind != "compute_savings_plan" and not self.instance_types:
            raise invalid(
                f"a {self.kind} covers given instance types or families only",
                "list them in instance_types, e.g. [m7g, r7g.2xlarge]",
                at=("instance_types",),
            )
        if self.kind == "ec2_instance_savings_plan" and (
            len(self.instance_types) != 1 or "." in self.instance_types[0]
        ):
            raise invalid(
                f"an EC2 Instance Savings Plan covers one instance family in a region, not {list(self.instance_types)}",
                "give its one family in instance_types (e.g. [m7g]); declare one plan per family",
                at=("instance_types",),
            )
        for field in ("covers", "instance_types", "clusters"):
            values: tuple[str, ...] = getattr(self, field)
            if len(set(values)) != len(values):
                raise invalid(
                    f"{field} lists {sorted(v for v in set(values) if values.count(v) > 1)} twice",
                    "list each once",
                    at=(field,),
                )
        return self

    def applies_to(self, role: str, instance_type: str) -> bool:
        """Whether this commitment discounts an On-Demand ``instance_type`` of node type ``role``: a Compute Savings
        Plan any type, an EC2 Instance Savings Plan its family, a reservation its types' families (size-flexible)."""
        if role not in self.covers:
            return False
        return not self.instance_types or instance_type.split(".", 1)[0] in self.families

    @property
    def families(self) -> tuple[str, ...]:
        """The families of ``instance_types``: what a regional Reserved Instance covers, as Linux reservations are
        size-flexible within their family (a ``m7g.2xlarge`` reservation also covers two ``m7g.xlarge``)."""
        return tuple(dict.fromkeys(t.split(".", 1)[0] for t in self.instance_types))

    def metadata(self) -> dict[str, Any]:
        """What the cost estimate reads from a covered cluster's template metadata."""
        return {
            "name": self.name,
            "kind": self.kind,
            "discount_percent": self.discount_percent,
            "roles": list(self.covers),
            "instance_types": list(self.instance_types),
        }


class CostSettings(Spec):
    """What the environment pays below list price, for the cost estimate. Changes no resource."""

    commitments: tuple[CommitmentSpec, ...] = Field(
        default=(),
        description="Savings Plans and reservations covering the clusters' On-Demand instances. See "
        "CommitmentSpec. Default none: list prices.",
    )
