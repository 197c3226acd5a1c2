"""Readers' feedback on answers, and the audit trail exported as CSV and JSON (API and command line)."""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from eventkb.cli import main
from kb import audit
from tests.conftest import fake_client

REPLY = "La vidéo Baby shark compte plus de 14 millards de vues [1]."
QUESTION = "Combien de vues compte la vidéo Baby shark sur YouTube ?"


@pytest.fixture
def home(tmp_path, event_home) -> Path:
    return Path(shutil.copytree(event_home, tmp_path / "kb"))


def test_feedback_is_stored_with_the_answer(home):
    client = fake_client(home, lambda m: REPLY)
    answer_id = client.post("/api/ask", json={"question": QUESTION}).get_json()["id"]
    assert client.post(f"/api/answers/{answer_id}/feedback", json={"rating": "up", "comment": " claire "}).status_code == 200
    got = client.post(f"/api/answers/{answer_id}/feedback", json={"rating": "down"}).get_json()
    assert got["up"] == 1 and got["down"] == 1 and [c["comment"] for c in got["comments"]] == ["claire"]
    assert client.get(f"/api/answers/{answer_id}").get_json()["feedback"] == got
    assert "claire" in client.get(f"/audit/{answer_id}").get_data(as_text=True)


@pytest.mark.parametrize("body, status", [({"rating": "meh"}, 400), ({}, 400), ({"rating": "up", "comment": 3}, 400),
                                          ({"rating": "up", "comment": "x" * 1001}, 413)])
def test_bad_feedback_is_refused_in_one_sentence(home, body, status):
    client = fake_client(home, lambda m: REPLY)
    answer_id = client.post("/api/ask", json={"question": QUESTION}).get_json()["id"]
    response = client.post(f"/api/answers/{answer_id}/feedback", json=body)
    assert response.status_code == status and response.get_json()["error"]["message"].endswith(".")
    missing = client.post("/api/answers/nope/feedback", json={"rating": "up"})
    assert missing.status_code == 404 and "eventkb audit" in missing.get_json()["error"]["message"]


def test_the_audit_trail_exports_as_csv_and_json(home, capsys, monkeypatch):
    client = fake_client(home, lambda m: REPLY)
    answer_id = client.post("/api/ask", json={"question": "=HYPERLINK(\"x\") " + QUESTION}).get_json()["id"]
    client.post(f"/api/answers/{answer_id}/feedback", json={"rating": "up"})
    response = client.get("/api/answers?format=csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    (row,) = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["id"] == answer_id and row["question"].startswith("'=HYPERLINK")  # never a live formula in a spreadsheet
    assert row["feedback_up"] == "1" and float(row["wh"]) > 0 and row["energy_method"] == "fake"
    rows = json.loads(client.get("/api/answers?format=json").get_data(as_text=True))
    assert rows[0]["id"] == answer_id and rows[0]["feedback_up"] == 1
    assert client.get("/api/answers?format=xml").status_code == 400
    assert main(["audit", "--csv", "--kb", str(home)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == ",".join(audit.EXPORT_FIELDS)
