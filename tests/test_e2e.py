"""End to end with the real embedders (the default multilingual-e5-small, and MiniLM through sentence-transformers)
on the bundled event and the four real reports.

Never skipped: CI installs the model and has ../shared/reports.
"""
from __future__ import annotations

import json

import pytest

from eventkb.cli import main
from ingest.pipeline import ingest
from kb import models
from kb.embedder import embedder_name, load_embedder
from kb.errors import EventKBError
from kb.evaluate import EVENT_SETS, attribution, load_set, retrieval
from kb.knowledge import KnowledgeBase
from tests.conftest import EVENT, all_reports

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("kb-real")
    result = ingest([EVENT, *all_reports()], path, embedder_name("default"), lambda: load_embedder("default"), log=lambda m: None)
    assert result.status == "built" and result.documents == 5 and not result.failures
    assert result.empty_pages == {"lean-ict-2018": [5, 86]}
    return path


@pytest.fixture(scope="module")
def kb(home):
    return KnowledgeBase.open(home, embedder_spec="default")


def test_default_models_are_installed_and_intact():
    assert models.check() == []


def test_real_embedder_vectors_are_normalised():
    embedder = load_embedder("default")
    vectors = embedder.passages(["Combien d'énergie consomme une requête ChatGPT ?", "How much energy does a ChatGPT request use?"])
    assert vectors.shape == (2, 384)
    assert abs(float((vectors**2).sum(axis=1)[0]) - 1.0) < 1e-4
    query = embedder.query("How much energy does a ChatGPT request use?")
    assert query.shape == (384,) and abs(float(query @ query) - 1.0) < 1e-4


def test_retrieval_quality(kb):
    questions = load_set()["questions"]
    assert len(questions) >= 40
    scores = {mode: retrieval(kb, questions, mode) for mode in ("bm25", "dense", "hybrid")}
    hybrid = scores["hybrid"]
    # The set the earlier keyword rankings and glossary were tuned on: 0.92 with them, 0.86 (FR 0.92, EN 0.81) with
    # score fusion of BM25 and the multilingual embedder, which did as well without them on fresh batches (BENCHMARKS.md).
    assert hybrid.recall_at_5 >= 0.84, hybrid.to_json()
    assert hybrid.recall_at_5 >= scores["dense"].recall_at_5
    assert hybrid.by_lang["fr"] >= 0.85 and hybrid.by_lang["en"] >= 0.75


@pytest.mark.parametrize("batch, at_least", [("r2", 0.68), ("r3", 0.5)])
def test_fresh_batches_of_the_bundled_event(kb, batch, at_least):
    """Measured once each when written (0.73 and 0.55, BENCHMARKS.md): a floor, so that a change that loses them is seen."""
    questions = [q for q in load_set(EVENT_SETS / "ailouvain-2024-03-18.toml")["retrieval"] if q["id"].startswith(batch + "-")]
    scores = retrieval(kb, questions, "hybrid")
    assert len(questions) >= 10 and scores.recall_at_5 >= at_least, scores.to_json()


def test_quotes_attribution(kb):
    for case in attribution(kb, load_set()["quotes"]):
        assert case["wrongly_attributed"] == [], case
        assert case["missing"] == [], case


def test_the_readme_question_finds_the_iea_figure_among_the_passages_the_model_reads(kb):
    from kb.answer.context import MAX_SOURCES

    hits = kb.search("Combien d'énergie consomme une requête ChatGPT ?", k=MAX_SOURCES)
    assert any("2.9 Wh per request" in " ".join(h.passage.text.split()) for h in hits)


def test_the_sentence_transformers_path_with_the_bundled_minilm(tmp_path):
    home = tmp_path / "minilm"
    ingest([EVENT], home, embedder_name("minilm"), lambda: load_embedder("minilm"), log=lambda m: None)
    kb = KnowledgeBase.open(home, embedder_spec="minilm")
    assert kb.manifest["embedder"] == {"name": "sentence-transformers/all-MiniLM-L6-v2", "dim": 384}
    hits = kb.search("How many views does the Baby shark video have on YouTube?", k=5, mode="dense")
    assert any("14 millards de vues" in " ".join(h.passage.text.split()) for h in hits)
    with pytest.raises(EventKBError, match="built with the embedder 'sentence-transformers/all-MiniLM-L6-v2'"):
        KnowledgeBase.open(home, embedder_spec="default")


def test_reports_are_searchable_by_page(kb):
    hits = kb.search("Jean Zay computer cluster IDRIS", k=3, document="bloom-carbon-2022")
    assert any(h.passage.page == 2 and "Jean Zay computer cluster of IDRIS" in " ".join(h.passage.text.split()) for h in hits)
    hits = kb.search("34 milliards d'équipements 4,1 milliards d'utilisateurs", k=3, document="greenit-2019")
    assert any(h.passage.page in (8, 9) for h in hits)


def test_cli_search_with_the_real_embedder(home, monkeypatch, capsys):
    monkeypatch.delenv("EVENTKB_EMBEDDER")
    assert main(["search", "Combien de Wh pour une requête ChatGPT comparée à une recherche Google ?", "--kb", str(home), "--k", "3", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert any("2.9 Wh per request" in " ".join(r["text"].split()) for r in results)
    assert main(["quotes", "--speaker", "XM", "Baby shark", "--kb", str(home), "--k", "1", "--json"]) == 0
    quote = json.loads(capsys.readouterr().out)["quotes"][0]
    assert quote["speaker"] == "Xavier Marichal" and "Baby shark" in quote["text"]
