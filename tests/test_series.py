"""Several events in one knowledge base home: listed, chosen with --event, isolated, re-ingested and removed one by one."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventkb.cli import main
from kb import series
from kb.errors import EventKBError, NotFound
from tests.conftest import EVENT

TRANSCRIPT = """# Water and data centres

Alice Martin: Good evening. Our data centre in Ghent cooled its servers with river water, 4 million litres a year.

Bob Durand: We moved to air cooling in 2023, and our water use fell by ninety percent.

Alice Martin: The next step is heat reuse: the Ghent swimming pool now warms its water with our servers.
"""


def meetup(root: Path, event_id: str = "water-meetup-2025") -> Path:
    """A small event of another shape: an English transcript with two speakers."""
    folder = root / event_id
    folder.mkdir(parents=True)
    (folder / "event.toml").write_text(f'''format = 1
id = "{event_id}"
title = "Water and data centres meetup"
date = "2025-05-20"
organiser = "Green IT Ghent"
language = "en"

[[people]]
name = "Alice Martin"
role = "speaker"
organisation = "Ghent DC"

[[people]]
name = "Bob Durand"
role = "speaker"
organisation = "CoolOps"

[[documents]]
id = "transcript"
title = "Transcript"
file = "transcript.md"
''', encoding="utf-8")
    (folder / "transcript.md").write_text(TRANSCRIPT, encoding="utf-8")
    return folder


def out_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def two_events(kb_env, tmp_path, capsys):
    assert main(["ingest", str(EVENT)]) == 0
    assert main(["ingest", str(meetup(tmp_path / "src"))]) == 0  # another event: beside the first, not refused
    capsys.readouterr()
    return kb_env


def test_a_home_with_one_event_needs_no_event_option(kb_env, capsys):
    assert main(["ingest", str(EVENT)]) == 0
    capsys.readouterr()
    assert series.event_home(kb_env) == kb_env and [e.id for e in series.events(kb_env)] == ["ailouvain-2024-03-18"]
    assert main(["search", "Baby shark", "--json"]) == 0 and out_json(capsys)["results"]


def test_events_are_listed_and_chosen_by_id(two_events, capsys):
    assert main(["events", "--json"]) == 0
    listed = out_json(capsys)["events"]
    assert [e["id"] for e in listed] == ["ailouvain-2024-03-18", "water-meetup-2025"]
    assert listed[1]["title"] == "Water and data centres meetup" and listed[1]["date"] == "2025-05-20" and listed[1]["documents"] == 1
    assert listed[1]["passages"] >= 1 and listed[0]["answers"] == 0
    assert main(["events"]) == 0
    assert "water-meetup-2025: Water and data centres meetup, 2025-05-20 — 1 documents" in capsys.readouterr().out
    # With two events, a command must say which; the error lists them.
    assert main(["search", "water"]) == 1
    err = capsys.readouterr().err
    assert "holds 2 events" in err and "--event ID" in err and "water-meetup-2025" in err
    assert main(["search", "water", "--event", "nope"]) == 1
    assert "No event 'nope'" in capsys.readouterr().err


def test_an_events_passages_people_and_answers_never_leak_into_anothers(two_events, capsys, monkeypatch):
    monkeypatch.setenv("EVENTKB_MODEL", "fake")
    assert main(["search", "river water cooling", "--event", "water-meetup-2025", "--k", "50", "--json"]) == 0
    assert {r["document"] for r in out_json(capsys)["results"]} == {"transcript"}
    assert main(["search", "river water cooling", "--event", "ailouvain-2024-03-18", "--k", "50", "--json"]) == 0
    assert "transcript" not in {r["document"] for r in out_json(capsys)["results"]}
    assert main(["people", "--event", "water-meetup-2025", "--json"]) == 0
    assert [p["name"] for p in out_json(capsys)["people"]] == ["Alice Martin", "Bob Durand"]
    assert main(["quotes", "--speaker", "Fabrice Brion", "--event", "water-meetup-2025"]) == 1
    capsys.readouterr()
    assert main(["ask", "How much river water did the Ghent data centre use?", "--event", "water-meetup-2025", "--json"]) == 0
    record = out_json(capsys)
    assert {c["document"] for c in record["citations"]} <= {"transcript"}
    assert main(["audit", "--event", "water-meetup-2025", "--json"]) == 0
    assert [a["id"] for a in out_json(capsys)["answers"]] == [record["id"]]
    assert main(["audit", "--event", "ailouvain-2024-03-18", "--json"]) == 0
    assert out_json(capsys)["answers"] == []
    assert main(["energy", "--event", "ailouvain-2024-03-18", "--json"]) == 0
    assert out_json(capsys)["methods"] == []


def test_reingesting_or_removing_one_event_never_touches_another(two_events, tmp_path, capsys):
    first = series.event_home(two_events, "ailouvain-2024-03-18")
    before = sorted(p.name for p in (first / "builds").iterdir())
    folder = tmp_path / "src" / "water-meetup-2025"
    (folder / "transcript.md").write_text(TRANSCRIPT + "\nBob Durand: Thank you all.\n", encoding="utf-8")
    assert main(["ingest", str(folder), "--json"]) == 0
    assert out_json(capsys)["status"] == "built"
    assert sorted(p.name for p in (first / "builds").iterdir()) == before
    assert main(["ingest", "--rebuild", str(folder), "--event", "ailouvain-2024-03-18"]) == 1
    assert "is the event 'water-meetup-2025'" in capsys.readouterr().err
    assert main(["remove", "water-meetup-2025"]) == 0
    assert "Removed water-meetup-2025" in capsys.readouterr().out
    assert [e.id for e in series.events(two_events)] == ["ailouvain-2024-03-18"] and sorted(p.name for p in (first / "builds").iterdir()) == before
    assert main(["search", "Baby shark", "--json"]) == 0 and out_json(capsys)["results"]  # one event again: no --event needed
    assert main(["remove", "water-meetup-2025"]) == 1
    assert "No event 'water-meetup-2025'" in capsys.readouterr().err


def test_removing_the_first_event_keeps_the_others(two_events, capsys):
    assert main(["remove", "ailouvain-2024-03-18", "--json"]) == 0
    assert out_json(capsys)["removed"] == "ailouvain-2024-03-18"
    assert [e.id for e in series.events(two_events)] == ["water-meetup-2025"]
    assert main(["search", "river water", "--json"]) == 0 and out_json(capsys)["results"][0]["document"] == "transcript"


def test_event_ids_that_cannot_name_a_folder_are_refused(kb_env):
    with pytest.raises(NotFound):
        series.event_home(kb_env, "x")
    assert series.home_for_ingest(kb_env, "a") == kb_env  # an empty home: the first event at its root
    with pytest.raises(EventKBError, match="cannot name an event folder"):
        series.home_for_ingest(kb_env, "../../etc")


def test_search_and_quotes_across_events_name_each_result_s_event(two_events, tmp_path, capsys):
    second = meetup(tmp_path / "src2", "water-meetup-2026")  # Alice Martin speaks at both meetups
    assert main(["ingest", str(second)]) == 0
    capsys.readouterr()
    assert main(["search", "water used to cool the servers", "--event", "all", "--k", "6", "--json"]) == 0
    out = out_json(capsys)
    assert out["events"] == ["ailouvain-2024-03-18", "water-meetup-2025", "water-meetup-2026"]
    assert {r["event"] for r in out["results"]} >= {"water-meetup-2025", "water-meetup-2026"} and len(out["results"]) == 6
    assert main(["search", "river water", "--event", "ailouvain-2024-03-18,water-meetup-2026", "--k", "50", "--json"]) == 0
    assert {r["event"] for r in out_json(capsys)["results"]} == {"ailouvain-2024-03-18", "water-meetup-2026"}
    assert main(["search", "river water", "--event", "all", "--speaker", "Bob Durand", "--json"]) == 0
    assert {(r["event"], r["speaker"]) for r in out_json(capsys)["results"]} <= {("water-meetup-2025", "Bob Durand"), ("water-meetup-2026", "Bob Durand")}
    assert main(["quotes", "--speaker", "Alice Martin", "--event", "all", "--json"]) == 0
    grouped = out_json(capsys)["events"]
    assert [g["event"] for g in grouped] == ["water-meetup-2025", "water-meetup-2026"]
    assert all(g["speaker"] == "Alice Martin" and g["quotes"] and all(q["speaker"] == "Alice Martin" for q in g["quotes"]) for g in grouped)
    assert main(["quotes", "--speaker", "Alice Martin", "--event", "all"]) == 0
    assert "## water-meetup-2026: Alice Martin" in capsys.readouterr().out
    assert main(["quotes", "--speaker", "Nobody Here", "--event", "all"]) == 1
    assert "No one called 'Nobody Here' in the events" in capsys.readouterr().err
    assert main(["search", "water", "--event", "water-meetup-2025,nope"]) == 1
    assert "No event 'nope'" in capsys.readouterr().err
    assert main(["eval", "--event", "all"]) == 1
    assert "only search, quotes and ask work across events" in capsys.readouterr().err
    assert main(["ingest", str(meetup(tmp_path / "src3", "all"))]) == 1
    assert "cannot name an event folder" in capsys.readouterr().err


def test_the_bundled_event_opens_by_its_id_whatever_else_the_home_holds(kb_env, tmp_path, capsys):
    # What `make run` does (ingest the bundled folder, then use it by id), on a home that already holds another event.
    assert main(["ingest", str(meetup(tmp_path / "src"))]) == 0
    assert main(["ingest", str(EVENT)]) == 0 and main(["ingest", str(EVENT)]) == 0
    capsys.readouterr()
    assert main(["search", "Baby shark", "--event", "ailouvain-2024-03-18", "--json"]) == 0
    assert out_json(capsys)["results"][0]["document"] == "panel-summary"
    assert main(["ingest", "--event", "another-one"]) == 1  # no folder, an event it does not hold
    assert "give its folder" in capsys.readouterr().err


def test_asked_across_events_an_answer_cites_the_event_it_comes_from(two_events, capsys):
    from kb import across, audit

    assert main(["ask", "How much river water did the Ghent data centre use for cooling?", "--event", "all", "--model", "fake", "--json"]) == 0
    record = out_json(capsys)
    assert not record["abstained"] and record["citations"]
    assert {c["event"] for c in record["citations"]} == {"water-meetup-2025"} and "4 million litres" in record["citations"][0]["text"]
    assert all(r["event"] in ("ailouvain-2024-03-18", "water-meetup-2025") for r in record["retrieved"])
    kept = audit.get(audit.connect(series.across_home(two_events)), record["id"])  # the answers across events have their own log
    assert kept["citations"] == record["citations"]
    assert main(["audit", "--event", "all", "--json"]) == 0 and [a["id"] for a in out_json(capsys)["answers"]] == [record["id"]]
    for event in series.events(two_events):  # and no event's own log holds it
        assert audit.listing(audit.connect(event.path)) == []
    assert main(["ask", "How much river water did the Ghent data centre use for cooling?", "--event", "all", "--model", "fake"]) == 0
    assert "water-meetup-2025 · transcript" in capsys.readouterr().out
    kbs = across.open_all(series.events(two_events))
    joined = across.Across(kbs)
    assert len(joined.passages) == sum(len(kb.passages) for _, kb in kbs)
    assert [p.row for p in joined.passages] == list(range(len(joined.passages)))
    assert {p.event for p in joined.passages} == {"ailouvain-2024-03-18", "water-meetup-2025"}
    assert "Alice Martin" in {p["name"] for p in joined.people} and joined.event["events"][1]["title"] == "Water and data centres meetup"


def test_search_across_events_ranks_the_events_lists_together_and_keeps_filters(two_events):
    from kb import across

    joined = across.Across(across.open_all(series.events(two_events)))
    hits = joined.search("river water cooling servers Ghent", k=3)
    assert hits[0].passage.event == "water-meetup-2025" and "river water" in hits[0].passage.text
    only_panel = {p.row for p in joined.passages if p.event == "ailouvain-2024-03-18"}
    assert {h.passage.event for h in joined.search("river water", k=5, within=only_panel)} == {"ailouvain-2024-03-18"}
    assert {h.passage.speaker for h in joined.search("water", k=5, speaker="Bob Durand")} == {"Bob Durand"}
    assert joined.passage("water-meetup-2025", hits[0].passage.id) is hits[0].passage
    with pytest.raises(NotFound):
        joined.search("water", speaker="Nobody Here")
