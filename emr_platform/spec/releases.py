"""EMR releases as typed values, read from the package's catalog of EMR (``emr_platform.spec.catalog``).

Every label EMR lists is known (emr-4.x to emr-7.x and the AWS runtime for Apache Spark, emr-spark-8.x), with the
applications it installs, the classifications it accepts and the instance types it supports: an application the
release does not ship (``Trino`` on 5.x, ``Sqoop`` on 7.5+), a classification it does not accept or an instance
type it does not run fails at synth instead of at cluster launch. Nobody edits code to use a new release:
``make refresh-catalog`` (AWS credentials) or ``make catalog`` (offline, from moto's copy of EMR's answers)
rebuilds the catalog.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from emr_platform.spec.catalog import ReleaseRecord, catalog, version_of
from emr_platform.spec.model import invalid

BUNDLED_HINT = {
    "Delta": "delta-defaults (delta.enabled: true)",
    "Hudi": "hudi-defaults (it comes with Spark, Hive and Presto/Trino)",
    "Iceberg": "iceberg-defaults (iceberg.enabled: true)",
}
"""Table formats are not installed as applications: the classification that switches each one on."""


@dataclass(frozen=True)
class EmrRelease:
    """An EMR release label the catalog knows (``EmrRelease.of("emr-7.14.0")``, ``EmrRelease.latest()``)."""

    label: str

    @classmethod
    def of(cls, label: str) -> EmrRelease:
        """The release for ``label``; a descriptive validation error for a label EMR does not list."""
        if catalog().release(label) is None:
            raise invalid(f"{label!r} is not an EMR release label", _label_fix(label))
        return cls(label)

    @classmethod
    def latest(cls, family: str = "emr", region: str | None = None) -> EmrRelease:
        """The newest generally available release of ``family`` (``emr`` or ``spark``), in ``region`` if given."""
        return cls(catalog().latest(family, region))

    @property
    def record(self) -> ReleaseRecord:
        """The catalog's record: applications with versions, classifications, instance types, regions."""
        found = catalog().release(self.label)
        if found is None:  # only through EmrRelease("...") with an unknown label; of() refuses it
            raise invalid(f"{self.label!r} is not an EMR release label", _label_fix(self.label))
        return found

    @property
    def family(self) -> str:
        """``emr`` (EMR on EC2 releases) or ``spark`` (the AWS runtime for Apache Spark, emr-spark-8.x)."""
        return self.record.family

    @property
    def major(self) -> int:
        """The major version (4 to 8)."""
        return self.version[0]

    @property
    def version(self) -> tuple[int, int, int]:
        """The version as numbers, for comparisons: ``(7, 14, 0)``."""
        return version_of(self.label)

    def at_least(self, *minimums: tuple[int, int, int]) -> bool:
        """Whether this release is at or above the minimum of its own major line among ``minimums``.

        ``at_least((5, 36, 1), (6, 8, 1))`` is True for 5.36.2, 6.15.0 and every 7.x: a feature that arrived in
        a later 5.x and 6.x release and was in 7.0 from the start. A major line without a minimum is compared
        with the lowest minimum given.
        """
        same_line = [m for m in minimums if m[0] == self.major]
        if same_line:
            return self.version >= same_line[0]
        return self.version >= min(minimums)

    @property
    def applications(self) -> frozenset[str]:
        """The application names this release installs, spelled as EMR spells them."""
        return frozenset(self.record.applications)

    @property
    def default_applications(self) -> tuple[str, ...]:
        """Hadoop, Spark, Hive and Livy, or those of them the release installs (Spark and Livy on emr-spark-8.x)."""
        return tuple(a for a in ("Hadoop", "Spark", "Hive", "Livy") if a in self.applications)

    @property
    def supports_graviton(self) -> bool:
        """Whether Graviton (arm64) instance types run this release (5.31.0 / 6.1.0 and later)."""
        return self.at_least(*GRAVITON_FROM)

    @property
    def supports_high_availability_fleets(self) -> bool:
        """Whether instance fleets may have 3 primary nodes (5.36.1, 6.8.1 and later)."""
        return self.at_least(*HA_FLEETS_FROM)

    @property
    def supports_high_availability_groups(self) -> bool:
        """Whether instance groups may have 3 primary nodes (5.23.0 and later)."""
        return self.version >= HA_GROUPS_FROM

    @property
    def supports_root_volume_performance(self) -> bool:
        """Whether the root volume's IOPS and throughput can be set (6.15.0 and later: gp3 root volumes)."""
        return self.version >= ROOT_VOLUME_PERFORMANCE_FROM

    @property
    def supports_core_node_labels(self) -> bool:
        """Whether YARN can be told to keep application masters on core nodes (``CORE`` label): 5.19 and later
        (5.x does it by default; 6.x and 7.x need ``yarn.node-labels.enabled``)."""
        return self.version >= (5, 19, 0)

    @property
    def supports_market_node_labels(self) -> bool:
        """Whether YARN labels nodes by market (``ON_DEMAND`` / ``SPOT``) so that application masters can be kept
        off Spot (7.2.0 and later; earlier releases keep them on core nodes through the ``CORE`` label)."""
        return self.version >= MARKET_NODE_LABELS_FROM

    def canonical_application(self, name: str) -> str:
        """``name`` spelled as EMR spells it; a clear error when the release does not ship it."""
        by_lower = {app.lower(): app for app in self.applications}
        found = by_lower.get(name.lower())
        if found is None:
            hint = ""
            if name.lower() in {"presto", "prestosql"} and "Trino" in self.applications:
                hint = " (this release ships Presto's successor as 'Trino')"
            elif name.lower() == "trino" and "Presto" in self.applications:
                hint = " (this release ships 'Presto' instead)"
            bundled = {b.lower(): b for b in self.record.bundled}.get(name.lower())
            if bundled is not None:
                raise invalid(
                    f"{bundled} is not an application EMR installs: {self.label} bundles it with its engines",
                    f"remove it from applications and switch it on with the classification {BUNDLED_HINT[bundled]}",
                )
            raise invalid(
                f"{self.label} does not ship the application {name!r}{hint}",
                f"use one of: {', '.join(sorted(self.applications))}; or choose a release that ships it",
            )
        return found

    def check_instance_type(self, name: str, *, role: str = "", at: tuple[str | int, ...] = ()) -> None:
        """Raise when EMR does not run ``name`` on this release (ListSupportedInstanceTypes) or EC2 has no such
        type; the message (prefixed ``<role> nodes:`` when given, on the field ``at``) suggests close names."""
        prefix = f"{role} nodes: " if role else ""
        if name in self.record.instance_types:
            return
        if not self.record.instance_types:  # emr-5.0.2: EMR's ListSupportedInstanceTypes answers an empty list
            raise invalid(
                f"{prefix}EMR lists no supported instance types for {self.label}",
                f"use a newer release, e.g. {catalog().latest()}",
                at=at,
            )
        exists = catalog().architecture(name) is not None
        close = difflib.get_close_matches(name, sorted(self.record.instance_types), n=3, cutoff=0.8)
        problem = (
            f"{self.label} does not support the instance type {name!r} (EMR ListSupportedInstanceTypes)"
            if exists
            else f"{name!r} is not an EC2 instance type"
        )
        fix = f"use one of {', '.join(close)}" if close else "use a type EMR supports for this release"
        listing = f"aws emr list-supported-instance-types --release-label {self.label}"
        raise invalid(prefix + problem, f"{fix} (the full list: {listing})", at=at)

    def check_classification(self, name: str, *, at: tuple[str | int, ...] = ()) -> None:
        """Raise when this release does not accept the configuration classification ``name`` (the Release Guide's
        "emr-x.y.z classifications" table); the message suggests close names."""
        known = self.record.classifications
        if name in known:
            return
        close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.75)
        suggestion = f"did you mean {', '.join(close)}? " if close else ""
        raise invalid(
            f"{self.label} has no configuration classification {name!r}",
            f"{suggestion}use a classification of the release (Release Guide, '{self.label} classifications'); "
            "if EMR documents it and the package's catalog lags, add 'unlisted_reason: <where AWS documents it>' "
            "to this configuration",
            at=at,
        )

    def check_region(self, region: str, *, at: tuple[str | int, ...] = ()) -> None:
        """Raise when EMR does not offer this release in ``region`` (ListReleaseLabels there)."""
        regions = self.record.regions
        if region in regions or not regions:
            return
        try:
            newest: str | None = catalog().latest(self.family, region)
        except LookupError:  # a region that offers no release of this family at all
            newest = None
        raise invalid(
            f"{self.label} is not offered in {region} (EMR ListReleaseLabels)",
            f"use a release offered there{f', e.g. {newest}' if newest else ''}, or deploy to one of "
            f"{', '.join(sorted(regions)[:6])}{', ...' if len(regions) > 6 else ''}",
            at=at,
        )


