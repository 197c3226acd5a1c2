"""Text and PDF loaders: line and page numbers, normalisation, and one clear error per bad file."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter

from ingest.document import LoadError, Line
from ingest.pdf import join_hyphenations, load_pdf, normalise, running_lines
from ingest.text import load_text
from tests.conftest import SUMMARY, report


def test_text_keeps_line_numbers_exactly():
    doc = load_text(SUMMARY)
    lines = {ln.number: ln.text for ln in doc.pages[0].lines}
    assert lines[4].startswith("RESUME DES DISCUSSIONS DU PANEL")
    assert lines[113].startswith("« Baby shark » sur Youtube, c’est plus de 14 millards de vues")
    assert doc.pages[0].number is None


@pytest.mark.parametrize(
    "data, expected",
    [
        ("héllo\nwörld".encode("utf-8"), "héllo"),
        ("\ufeffhéllo\nwörld".encode("utf-8"), "héllo"),
        ("héllo\nwörld".encode("latin-1"), "héllo"),
    ],
)
def test_text_encodings(tmp_path, data, expected):
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    doc = load_text(path)
    assert doc.pages[0].lines[0].text == expected


@pytest.mark.parametrize(
    "data, reason",
    [(b"", "empty"), (b"  \n\n", "empty"), (b"\x00\x01\x02binary", "not a text file"), (b"ok \x81\x8d\x8f\x90\x9d text", "unreadable encoding")],
)
def test_bad_text_files(tmp_path, data, reason):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason) as info:
        load_text(path)
    assert str(path) in str(info.value)


def _pdf_bytes(encrypt: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if encrypt:
        writer.encrypt(encrypt)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"this is not a pdf at all", "not a PDF"),
        (b"%PDF-1.7\n%garbage with no objects at all", "corrupt or truncated|no pages"),
        (_pdf_bytes(encrypt="secret"), "encrypted"),
        (_pdf_bytes(), "no page has extractable text"),
    ],
)
def test_bad_pdfs_get_one_clear_reason(tmp_path, data, reason):
    path = tmp_path / "bad.pdf"
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason) as info:
        load_pdf(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_a_truncated_pdf_is_reported(tmp_path, generated_report, keep):
    path = tmp_path / "truncated.pdf"
    data = generated_report.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(LoadError, match="corrupt or truncated|no page has extractable text"):
        load_pdf(path)


def test_a_truncated_real_pdf_is_reported(tmp_path):
    path = tmp_path / "truncated.pdf"
    path.write_bytes(report("luccioni2022.pdf").read_bytes()[:20000])
    with pytest.raises(LoadError, match="corrupt or truncated|no page has extractable text"):
        load_pdf(path)


def test_a_generated_report_loads_as_real_ones_do(generated_report):
    """What the real reports test below, on a PDF the test writes: ligatures, math italics, hyphenation across lines,
    running header and footer, a page without text, the outline, page and line numbers."""
    doc = load_pdf(generated_report)
    assert [p.number for p in doc.pages] == list(range(1, 8)) and doc.empty_pages == [5]
    text = _text(doc)
    assert not any(ch in text for ch in "ﬁﬂﬀﬃﬄ𝐶𝑂") and "efficient use of finite resources" in text and "flow" in text
    assert "24,7 tonnes de CO2eq selon la méthode" in text and "consommation" in text
    assert "du Royaume-\nUni" in text and "pages 3-\n5" in text  # a capital or a figure after the hyphen: kept
    assert "RAPPORT 2019" not in text and "Septembre 2019" not in text
    first = doc.pages[0].lines
    assert first[0].number == 2 and first[0].text.startswith("Les émissions")  # line 1, the header, is gone
    assert [(h.title, h.page) for h in doc.headings] == [("1 Introduction", 1), ("2 Method", 3)]


def test_normalise_ligatures_spaces_and_math_italics():
    assert normalise("eﬃcient ﬁeld\u00a0: 𝐶𝑂2𝑒𝑞") == "efficient field : CO2eq"


@pytest.mark.parametrize(
    "lines, expected",
    [
        (["the consump-", "tion of energy"], ["the consumption", "of energy"]),
        (["Royaume-", "Uni"], ["Royaume-", "Uni"]),  # a capital: a real compound, not a line-end hyphen
        (["pages 3-", "5"], ["pages 3-", "5"]),
        (["a consomma-", "tion."], ["a consommation.", ""]),
    ],
)
def test_join_hyphenations(lines, expected):
    joined = join_hyphenations([Line(i, t) for i, t in enumerate(lines, start=1)])
    assert [ln.text for ln in joined] == expected
    assert [ln.number for ln in joined] == list(range(1, len(lines) + 1))


def test_running_lines_found_on_most_pages():
    pages = [["REPORT 2019 - page %d" % n, f"body {n}", f"text {n}", str(n)] for n in range(1, 7)]
    running = running_lines(pages)
    assert "report # - page #" in running
    assert "text 1" not in running


@pytest.fixture(scope="module")
def real_pdfs():
    return {name: load_pdf(report(name)) for name in ["greenit2019_EENM_rapport.pdf", "luccioni2022.pdf", "luccioni2023.pdf", "shiftproject2018_lean_ict_sobriete_numerique_v8.pdf"]}


def _text(doc) -> str:
    return "\n".join(ln.text for page in doc.pages for ln in page.lines)


def test_real_pdfs_page_numbers(real_pdfs):
    assert [len(d.pages) for d in real_pdfs.values()] == [40, 10, 21, 88]
    for doc in real_pdfs.values():
        assert [p.number for p in doc.pages] == list(range(1, len(doc.pages) + 1))
    bloom = real_pdfs["luccioni2022.pdf"]
    page1 = " ".join(ln.text for ln in bloom.pages[0].lines)
    assert "24.7 tonnes of CO2eq" in page1


def test_real_pdfs_have_no_ligatures_and_no_math_italics(real_pdfs):
    for doc in real_pdfs.values():
        text = _text(doc)
        assert not any(ch in text for ch in "ﬁﬂﬀﬃﬄ"), doc.path.name
        assert "𝐶" not in text and "\u00a0" not in text
    assert "sufficient information" in _text(real_pdfs["luccioni2022.pdf"])
    assert "CO2eq" in _text(real_pdfs["luccioni2023.pdf"])


def test_real_pdfs_hyphenations_joined(real_pdfs):
    text = _text(real_pdfs["greenit2019_EENM_rapport.pdf"])
    assert not [ln for page in real_pdfs["greenit2019_EENM_rapport.pdf"].pages for ln in page.lines if ln.text.endswith("-") and ln.text[-2:-1].islower()]
    lean = _text(real_pdfs["shiftproject2018_lean_ict_sobriete_numerique_v8.pdf"])
    assert "consomma-\ntion" not in lean and "consomma-\ntion" not in text


def test_running_headers_and_footers_removed(real_pdfs):
    greenit = _text(real_pdfs["greenit2019_EENM_rapport.pdf"])
    assert "Version 2.0 - Septembre 2019 - GreenIT.fr" not in greenit
    lean = _text(real_pdfs["shiftproject2018_lean_ict_sobriete_numerique_v8.pdf"])
    assert "RAPPORT / LEAN ICT : POUR UNE SOBRIÉTE NUMÉRIQUE" not in lean


def test_pages_without_text_are_reported(real_pdfs):
    assert real_pdfs["shiftproject2018_lean_ict_sobriete_numerique_v8.pdf"].empty_pages == [5, 86]
    assert real_pdfs["greenit2019_EENM_rapport.pdf"].empty_pages == []


def test_outline_gives_headings_on_pages(real_pdfs):
    headings = real_pdfs["luccioni2022.pdf"].headings
    assert headings and headings[0].title == "1 Introduction" and headings[0].page == 1


VTT = """WEBVTT

