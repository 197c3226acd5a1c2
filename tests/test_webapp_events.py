"""The web app for a series: every event under /e/<id>/ (its API under /api/e/<id>/), the list of events, the chat
across all of them, and no event's passages, people or answers in another's pages."""
from __future__ import annotations

import re

import pytest

from ingest.pipeline import ingest
from kb import series
from kb.embedder import FakeEmbedder
from tests.conftest import EVENT, fake_client
from tests.test_series import meetup

MEETUP = "water-meetup-2025"
BUNDLED = "ailouvain-2024-03-18"


def _first_source(messages: list[dict]) -> str:
    """The fake model's reply: the first source's first sentence, cited [1]."""
    line = next(x for x in messages[-1]["content"].splitlines() if x.startswith("[1]"))
    return line.split(") ", 1)[1].split(". ")[0].rstrip(".") + ". [1]"


def add_event(home, folder) -> None:
    ingest([folder], series.home_for_ingest(home, folder.name), FakeEmbedder.name, FakeEmbedder, log=lambda m: None)


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "kb"
    add_event(home, EVENT)
    add_event(home, meetup(tmp_path / "src"))
    return home


@pytest.fixture
def client(home):
    return fake_client(home, _first_source)


def test_the_default_event_stays_at_the_root_and_every_event_has_its_own_pages(client):
    root = client.get("/").get_data(as_text=True)
    assert "IA générative et environnement : panel AILouvain" in root
    assert 'href="/events"' in root and 'data-api="/api"' in root
    page = client.get(f"/e/{MEETUP}/").get_data(as_text=True)
    assert "Water and data centres meetup" in page and f'data-api="/api/e/{MEETUP}"' in page
    assert f'href="/e/{MEETUP}/quotes"' in page and f'href="/e/{MEETUP}/energy"' in page  # its links stay in the event
    quotes = client.get(f"/e/{MEETUP}/quotes?speaker=Alice+Martin").get_data(as_text=True)
    assert '<span class="meta" id="current-event">Water and data centres meetup</span>' in quotes  # every page of an event names it
    assert quotes.count('data-speaker="Alice Martin"') == 2 and "Roald" not in quotes
    assert f'href="/e/{MEETUP}/passage/' in quotes
    event = client.get(f"/e/{MEETUP}/event").get_data(as_text=True)
    assert "Green IT Ghent" in event and "Bob Durand" in event and "Sieberath" not in event


def test_the_events_page_lists_each_event_with_its_people_answers_and_energy(client):
    client.post(f"/api/e/{MEETUP}/ask", json={"question": "How much river water did the Ghent data centre use?"})
    page = client.get("/events").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-event="([^"]+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {BUNDLED, MEETUP} and 'href="/e/all/"' in page
    assert "Water and data centres meetup" in rows[MEETUP] and "2025-05-20" in rows[MEETUP]
    cells = re.findall(r"<td>([^<]*)</td>", rows[MEETUP])
    assert cells[1:3] == ["2", "1"] and cells[3].endswith("Wh") and cells[3] != "0.0000 Wh"  # 2 people, 1 answer and the energy it used
    listed = {e["id"]: e for e in client.get("/api/events").get_json()["events"]}
    assert listed[MEETUP]["answers"] == 1 and listed[BUNDLED]["answers"] == 0 and "home" not in listed[MEETUP]


def test_an_event_s_answers_and_audit_never_reach_another_s(client):
    record = client.post(f"/api/e/{MEETUP}/ask", json={"question": "How much river water did the Ghent data centre use?"}).get_json()
    assert not record["abstained"] and all(c["document"] == "transcript" and "event" not in c for c in record["citations"])
    assert [a["id"] for a in client.get(f"/api/e/{MEETUP}/answers").get_json()["answers"]] == [record["id"]]
    assert client.get("/api/answers").get_json()["answers"] == []
    assert client.get(f"/api/answers/{record['id']}").status_code == 404
    assert client.get(f"/e/{MEETUP}/audit/{record['id']}").status_code == 200
    hits = client.get(f"/api/e/{MEETUP}/search?q=water+cooling&k=50").get_json()["results"]
    assert hits and {h["document"] for h in hits} == {"transcript"}
    assert {h["document"] for h in client.get("/api/search?q=water+cooling&k=50").get_json()["results"]} <= {"panel-summary"}


def test_an_unknown_event_gets_a_clear_404_listing_the_events(client):
    page = client.get("/e/nope/quotes")
    assert page.status_code == 404 and f"the events are {BUNDLED}, {MEETUP}" in page.get_data(as_text=True)
    api = client.get("/api/e/nope/search?q=water")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found" and MEETUP in api.get_json()["error"]["message"]


def test_asked_of_all_events_an_answer_names_the_event_of_each_citation(client):
    record = client.post("/api/e/all/ask", json={"question": "How much river water did the Ghent data centre use for cooling?"}).get_json()
    assert record["citations"] and {c["event"] for c in record["citations"]} == {MEETUP}
    assert [a["id"] for a in client.get("/api/e/all/answers").get_json()["answers"]] == [record["id"]]
    assert client.get(f"/api/e/{MEETUP}/answers").get_json()["answers"] == []  # kept in the log of answers across events
    entry = client.get(f"/e/all/audit/{record['id']}").get_data(as_text=True)
    assert f'href="/e/{MEETUP}/passage/{record["citations"][0]["id"]}"' in entry
    chat = client.get("/e/all/").get_data(as_text=True)
    assert 'data-api="/api/e/all"' in chat and ("Tous les événements" in chat or "All events" in chat)
    grouped = client.get("/api/e/all/quotes?speaker=Alice+Martin").get_json()
    assert [g["event"] for g in grouped["events"]] == [MEETUP] and all(q["speaker"] == "Alice Martin" for q in grouped["events"][0]["quotes"])
    assert client.get("/api/e/all/passages/x").status_code == 404
    assert client.get("/e/all/event").headers["Location"].endswith("/events")


def test_an_event_ingested_while_the_app_runs_is_served_at_once(client, home, tmp_path):
    assert client.get("/e/water-meetup-2026/").status_code == 404
    add_event(home, meetup(tmp_path / "src2", "water-meetup-2026"))
    assert client.get("/e/water-meetup-2026/").status_code == 200
    assert "water-meetup-2026" in client.get("/events").get_data(as_text=True)
    hits = client.get("/api/e/all/search?q=river+water&k=50").get_json()["results"]
    assert {h["event"] for h in hits} >= {MEETUP, "water-meetup-2026"}


def test_a_chosen_set_of_events_is_searched_and_asked_together(client, home, tmp_path):
    add_event(home, meetup(tmp_path / "src2", "water-meetup-2026"))
    chosen = f"{MEETUP},water-meetup-2026"
    hits = client.get(f"/api/e/{chosen}/search?q=river+water&k=50").get_json()["results"]
    assert {h["event"] for h in hits} == {MEETUP, "water-meetup-2026"}
    record = client.post(f"/api/e/{chosen}/ask", json={"question": "How much river water did the Ghent data centre use for cooling?"}).get_json()
    assert record["citations"] and {c["event"] for c in record["citations"]} <= {MEETUP, "water-meetup-2026"}
    assert "Water and data centres meetup" in client.get(f"/e/{chosen}/").get_data(as_text=True)
    assert client.get(f"/api/e/{MEETUP},nope/search?q=water").status_code == 404
