"""Every compliance finding the app acknowledges instead of fixing, listed from a synthesized cloud assembly.

``python -m emr_platform.tools.findings cdk.out docs/compliance.md`` writes a Markdown document for review: per stack
(environment), each acknowledged finding with the construct it is acknowledged on and the reason the app gives,
grouped by top-level construct. ``--check`` compares instead of writing, and exits 1 while the file is stale.

Where things come from (nothing but the assembly is read, and no CDK code is imported):

- ``Validations.of(construct).acknowledge(Acknowledgment(id=..., reason=...))`` (cdk-nag rules, ``Annotation::...``,
  and checks of the CloudFormation validation plugin, ``CloudFormation-Validate::...``): aws-cdk-lib records each
  as construct metadata of type ``aws:cdk:acknowledged-rules`` (data: rule id -> reason) on that construct. The
  stack artifact of ``manifest.json`` holds its metadata, keyed by construct path, or names the file that does
  (``additionalMetadataFile``). An acknowledgement covers its construct and every construct below it.
- checkov skips: ``Metadata.checkov.skip`` (``[{"id": ..., "comment": ...}]``) of a template resource, whose
  construct is its ``aws:cdk:path`` (the CLI writes it; without it, the logical ID stands in).

``validation-report.json`` is not read: its ``suppressedViolations`` are only the acknowledgements that suppressed
a finding of the validation plugin in this synthesis, and the file exists only when that plugin ran; the metadata
holds every acknowledgement, whether anything matched it or not.

Example::

    stacks = read_findings(Path("cdk.out"))
    Path("docs/compliance.md").write_text(render_markdown(stacks), encoding="utf-8")
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from emr_platform.spec.errors import EmrPlatformError
from emr_platform.tools.assembly import (
    AssemblyError,
    in_assembly_format,
    load_manifest,
    stack_artifacts,
    stack_metadata,
    stack_template,
    write_generated,
)

ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"
"""The construct metadata type of ``Validations.acknowledge`` (aws-cdk-lib's ``ACKNOWLEDGED_RULES_METADATA_KEY``)."""

ACKNOWLEDGED = "acknowledged"
CHECKOV = "checkov"


def command(assembly_dir: Path | str = "cdk.out", output: Path | str = "docs/compliance.md") -> str:
    """The command that writes the document (after ``cdk synth``): the header and the errors name it."""
    return f"python -m emr_platform.tools.findings {assembly_dir} {output}"


STACK_ITSELF = "(the stack)"
"""The construct path shown for an acknowledgement on the stack construct itself."""


class FindingsError(AssemblyError):
    """The findings cannot be listed: no cloud assembly, files missing, unreadable or of another format, or an output
    that cannot be written."""


@dataclass(frozen=True, order=True)
class Finding:
    """One acknowledged finding.

    :param construct_path: the construct it is acknowledged on, below the stack (``Storage/LogsBucket``).
    :param source: :data:`ACKNOWLEDGED` (``Validations.acknowledge``) or :data:`CHECKOV` (a template skip).
    :param rule: the rule id as acknowledged (``Annotation::AwsSolutions-IAM5[Resource::*]``, ``CKV_AWS_18``).
    :param reason: why, as the app states it.
    """

    construct_path: str
    source: str
    rule: str
    reason: str

    @property
    def group(self) -> str:
        """The top-level construct the finding belongs to: the first part of its path."""
        return self.construct_path.split("/", 1)[0]


@dataclass(frozen=True)
class StackFindings:
    """The acknowledged findings of one stack.

    :param stack_name: the stack's artifact id (``emr-platform-dev``).
    :param environment: its account and region (``aws://111111111111/eu-west-1``), as the manifest states them.
    :param findings: sorted by construct path, source, rule and reason; each once.
    """

    stack_name: str
    environment: str
    findings: tuple[Finding, ...]

    def count(self, source: str) -> int:
        """How many findings come from ``source``."""
        return sum(1 for f in self.findings if f.source == source)

    @property
    def constructs(self) -> int:
        """How many constructs carry a finding."""
        return len({f.construct_path for f in self.findings})


# --- reading the assembly -----------------------------------------------------------------------------------------


def _below(path: str, stack_path: str) -> str:
    """``path`` (``/<stack>/a/b`` in the metadata, ``<stack>/a/b`` in ``aws:cdk:path``) relative to the stack."""
    path = path.removeprefix("/")
    if path == stack_path:
        return STACK_ITSELF
    return path.removeprefix(f"{stack_path}/")


def _acknowledged(metadata: Mapping[str, Sequence[Any]], stack_path: str) -> list[Finding]:
    """The ``Validations.acknowledge`` entries of the stack's construct metadata."""
    return [
        Finding(_below(path, stack_path), ACKNOWLEDGED, str(rule), str(reason))
        for path, entries in metadata.items()
        for entry in entries
        if entry.get("type") == ACKNOWLEDGED_RULES
        for rule, reason in (entry.get("data") or {}).items()
    ]


def _checkov_skips(resources: Mapping[str, Any], stack_path: str) -> list[Finding]:
    """The checkov checks the template's resources skip, on their constructs (or logical IDs)."""
    found: list[Finding] = []
    for logical_id, resource in resources.items():
        metadata = resource.get("Metadata") or {}
        cdk_path = metadata.get("aws:cdk:path")
        where = _below(cdk_path, stack_path) if isinstance(cdk_path, str) else f"{logical_id} (logical ID)"
        found += [
            Finding(where, CHECKOV, str(skip["id"]), str(skip.get("comment", "")))
            for skip in (metadata.get("checkov") or {}).get("skip") or ()
        ]
    return found


def _stack_findings(assembly_dir: Path, name: str, artifact: dict[str, Any]) -> StackFindings:
    stack_path = str(artifact.get("displayName") or name)
    metadata = stack_metadata(assembly_dir, artifact, error=FindingsError)
    resources = stack_template(assembly_dir, artifact, error=FindingsError).get("Resources") or {}
    findings = _acknowledged(metadata, stack_path) + _checkov_skips(resources, stack_path)
    return StackFindings(name, str(artifact.get("environment", "")), tuple(sorted(set(findings))))


def read_findings(assembly_dir: Path) -> tuple[StackFindings, ...]:
    """The acknowledged findings of every stack of the cloud assembly in ``assembly_dir``, by stack name.

    :raises FindingsError: no assembly, a file missing or unreadable, or files not in the cloud assembly format.
    """
    with in_assembly_format(assembly_dir, error=FindingsError):
        manifest = load_manifest(assembly_dir, error=FindingsError)
        return tuple(_stack_findings(assembly_dir, n, a) for n, a in stack_artifacts(manifest).items())


# --- Markdown -----------------------------------------------------------------------------------------------------


HEADER = f"""# Acknowledged compliance findings

Generated from the cloud assembly by `cdk synth` and `{command()}`; do not edit:
the tests (and the command with `--check`) fail while it differs from what the app synthesizes. Review it with
every change that acknowledges a finding: each row is a rule the app does not satisfy, where, and why that is
accepted.

- `Annotation::<rule>`: an annotation warning, as cdk-nag reports its rules (`AwsSolutions-IAM5`,
  `HIPAA.Security-LambdaDLQ`, ...), and `CloudFormation-Validate::<rule>`: a check of the CloudFormation validation
  plugin (cfn-lint rules such as `W3010`, Guard rules such as `s3_bucket_logging_enabled_check`); both acknowledged
  with `Validations.of(construct).acknowledge(...)` on the construct named, which covers it and the ones below it;
- checkov `<check>`: a checkov check the resource skips in its template metadata (`Metadata.checkov.skip`).

Rules acknowledged on the same construct for the same reason share a row. Construct paths are below the stack.
"""


def _cell(text: str) -> str:
    """``text`` on one line, safe in a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    """``text`` as inline code in a table cell (a longer fence when it holds a backtick)."""
    fence = "``" if "`" in text else "`"
    padding = " " if fence == "``" else ""
    return f"{fence}{padding}{_cell(text)}{padding}{fence}"


def _rule_text(finding: Finding) -> str:
    return f"checkov {_code(finding.rule)}" if finding.source == CHECKOV else _code(finding.rule)


def _environment_text(environment: str) -> str:
    """``aws://ACCOUNT/REGION`` as ``account ACCOUNT, region REGION``; anything else as it is."""
    account, _, region = environment.removeprefix("aws://").partition("/")
    return f"account {account}, region {region}" if environment.startswith("aws://") and region else environment


def _rows(findings: Iterable[Finding]) -> list[str]:
    """One table row per construct, source and reason, its rules one a line."""
    merged: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in findings:
        merged.setdefault((finding.construct_path, finding.source, finding.reason), []).append(finding)
    ordered = sorted(merged.items(), key=lambda item: (item[0][0], item[0][1], item[1][0].rule, item[0][2]))
    return [
        f"| {_code(path)} | {'<br>'.join(_rule_text(f) for f in same)} | {_cell(reason)} |"
        for (path, _, reason), same in ordered
    ]


def _summary(stacks: Sequence[StackFindings]) -> list[str]:
    lines = ["| stack | environment | acknowledged | checkov skips | constructs |", "|---|---|---|---|---|"]
    lines += [
        f"| [{s.stack_name}](#{s.stack_name.lower()}) | {_cell(_environment_text(s.environment))} | {s.count(ACKNOWLEDGED)} "
        f"| {s.count(CHECKOV)} | {s.constructs} |"
        for s in stacks
    ]
    return [*lines, ""]


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _stack_section(stack: StackFindings) -> list[str]:
    counts = (
        f"{_counted(stack.count(ACKNOWLEDGED), 'acknowledged finding')} and "
        f"{_counted(stack.count(CHECKOV), 'checkov skip')} on {_counted(stack.constructs, 'construct')}"
    )
    where = f", in {_environment_text(stack.environment)}" if stack.environment else ""
    lines = [f"## {stack.stack_name}", "", f"{counts}{where}.", ""]
    by_group = sorted(stack.findings, key=lambda f: (f.group.casefold(), f.group))
    for group, findings in groupby(by_group, key=lambda f: f.group):
        lines += [f"### {group}", "", "| construct | finding | reason |", "|---|---|---|"]
        lines += _rows(findings)
        lines.append("")
    return lines


def render_markdown(stacks: Sequence[StackFindings]) -> str:
    """The document of ``stacks``: the header, a summary table, then a section per stack; same input, same text."""
    lines = [HEADER, *_summary(stacks)]
    for stack in stacks:
        lines += _stack_section(stack)
    return "\n".join(lines).rstrip("\n") + "\n"


# --- command line -------------------------------------------------------------------------------------------------


USAGE = f"expected CDK_OUT OUTPUT.md [--check]. Fix: cdk --no-notices synth --quiet && {command()}"


def write_findings(assembly_dir: Path, output: Path) -> tuple[StackFindings, ...]:
    """List the findings of ``assembly_dir`` into ``output`` (folders created); what was listed."""
    stacks = read_findings(assembly_dir)
    write_generated(output, render_markdown(stacks), what="the findings", error=FindingsError)
    return stacks


def is_current(assembly_dir: Path, output: Path) -> bool:
    """Whether ``output`` holds exactly what :func:`write_findings` would write for ``assembly_dir``."""
    expected = render_markdown(read_findings(assembly_dir))
    try:
        return output.read_text(encoding="utf-8") == expected
    except (OSError, UnicodeDecodeError):
        return False


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m emr_platform.tools.findings CDK_OUT OUTPUT.md [--check]``: exit 0; with ``--check``, 1 while
    ``OUTPUT.md`` is stale or missing; 2 with one error line."""
    args = list(sys.argv[1:] if argv is None else argv)
    checking = "--check" in args
    paths = [a for a in args if a != "--check"]
    if len(paths) != 2 or any(a.startswith("-") for a in paths):
        print(f"error: {USAGE}", file=sys.stderr)
        return 2
    assembly, output = (Path(p) for p in paths)
    try:
        if checking:
            return _check(assembly, output)
        stacks = write_findings(assembly, output)
    except EmrPlatformError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    acknowledged, skips = (sum(s.count(source) for s in stacks) for source in (ACKNOWLEDGED, CHECKOV))
    print(f"wrote {output}: {acknowledged} acknowledged findings and {skips} checkov skips in {len(stacks)} stacks")
    return 0


def _check(assembly: Path, output: Path) -> int:
    if is_current(assembly, output):
        print(f"{output} is current")
        return 0
    print(
        f"error: {output} does not list the findings of the synthesis in {assembly}. "
        f"Fix: {command(assembly, output)} and commit {output}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
