"""Reading a synthesized CDK cloud assembly (``cdk.out``): the manifest's stack artifacts, their templates and their
construct metadata.

Shared by the replacement guard, the synthesis summary, the architecture diagram and the list of acknowledged
findings, which all start from the stacks the manifest lists. Every reader takes the tool's own error class
(``error``, an :class:`AssemblyError`): no assembly, a file missing or unreadable, or files of another format end
the tool with one line that names the file and the fix, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emr_platform.spec.errors import EmrPlatformError

STACK_ARTIFACT = "aws:cloudformation:stack"
MANIFEST = "manifest.json"

FORMAT_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError)
"""What reading a file of another format raises: a key that is not there, a list where a mapping should be, ..."""


class AssemblyError(EmrPlatformError):
    """A cloud assembly a tool cannot read: none there, a file missing or unreadable, or files of another format."""


def read_json(path: Path, what: str, *, error: type[AssemblyError] = AssemblyError) -> Any:
    """The JSON document at ``path`` (``what`` names it in the error: ``stack template``)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as failure:  # JSONDecodeError is a ValueError
        missing = isinstance(failure, FileNotFoundError)
        problem = f"the {what} is missing" if missing else f"the {what} cannot be read"
        detail = "" if missing else f" ({type(failure).__name__}: {failure})"
        raise error(
            where=str(path), problem=problem + detail, show_value=False, fix="synthesize again: make synth"
        ) from None


def load_manifest(assembly_dir: Path, *, error: type[AssemblyError] = AssemblyError) -> dict[str, Any]:
    """The assembly's ``manifest.json``; ``error`` when ``assembly_dir`` holds no cloud assembly."""
    if not (assembly_dir / MANIFEST).is_file():
        raise error(
            where=str(assembly_dir),
            problem="no cloud assembly here (no manifest.json)",
            show_value=False,
            fix="run 'make synth' first, or pass the cdk.out directory",
        )
    return dict(read_json(assembly_dir / MANIFEST, "assembly manifest", error=error))


def stack_artifacts(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Artifact id -> artifact of every stack the manifest lists, sorted by id."""
    return {
        name: artifact
        for name, artifact in sorted(manifest.get("artifacts", {}).items())
        if artifact.get("type") == STACK_ARTIFACT
    }


def stack_template(
    assembly_dir: Path, artifact: dict[str, Any], *, error: type[AssemblyError] = AssemblyError
) -> dict[str, Any]:
    """The CloudFormation template of a stack artifact."""
    return dict(read_json(assembly_dir / artifact["properties"]["templateFile"], "stack template", error=error))


def stack_metadata(
    assembly_dir: Path, artifact: dict[str, Any], *, error: type[AssemblyError] = AssemblyError
) -> dict[str, list[Any]]:
    """Construct path (``/<stack>/<id>/...``) -> metadata entries of a stack artifact: those the manifest holds and
    those the CDK moves into the artifact's ``additionalMetadataFile`` (``<stack>.metadata.json``) when they are many."""
    metadata: dict[str, list[Any]] = dict(artifact.get("metadata") or {})
    if artifact.get("additionalMetadataFile"):
        metadata.update(read_json(assembly_dir / artifact["additionalMetadataFile"], "stack metadata", error=error))
    return metadata


@contextmanager
def in_assembly_format(assembly_dir: Path, *, error: type[AssemblyError] = AssemblyError) -> Iterator[None]:
    """Reading inside this block: what a file of another format raises (:data:`FORMAT_ERRORS`) is one ``error``."""
    try:
        yield
    except FORMAT_ERRORS as failure:
        raise error(
            where=str(assembly_dir),
            problem=f"the cloud assembly is not in the format this tool reads ({type(failure).__name__}: {failure})",
            show_value=False,
            fix="synthesize again with this project's CDK version: make synth",
        ) from None


def write_generated(output: Path, text: str, *, what: str, error: type[AssemblyError] = AssemblyError) -> None:
    """Write ``text``, a document generated from the assembly (``what`` names it: ``the diagram``), to ``output``:
    folders created, UTF-8 with ``\\n`` line ends on every system, so that the committed copy compares equal."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8", newline="\n")
    except OSError as failure:
        raise error(
            where=str(output),
            problem=f"cannot write {what} ({failure.strerror or failure})",
            show_value=False,
            fix="choose a writable output path",
        ) from None
