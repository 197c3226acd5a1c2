"""An event's own glossary: terms its manifest pairs across languages are searched as equivalents, for that
event's knowledge base only."""
from __future__ import annotations

import pytest

from ingest.event import load_event
from ingest.pipeline import ingest
from kb.embedder import FakeEmbedder
from kb.errors import EventKBError
from kb.knowledge import KnowledgeBase
from kb.query import event_glossary, keyword_tokens

MANIFEST = '''format = 1
id = "atelier-sobriete"
title = "Atelier sobriété"
language = "fr"
glossary = [{terms}]

[[documents]]
id = "notes"
title = "Notes de l'atelier"
file = "notes.md"
kind = "summary"
'''
NOTES = "# Notes\n\nLa frugalité logicielle réduit le poids des pages.\n\nLe covoiturage du matin est organisé par la mairie.\n"


def event_folder(tmp_path, terms: str):
    folder = tmp_path / "atelier"
    folder.mkdir()
    (folder / "event.toml").write_text(MANIFEST.format(terms=terms), encoding="utf-8")
    (folder / "notes.md").write_text(NOTES, encoding="utf-8")
    return folder


def test_the_manifest_s_terms_are_read_and_a_wrong_glossary_is_one_sentence(tmp_path):
    folder = event_folder(tmp_path, '"frugalité | software frugality | lean software"')
    assert load_event(folder).glossary == ("frugalité | software frugality | lean software",)
    (folder / "event.toml").write_text(MANIFEST.format(terms='"frugalité"'), encoding="utf-8")
    with pytest.raises(Exception, match=r"glossary must be a list of strings of equivalent terms"):
        load_event(folder)


@pytest.mark.parametrize("terms, found", [('"covoiturage | carpooling | car sharing"', True), ("", False)])
def test_keyword_search_finds_the_event_s_term_in_the_other_language_for_that_event_only(tmp_path, terms, found):
    home = tmp_path / "kb"
    ingest([event_folder(tmp_path, terms)], home, FakeEmbedder.name, FakeEmbedder, log=lambda m: None)
    kb = KnowledgeBase.open(home, embedder=FakeEmbedder())
    hits = kb.search("Who runs the carpooling?", k=1, mode="bm25")
    assert bool(hits and "covoiturage" in hits[0].passage.text) is found
    assert "carpool" not in keyword_tokens("le covoiturage")  # outside this knowledge base: the general glossary alone
    with event_glossary(kb.glossary):
        assert ("carpool" in keyword_tokens("le covoiturage")) is found


def test_a_wrong_glossary_stops_the_ingest_with_the_manifest_named(tmp_path):
    folder = event_folder(tmp_path, '"covoiturage"')
    with pytest.raises(EventKBError, match="event.toml: glossary must be"):
        ingest([folder], tmp_path / "kb", FakeEmbedder.name, FakeEmbedder, log=lambda m: None)
