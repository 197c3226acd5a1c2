"""Shared fixtures: a temporary KB home for every test, the fake embedder by default, the real reports."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from kb.figure_kinds import asked

ROOT = Path(__file__).resolve().parent.parent
EVENT = ROOT / "data" / "ailouvain-2024-03-18"
SUMMARY = EVENT / "panel-summary-2024-03-18.txt"
# The real reports the panel cites: their licences keep them out of the repository. CI has them (and sets
# EVENTKB_REQUIRE_REPORTS, so that a test never skips there); a fresh clone skips the tests that need them.
REPORTS = Path(os.environ.get("EVENTKB_REPORTS") or ROOT.parent / "shared" / "reports")
# Real public events of other shapes and languages (../shared/events), under the same rule.
EVENTS = Path(os.environ.get("EVENTKB_EVENTS") or ROOT.parent / "shared" / "events")


@pytest.fixture(autouse=True)
def kb_env(tmp_path, monkeypatch):
    """Every test gets its own knowledge base home and, unless it asks otherwise, the fake embedder."""
    monkeypatch.setenv("EVENTKB_HOME", str(tmp_path / "kb"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # llama.cpp's kept prompt prefixes
    monkeypatch.setenv("EVENTKB_EMBEDDER", "fake")
    return tmp_path / "kb"


def _absent(message: str) -> None:
    """Skip the test, or fail it where the shared material is required (CI sets EVENTKB_REQUIRE_REPORTS)."""
    if os.environ.get("EVENTKB_REQUIRE_REPORTS"):
        pytest.fail(message)
    pytest.skip(message)


def report(name: str) -> Path:
    """A real report from $EVENTKB_REPORTS (../shared/reports by default): skips the test when it is missing, or
    fails it when EVENTKB_REQUIRE_REPORTS is set."""
    path = REPORTS / name
    if not path.is_file():
        _absent(f"{name} is not in {REPORTS}: set EVENTKB_REPORTS to a folder holding the panel's cited reports to run this test")
    return path


def shared_event(name: str) -> Path:
    """A real event folder from $EVENTKB_EVENTS (../shared/events by default), under the same rule as `report`."""
    path = EVENTS / name
    if not (path / "event.toml").is_file():
        _absent(f"{name} is not in {EVENTS}: set EVENTKB_EVENTS to a folder holding the shared events to run this test")
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


@pytest.fixture(scope="session")
def kb(event_home):
    """The bundled event's knowledge base with the fake embedder, opened once (read only; a module may define its own)."""
    from kb.embedder import FakeEmbedder
    from kb.knowledge import KnowledgeBase

    return KnowledgeBase.open(event_home, embedder=FakeEmbedder())


def fake_client(home: Path, reply, **config):
    """A test client of the web app over `home`, with the fake embedder, meter and a fake model that writes `reply(messages)`."""
    from kb.embedder import FakeEmbedder
    from kb.energy import FakeMeter
    from kb.generator import FakeGenerator
    from webapp import create_app
    from webapp.engines import Engines

    e = Engines({"KB_HOME": str(home), "QUEUE_WAIT_S": 0.05, "ANSWER_CACHE": False, **config})
    e._embedder = FakeEmbedder()
    e._generator = FakeGenerator(reply)
    e._meter = FakeMeter()
    return create_app({"ENGINES": e, "TESTING": True}).test_client()


@pytest.fixture
def generated_report(tmp_path) -> Path:
    """A generated 7-page report saved under the file name the bundled event's manifest gives the BLOOM paper."""
    from tests.pdfgen import pdf_bytes, report_pages

    path = tmp_path / "generated" / "luccioni2022.pdf"
    path.parent.mkdir()
    path.write_bytes(pdf_bytes(report_pages(), outline=[("1 Introduction", 1), ("2 Method", 3)]))
    return path


def unit_asked(question: str):
    """The pattern of the kind of figure `question` asks for, if its words say."""
    kind = asked(question)
    return kind.figure if kind else None
