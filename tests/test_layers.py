"""The package's shape: layers one way down (the import contract bites), and functions short enough to read."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROJECT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
MAX_FUNCTION_LINES = 60


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture
def copy_of_package(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT / "emr_platform", tmp_path / "emr_platform", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("spec/model.py", "import emr_platform.stacks", "One way down"),
        ("spec/model.py", "import aws_cdk", "Specs are plain data"),
        ("constructs/storage.py", "import emr_platform.tools.guard", "Nothing of the CDK code imports a tool"),
        ("tools/summary.py", "import emr_platform.constructs", "Tools and the operations CLI"),
        ("constructs/storage.py", "import emr_platform.constructs.cluster", "Construct families"),
    ],
)
def test_the_import_contract_fails_on_a_planted_import(
    copy_of_package: Path, module: str, planted: str, contract: str
) -> None:
    path = copy_of_package / "emr_platform" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{planted}  # planted\n", encoding="utf-8")
    result = _lint_imports(copy_of_package)
    assert result.returncode == 1, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), result.stdout


def test_the_import_contract_holds_on_the_package(copy_of_package: Path) -> None:
    result = _lint_imports(copy_of_package)
    assert result.returncode == 0, result.stdout


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = []
    for path in sorted((PROJECT / "emr_platform").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PROJECT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == [], "split into named steps:\n" + "\n".join(long)
