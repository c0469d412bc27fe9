"""The list of acknowledged findings (``emr_platform.tools.findings``): complete, deterministic, committed, and one
error line for an assembly it cannot read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emr_platform.tools.findings import (
    ACKNOWLEDGED,
    ACKNOWLEDGED_RULES,
    CHECKOV,
    STACK_ITSELF,
    Finding,
    FindingsError,
    StackFindings,
    main,
    read_findings,
    render_markdown,
)
from tests.conftest import PROJECT, Synthesized, assert_cli_error_line

COMMITTED = PROJECT / "docs" / "compliance.md"
FIX = "Fix: run 'cdk --no-notices synth --quiet && python -m emr_platform.tools.findings cdk.out docs/compliance.md' and commit docs/compliance.md"


@pytest.fixture(scope="module")
def listed(synthesized: Synthesized) -> dict[str, StackFindings]:
    """What the tool lists of the session's synthesis, by stack name."""
    return {s.stack_name: s for s in read_findings(synthesized.outdir)}


def _listed(stack: StackFindings, source: str) -> set[tuple[str, str, str]]:
    return {(f.construct_path, f.rule, f.reason) for f in stack.findings if f.source == source}


def test_lists_every_acknowledgement_of_the_construct_tree(
    synthesized: Synthesized, listed: dict[str, StackFindings]
) -> None:
    assert sorted(listed) == sorted(s.stack_name for s in synthesized.stacks.values())
    for stack in synthesized.stacks.values():
        # Independent of the tool's reading: the metadata the constructs themselves hold in the app.
        expected = {
            (
                construct.node.path.removeprefix(f"{stack.node.path}/") if construct is not stack else STACK_ITSELF,
                rule,
                reason,
            )
            for construct in stack.node.find_all()
            for entry in construct.node.metadata
            if entry.type == ACKNOWLEDGED_RULES
            for rule, reason in entry.data.items()
        }
        assert len(expected) > 20
        assert _listed(listed[stack.stack_name], ACKNOWLEDGED) == expected


def test_lists_every_checkov_skip_of_the_templates(synthesized: Synthesized, listed: dict[str, StackFindings]) -> None:
    for env, template in synthesized.templates.items():
        stack = synthesized.stacks[env]
        expected = {
            (resource["Metadata"]["aws:cdk:path"].removeprefix(f"{stack.node.path}/"), skip["id"], skip["comment"])
            for resource in template.to_json()["Resources"].values()
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        }
        assert expected
        assert _listed(listed[stack.stack_name], CHECKOV) == expected


def test_lists_what_the_validation_report_suppressed(
    synthesized: Synthesized, listed: dict[str, StackFindings]
) -> None:
    report = json.loads((synthesized.outdir / "validation-report.json").read_text(encoding="utf-8"))
    suppressed = {
        (v["acknowledgedAt"], v["acknowledgedId"], v["reason"])
        for plugin in report["pluginReports"]
        for v in plugin.get("suppressedViolations", [])
    }
    assert suppressed, "the synthesis suppressed no violation of the validation plugin: this test checks nothing"
    listed_paths = {
        (f"{stack}/{f.construct_path}", f.rule, f.reason) for stack, s in listed.items() for f in s.findings
    }
    assert suppressed <= listed_paths


def test_committed_document_is_current(listed: dict[str, StackFindings]) -> None:
    assert COMMITTED.is_file(), f"docs/compliance.md is missing. {FIX}"
    assert COMMITTED.read_text(encoding="utf-8") == render_markdown(tuple(listed.values())), (
        f"docs/compliance.md does not list the findings the app acknowledges now. {FIX}"
    )


