"""Workload profiles: the seeds' workloads (HBase on S3, Flink, Trino, Spark ML, Spark batch) as profiles a cluster
overrides field by field; examples/profiles/workloads.yaml synthesizes through every gate with 0 cfn-lint errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from emr_platform.constructs import EmrCluster
from emr_platform.constructs.compliance import add_compliance_checks
from emr_platform.spec.cluster import EmrClusterSpec
from emr_platform.spec.errors import PropError, SettingsError
from emr_platform.spec.profiles import PROFILES
from emr_platform.spec.settings import load_settings
from emr_platform.stacks import EmrPlatformStack
from emr_platform.tools.topology import merged

from .conftest import PROJECT, base_stack, cfn_lint_errors, placement_of

EXAMPLES = PROJECT / "examples" / "profiles"


@pytest.fixture(scope="module")
def template(context: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Path]]:
    outdir = tmp_path_factory.mktemp("profiles")
    app = App(context={k: v for k, v in context.items() if k != "aws:cdk:enable-path-metadata"}, outdir=str(outdir))
    EmrPlatformStack(app, "workloads", settings=load_settings("workloads", EXAMPLES))
    add_compliance_checks(app)
    app.synth()  # every gate: an unacknowledged finding raises
    paths = sorted(outdir.glob("workloads*.template.json"))  # the foundation and a stack per cluster
    stacks = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in paths}
    return merged(stacks).template, paths  # a cluster stack's reads of the foundation's parameters inlined


def _cluster(template: dict[str, Any], key: str) -> dict[str, Any]:
    [cluster] = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::EMR::Cluster" and r["Properties"]["Name"].endswith(f"-{key}")
    ]
    return dict(cluster)


def _configuration(cluster: dict[str, Any], classification: str) -> dict[str, Any]:
    [found] = [c for c in cluster["Configurations"] if c["Classification"] == classification]
    return dict(found["ConfigurationProperties"])


def test_the_profiles_synthesize_with_no_cfn_lint_error(template: tuple[dict[str, Any], list[Path]]) -> None:
    assert cfn_lint_errors(*template[1]) == []


def test_hbase_on_s3_keeps_its_store_in_a_data_zone_and_never_idles_out(
    template: tuple[dict[str, Any], list[Path]],
) -> None:
    cluster = _cluster(template[0], "tables")
    assert [a["Name"] for a in cluster["Applications"]] == ["Hadoop", "HBase", "ZooKeeper"]
    assert _configuration(cluster, "hbase") == {"hbase.emr.storageMode": "s3"}
    rootdir = json.dumps(_configuration(cluster, "hbase-site")["hbase.rootdir"])
    assert "CuratedBucket" in rootdir and "/hbase/" in rootdir
    assert "AutoTerminationPolicy" not in cluster
    assert cluster["Instances"]["TerminationProtected"] is True


def test_flink_checkpoints_and_savepoints_go_to_s3(template: tuple[dict[str, Any], list[Path]]) -> None:
    conf = _configuration(_cluster(template[0], "streams"), "flink-conf")
    assert "CuratedBucket" in json.dumps(conf["state.checkpoints.dir"])
    assert "CuratedBucket" in json.dumps(conf["state.savepoints.dir"])


def test_trino_uses_the_glue_catalog(template: tuple[dict[str, Any], list[Path]]) -> None:
    cluster = _cluster(template[0], "sql")
    assert _configuration(cluster, "trino-connector-hive") == {"hive.metastore": "glue"}
    assert cluster["ManagedScalingPolicy"]["ComputeLimits"]["MaximumCapacityUnits"] == 20


def test_a_field_set_in_the_spec_overrides_the_profile(template: tuple[dict[str, Any], list[Path]]) -> None:
    cluster = _cluster(template[0], "ml")
    core = cluster["Instances"]["CoreInstanceFleet"]["InstanceTypeConfigs"]
    assert [t["InstanceType"] for t in core] == ["r7g.2xlarge", "r6g.2xlarge"]
    assert _configuration(cluster, "spark")["maximizeResourceAllocation"] == "true"


def test_configurations_in_the_spec_win_over_the_profiles() -> None:
    spec = EmrClusterSpec.model_validate(
        {
            "profile": "spark-batch",
            "release_label": "emr-7.13.0",
            "idle_timeout_minutes": 30,
            "configurations": [
                {"classification": "spark-defaults", "properties": {"spark.dynamicAllocation.enabled": False}}
            ],
        }
    )
    assert spec.idle_timeout_minutes == 30
    assert [c.properties for c in spec.configurations][-1] == {"spark.dynamicAllocation.enabled": False}


def test_every_profile_alone_is_a_valid_cluster() -> None:
    for name in PROFILES:
        EmrClusterSpec.model_validate({"profile": name, "release_label": "emr-7.13.0"})


def test_an_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="hbase-s3"):
        EmrClusterSpec.model_validate({"profile": "hbase", "release_label": "emr-7.13.0"})


def test_a_placeholder_for_a_missing_zone_fails_naming_the_known_ones(context: dict[str, object]) -> None:
    stack, storage, network = base_stack(context)
    spec = {"profile": "hbase-s3", "release_label": "emr-7.13.0"}
    with pytest.raises(PropError, match=r"unknown placeholder \(got '\{zone:curated\}'\)"):
        cluster = EmrCluster(stack, "Tables", spec=spec, placement=placement_of(storage, network))
        stack.resolve(cluster.resource.configurations)


def test_hbase_and_flink_clusters_never_idle_out_unless_the_spec_says_so() -> None:
    fleets = {"primary": {"on_demand_capacity": 1}, "core": {"on_demand_capacity": 2}}
    base = {"release_label": "emr-7.13.0", "instance_fleets": fleets}
    assert EmrClusterSpec.model_validate({**base, "applications": ["Hadoop", "HBase"]}).idle_timeout_minutes is None
    assert EmrClusterSpec.model_validate({**base, "applications": ["Flink"]}).idle_timeout_minutes is None
    stated = {**base, "applications": ["HBase"], "idle_timeout_minutes": 120}
    assert EmrClusterSpec.model_validate(stated).idle_timeout_minutes == 120
    assert EmrClusterSpec.model_validate({**base, "applications": ["Spark"]}).idle_timeout_minutes == 60


def test_a_profile_naming_a_missing_zone_fails_in_the_settings_with_file_and_line(tmp_path: Path) -> None:
    # hbase-s3 keeps its store files in the curated zone, which this environment does not have.
    (tmp_path / "lake.yaml").write_text(
        "environment: lake\naccount: '111111111111'\nregion: eu-west-1\navailability_zones: [eu-west-1a]\n"
        "security: {in_transit_encryption: {certificates_zip: s3://pki/certs.zip}}\n"
        "storage: {data_zones: [raw]}\n"
        "clusters:\n  tables:\n    profile: hbase-s3\n    release_label: emr-7.13.0\n",
        encoding="utf-8",
    )
    with pytest.raises(SettingsError) as raised:
        load_settings("lake", tmp_path)
    message = str(raised.value)
    assert message.count("\n") == 0, message
    assert re.search(
        r"lake\.yaml:8: clusters\.tables\.configurations: .*data zone 'curated'.*hbase-s3.*Fix: add", message
    )
