"""EMR releases this package knows, with the applications each one ships.

A release is a typed value: an application the release does not ship (``Trino`` on 5.x, ``Sqoop`` on 7.x) fails
at synth instead of at cluster launch. To support a newer release, add a member with its application list from
the EMR Release Guide ("Application versions in Amazon EMR 7.x releases").
"""

from __future__ import annotations

from enum import Enum

from emr_platform.spec.model import invalid

# Application names as the EMR API takes them (Release Guide, "Application versions in Amazon EMR 7.x releases"
# and the 6.15.0 / 5.36.2 release pages). Table formats (Hudi, Iceberg, Delta) are switched on by classifications
# such as ``iceberg-defaults``, not listed as applications.
_EMR_7 = frozenset(
    {
        "AmazonCloudWatchAgent",
        "Flink",
        "HBase",
        "HCatalog",
        "Hadoop",
        "Hive",
        "Hue",
        "JupyterEnterpriseGateway",
        "JupyterHub",
        "Livy",
        "Oozie",
        "Phoenix",
        "Pig",
        "Presto",
        "Spark",
        "Tez",
        "Trino",
        "Zeppelin",
        "ZooKeeper",
    }
)
# 6.15 ships no CloudWatch agent, still has Ganglia, MXNet, Sqoop and TensorFlow (Sqoop left after 7.4).
_EMR_6_15 = (_EMR_7 - {"AmazonCloudWatchAgent"}) | {"Ganglia", "MXNet", "Sqoop", "TensorFlow"}
# 5.x predates Trino (PrestoSQL was renamed Trino in 6.4) and still has Mahout.
_EMR_5_36 = (_EMR_6_15 - {"Trino"}) | {"Mahout"}


class EmrRelease(Enum):
    """Supported EMR release labels. The value is the label EMR takes (``emr-7.12.0``)."""

    EMR_7_13_0 = "emr-7.13.0"
    EMR_7_12_0 = "emr-7.12.0"
    EMR_6_15_0 = "emr-6.15.0"
    EMR_5_36_2 = "emr-5.36.2"

    @property
    def label(self) -> str:
        """The release label as EMR takes it."""
        return str(self.value)

    @property
    def major(self) -> int:
        """The major version (5, 6 or 7)."""
        return self.version[0]

    @property
    def version(self) -> tuple[int, int, int]:
        """The version as numbers, for comparisons: ``(7, 13, 0)``."""
        major, minor, patch = (int(p) for p in self.label.removeprefix("emr-").split("."))
        return major, minor, patch

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
        """The application names this release ships, spelled as EMR spells them."""
        return _APPLICATIONS[self]

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
            raise invalid(
                f"{self.label} does not ship the application {name!r}{hint}",
                f"use one of: {', '.join(sorted(self.applications))}; or choose a release that ships it",
            )
        return found


_APPLICATIONS: dict[EmrRelease, frozenset[str]] = {
    EmrRelease.EMR_7_13_0: _EMR_7,
    EmrRelease.EMR_7_12_0: _EMR_7,
    EmrRelease.EMR_6_15_0: _EMR_6_15,
    EmrRelease.EMR_5_36_2: _EMR_5_36,
}

LATEST = EmrRelease.EMR_7_13_0

# First releases with a feature (EMR Release Guide and Management Guide).
GRAVITON_FROM = ((5, 31, 0), (6, 1, 0), (7, 0, 0))
HA_FLEETS_FROM = ((5, 36, 1), (6, 8, 1), (7, 0, 0))
HA_GROUPS_FROM = (5, 23, 0)
ROOT_VOLUME_PERFORMANCE_FROM = (6, 15, 0)
MARKET_NODE_LABELS_FROM = (7, 2, 0)


def release_for_label(label: str) -> EmrRelease:
    """The :class:`EmrRelease` for ``label``; a clear error naming the known labels otherwise."""
    for release in EmrRelease:
        if release.label == label:
            return release
    raise invalid(
        f"{label!r} is not an EMR release this package knows",
        f"use one of {', '.join(r.label for r in EmrRelease)}, or add the release to emr_platform/spec/releases.py",
    )
