"""Layout per_cluster: a foundation stack and a stack per cluster, at scale, and what the guard sees across them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from emr_platform.app import build_app
from emr_platform.spec.errors import SettingsError
from emr_platform.spec.settings import load_settings
from emr_platform.tools import guard
from emr_platform.tools.replacement import STATEFUL_TYPES

from .conftest import PROJECT

# CloudFormation's quotas per stack ("AWS CloudFormation quotas"): resources, outputs, parameters, and the size
# of a template the CLI uploads to S3.
MAX_RESOURCES, MAX_OUTPUTS, MAX_PARAMETERS, MAX_TEMPLATE_BYTES = 500, 200, 200, 1_000_000
CLUSTERS = 50


def _settings(**changes: Any) -> dict[str, Any]:
    settings = dict(yaml.safe_load((PROJECT / "config" / "dev.yaml").read_text(encoding="utf-8")))
    settings.update(changes)
    return settings


def _synthesize(folder: Path, settings: dict[str, Any], context: dict[str, object]) -> Path:
    config = folder / "config"
    config.mkdir(parents=True)
    (config / "dev.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    out = folder / "cdk.out"
    build_app(config_dir=config, context={**context, "env": "dev"}, outdir=str(out)).synth()  # every gate
    return out


def _templates(assembly: Path) -> dict[str, dict[str, Any]]:
    return {
        name: json.loads(path.read_text(encoding="utf-8")) for name, path in guard.stack_templates(assembly).items()
    }


@pytest.fixture(scope="module")
def fifty(context: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dev with 50 long-running clusters (and its transient one), layout per_cluster, through every gate."""
    cluster = next(iter(_settings()["clusters"].values()))
    settings = _settings(
        clusters={f"team{i:02d}": cluster for i in range(1, CLUSTERS + 1)}, stacks={"layout": "per_cluster"}
    )
    return _synthesize(tmp_path_factory.mktemp("fifty"), settings, context)


def test_fifty_clusters_synthesize_with_every_stack_under_cloudformation_limits(fifty: Path) -> None:
    templates = _templates(fifty)
    assert len(templates) == 1 + CLUSTERS + 1  # the foundation, a stack per cluster, the transient one's
    for name, template in templates.items():
        size = (fifty / f"{name}.template.json").stat().st_size
        assert len(template["Resources"]) <= MAX_RESOURCES, name
        assert len(template.get("Outputs", {})) <= MAX_OUTPUTS, name
        assert len(template.get("Parameters", {})) <= MAX_PARAMETERS, name
        assert size <= MAX_TEMPLATE_BYTES, name
    foundation = templates["emr-platform-dev"]
    # The foundation's size does not grow with the clusters: nothing of theirs is in it.
    assert len(foundation["Resources"]) < 100
    assert not [r for r in foundation["Resources"].values() if r["Type"] == "AWS::EMR::Cluster"]


