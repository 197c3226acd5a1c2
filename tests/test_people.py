"""People of an event without a manifest, read from its transcripts' labels and the prose that names them."""
from __future__ import annotations

from pathlib import Path

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
