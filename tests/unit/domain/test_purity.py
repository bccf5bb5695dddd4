"""The domain core imports no I/O and reads no clock (ARCHITECTURE.md)."""

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).parents[3] / "collection" / "domain"
ALLOWED_THIRD_PARTY = {"holidays", "babel"}
SOURCES = sorted(DOMAIN.glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_domain_module_imports_only_stdlib_and_allowed_packages(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            assert (
                top in sys.stdlib_module_names
                or top in ALLOWED_THIRD_PARTY
                or name.startswith("collection.domain")
            ), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_domain_module_never_reads_the_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"today", "now", "utcnow", "time"}:
            raise AssertionError(f"{path.name} reads the clock: .{node.attr}")
