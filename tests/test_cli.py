"""The eventkb command: JSON shapes, human output, one-line errors and exit codes."""
from __future__ import annotations

import json

import pytest

from eventkb.cli import main
from tests.conftest import EVENT

PASSAGE_KEYS = {"id", "text", "document", "title", "page", "lines", "section", "speaker", "score"}


@pytest.fixture
def ingested(kb_env, capsys):
    assert main(["ingest", str(EVENT)]) == 0
    capsys.readouterr()
    return kb_env


def test_ingest_defaults_to_the_bundled_event(kb_env, capsys):
    assert main(["ingest", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "built" and out["documents"] == 1
    assert main(["ingest"]) == 0
    assert capsys.readouterr().out.startswith("Unchanged:")


def test_search_json_shape(ingested, capsys):
    assert main(["search", "Baby shark", "--k", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["query"] == "Baby shark" and len(out["results"]) == 2
    first = out["results"][0]
    assert set(first) == PASSAGE_KEYS
    assert first["document"] == "panel-summary" and first["page"] is None and len(first["lines"]) == 2


def test_search_with_speaker_and_document_filters(ingested, capsys):
    assert main(["search", "énergie", "--speaker", "jules delcon", "--document", "panel-summary", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert results and {r["speaker"] for r in results} == {"Jules Delcon"}


def test_quotes_json_and_text(ingested, capsys):
    assert main(["quotes", "--speaker", "FB", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["speaker"] == "Fabrice Brion" and out["quotes"]
    assert {q["speaker"] for q in out["quotes"]} == {"Fabrice Brion"}
    assert main(["quotes", "--speaker", "Brion", "LED", "--k", "1"]) == 0
    assert "Fabrice Brion (panelist, I-Care): 1 passage(s)" in capsys.readouterr().out


def test_people_and_documents(ingested, capsys):
    assert main(["people"]) == 0
    assert "Xavier Marichal [XM] — panelist, Consultant @ Factor X" in capsys.readouterr().out
    assert main(["documents", "--json"]) == 0
    docs = {d["id"]: d for d in json.loads(capsys.readouterr().out)["documents"]}
    assert docs["panel-summary"]["ingested"] and not docs["iea-electricity-2024"]["ingested"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["quotes", "--speaker", "Nobody"], "error: No one called 'Nobody' in this event; the people are: Fabrice Brion (panelist)"),
        (["search", "x", "--document", "missing"], "error: No document 'missing'"),
        (["search", "x", "--k", "0"], "error: --k must be 1 or more."),
    ],
)
def test_errors_are_one_line_and_exit_1(ingested, capsys, argv, message):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_no_kb_yet(capsys):
    assert main(["search", "anything"]) == 1
    assert "run `eventkb ingest` first" in capsys.readouterr().err


def test_ingest_with_a_bad_file_exits_1_and_keeps_the_rest(kb_env, tmp_path, capsys):
    bad = tmp_path / "fake.pdf"
    bad.write_text("hello", encoding="utf-8")
    assert main(["ingest", str(EVENT), str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"error: {bad}: this is not a PDF" in captured.err
    assert "Built" in captured.out
    assert main(["search", "Baby shark", "--json"]) == 0


ANSWER_KEYS = {"id", "question", "language", "answer", "abstained", "citations", "sentences", "model", "tokens", "timings", "energy"}


def test_ask_json_shape_then_audit_and_energy(ingested, capsys, monkeypatch):
    monkeypatch.setenv("EVENTKB_MODEL", "fake")
    assert main(["ask", "Combien de vues compte la vidéo Baby shark sur YouTube ?", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert ANSWER_KEYS <= set(record)
    assert set(record["citations"][0]) >= {"n", "id", "text", "document", "title", "page", "lines", "speaker"}
    assert set(record["sentences"][0]) >= {"text", "citations", "supported"}
    assert set(record["energy"]) >= {"joules", "wh", "wh_low", "wh_high", "method", "gco2e", "comparisons"}
    assert set(record["timings"]) >= {"retrieval_ms", "first_token_ms", "total_ms"} and set(record["model"]) == {"name", "file", "sha256", "backend"}
    assert main(["audit", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["answers"][0]["id"] == record["id"]
    assert main(["audit", record["id"]]) == 0
    assert "Audit id: " + record["id"] in capsys.readouterr().out
    assert main(["energy", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["methods"][0]["answers"] == 1 and any(r["wh"] == 2.9 for r in out["references"])


def test_ask_human_output_and_errors(ingested, capsys, monkeypatch):
    monkeypatch.setenv("EVENTKB_MODEL", "fake")
    assert main(["ask", "Quelle est la capitale de l'Australie ?"]) == 0
    out = capsys.readouterr().out
    assert "ne répondent pas" in out and "(abstained:" in out and "Energy (" in out
    assert main(["ask", "   "]) == 1
    assert capsys.readouterr().err.startswith("error: The question is empty")
    assert main(["ask", "Baby shark ?", "--model", "/nonexistent.gguf"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["audit", "nope"]) == 1
    assert "No answer 'nope'" in capsys.readouterr().err


def test_ask_a_follow_up_in_a_conversation(ingested, capsys, monkeypatch):
    monkeypatch.setenv("EVENTKB_MODEL", "fake")
    assert main(["ask", "Combien de vues compte la vidéo Baby shark sur YouTube ?"]) == 0
    out = capsys.readouterr().out
    conversation = out.split("Conversation: ", 1)[1].split(" ", 1)[0]
    assert f"--conversation {conversation}" in out
    assert main(["ask", "Et combien d'énergie ?", "--conversation", conversation, "--followup", "names", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["conversation"] == conversation and record["question"] == "Et combien d'énergie ?"
    assert record["searched"].startswith("Et combien d'énergie ? (") and record["settings"]["followup"] == "names"
    assert main(["ask", "Et lui ?", "--conversation", "nope"]) == 1
    assert "start a new conversation" in capsys.readouterr().err
    assert main(["audit", "--csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "conversation" in header and "searched" in header
