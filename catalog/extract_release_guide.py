"""Extract application versions and configuration classifications from the archived EMR Release Guide.

The Release Guide's source was public on GitHub (awsdocs/amazon-emr-release-guide) until June 2023, with one page
per release (``doc_source/emr-<version>-release.md``) holding an "Application version information" table and an
"emr-x.y.z classifications" table. This script turns those pages into ``release-guide-2023.json`` (committed),
one of the offline seeds of the package's catalog (see ``emr_platform/tools/catalog.py``). Run it against a clone:

    git clone https://github.com/awsdocs/amazon-emr-release-guide && git -C amazon-emr-release-guide checkout 44c8b09
    python catalog/extract_release_guide.py amazon-emr-release-guide/doc_source > catalog/release-guide-2023.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# Rows of the application table that are not applications EMR installs (libraries and runtimes).
_NOT_APPLICATIONS = {"AWS SDK for Java", "Python", "Scala", "Delta", "Hudi", "Iceberg"}
_BUNDLED = {"Delta", "Hudi", "Iceberg"}  # table formats shipped with Spark / Hive / Presto, enabled by classification


def _cells(line: str) -> list[str]:
    return [c.strip().replace("\\", "") for c in line.strip().strip("|").split("|")]


def _tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(_cells(line))
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def extract(page: Path) -> tuple[str, dict[str, dict[str, object]]] | None:
    """The page's release label and a record per release its application table shows (its own column and the
    preceding releases'), each with applications and versions, bundled table formats and, for the page's own
    release, its classifications."""
    text = page.read_text(encoding="utf-8")
    title = re.search(r"^# Amazon EMR release ([0-9\\.]+)", text, re.M)
    if title is None:
        return None
    label = "emr-" + title.group(1).replace("\\", "")
    records: dict[str, dict[str, object]] = {}
    classifications: list[str] = []
    for table in _tables(text):
        header = table[0]
        if label in header[1:]:  # application versions, one column per release
            for column, shown in enumerate(header[1:], start=1):
                applications: dict[str, str] = {}
                bundled: dict[str, str] = {}
                for row in table[2:]:
                    name, version = row[0].replace(" (PrestoSQL)", ""), row[column] if column < len(row) else ""
                    if version in {"-", ""}:
                        continue
                    if name in _BUNDLED:
                        bundled[name] = version
                    elif name not in _NOT_APPLICATIONS:
                        applications[name] = version
                records[shown] = {"applications": applications, "bundled": bundled}
        elif header and header[0] == "Classifications":
            classifications = sorted({row[0] for row in table[2:] if row and row[0]})
    if label not in records:
        return None
    records[label]["classifications"] = classifications
    return label, records


def main(folder: str) -> None:
    pages = dict(filter(None, (extract(p) for p in sorted(Path(folder).glob("emr-*-release.md")))))
    releases: dict[str, dict[str, object]] = {}
    for label, records in pages.items():  # a release's own page first, then what later pages show of it
        releases[label] = records[label]
    for records in pages.values():
        for shown, record in records.items():
            releases.setdefault(shown, {**record, "classifications": None})
    record = {
        "source": "awsdocs/amazon-emr-release-guide@44c8b09 (doc_source/emr-*-release.md), archived 2023-06-15",
        "releases": dict(sorted(releases.items())),
    }
    json.dump(record, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
