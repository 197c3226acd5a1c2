"""Sections, speakers and references on the bundled panel summary and on small hand-made texts."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunk import chunk_block
from ingest.event import Person, load_event
from ingest.structure import analyse
from ingest.text import load_text
from tests.conftest import EVENT, SUMMARY


@pytest.fixture(scope="module")
def summary():
    event = load_event(EVENT)
    doc = load_text(SUMMARY)
    attributions = [a for a in event.attributions if a.document == "panel-summary"]
    return analyse(doc, event.people, attributions, detect_speakers=True)


def speaker_of(structure, line: int) -> str | None:
    for block in structure.blocks:
        if any(ln.number == line for ln in block.lines):
            return block.speaker
    raise AssertionError(f"line {line} is in no block")


@pytest.mark.parametrize(
    "line, speaker, why",
    [
        (113, "Xavier Marichal", "titled example 'Xavier Marichal et la vidéo de Baby shark'"),
        (119, "Xavier Marichal", "same example, after a closing guillemet"),
        (123, "Roald Sieberath", "titled example with the misspelt alias 'Roald Siberath'"),
        (135, "Fabrice Brion", "titled example"),
        (145, None, "'Lors du Q/A...' is the summary's own text"),
        (151, "Xavier Marichal", "list item opening with 'Xavier souligne'"),
        (161, "Fabrice Brion", "'Fabrice rejoint Xavier': Fabrice speaks, Xavier is named"),
        (167, "Roald Sieberath", "list item 'Roald mentionne'"),
        (211, "Xavier Marichal", "manifest attribution"),
        (241, "Fabrice Brion", "manifest attribution"),
        (267, "Roald Sieberath", "manifest attribution"),
        (299, None, "a question from the public"),
        (304, "Xavier Marichal", "'XM :' initials"),
        (331, None, "a question from the public"),
        (338, "Fabrice Brion", "'FB :' initials"),
        (387, "Roald Sieberath", "continuation of an 'RS :' answer"),
        (414, None, "a question from the public in Jules Delcon's section"),
        (418, "Jules Delcon", "answer in the section 'traitées par Jules Delcon'"),
        (510, "Jules Delcon", "answer after the second question"),
        (575, None, "a comment from the public that names Fabrice Brion"),
        (582, None, "'Pour Fabrice : ...' is a question to him, not his words"),
        (18, None, "'modérée par Steve Tumson' names the moderator but is not his speech"),
    ],
)
def test_speakers(summary, line, speaker, why):
    assert speaker_of(summary, line) == speaker, why


def test_signature_lines_are_not_text(summary):
    lines = {ln.number for b in summary.blocks for ln in b.lines}
    assert not {231, 233, 237, 239, 283, 285} & lines


def test_sections(summary):
    sections = {b.section for b in summary.blocks}
    assert "CONCLUSIONS ET POINTS DE CONVERGENCE" in sections
    assert any(s and s.endswith("› Questions du public posées à Xavier Marichal") for s in sections)
    assert any(s and "LIMITES PLANÉTAIRES ? SI OUI, COMMENT ? SI PAS, ON FAIT QUOI ?" in s for s in sections)


def test_references_cite_the_blocks_before_them(summary):
    by_url = {}
    for ref in summary.references:
        by_url.setdefault(ref.url, ref)
    greenit = by_url["https://www.greenit.fr/wp-content/uploads/2019/10/2019-10-GREENIT-etude_EENM-rapport-accessible.VF_.pdf"]
    cited_lines = {ln.number for i in greenit.cites for ln in summary.blocks[i].lines}
    assert 418 in cited_lines and 455 in cited_lines
    assert 304 not in cited_lines  # another section's text is not cited by this URL block
    assert len(summary.references) == 26  # every URL line of the summary, duplicates included


def test_passages_never_cross_speakers_and_show_exact_source_text(summary):
    source = SUMMARY.read_text(encoding="utf-8").splitlines()
    for block in summary.blocks:
        for chunk in chunk_block(block, "panel-summary", "T"):
            assert chunk.speaker == block.speaker
            covered = "\n".join(line.rstrip() for line in source[chunk.first_line - 1 : chunk.last_line] if line.strip())
            assert chunk.text in covered
            assert chunk.text.split("\n")[0] in source[chunk.first_line - 1]


def test_passage_ids_are_stable(summary):
    block = summary.blocks[3]
    first = [c.id for c in chunk_block(block, "panel-summary", "T")]
    again = [c.id for c in chunk_block(block, "panel-summary", "T")]
    assert first == again and len(set(first)) == len(first)


def test_initials_and_openers_on_a_small_text(tmp_path: Path):
    path = tmp_path / "t.txt"
    path.write_text(
        "Questions posées à Ada Lovelace\n\n1. Pourquoi les machines ?\n\nAL : Parce que.\nEt encore.\n\n"
        "DEUXIEME PARTIE DU DOCUMENT\n\nAda a dit que tout va bien.\n\nLe public a applaudi Ada.\n",
        encoding="utf-8",
    )
    people = [Person("Ada Lovelace", initials="AL")]
    structure = analyse(load_text(path), people, [], detect_speakers=True)
    by_line = {ln.number: b.speaker for b in structure.blocks for ln in b.lines}
    assert by_line == {3: None, 5: "Ada Lovelace", 6: "Ada Lovelace", 10: "Ada Lovelace", 12: None}


def test_reports_never_get_speakers(tmp_path: Path):
    path = tmp_path / "r.txt"
    path.write_text("XM : I said this.\n\nXavier Marichal wrote that.\n", encoding="utf-8")
    people = [Person("Xavier Marichal", initials="XM")]
    structure = analyse(load_text(path), people, [], detect_speakers=False)
    assert {b.speaker for b in structure.blocks} == {None}


def test_an_abbreviated_title_after_a_bracket_ends_no_sentence(summary):
    from ingest.chunk import _sentence_spans

    text = "une décision IA (Mr. Dupont dont l'assurance vient d'être refusée) pourra revenir. Tout ça va nécessiter une trace."
    assert [text[a:b] for a, b in _sentence_spans(text)][0].endswith("pourra revenir.")
    passages = [c.text for block in summary.blocks for c in chunk_block(block, "panel-summary", "T")]
    assert any("(Mr." in p and "Dupont dont l'assurance" in p for p in passages)  # one passage, as the summary writes it
