"""Safe changes: no synthesis replaces or deletes a resource unless the committed baseline says so."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from emr_platform.tools.guard import STATEFUL_IDS, compare, main, replacing_properties, stack_templates, stateful_ids

from .conftest import PROJECT, Synthesized

BASELINE = PROJECT / "baseline"


def _template(name: str) -> dict[str, Any]:
    return dict(json.loads((BASELINE / f"emr-platform-{name}.template.json").read_text(encoding="utf-8")))


def _of_type(template: dict[str, Any], kind: str) -> str:
    return str(next(i for i, r in template["Resources"].items() if r["Type"] == kind))


def test_the_synthesis_replaces_nothing_of_the_committed_baseline(synthesized: Synthesized) -> None:
    changes = [str(c) for name, path in stack_templates(synthesized.outdir).items() for c in _changes(name, path)]
    assert changes == [], "\n".join(
        [*changes, "If intended: 'make guard-accept', and commit baseline/ with the change."]
    )


def _changes(name: str, path: Path) -> list[Any]:
    baseline = BASELINE / f"{name}.template.json"
    assert baseline.is_file(), f"no baseline for {name}: run 'make guard-accept' and commit baseline/"
    return compare(name, json.loads(baseline.read_text(encoding="utf-8")), json.loads(path.read_text(encoding="utf-8")))


def test_stateful_logical_ids_never_change(synthesized: Synthesized) -> None:
    recorded: dict[str, dict[str, str]] = json.loads((BASELINE / STATEFUL_IDS).read_text(encoding="utf-8"))
    problems = []
    for name, path in stack_templates(synthesized.outdir).items():
        now = stateful_ids(json.loads(path.read_text(encoding="utf-8")))
        for logical_id, kind in recorded[name].items():
            if logical_id not in now:
                problems.append(
                    f"{name}: the {kind} {logical_id} is gone. A renamed construct gets a new logical ID and "
                    "CloudFormation would delete the old resource and its data. Keep the old ID: "
                    f"resource.node.default_child.override_logical_id('{logical_id}'), or restore the construct id."
                )
        for logical_id in sorted(set(now) - set(recorded[name])):
            problems.append(f"{name}: new stateful resource {logical_id}: record it with 'make guard-accept'")
    assert problems == [], "\n".join(problems)


def test_replacing_properties_come_from_the_resource_schemas() -> None:
    cluster = replacing_properties("AWS::EMR::Cluster")
    assert {"/properties/ReleaseLabel", "/properties/Applications", "/properties/Configurations"} <= set(cluster)
    assert "/properties/SecurityConfiguration" in replacing_properties("AWS::EMR::SecurityConfiguration")
    assert "/properties/BucketName" in replacing_properties("AWS::S3::Bucket")
    assert "/properties/DatabaseName" in replacing_properties("AWS::Glue::Database")
    assert "/properties/ManagedScalingPolicy" not in cluster, "managed scaling updates in place"


def test_the_guard_names_a_release_change_in_plain_words() -> None:
    before = _template("prod")
    after = copy.deepcopy(before)
    cluster = _of_type(after, "AWS::EMR::Cluster")
    after["Resources"][cluster]["Properties"]["ReleaseLabel"] = "emr-7.12.0"
    after["Resources"][cluster]["Properties"]["ManagedScalingPolicy"]["ComputeLimits"]["MaximumCapacityUnits"] = 200
    [change] = compare("prod", before, after)
    assert str(change) == f"prod: changing `release_label` replaces the cluster ({cluster})"


def test_the_guard_names_a_security_configuration_change() -> None:
    before = _template("staging")
    after = copy.deepcopy(before)
    config = _of_type(after, "AWS::EMR::SecurityConfiguration")
    after["Resources"][config]["Properties"]["SecurityConfiguration"]["InstanceMetadataServiceConfiguration"] = {}
    [change] = compare("staging", before, after)
    assert "changing `security` replaces the security configuration (and so every cluster using it)" in str(change)


def test_the_guard_names_a_lost_bucket_and_how_to_keep_it() -> None:
    before = _template("dev")
    after = copy.deepcopy(before)
    bucket = _of_type(after, "AWS::S3::Bucket")
    after["Resources"][f"{bucket}Renamed"] = after["Resources"].pop(bucket)
    [change] = compare("dev", before, after)
    assert f"dev: {bucket} (AWS::S3::Bucket) is no longer in the template" in str(change)
    assert "delete the bucket and its data" in str(change) and "overrideLogicalId" in str(change)


@pytest.mark.parametrize("accepting", [False, True])
def test_make_guard_fails_until_the_baseline_is_accepted(tmp_path: Path, accepting: bool) -> None:
    assembly, baseline = tmp_path / "cdk.out", tmp_path / "baseline"
    assembly.mkdir()
    (assembly / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "emr-platform-prod": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "p.json"}}
                }
            }
        )
    )
    template = _template("prod")
    (assembly / "p.json").write_text(json.dumps(template))
    assert main([str(assembly), str(baseline), "--accept"]) == 0
    changed = copy.deepcopy(template)
    changed["Resources"][_of_type(changed, "AWS::EMR::Cluster")]["Properties"]["Applications"] = [{"Name": "Spark"}]
    (assembly / "p.json").write_text(json.dumps(changed))
    if accepting:
        assert main([str(assembly), str(baseline), "--accept"]) == 0
        assert main([str(assembly), str(baseline)]) == 0
    else:
        assert main([str(assembly), str(baseline)]) == 1
        (baseline / "emr-platform-prod.template.json").unlink()
        assert main([str(assembly), str(baseline)]) == 1, "a stack without a baseline is not a silent pass"


MAX_RESOURCES = 400  # CloudFormation allows 500 per stack; 400 leaves room for growth and the CDK's own
MAX_TEMPLATE_BYTES = 1_048_576  # CloudFormation's limit for a template uploaded through S3 (the CDK does so)
MAX_OUTPUTS = 200


def test_every_stack_stays_within_cloudformation_limits(synthesized: Synthesized) -> None:
    for name, path in stack_templates(synthesized.outdir).items():
        template = json.loads(path.read_text(encoding="utf-8"))
        resources, size = len(template["Resources"]), path.stat().st_size
        assert resources < MAX_RESOURCES, (
            f"{name} has {resources} resources, over this project's limit of {MAX_RESOURCES} (CloudFormation's: "
            "500). Fix: move clusters to a second environment file (a stack of its own), or fewer interface "
            "endpoints per VPC"
        )
        assert size < MAX_TEMPLATE_BYTES, f"{name}'s template is {size} bytes, over CloudFormation's 1 MiB"
        assert len(template.get("Outputs", {})) < MAX_OUTPUTS, f"{name} has too many outputs"
