"""`eventkb eval` on a small subset with the small model: it runs and its output is well formed (not the scores)."""
from __future__ import annotations

import json

import pytest

from eventkb.cli import main
from ingest.pipeline import ingest
from kb.embedder import embedder_name, load_embedder
from kb.errors import EventKBError
from kb.evaluate import ANSWER_SET, in_batch, load_set, subset
from tests.conftest import EVENT

pytestmark = pytest.mark.e2e


def test_eval_subset_with_the_small_model(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EVENTKB_EMBEDDER", "default")
    home = tmp_path / "kb"
    ingest([EVENT], home, embedder_name("default"), lambda: load_embedder("default"), log=lambda m: None)
    assert main(["eval", "--kb", str(home), "--subset", "6", "--model", "small", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["mode"] for r in result["retrieval"]] == ["bm25", "dense", "hybrid"]
    assert all(0 <= r["recall@5"] <= 1 for r in result["retrieval"])
    assert result["counts"]["answer_questions"] == len(result["rows"]) == 6
    assert result["counts"]["skipped_for_missing_documents"] > 0  # the reports are not in this KB
    for key in ("key_fact_accuracy", "citation_precision", "citation_recall", "abstention_accuracy", "abstention_precision",
                "abstention_recall", "language_match"):
        assert key in result["answers"] and (result["answers"][key] is None or 0 <= result["answers"][key] <= 1)
    assert result["model"]["file"].startswith("SmolLM2") and result["meter"]
    held_out = [r for r in result["rows"] if r["held_out"]]
    assert (result["answers_held_out"] is None) == (not held_out)
    if held_out:
        assert result["answers_held_out"]["questions"] == len(held_out)
        assert result["answers_tuned_on"]["questions"] == len(result["rows"]) - len(held_out)
    assert 0 <= result["quote_attribution_precision"] <= 1


def test_held_out_questions_are_marked_and_in_both_languages():
    questions = load_set(ANSWER_SET)["questions"]
    held_out = [q for q in questions if q.get("held_out")]
    assert len(held_out) >= 15 and {q["lang"] for q in held_out} == {"fr", "en"}
    assert any(not q["answerable"] for q in held_out) and any(q["answerable"] for q in held_out)


def test_subset_spreads_over_the_set():
    questions = load_set(ANSWER_SET)["questions"]
    picked = subset(questions, 10)
    assert len(picked) == 10 and picked[0] is questions[0] and picked[-1] is not questions[9]
    assert subset(questions, None) == questions


def test_one_batch_can_be_run_alone():
    questions = load_set(ANSWER_SET)["questions"]
    hp = in_batch(questions, "hp")
    assert hp and all(q["id"].startswith("hp-") for q in hp) and len(in_batch(questions, "first")) >= 40
    assert in_batch(questions, None) == questions
    with pytest.raises(EventKBError, match="use one of first, .*hp"):
        in_batch(questions, "zz")
