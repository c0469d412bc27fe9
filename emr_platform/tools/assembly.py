"""Reading a synthesized CDK cloud assembly (``cdk.out``): the manifest's stack artifacts.

Shared by the replacement guard, the synthesis summary and the architecture diagram, which all start from the
stacks the manifest lists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STACK_ARTIFACT = "aws:cloudformation:stack"
MANIFEST = "manifest.json"


def load_manifest(assembly_dir: Path) -> dict[str, Any]:
    """The assembly's ``manifest.json``."""
    return dict(json.loads((assembly_dir / MANIFEST).read_text(encoding="utf-8")))


def stack_artifacts(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Artifact id -> artifact of every stack the manifest lists, sorted by id."""
    return {
        name: artifact
        for name, artifact in sorted(manifest.get("artifacts", {}).items())
        if artifact.get("type") == STACK_ARTIFACT
    }