def test_check_mode_fails_while_the_document_is_stale(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "docs" / "compliance.md"
    assert main([str(synthesized.outdir), str(output), "--check"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Fix: python -m emr_platform.tools.findings" in err
    assert main([str(synthesized.outdir), str(output)]) == 0
    assert "wrote " in capsys.readouterr().out
    assert main([str(synthesized.outdir), str(output), "--check"]) == 0
    output.write_text(output.read_text(encoding="utf-8").replace("| ", "|  ", 1), encoding="utf-8")
    assert main([str(synthesized.outdir), str(output), "--check"]) == 1


# --- small hand-made assemblies -----------------------------------------------------------------------------------


def _assembly(
    directory: Path,
    metadata: Any,
    resources: dict[str, Any] | None = None,
    *,
    in_file: bool = True,
    stack: str = "S",
) -> Path:
    """A cloud assembly with one stack: its metadata in the manifest or (``in_file``) in a metadata file."""
    directory.mkdir(exist_ok=True)
    artifact: dict[str, Any] = {
        "type": "aws:cloudformation:stack",
        "environment": "aws://123456789012/eu-west-1",
        "properties": {"templateFile": f"{stack}.template.json"},
        "displayName": stack,
    }
    if in_file:
        artifact["additionalMetadataFile"] = f"{stack}.metadata.json"
        (directory / f"{stack}.metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    else:
        artifact["metadata"] = metadata
    manifest_file = directory / "manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.exists() else {"artifacts": {}}
    manifest["artifacts"][stack] = artifact
    manifest_file.write_text(json.dumps(manifest), encoding="utf-8")
    template = {"Resources": resources or {}}
    (directory / f"{stack}.template.json").write_text(json.dumps(template), encoding="utf-8")
    return directory


def _ack(**rules: str) -> dict[str, Any]:
    return {"type": ACKNOWLEDGED_RULES, "data": rules, "trace": ["..."]}


METADATA: dict[str, Any] = {
    "/S": [_ack(**{"Annotation::Stack-Wide": "On the stack itself."})],
    "/S/Storage/Bucket": [
        {"type": "aws:cdk:logicalId", "data": "StorageBucket1234"},
        _ack(**{"Annotation::HIPAA.Security-S3BucketReplicationEnabled": "No replica | by design.\n Costs double."}),
        _ack(**{"Annotation::NIST.800.53.R5-S3BucketReplicationEnabled": "No replica | by design.\n Costs double."}),
        _ack(**{"CloudFormation-Validate::s3_bucket_logging_enabled_check": "It is the log bucket."}),
    ],
    "/S/analytics/Roles/InstanceRole": [_ack(**{"Annotation::AwsSolutions-IAM5[Resource::`x`/*]": "Own bucket."})],
}
RESOURCES: dict[str, Any] = {
    "StorageBucket1234": {
        "Type": "AWS::S3::Bucket",
        "Metadata": {
            "aws:cdk:path": "S/Storage/Bucket/Resource",
            "checkov": {"skip": [{"id": "CKV_AWS_18", "comment": "It is the log bucket."}]},
        },
    },
    "Orphan": {"Type": "AWS::SNS::Topic", "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_26", "comment": "Why."}]}}},
    "Plain": {"Type": "AWS::SNS::Topic"},
}


@pytest.mark.parametrize("in_file", [True, False])
def test_reads_the_metadata_where_the_manifest_keeps_it(tmp_path: Path, in_file: bool) -> None:
    [stack] = read_findings(_assembly(tmp_path / "cdk.out", METADATA, RESOURCES, in_file=in_file))
    assert stack.stack_name == "S" and stack.environment == "aws://123456789012/eu-west-1"
    assert stack.findings == tuple(
        sorted(
            [
                Finding(STACK_ITSELF, ACKNOWLEDGED, "Annotation::Stack-Wide", "On the stack itself."),
                Finding(
                    "Storage/Bucket",
                    ACKNOWLEDGED,
                    "Annotation::HIPAA.Security-S3BucketReplicationEnabled",
                    "No replica | by design.\n Costs double.",
                ),
                Finding(
                    "Storage/Bucket",
                    ACKNOWLEDGED,
                    "Annotation::NIST.800.53.R5-S3BucketReplicationEnabled",
                    "No replica | by design.\n Costs double.",
                ),
                Finding(
                    "Storage/Bucket",
                    ACKNOWLEDGED,
                    "CloudFormation-Validate::s3_bucket_logging_enabled_check",
                    "It is the log bucket.",
                ),
                Finding(
                    "analytics/Roles/InstanceRole",
                    ACKNOWLEDGED,
                    "Annotation::AwsSolutions-IAM5[Resource::`x`/*]",
                    "Own bucket.",
                ),
                Finding("Storage/Bucket/Resource", CHECKOV, "CKV_AWS_18", "It is the log bucket."),
                Finding("Orphan (logical ID)", CHECKOV, "CKV_AWS_26", "Why."),
            ]
        )
    )
    assert (stack.count(ACKNOWLEDGED), stack.count(CHECKOV), stack.constructs) == (5, 2, 5)