def test_cluster_stacks_hold_no_data_and_read_the_foundation_without_exports(fifty: Path) -> None:
    templates = _templates(fifty)
    manifest = json.loads((fifty / "manifest.json").read_text(encoding="utf-8"))
    for name, template in templates.items():
        text = json.dumps(template)
        assert "Fn::ImportValue" not in text and "Export" not in json.dumps(template.get("Outputs", {})), name
        if name == "emr-platform-dev":
            continue
        kinds = {r["Type"] for r in template["Resources"].values()}
        assert not kinds & {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Glue::Database"}, name
        assert template["Parameters"], f"{name} reads the foundation's parameters"
        stacks = [d for d in manifest["artifacts"][name]["dependencies"] if not d.endswith(".assets")]
        assert stacks == ["emr-platform-dev"], name


def test_the_guard_follows_a_foundation_change_into_every_cluster_stack(
    fifty: Path, context: dict[str, object], tmp_path: Path
) -> None:
    """A security configuration change replaces it in the foundation: the name the cluster stacks read changes,
    and so each of their clusters is replaced at its next deployment, though its template is the same."""
    cluster = next(iter(_settings()["clusters"].values()))
    settings = _settings(clusters={f"team{i:02d}": cluster for i in range(1, 4)}, stacks={"layout": "per_cluster"})
    before = _synthesize(tmp_path / "before", settings, context)
    security = {**settings["security"], "require_imdsv2": not settings["security"].get("require_imdsv2", True)}
    after = _synthesize(tmp_path / "after", {**settings, "security": security}, context)
    verdicts = guard.check(after, before)
    [root] = [v for v in verdicts if v.resource_type == "AWS::EMR::SecurityConfiguration"]
    assert root.stack == "emr-platform-dev"
    followers = " ".join(root.followers)
    assert all(f"cluster team{i:02d}" in followers for i in range(1, 4)), root.followers
    unchanged = _templates(before)["emr-platform-dev-team01"] == _templates(after)["emr-platform-dev-team01"]
    assert unchanged, "the cluster stack's own template does not change: only the guard can tell"


def test_the_move_to_per_cluster_keeps_every_bucket_key_and_database_in_place(
    context: dict[str, object], tmp_path: Path
) -> None:
    """The migration's plan as the guard reads it: the foundation keeps the name and the logical IDs of the single
    stack, so no bucket, key or database moves or is replaced; what moves are the clusters (replaced: EMR cannot
    move one) and the transient cluster's log groups (kept, then taken into its stack by ``ops migrate``)."""
    single = _synthesize(tmp_path / "single", _settings(), context)
    split = _synthesize(tmp_path / "split", _settings(stacks={"layout": "per_cluster"}), context)
    verdicts = guard.check(split, single)
    touched = {v.logical_id for v in verdicts} | {f.split("(")[-1].rstrip(")") for v in verdicts for f in v.followers}
    foundation = _templates(single)["emr-platform-dev"]["Resources"]
    data = {
        i for i, r in foundation.items() if r["Type"] in {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Glue::Database"}
    }
    assert len(data) == 9 and not data & touched
    moves = [v for v in verdicts if v.cause.startswith("moves from stack emr-platform-dev to ")]
    assert {v.stack for v in moves} == {"emr-platform-dev-analytics", "emr-platform-dev-weblogs"}
    assert {v.resource_type for v in moves} == {"AWS::EMR::Cluster", "AWS::Logs::LogGroup"}
    assert not [
        v for v in verdicts if v.action == "fail" or (v.resource_type in STATEFUL_TYPES and v.action == "delete")
    ]


def test_groups_share_a_stack(context: dict[str, object], tmp_path: Path) -> None:
    settings = _settings(stacks={"layout": "per_cluster", "groups": {"batch": ["analytics", "weblogs"]}})
    config = tmp_path / "config"
    config.mkdir()
    (config / "dev.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    loaded = load_settings("dev", config)
    assert loaded.stack_names() == ("emr-platform-dev", "emr-platform-dev-batch")
    assert loaded.cluster_stacks() == {"batch": ("analytics", "weblogs")}


@pytest.mark.parametrize(
    ("stacks", "expected"),
    [
        ({"layout": "single", "groups": {"batch": ["analytics"]}}, "groups need layout per_cluster"),
        ({"layout": "per_cluster", "groups": {"batch": ["nope"]}}, "stacks.groups.batch: no cluster 'nope'"),
        (
            {"layout": "per_cluster", "groups": {"analytics": ["weblogs"]}},
            "group 'analytics' is also a cluster of its own stack",
        ),
        (
            {"layout": "per_cluster", "groups": {"a1": ["weblogs"], "b1": ["weblogs"]}},
            "cluster 'weblogs' is in groups 'a1' and 'b1'",
        ),
        ({"layout": "stacked"}, "stacks.layout"),
    ],
)
def test_fails_on_a_bad_stack_layout_with_the_field_and_the_fix(
    tmp_path: Path, stacks: dict[str, Any], expected: str
) -> None:
    config = tmp_path / "config"
    shutil.copytree(PROJECT / "config", config)
    (config / "dev.yaml").write_text(yaml.safe_dump(_settings(stacks=stacks)), encoding="utf-8")
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", config)
    assert expected in str(raised.value) and "Fix:" in str(raised.value)


def test_a_large_group_keeps_its_stack_description_within_cloudformations_1024_bytes() -> None:
    from emr_platform.constructs.platform import _cluster_stack_description  # noqa: PLC0415 - the rule itself

    names = [f"cluster-with-a-long-name-{i:02d}" for i in range(50)]
    text = _cluster_stack_description("dev", "batch", names)
    assert len(text.encode("utf-8")) <= 1024 and text.startswith("EMR data platform, environment dev, stack batch: ")
    assert text.endswith("more") and "cluster-with-a-long-name-00" in text
    assert _cluster_stack_description("dev", "a", ["a"]) == "EMR data platform, environment dev, stack a: a"


def test_another_teams_app_gets_cluster_stacks_beside_its_own(context: dict[str, object], tmp_path: Path) -> None:
    """``EmrDataPlatform`` in a team's own stack, layout per_cluster: the clusters go to stacks beside it, named
    after it, and the whole app passes every gate."""
    from aws_cdk import App, Environment, Stack  # noqa: PLC0415 - a user's app, built here

    from emr_platform.constructs import EmrDataPlatform  # noqa: PLC0415
    from emr_platform.constructs.compliance import add_compliance_checks  # noqa: PLC0415

    settings = _settings(stacks={"layout": "per_cluster"})
    for key in ("environment", "account", "region"):
        settings.pop(key)
    app = App(context={k: v for k, v in context.items() if k != "aws:cdk:enable-path-metadata"}, outdir=str(tmp_path))
    stack = Stack(app, "team-data", env=Environment(account="111111111111", region="eu-west-1"))
    platform = EmrDataPlatform(stack, "Platform", spec=settings)
    add_compliance_checks(app)
    app.synth()  # every gate
    assert sorted(platform.cluster_stacks) == ["analytics", "weblogs"]
    assert {s.node.id for s in platform.cluster_stacks.values()} == {"team-data-analytics", "team-data-weblogs"}
    templates = _templates(tmp_path)
    assert "Fn::ImportValue" not in json.dumps(templates)
