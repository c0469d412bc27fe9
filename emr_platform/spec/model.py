"""Base class and shared field types for every typed spec and settings model.

Specs are pydantic models so that one schema serves three readers: the settings files (YAML), the construct API
(Python objects) and the generated settings reference. Models are strict (no silent ``"3"`` -> ``3``
coercion), frozen (a spec is a value) and reject unknown keys (a typo is an error, not an ignored field).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from emr_platform.spec.validation import prop_error


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

    @classmethod
    def parse(cls, data: object, *, where: str | None = None) -> Self:
        """Validate ``data`` (a mapping shaped like the spec's place in the settings files, or a spec).

        :raises PropError: one line per problem, each naming ``where`` (default the spec's class), the field, the
            value and the fix.
        """
        if isinstance(data, cls):
            return data
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise prop_error(error, where=where or cls.__name__) from None


def invalid(problem: str, fix: str, *, at: tuple[str | int, ...] = ()) -> PydanticCustomError:
    """A validation error whose message carries its fix; the settings loader prints both.

    ``at`` is the path of the offending field below the model that raises (for rules that span fields), so the
    message names that field and its line in the settings file.
    """
    return PydanticCustomError(
        "emr_platform", "{problem}. Fix: {fix}", {"problem": problem, "fix": fix, "at": ".".join(map(str, at))}
    )


# EC2 instance types: family (letters + generation + attributes, e.g. m7g, r6gd, c7i-flex, u7i-6tb) and size.
_INSTANCE_TYPE = re.compile(
    r"^[a-z]+[0-9]+[a-z0-9]*(?:-[a-z0-9]+)*\.(?:nano|micro|small|medium|large|xlarge|[0-9]+xlarge|metal(?:-[0-9]+xl)?)$"
)


def is_token(value: object) -> bool:
    """Whether ``value`` is an unresolved CDK token (a string such as ``${Token[...]}`` or an encoded number).

    Checked without a jsii round trip: the CDK encodes string tokens with these markers and number tokens as
    doubles near -1.89e289. A token's value is known only at deploy time, so validation skips it.
    """
    if isinstance(value, str):
        return "${Token[" in value or "#{Token[" in value
    if isinstance(value, float):
        return value < -1e288
    return False


def known(*values: object) -> bool:
    """True when none of ``values`` is a token: the cross-field rules that read them can run."""
    return not any(is_token(v) for v in values)


def _skip_tokens(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return value if is_token(value) else handler(value)


SkipTokens = WrapValidator(_skip_tokens)
"""Put last in an ``Annotated`` field: a token passes unchecked (its value exists only at deploy time)."""


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
    SkipTokens,
]
"""An EC2 instance type name such as ``m7g.xlarge``, checked for shape (not for regional availability)."""

INT32_MAX = 2**31 - 1
"""botocore's EMR model types counts and capacities as ``Integer`` (32-bit signed): TargetOnDemandCapacity,
WeightedCapacity, InstanceCount, ComputeLimits' units, ScalingConstraints. A larger value fails at deploy."""

NonNegativeInt = Annotated[int, Field(ge=0, le=INT32_MAX), SkipTokens]
PositiveInt = Annotated[int, Field(ge=1, le=INT32_MAX), SkipTokens]
"""Counts and capacities (at most 2^31 - 1, EMR's 32-bit integers); a CDK number token passes unchecked."""

_GRAVITON_FAMILY = re.compile(r"^[a-z]+[0-9]+g")


def is_graviton(instance_type: str) -> bool:
    """Whether an instance type is AWS Graviton (arm64): a ``g`` right after the generation (m7g, r6gd, c7gn, im4gn)."""
    return bool(_GRAVITON_FAMILY.match(instance_type))


_SIZE_VCPUS = {"medium": 1, "large": 2, "xlarge": 4}


def vcpus_of(instance_type: str) -> int | None:
    """vCPUs of a general-purpose size name (large 2, xlarge 4, 2xlarge 8, ...); None for metal and unknown sizes."""
    size = instance_type.split(".", 1)[-1]
    if size in _SIZE_VCPUS:
        return _SIZE_VCPUS[size]
    if size.endswith("xlarge") and size[: -len("xlarge")].isdigit():
        return 4 * int(size[: -len("xlarge")])
    return None