def test_renders_groups_rows_and_escapes(tmp_path: Path) -> None:
    text = render_markdown(read_findings(_assembly(tmp_path / "cdk.out", METADATA, RESOURCES)))
    assert text.startswith("# Acknowledged compliance findings\n\nGenerated from the cloud assembly by `cdk synth` and")
    assert "`python -m emr_platform.tools.findings cdk.out docs/compliance.md`" in text
    assert "| [S](#s) | account 123456789012, region eu-west-1 | 5 | 2 | 5 |" in text
    assert (
        "5 acknowledged findings and 2 checkov skips on 5 constructs, in account 123456789012, region eu-west-1."
        in text
    )
    # Groups by top-level construct, case-insensitively sorted; rows of one construct and reason merged.
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert headings == ["### (the stack)", "### analytics", "### Orphan (logical ID)", "### Storage"]
    assert (
        "| `Storage/Bucket` | `Annotation::HIPAA.Security-S3BucketReplicationEnabled`<br>"
        "`Annotation::NIST.800.53.R5-S3BucketReplicationEnabled` | No replica \\| by design. Costs double. |"
    ) in text
    assert "| `Storage/Bucket/Resource` | checkov `CKV_AWS_18` | It is the log bucket. |" in text
    assert "| `` Annotation::AwsSolutions-IAM5[Resource::`x`/*] `` | Own bucket. |" in text
    assert text.endswith(" |\n") and "\n\n\n" not in text


def test_same_assembly_same_text_whatever_the_order(tmp_path: Path) -> None:
    first = render_markdown(read_findings(_assembly(tmp_path / "a", METADATA, RESOURCES)))
    reordered = {path: list(reversed(entries)) for path, entries in reversed(METADATA.items())}
    second = render_markdown(read_findings(_assembly(tmp_path / "b", reordered, dict(reversed(RESOURCES.items())))))
    assert first == second


def test_every_stack_in_name_order_even_without_findings(tmp_path: Path) -> None:
    assembly = _assembly(tmp_path / "cdk.out", METADATA, RESOURCES, stack="b-stack")
    _assembly(assembly, {}, {}, stack="a-stack", in_file=False)
    stacks = read_findings(assembly)
    assert [s.stack_name for s in stacks] == ["a-stack", "b-stack"]
    assert stacks[0].findings == ()
    text = render_markdown(stacks)
    assert "0 acknowledged findings and 0 checkov skips on 0 constructs" in text
    assert text.index("## a-stack") < text.index("## b-stack")


# --- errors: one line, no traceback -------------------------------------------------------------------------------


def _error_line(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Fix: " in err
    return err


def test_fails_without_an_assembly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "compliance.md"
    err = _error_line(capsys, str(tmp_path / "cdk.out"), str(output))
    assert "no cloud assembly here" in err and "Fix: run 'make synth' first" in err
    assert not output.exists()
    assert "expected CDK_OUT OUTPUT.md" in _error_line(capsys, str(tmp_path))
    assert "expected CDK_OUT OUTPUT.md" in _error_line(capsys, str(tmp_path), str(output), "--force")


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("metadata-file-missing", "the stack metadata is missing"),
        ("metadata-file-not-json", "the stack metadata cannot be read (JSONDecodeError"),
        ("template-missing", "the stack template is missing"),
        ("manifest-not-json", "the assembly manifest cannot be read"),
        ("metadata-entry-not-a-mapping", "not in the format this tool reads"),
        ("skip-without-id", "not in the format this tool reads"),
    ],
)
def test_fails_on_assemblies_it_cannot_read_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str, expected: str
) -> None:
    metadata: Any = dict(METADATA)
    resources = json.loads(json.dumps(RESOURCES))
    if damage == "metadata-entry-not-a-mapping":
        metadata["/S/Storage/Bucket"] = ["not a mapping"]
    if damage == "skip-without-id":
        del resources["Orphan"]["Metadata"]["checkov"]["skip"][0]["id"]
    assembly = _assembly(tmp_path / "cdk.out", metadata, resources)
    damaged = {
        "metadata-file-missing": assembly / "S.metadata.json",
        "metadata-file-not-json": assembly / "S.metadata.json",
        "template-missing": assembly / "S.template.json",
        "manifest-not-json": assembly / "manifest.json",
    }.get(damage)
    if damaged is not None and damage.endswith("missing"):
        damaged.unlink()
    elif damaged is not None:
        damaged.write_text("{ not json", encoding="utf-8")
    with pytest.raises(FindingsError, match=expected.replace("(", r"\(")):
        read_findings(assembly)
    assert expected in _error_line(capsys, str(assembly), str(tmp_path / "compliance.md"))


def test_fails_on_an_output_it_cannot_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assembly = _assembly(tmp_path / "cdk.out", METADATA, RESOURCES)
    (tmp_path / "taken").mkdir()
    assert "cannot write the findings" in _error_line(capsys, str(assembly), str(tmp_path / "taken"))


def test_fails_without_a_traceback_from_the_command_line(tmp_path: Path) -> None:
    assert_cli_error_line("emr_platform.tools.findings", str(tmp_path), str(tmp_path / "compliance.md"))
