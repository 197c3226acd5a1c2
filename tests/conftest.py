"""Shared fixtures: a temporary KB home for every test, the fake embedder by default, the real reports."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENT = ROOT / "data" / "ailouvain-2024-03-18"
SUMMARY = EVENT / "panel-summary-2024-03-18.txt"
REPORTS = ROOT.parent / "shared" / "reports"


@pytest.fixture(autouse=True)
def kb_env(tmp_path, monkeypatch):
    """Every test gets its own knowledge base home and, unless it asks otherwise, the fake embedder."""
    monkeypatch.setenv("EVENTKB_HOME", str(tmp_path / "kb"))
    monkeypatch.setenv("EVENTKB_EMBEDDER", "fake")
    return tmp_path / "kb"


def report(name: str) -> Path:
    """A real report from ../shared/reports; a missing one fails the test (CI has them)."""
    path = REPORTS / name
    assert path.is_file(), f"{path} is missing: the tests need ../shared/reports beside the repository"
    return path


def all_reports() -> list[Path]:
    names = ["greenit2019_EENM_rapport.pdf", "shiftproject2018_lean_ict_sobriete_numerique_v8.pdf", "luccioni2022.pdf", "luccioni2023.pdf"]
    return [report(n) for n in names]
