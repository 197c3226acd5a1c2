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


def test_the_engine_names_nothing_of_the_bundled_event():
    """The prompt, wording, examples and titles come from the event's manifest: kb/ and webapp/ name none of its
    people, organisations or title (the bundled event is data, in data/)."""
    import tomllib

    event = tomllib.loads((ROOT / "data" / "ailouvain-2024-03-18" / "event.toml").read_text(encoding="utf-8"))
    names = {event["organiser"], event["title"]} | {p["name"] for p in event["people"]} | {p["organisation"] for p in event["people"] if p.get("organisation")}
    found = {}
    for path in [*(ROOT / "kb").rglob("*"), *(ROOT / "webapp").rglob("*")]:
        if path.is_file() and path.suffix in {".py", ".txt", ".html", ".js", ".css"}:
            text = path.read_text(encoding="utf-8")
            hits = sorted(name for name in names if name in text)
            if hits:
                found[str(path.relative_to(ROOT))] = hits
    assert found == {}
