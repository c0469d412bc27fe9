"""The architecture diagram (``emr_platform.tools.diagram``): drawn from the session's synthesis, deterministic, committed."""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from constructs import Construct

from emr_platform.constructs.shared import PlatformConstruct
from emr_platform.spec.metadata import CONSTRUCT_CLASS_METADATA
from emr_platform.tools.diagram import (
    Architecture,
    DiagramError,
    layers_of,
    layout,
    main,
    read_architecture,
    render_svg,
)
from tests.conftest import PROJECT, Synthesized, assert_cli_error_line

SVG = "{http://www.w3.org/2000/svg}"
DEV = "emr-platform-dev"
COMMITTED = PROJECT / "docs" / "architecture.svg"


@pytest.fixture(scope="module")
def dev(synthesized: Synthesized) -> Architecture:
    """What the diagram reads of the dev stack of the session's synthesis."""
    return read_architecture(synthesized.outdir, DEV)


def parse(svg: str) -> ET.Element:
    """``svg`` as an XML tree: it must parse."""
    return ET.fromstring(svg)  # noqa: S314 - the diagram's own output, not untrusted input


def boxes(svg: str) -> dict[str, str]:
    """Construct id -> class of every box of ``svg``."""
    root = parse(svg)
    return {g.attrib["data-id"]: g.attrib["data-class"] for g in root.iter(f"{SVG}g") if g.get("class") == "construct"}


def arrows(svg: str) -> set[tuple[str, str]]:
    """(from, to) of every arrow of ``svg``."""
    root = parse(svg)
    return {(p.attrib["data-from"], p.attrib["data-to"]) for p in root.iter(f"{SVG}path") if p.get("class") == "edge"}


def test_draws_a_box_per_platform_construct(synthesized: Synthesized, dev: Architecture) -> None:
    stack = synthesized.stacks["dev"]
    # Independent of the diagram's reading: the stack's children whose class is one of the package's constructs.
    expected = {
        c.node.id: type(c).__name__ for c in stack.node.children if type(c).__module__.startswith("emr_platform.")
    }
    assert {"Storage", "Network", "Catalog", "SecurityConfiguration", "analytics"} <= set(expected)
    assert boxes(render_svg(dev)) == {**expected, "CDK support": "providers"}
    assert {c.construct_id for c in dev.components} == set(expected)


def test_every_resource_belongs_to_a_box(synthesized: Synthesized, dev: Architecture) -> None:
    template = json.loads((synthesized.outdir / f"{DEV}.template.json").read_text(encoding="utf-8"))
    resources = [r for r in template["Resources"].values() if r["Type"] != "AWS::CDK::Metadata"]
    assert dev.resource_count == len(resources)
    drawn = sum(c.resource_count for c in dev.components) + (dev.support.resource_count if dev.support else 0)
    assert drawn == dev.resource_count
    storage = next(c for c in dev.components if c.construct_id == "Storage")
    assert dict(storage.resource_types)["AWS::S3::Bucket"] >= 2
    assert f"{dev.resource_count} CloudFormation resources" in render_svg(dev)


def test_draws_the_dependencies_the_template_has(dev: Architecture) -> None:
    expected = {
        ("analytics", "Storage"),  # log bucket, KMS key, data buckets in the instance role's policy
        ("analytics", "Network"),  # subnets and VPC of the security groups
        ("analytics", "SecurityConfiguration"),
        ("analyticsMonitoring", "analytics"),
        ("weblogs", "Storage"),
        ("StepCompleted", "Crawlers"),
    }
    assert expected <= set(dev.edges)
    assert expected <= arrows(render_svg(dev))
    assert all(a != b for a, b in dev.edges)


def test_foundations_on_the_left_clusters_in_the_middle_operations_on_the_right(dev: Architecture) -> None:
    layer = layers_of([c.construct_id for c in dev.components], dev.edges)
    assert layer["Storage"] == 0
    assert layer["Storage"] < layer["Network"] < layer["analytics"] < layer["analyticsMonitoring"]
    assert layer["SecurityConfiguration"] < layer["analytics"]


