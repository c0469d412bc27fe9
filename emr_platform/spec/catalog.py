"""The catalog of EMR on EC2 that validation reads: releases, their applications, classifications and instance types.

The data is shipped in the package (``data/emr-catalog.json.gz``, about 40 KB) and read once, on first use, so an
app that never validates a release pays nothing. It is generated, never edited: ``make catalog`` rebuilds it
offline from AWS's own API answers as moto ships them plus the archived Release Guide, ``make refresh-catalog``
from EMR's API with credentials (see ``emr_platform/tools/catalog.py``). Each section names its source.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

CATALOG_PATH = Path(__file__).parent / "data" / "emr-catalog.json.gz"

CpuArchitecture = Literal["x86_64", "arm64"]

_VERSION = re.compile(r"^emr-(?:(?P<family>[a-z]+)-)?(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(?P<suffix>\S*)$")


def version_of(label: str) -> tuple[int, int, int]:
    """``(7, 14, 0)`` for ``emr-7.14.0``, ``(8, 1, 0)`` for ``emr-spark-8.1.0``; ``(0, 0, 0)`` for other text."""
    found = _VERSION.match(label)
    if found is None:
        return (0, 0, 0)
    return int(found["major"]), int(found["minor"]), int(found["patch"])


@dataclass(frozen=True)
class ReleaseRecord:
    """What the catalog knows of one release label."""

    label: str
    applications: dict[str, str | None]
    """Installable applications, as EMR spells them, with their versions (None: not known offline)."""
    bundled: dict[str, str | None]
    """Table formats that come with the engines (Delta, Hudi, Iceberg), switched on by classification."""
    classifications: frozenset[str]
    instance_types: frozenset[str]
    regions: frozenset[str]
    source: str
    """Where the applications and classifications come from: ``aws``, ``release-guide`` or ``supplement (...)``."""

    @property
    def family(self) -> str:
        """``emr`` for EMR on EC2 releases, ``spark`` for the AWS runtime for Apache Spark (emr-spark-8.x)."""
        found = _VERSION.match(self.label)
        return (found["family"] if found and found["family"] else "emr") if found else "emr"

    @property
    def version(self) -> tuple[int, int, int]:
        """The version as numbers, for comparisons."""
        return version_of(self.label)

    @property
    def prerelease(self) -> bool:
        """Whether the label is a preview (``emr-6.0.0-beta2``)."""
        found = _VERSION.match(self.label)
        return bool(found and found["suffix"])


class Catalog:
    """The loaded catalog. Use :func:`catalog` rather than building one."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.sources: dict[str, str] = document["sources"]
        self._records: dict[str, Any] = document["releases"]
        self._class_sets: list[frozenset[str]] = [frozenset(s) for s in document["classification_sets"]]
        self._type_sets: list[frozenset[str]] = [frozenset(s) for s in document["instance_type_sets"]]
        self._types: dict[str, list[Any]] = document["instance_types"]

    @property
    def labels(self) -> list[str]:
        """Every release label, newest first."""
        return list(self._records)

    def release(self, label: str) -> ReleaseRecord | None:
        """The record of ``label``; None when EMR does not list it."""
        record = self._records.get(label)
        if record is None:
            return None
        return ReleaseRecord(
            label=label,
            applications=record["applications"],
            bundled=record["bundled"],
            classifications=self._class_sets[record["classifications"]],
            instance_types=self._type_sets[record["instance_types"]],
            regions=frozenset(record["regions"]),
            source=record["source"],
        )

    def latest(self, family: str = "emr", region: str | None = None) -> str:
        """The newest generally available label of ``family`` (in ``region`` when given)."""
        for label in self._records:
            record = self.release(label)
            offered = record is not None and (region is None or region in record.regions)
            if offered and record is not None and record.family == family and not record.prerelease:
                return label
        raise LookupError(f"no {family} release in the catalog")

    def architecture(self, instance_type: str) -> CpuArchitecture | None:
        """The instance type's CPU architecture; None for a type that EC2 does not have."""
        found = self._types.get(instance_type)
        return found[0] if found else None

    def vcpus(self, instance_type: str) -> int | None:
        """The instance type's default vCPUs; None when unknown."""
        found = self._types.get(instance_type)
        return int(found[1]) if found else None

    def instance_types(self) -> list[str]:
        """Every instance type the catalog describes (EMR's and EC2's)."""
        return list(self._types)


@cache
def catalog() -> Catalog:
    """The catalog shipped with the package, read once."""
    return Catalog(json.loads(gzip.decompress(CATALOG_PATH.read_bytes())))
