"""EMR configuration classifications (``spark-defaults``, ``yarn-site``, ...) as typed values."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from emr_platform.spec.model import Spec

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
