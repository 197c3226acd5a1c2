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


PANEL = [Person("Sameer Patel", aliases=("Sam",)), Person("Jane Doe", initials="JD"), Person("Jeff Hammond")]


def turns(tmp_path: Path, text: str, people=PANEL) -> tuple[dict[int, str | None], dict[str, int]]:
    path = tmp_path / "transcript.md"
    path.write_text(text, encoding="utf-8")
    structure = analyse(load_text(path), people, [], detect_speakers=True)
    return {ln.number: b.speaker for b in structure.blocks for ln in b.lines}, structure.unresolved


@pytest.mark.parametrize("first, second", [
    ("Jane Doe:", "Sameer Patel:"),
    ("**Jane Doe:**", "**Sameer Patel:**"),
    ("**Jane DOE :**", "**Sameer PATEL :**"),
    ("JANE DOE:", "SAMEER PATEL:"),
    ("Jane Doe (Acme):", "Sameer Patel (Initech):"),
    ("[00:12:03] Jane Doe:", "[00:13:40] Sameer Patel:"),
    ("\\[04:00\\] Jane Doe:", "\\[05:10\\] Sameer Patel:"),
    ("Jane Doe [00:12:03]:", "Sameer Patel [00:13:40]:"),
    ("JD:", "Sam:"),
    ("Jane:", "Sameer:"),
])
def test_speaker_labels_as_transcripts_write_them(tmp_path, first, second):
    by_line, unresolved = turns(tmp_path, f"{first} Welcome to the panel.\n\n{second} Thank you, Jane.\n\n{first} Sameer, how has the team grown?\n\n"
                                          f"{second} It doubled.\n\nIt doubled again last year.\n")
    assert by_line == {1: "Jane Doe", 3: "Sameer Patel", 5: "Jane Doe", 7: "Sameer Patel", 9: "Sameer Patel"}, (first, by_line)
    assert unresolved == {}


def test_a_line_that_addresses_someone_belongs_to_whoever_says_it(tmp_path):
    by_line, _ = turns(tmp_path, "Jane Doe: Hello.\n\nSameer Patel: Hi.\n\nJane Doe: Welcome.\n\nSameer, how has the team grown?\n\nSameer Patel: Fast.\n")
    assert by_line[7] == "Jane Doe"


def test_labels_that_name_no_one_are_not_people_and_end_the_turn(tmp_path):
    by_line, unresolved = turns(tmp_path, "Music: [intro]\n\nJane Doe: Welcome.\n\nSameer Patel: Thanks.\n\nBreak: ten minutes.\n\n"
                                          "We are back after the break.\n\nJeff_Hammond: A question.\n\nOutro: see you.\n\nJohn Smith: I was not announced.\n")
    assert by_line == {1: None, 3: "Jane Doe", 5: "Sameer Patel", 7: None, 9: None, 11: "Jeff Hammond", 13: None, 15: None}
    assert unresolved == {"Music": 1, "Break": 1, "Outro": 1, "John Smith": 1}  # a wrong speaker is worse than none


def test_markdown_headings_are_sections(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# The event\n\nIntro text.\n\n## First session\n\nText of the session.\n\n### Comments on chat\n\nA comment.\n", encoding="utf-8")
    structure = analyse(load_text(path), [], [], detect_speakers=True)
    sections = {ln.number: b.section for b in structure.blocks for ln in b.lines}
    assert sections == {3: "The event", 7: "The event › First session", 11: "The event › Comments on chat"}


def test_a_heading_ends_a_turn(tmp_path):
    by_line, _ = turns(tmp_path, "Jane Doe: Welcome.\n\nSameer Patel: Thanks.\n\n## Comments on chat\n\nNothing was said here by anyone.\n\nJane Doe: Bye.\n")
    assert by_line[1] == "Jane Doe" and by_line[3] == "Sameer Patel" and by_line[7] is None and by_line[9] == "Jane Doe"


def test_a_few_labels_in_prose_leave_it_to_the_prose_rules(tmp_path):
    prose = "".join(f"Paragraph {n} of the summary, which names nobody at its start.\n\n" for n in range(10))
    by_line, unresolved = turns(tmp_path, prose + "JD : Une réponse écrite.\n\nNote: a remark of the editor.\n")
    assert by_line[21] == by_line[23] == "Jane Doe" and unresolved == {}  # initials run on as they always did: no transcript here


def test_a_heading_per_speaker_gives_them_the_section(tmp_path):
    by_line, _ = turns(tmp_path, "# Round table\n\nThe moderator opens.\n\n## Jane Doe\n\nI think batteries matter.\n\nAnd recycling too.\n\n"
                                 "## Sameer Patel\n\nI agree with Jane.\n\n## Questions\n\nWho pays?\n")
    assert by_line == {3: None, 7: "Jane Doe", 9: "Jane Doe", 13: "Sameer Patel", 17: None}
