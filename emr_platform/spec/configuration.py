"""EMR configuration classifications (``spark-defaults``, ``yarn-site``, ...) as typed values."""

from __future__ import annotations

import re
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
    unlisted_reason: Annotated[str, Field(min_length=10, max_length=300)] | None = Field(
        default=None,
        description="Use a classification the package's catalog of the release does not list (docs/releases.md), "
        "stating where AWS documents it (e.g. `Release Guide, emr-7.14.0 classifications`). Default none: a "
        "classification the release does not accept fails at synth.",
    )

    def to_emr(self) -> dict[str, Any]:
        """The configuration in EMR's shape, property values as strings."""
        result: dict[str, Any] = {"Classification": self.classification}
        if self.properties:
            result["Properties"] = {k: _as_emr_string(v) for k, v in self.properties.items()}
        if self.configurations:
            result["Configurations"] = [c.to_emr() for c in self.configurations]
        return result


CONFIG_PLACEHOLDER = re.compile(r"\{(?:(?P<kind>zone|database):(?P<zone>[a-z][a-z0-9_]*)|(?P<name>artifacts|logs))\}")
"""The platform's names in a configuration value (``{zone:curated}``, ``{database:raw}``, ``{artifacts}``,
``{logs}``); other braces (log4j patterns, ``${var}``) are left alone."""


def zones_named(configurations: tuple[ConfigurationSpec, ...]) -> set[str]:
    """The data zones that ``{zone:...}`` and ``{database:...}`` placeholders in ``configurations`` name."""
    zones: set[str] = set()
    for configuration in configurations:
        for value in (configuration.to_emr().get("Properties") or {}).values():
            zones |= {m["zone"] for m in CONFIG_PLACEHOLDER.finditer(value) if m["zone"]}
        zones |= zones_named(configuration.configurations)
    return zones


def _as_emr_string(value: PropertyValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
