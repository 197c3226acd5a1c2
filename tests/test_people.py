"""People of an event without a manifest, read from its transcripts' labels and the prose that names them."""
from __future__ import annotations

import ingest.pipeline as pipeline
from ingest.people import label_people
from ingest.text import load_text
from kb.embedder import FakeEmbedder
from kb.knowledge import KnowledgeBase

TRANSCRIPT = """# A panel on batteries

Music: [intro]

**Jane DOE :** Welcome. Today I talk with Sameer Patel, head of research at Volta, and with Ana Lima.

**Sameer PATEL :** Thank you, Jane. Our team doubled last year.

**Jane DOE :** Sameer, how has the team grown?

**Sameer PATEL :** By hiring chemists.

**Ana :** I agree with Sameer Patel on this.

**Host :** A word from our sponsor.

**Jane DOE :** Thank you both, and thank you Ana Lima.

Outro: music.
"""


def test_labels_named_in_the_prose_are_the_people(tmp_path):
    path = tmp_path / "panel.md"
    path.write_text(TRANSCRIPT, encoding="utf-8")
    found = {f.person.name: f for f in label_people([load_text(path)])}
    assert set(found) == {"Sameer Patel", "Ana Lima"}  # Jane is never named in a sentence; Music, Host, Outro are no one
    assert found["Sameer Patel"].turns == 2 and found["Sameer Patel"].person.role == "head of research at Volta"
    assert found["Ana Lima"].person.aliases == ("Ana",) and found["Ana Lima"].turns == 1


def test_an_event_without_a_manifest_gets_its_people_from_the_labels(tmp_path, kb_env):
    folder = tmp_path / "my-event"
    folder.mkdir()
    (folder / "panel.md").write_text(TRANSCRIPT.replace("Welcome.", "Welcome, I am Jane Doe."), encoding="utf-8")
    logged: list[str] = []
    pipeline.ingest([folder], kb_env, FakeEmbedder.name, FakeEmbedder, log=logged.append)
    kb = KnowledgeBase.open(kb_env, embedder=FakeEmbedder())
    assert {p["name"]: p["passages"] for p in kb.people} == {"Jane Doe": 3, "Sameer Patel": 2, "Ana Lima": 1}
    _, sameer = kb.quotes("Sameer")
    assert [h.passage.lines[0] for h in sorted(sameer, key=lambda h: h.passage.lines)] == [7, 11]  # not line 9, addressed to him
    assert any("People read from the speaker labels" in m for m in logged)
    assert any("Music (1), Host (1), Outro (1)" in m for m in logged)


def test_init_drafts_a_manifest_that_ingest_reads(tmp_path, kb_env, capsys):
    from eventkb.cli import main
    from ingest.event import load_event

    folder = tmp_path / "battery-panel"
    folder.mkdir()
    (folder / "panel.md").write_text(TRANSCRIPT.replace("# A panel", "Recorded on 2025-06-02.\n\n# A panel"), encoding="utf-8")
    (folder / "notes.txt").write_text("Notes\n\nNothing but notes here.\n", encoding="utf-8")
    assert main(["init", str(folder)]) == 0
    assert "Wrote" in capsys.readouterr().out
    event = load_event(folder)
    assert (event.id, event.title, event.date, event.language) == ("battery-panel", "A panel on batteries", "2025-06-02", "en")
    assert [p.name for p in event.people] == ["Sameer Patel", "Ana Lima"] and event.people[0].role == "head of research at Volta"
    assert {d.file: d.kind for d in event.documents} == {"notes.txt": "", "panel.md": "transcript"}
    assert "Music (1), Jane DOE (3), Host (1), Outro (1)" in (folder / "event.toml").read_text(encoding="utf-8")  # Jane is never named
    assert main(["init", str(folder)]) == 1 and "already exists" in capsys.readouterr().err  # never overwritten
    assert main(["ingest", str(folder), "--kb", str(kb_env)]) == 0
    kb = KnowledgeBase.open(kb_env, embedder=FakeEmbedder())
    assert kb.event["title"] == "A panel on batteries" and {p["name"] for p in kb.people if p["passages"]} == {"Sameer Patel", "Ana Lima"}


def test_init_on_a_folder_without_documents_says_what_to_do(tmp_path, capsys):
    from eventkb.cli import main

    assert main(["init", str(tmp_path)]) == 1
    assert "No readable .txt, .md, .pdf, .vtt or .srt file" in capsys.readouterr().err