def test_boxes_and_arrow_crossings_do_not_overlap(dev: Architecture) -> None:
    plan = layout(dev)
    for column in plan.columns:
        spans = [
            (plan.slots[k].center - plan.slots[k].height / 2, plan.slots[k].center + plan.slots[k].height / 2)
            for k in column
        ]
        for (_, bottom), (top, _) in itertools.pairwise(spans):
            assert top >= bottom + 8, f"column {column}: slots overlap"


def test_committed_diagram_is_current(dev: Architecture) -> None:
    assert COMMITTED.is_file(), (
        "docs/architecture.svg is missing. Fix: run make diagram and commit docs/architecture.svg"
    )
    assert COMMITTED.read_text(encoding="utf-8") == render_svg(dev), (
        "docs/architecture.svg does not show the current app. Fix: run make diagram and commit docs/architecture.svg"
    )


def test_cli_writes_the_file(synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out" / "architecture.svg"
    assert main([str(synthesized.outdir), DEV, str(output)]) == 0
    assert output.read_text(encoding="utf-8") == render_svg(read_architecture(synthesized.outdir, DEV))
    assert f"wrote {output}" in capsys.readouterr().out


def test_fails_for_an_unknown_stack(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "architecture.svg"
    assert main([str(synthesized.outdir), "emr-platform-nope", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert "'emr-platform-nope'" in err
    assert f"Fix: use one of: {DEV}" in err
    assert not output.exists()
    with pytest.raises(DiagramError, match="no stack of that name"):
        read_architecture(synthesized.outdir, "emr-platform-nope")


def test_fails_without_an_assembly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "cdk.out"), DEV, str(tmp_path / "a.svg")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no cloud assembly here" in err and "Fix: run 'make synth' first" in err
    assert main([str(tmp_path)]) == 2
    assert "Fix: python -m emr_platform.tools.diagram cdk.out" in capsys.readouterr().err


def test_fails_without_a_traceback_from_the_command_line(tmp_path: Path) -> None:
    assert_cli_error_line("emr_platform.tools.diagram", str(tmp_path), DEV, str(tmp_path / "a.svg"))


def _assembly(directory: Path, resources: dict[str, Any], tree: dict[str, Any], metadata: Any) -> Path:
    """A hand-made cloud assembly with one stack ``S``: the parts of the format the diagram reads."""
    directory.mkdir()
    stack = {
        "type": "aws:cloudformation:stack",
        "properties": {"templateFile": "S.template.json"},
        "metadata": metadata,
    }
    manifest = {"artifacts": {"S": stack, "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}}}}
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (directory / "S.template.json").write_text(json.dumps({"Resources": resources}), encoding="utf-8")
    (directory / "tree.json").write_text(json.dumps({"tree": {"children": {"S": tree}}}), encoding="utf-8")
    return directory


def _l1(path: str, logical_id: str | None = None) -> dict[str, Any]:
    attributes = {"aws:cdk:cloudformation:logicalId": logical_id} if logical_id else {}
    return {"path": path, "constructInfo": {"fqn": "aws-cdk-lib.CfnResource"}, "attributes": attributes}


def test_draws_cycles_escapes_text_and_prefers_recorded_classes(tmp_path: Path) -> None:
    resources = {
        "AlphaRes": {"Type": "AWS::SNS::Topic", "Properties": {"Target": {"Ref": "BetaRes"}}},
        # Fn::Sub with its own variables: ${Local} is its variable and ${!Literal} literal text, though both name
        # resources (of Delta); only ${AlphaRes.TopicArn} is a reference.
        "BetaRes": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"P": {"Fn::Sub": ["${AlphaRes.TopicArn}/${Local}/${!Literal}", {"Local": "x"}]}},
        },
        # A custom resource: the CDK's generic CfnResource records no logical ID in tree.json; the CLI's
        # aws:cdk:path metadata names its construct.
        "GammaCustomA1B2C3D4": {
            "Type": "Custom::Thing",
            "Properties": {"X": {"Fn::GetAtt": ["BetaRes", "Arn"]}},
            "Metadata": {"aws:cdk:path": "S/Gam<ma>&/Custom/Default"},
        },
        "Local": {"Type": "AWS::SNS::Topic"},
        "Literal": {"Type": "AWS::SNS::Topic"},
    }
    tree = {
        "id": "S",
        "path": "S",
        "children": {
            "Alpha": {"path": "S/Alpha", "children": {"Res": _l1("S/Alpha/Res", "AlphaRes")}},
            "Beta": {"path": "S/Beta", "children": {"Res": _l1("S/Beta/Res", "BetaRes")}},
            "Gam<ma>&": {"path": "S/Gam<ma>&", "children": {"Custom": _l1("S/Gam<ma>&/Custom")}},
            "Delta": {
                "path": "S/Delta",
                "children": {"Local": _l1("S/Delta/Local", "Local"), "Literal": _l1("S/Delta/Literal", "Literal")},
            },
            "Out": {"path": "S/Out", "constructInfo": {"fqn": "aws-cdk-lib.CfnOutput"}},
            "Asset": {"path": "S/Asset", "constructInfo": {"fqn": "aws-cdk-lib.aws_s3_assets.Asset"}},
        },
    }
    metadata = {"/S/Alpha": [{"type": CONSTRUCT_CLASS_METADATA, "data": "AlphaThing"}]}
    architecture = read_architecture(_assembly(tmp_path / "cdk.out", resources, tree, metadata), "S")

    assert [c.construct_id for c in architecture.components] == ["Alpha", "Beta", "Gam<ma>&", "Delta"]
    assert architecture.empty == ("Asset",)
    assert set(architecture.edges) == {("Alpha", "Beta"), ("Beta", "Alpha"), ("Gam<ma>&", "Beta")}
    layer = layers_of(["Alpha", "Beta", "Gam<ma>&"], architecture.edges)
    assert layer["Alpha"] != layer["Beta"]  # a cycle still gives two columns
    svg = render_svg(architecture)
    assert boxes(svg) == {"Alpha": "AlphaThing", "Beta": "Construct", "Gam<ma>&": "Construct", "Delta": "Construct"}
    assert "Gam&lt;ma&gt;&amp;" in svg
    assert arrows(svg) == set(architecture.edges)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # A custom resource of an app synthesized without the CLI's path metadata: no construct holds it.
        ("no-path-metadata", "with no construct in tree.json"),
        ("metadata-of-another-shape", "not in the format this tool reads"),
        ("tree-of-another-shape", "not in the format this tool reads"),
    ],
)
def test_fails_on_assemblies_it_cannot_read_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    resources: dict[str, Any] = {
        "AlphaRes": {"Type": "AWS::SNS::Topic"},
        "GammaCustomA1B2C3D4": {"Type": "Custom::Thing", "Metadata": {"aws:cdk:path": "S/Gamma/Custom/Default"}},
    }
    tree: dict[str, Any] = {
        "id": "S",
        "path": "S",
        "children": {
            "Alpha": {"path": "S/Alpha", "children": {"Res": _l1("S/Alpha/Res", "AlphaRes")}},
            "Gamma": {"path": "S/Gamma", "children": {"Custom": _l1("S/Gamma/Custom")}},
        },
    }
    metadata: Any = {}
    assert read_architecture(_assembly(tmp_path / "good", resources, tree, metadata), "S").components
    if case == "no-path-metadata":
        del resources["GammaCustomA1B2C3D4"]["Metadata"]
    elif case == "metadata-of-another-shape":
        metadata = ["not a mapping"]
    else:
        tree["children"]["Alpha"]["children"] = ["Res"]
    assembly = _assembly(tmp_path / "bad", resources, tree, metadata)
    with pytest.raises(DiagramError, match=expected):
        read_architecture(assembly, "S")
    assert main([str(assembly), "S", str(tmp_path / "a.svg")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Fix: " in err


def test_a_platform_construct_records_its_python_class() -> None:
    class Thing(PlatformConstruct):
        pass

    stack = Stack(App(), "S")
    thing = Thing(stack, "Thing")
    Construct(stack, "Plain")
    assert [(e.type, e.data) for e in thing.node.metadata] == [(CONSTRUCT_CLASS_METADATA, "Thing")]
    assert not stack.node.find_child("Plain").node.metadata