# First releases with a feature (EMR Release Guide and Management Guide).
GRAVITON_FROM = ((5, 31, 0), (6, 1, 0), (7, 0, 0))
HA_FLEETS_FROM = ((5, 36, 1), (6, 8, 1), (7, 0, 0))
HA_GROUPS_FROM = (5, 23, 0)
ROOT_VOLUME_PERFORMANCE_FROM = (6, 15, 0)
MARKET_NODE_LABELS_FROM = (7, 2, 0)


def release_for_label(label: str) -> EmrRelease:
    """The :class:`EmrRelease` for ``label``; a clear error naming close labels otherwise."""
    return EmrRelease.of(label)


def _label_fix(label: str) -> str:
    # Only labels of the same line are suggestions: emr-9.9.9 is not a typo of emr-7.9.0.
    line = label.rsplit(".", 2)[0] if label.count(".") >= 2 else label.split(".", maxsplit=1)[0]
    labels = [known for known in catalog().labels if known.startswith(line + ".") or known.startswith(label)]
    close = difflib.get_close_matches(label, labels, n=3, cutoff=0.8)
    newest = catalog().latest()
    suggestion = f"did you mean {', '.join(close)}? " if close else ""
    return (
        f"{suggestion}use a label EMR lists, e.g. {newest} (the newest) or {catalog().latest('spark')}; every label "
        f"is in docs/releases.md. A release newer than the package's catalog: run `make refresh-catalog`"
    )