NOTE recorded at the town hall

00:00:01.000 --> 00:00:04.000
<v Jane Doe>Welcome to the panel.</v>

intro-2
00:00:04.500 --> 00:00:07.000
<v.loud Sameer Patel>Thank you, <i>Jane</i>.

00:00:07.500 --> 00:00:09.000
<v Jane Doe>Sameer, how has the team grown?

00:00:09.500 --> 00:00:12.000 align:start
<v Sameer Patel>It doubled &amp; more.
"""

SRT = """1
00:00:01,000 --> 00:00:04,000
JANE DOE: Welcome to the panel.

2
00:00:04,500 --> 00:00:07,000
SAMEER PATEL: Thank you, Jane.

3
00:00:07,500 --> 00:00:09,000
Our team doubled last year.

4
00:00:09,500 --> 00:00:12,000
JANE DOE: And now?
"""


JANE, SAMEER = "Jane Doe", "Sameer Patel"


@pytest.mark.parametrize("name, text, speech, who", [
    ("panel.vtt", VTT, {6: "Jane Doe: Welcome to the panel.", 10: "Sameer Patel: Thank you, Jane.",
                        13: "Jane Doe: Sameer, how has the team grown?", 16: "Sameer Patel: It doubled & more."}, [JANE, SAMEER, JANE, SAMEER]),
    ("panel.srt", SRT, {3: "JANE DOE: Welcome to the panel.", 7: "SAMEER PATEL: Thank you, Jane.", 11: "Our team doubled last year.",
                        15: "JANE DOE: And now?"}, [JANE, SAMEER, SAMEER, JANE]),  # an unlabelled cue continues the turn
])
def test_captions_keep_what_was_said_with_its_line_and_speaker(tmp_path, name, text, speech, who):
    from ingest.event import Person
    from ingest.structure import analyse
    from ingest.subtitles import load_subtitles

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    doc = load_subtitles(path)
    assert {ln.number: ln.text for ln in doc.pages[0].lines if ln.text} == speech  # numbers, timings, NOTE: gone
    people = [Person("Jane Doe"), Person("Sameer Patel")]
    speakers = {ln.number: b.speaker for b in analyse(doc, people, [], detect_speakers=True).blocks for ln in b.lines}
    assert [speakers[n] for n in sorted(speech)] == who


def test_a_file_named_vtt_without_cues_is_refused(tmp_path):
    from ingest.subtitles import load_subtitles

    path = tmp_path / "notes.vtt"
    path.write_text("Just some notes.\n", encoding="utf-8")
    with pytest.raises(LoadError, match="no caption cue"):
        load_subtitles(path)
