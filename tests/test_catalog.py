"""The catalog of EMR releases and instance types: generated from AWS's data, refreshable from EMR's API, and read
by validation so that any release EMR lists works without a code change and anything else fails at synth."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from emr_platform import EmrClusterSpec, EmrRelease
from emr_platform.spec.catalog import CATALOG_PATH, catalog
from emr_platform.spec.errors import PropError, SettingsError
from emr_platform.spec.settings import CONFIG_DIR, load_settings
from emr_platform.tools import catalog as catalog_tool

from .conftest import PROJECT


def _spec(**overrides: Any) -> dict[str, Any]:
    fleet = {"instance_types": [{"instance_type": "m7g.xlarge"}], "on_demand_capacity": 1}
    base = {
        "release_label": "emr-7.14.0",
        "instance_fleets": {"primary": fleet, "core": {**fleet, "on_demand_capacity": 2}},
    }
    return {**base, **overrides}


def _rejects(spec: dict[str, Any], *parts: str) -> str:
    with pytest.raises(PropError) as raised:
        EmrClusterSpec.parse(spec)
    message = str(raised.value)
    for part in parts:
        assert part in message, message
    return message


def test_the_committed_catalog_is_what_its_sources_build() -> None:
    committed = json.loads(gzip.decompress(CATALOG_PATH.read_bytes()))
    built = catalog_tool.catalog_document(*catalog_tool.build_offline())
    if committed["sources"]["releases"].startswith("EMR ListReleaseLabels"):  # refreshed from AWS: a superset
        assert set(built["releases"]) <= set(committed["releases"]), "run `make refresh-catalog` again"
    else:
        assert committed == built, "the catalog is stale: run `make catalog` and commit it"


def test_the_release_list_in_the_docs_is_generated_from_the_catalog() -> None:
    document = json.loads(gzip.decompress(CATALOG_PATH.read_bytes()))
    page = (PROJECT / "docs" / "releases.md").read_text(encoding="utf-8")
    assert page == catalog_tool.release_list_markdown(document), "run `make docs`"


def test_it_knows_every_line_from_4x_to_the_spark_runtime() -> None:
    labels = set(catalog().labels)
    assert {"emr-4.2.0", "emr-5.36.2", "emr-6.15.0", "emr-7.13.0", "emr-7.14.0"} <= labels
    assert {"emr-spark-8.0.0", "emr-spark-8.1.0"} <= labels
    assert len(labels) >= 140
    assert EmrRelease.latest().label == "emr-7.14.0"
    assert EmrRelease.latest("spark").label == "emr-spark-8.1.0"
    for label in labels:  # every record is complete enough to validate against
        record = EmrRelease.of(label).record
        assert record.applications and record.regions and record.classifications, label
        assert record.instance_types or label == "emr-5.0.2", label  # EMR lists no types for emr-5.0.2


def test_archived_releases_carry_application_versions_from_the_release_guide() -> None:
    record = EmrRelease.of("emr-6.5.0").record
    assert record.applications["Spark"] == "3.1.2"
    assert record.bundled == {"Hudi": "0.9.0-amzn-1", "Iceberg": "0.12.0"}
    assert record.source == "release-guide"


@pytest.mark.parametrize(
    ("label", "present", "absent"),
    [
        ("emr-7.14.0", {"AmazonCloudWatchAgent", "Trino", "Spark"}, {"Sqoop", "Ganglia", "TensorFlow"}),
        ("emr-7.4.0", {"Sqoop"}, {"Ganglia"}),
        ("emr-6.15.0", {"Sqoop", "Trino", "Ganglia"}, {"AmazonCloudWatchAgent"}),
        ("emr-5.36.2", {"Mahout", "Presto"}, {"Trino"}),
        ("emr-spark-8.1.0", {"Spark", "Livy"}, {"Hive", "Hadoop", "Flink"}),
    ],
)
def test_applications_follow_each_release(label: str, present: set[str], absent: set[str]) -> None:
    applications = EmrRelease.of(label).applications
    assert present <= applications
    assert not absent & applications


def test_the_architecture_comes_from_aws_data_not_the_name() -> None:
    assert catalog().architecture("a1.xlarge") == "arm64"  # Graviton 1: the name has no "g" after the generation
    assert catalog().architecture("m7g.xlarge") == "arm64"
    assert catalog().architecture("m7i.xlarge") == "x86_64"
    assert catalog().architecture("r7g.99xlarge") is None


def test_the_newest_releases_are_accepted_and_the_spark_runtime_gets_its_own_default_applications() -> None:
    assert EmrClusterSpec.model_validate(_spec()).release_label == "emr-7.14.0"
    spark = EmrClusterSpec.model_validate(_spec(release_label="emr-spark-8.1.0"))
    assert spark.canonical_applications == ("Spark", "Livy")
    _rejects(
        _spec(release_label="emr-spark-8.1.0", applications=["Spark", "Hive"]),
        "emr-spark-8.1.0 does not ship the application 'Hive'",
    )


def test_an_instance_type_the_release_does_not_run_fails_with_its_role() -> None:
    a1 = {"instance_types": [{"instance_type": "a1.xlarge"}], "on_demand_capacity": 2}
    _rejects(
        _spec(instance_fleets={"primary": _spec()["instance_fleets"]["primary"], "core": a1}),
        "core nodes: emr-7.14.0 does not support the instance type 'a1.xlarge'",
        "Fix:",
    )
    m8 = {"instance_types": [{"instance_type": "m7g.99xlarge"}], "on_demand_capacity": 2}
    _rejects(
        _spec(instance_fleets={"primary": _spec()["instance_fleets"]["primary"], "core": m8}),
        "'m7g.99xlarge' is not an EC2 instance type",
    )


def test_a_classification_the_release_does_not_accept_fails_with_a_suggestion_and_an_explicit_way_out() -> None:
    message = _rejects(
        _spec(configurations=[{"classification": "spark-log4j"}]),
        "emr-7.14.0 has no configuration classification 'spark-log4j'",
        "spark-log4j2",
        "unlisted_reason",
    )
    assert "EmrClusterSpec: configurations[0].classification:" in message
    accepted = EmrClusterSpec.model_validate(
        _spec(
            configurations=[
                {"classification": "spark-log4j", "unlisted_reason": "Release Guide, emr-7.14.0 classifications"}
            ]
        )
    )
    assert accepted.configurations[0].to_emr() == {"Classification": "spark-log4j"}  # the reason is not sent
    m6g = {"instance_types": [{"instance_type": "m6g.xlarge"}], "on_demand_capacity": 1}
    older = _spec(release_label="emr-6.5.0", instance_fleets={"primary": m6g, "core": m6g})
    EmrClusterSpec.model_validate({**older, "configurations": [{"classification": "spark-log4j"}]})


def test_a_fleet_instance_type_configuration_is_checked_too() -> None:
    core = {
        "instance_types": [{"instance_type": "m7g.xlarge", "configurations": [{"classification": "yarn-sight"}]}],
        "on_demand_capacity": 2,
    }
    _rejects(
        _spec(instance_fleets={"primary": _spec()["instance_fleets"]["primary"], "core": core}),
        "no configuration classification 'yarn-sight'",
        "yarn-site",
    )


def test_a_release_not_offered_in_the_region_fails_on_its_field(tmp_path: Path) -> None:
    text = (CONFIG_DIR / "dev.yaml").read_text(encoding="utf-8")
    assert "eu-west-1" in text and "emr-7.13.0" in text
    (tmp_path / "dev.yaml").write_text(text.replace("eu-west-1", "me-central-1"))  # EMR has no 7.13.0 there
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", tmp_path)
    message = str(raised.value)
    assert "release_label" in message and "emr-7.13.0 is not offered in me-central-1" in message and "Fix:" in message


class _StubbedSession:
    """A boto3 session whose EMR clients answer from botocore's Stubber (real client, real request validation)."""

    def __init__(self) -> None:
        self.client_by_region: dict[str, Any] = {}

    def client(self, service: str, region_name: str) -> Any:
        assert service == "emr"
        return self.client_by_region[region_name]


