"""Base class and shared field types for every typed spec and settings model.

Specs are pydantic models so that one schema serves three readers: the settings files (YAML), the construct API
(Python objects) and the generated settings reference. Models are strict (no silent ``"3"`` -> ``3``
coercion), frozen (a spec is a value) and reject unknown keys (a typo is an error, not an ignored field).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError


class Spec(BaseModel):
    """Base of every spec: strict, frozen, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _lists_as_tuples(cls, data: Any) -> Any:
        # Strict mode takes only tuples for tuple fields; YAML and Python callers naturally write lists.
        if isinstance(data, dict):
            return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return data


def invalid(problem: str, fix: str) -> PydanticCustomError:
    """A validation error whose message carries its fix; the settings loader prints both."""
    return PydanticCustomError("emr_platform", "{problem}. Fix: {fix}", {"problem": problem, "fix": fix})


# EC2 instance types: family (letters + generation + attributes, e.g. m7g, r6gd, c7i-flex, u7i-6tb) and size.
_INSTANCE_TYPE = re.compile(
    r"^[a-z]+[0-9]+[a-z0-9]*(?:-[a-z0-9]+)*\.(?:nano|micro|small|medium|large|xlarge|[0-9]+xlarge|metal(?:-[0-9]+xl)?)$"
)


def _check_instance_type(value: str) -> str:
    if not _INSTANCE_TYPE.match(value):
        raise invalid(
            "not an EC2 instance type (family.size)",
            "write it as EC2 names it, lower case, e.g. 'm7g.xlarge', 'r6gd.2xlarge' or 'c7i-flex.large'",
        )
    return value


InstanceTypeName = Annotated[
    str,
    AfterValidator(_check_instance_type),
    Field(description="An EC2 instance type as EC2 names it, e.g. `m7g.xlarge`.", examples=["m7g.xlarge"]),
]
"""An EC2 instance type name such as ``m7g.xlarge``, checked for shape (not for regional availability)."""

NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
