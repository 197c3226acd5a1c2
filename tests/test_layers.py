"""The flow of the code: ingest -> store -> kb -> webapp and the CLI. Nothing imports against it."""
from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

# What each package may not import: the ones after it in the flow, and for kb the writing side too.
FORBIDDEN = {"ingest": {"webapp", "eventkb"}, "kb": {"ingest", "webapp", "eventkb"}, "webapp": {"eventkb"}}


def imported(path) -> set[str]:
    """The top-level packages a module imports, wherever the import statement is."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_nothing_imports_against_the_flow(package):
    wrong = {path.name: sorted(imported(path) & FORBIDDEN[package]) for path in (ROOT / package).glob("*.py")}
    assert {name: found for name, found in wrong.items() if found} == {}