def _stubbed_emr(region: str, labels: list[str]) -> tuple[Any, Stubber]:
    fake = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # never sent: the Stubber answers
    client = boto3.session.Session(**fake).client("emr", region_name=region)  # type: ignore[arg-type]
    stub = Stubber(client)
    stub.add_response("list_release_labels", {"ReleaseLabels": labels}, {})
    for label in labels:
        stub.add_response(
            "describe_release_label",
            {
                "ReleaseLabel": label,
                "Applications": [{"Name": "Spark", "Version": "4.1.1"}, {"Name": "Iceberg", "Version": "1.10.0"}],
            },
            {"ReleaseLabel": label},
        )
        stub.add_response(
            "list_supported_instance_types",
            {
                "SupportedInstanceTypes": [
                    {"Type": "m8g.xlarge", "Architecture": "AARCH64", "VCPU": 4, "MemoryGB": 16.0},
                    {"Type": "m7i.xlarge", "Architecture": "X86_64", "VCPU": 4, "MemoryGB": 16.0},
                ]
            },
            {"ReleaseLabel": label},
        )
    stub.activate()
    return client, stub


def test_refresh_reads_emr_s_own_api_and_keeps_the_seeded_classifications() -> None:
    session = _StubbedSession()
    client, stub = _stubbed_emr("eu-west-1", ["emr-spark-8.2.0", "emr-7.14.0"])
    session.client_by_region["eu-west-1"] = client
    releases, types, sources = catalog_tool.refresh_from_aws(session, ["eu-west-1"])
    stub.assert_no_pending_responses()
    assert set(releases) == {"emr-spark-8.2.0", "emr-7.14.0"}
    new = releases["emr-spark-8.2.0"]
    assert new.applications == {"Spark": "4.1.1"} and new.bundled == {"Iceberg": "1.10.0"}
    assert new.instance_types == ["m8g.xlarge", "m7i.xlarge"] and new.regions == {"eu-west-1"}
    assert "spark-defaults" in releases["emr-7.14.0"].classifications  # no API lists them: the seeds' stay
    assert types["m8g.xlarge"][0] == "arm64"
    assert sources.applications.startswith("EMR DescribeReleaseLabel")
    document = catalog_tool.catalog_document(releases, types, sources)
    assert list(document["releases"]) == ["emr-spark-8.2.0", "emr-7.14.0"]  # newest first
