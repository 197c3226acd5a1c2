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


@pytest.fixture(scope="session")
def event_home(tmp_path_factory):
    """The bundled event ingested once with the fake embedder; tests that write to it copy it first."""
    from ingest.pipeline import ingest
    from kb.embedder import FakeEmbedder

    home = tmp_path_factory.mktemp("kb-event")
    ingest([EVENT], home, FakeEmbedder.name, FakeEmbedder, log=lambda m: None)
    return home


def fake_client(home: Path, reply, **config):
    """A test client of the web app over `home`, with the fake embedder, meter and a fake model that writes `reply(messages)`."""
    from kb.embedder import FakeEmbedder
    from kb.energy import FakeMeter
    from kb.generator import FakeGenerator
    from kb.knowledge import KnowledgeBase
    from webapp import create_app
    from webapp.engines import Engines

    e = Engines({"KB_HOME": str(home), "QUEUE_WAIT_S": 0.05, **config})
    e._kb = KnowledgeBase.open(home, embedder=FakeEmbedder())
    e._generator = FakeGenerator(reply)
    e._meter = FakeMeter()
    return create_app({"ENGINES": e, "TESTING": True}).test_client()
