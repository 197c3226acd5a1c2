"""Small PDFs written for the tests, with what real reports hold: ligatures, math-italic letters, hyphenation across
lines, running headers and footers, pages without text, an outline.

Each page is a list of lines; every character is drawn from one font whose ToUnicode map gives back exactly the
character written (a ligature "ﬁ" extracts as U+FB01, "𝐶" as U+1D436), as a typesetter's PDF does.
"""
from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter


def _utf16(ch: str) -> str:
    return ch.encode("utf-16-be").hex().upper()


def pdf_bytes(pages: list[list[str]], outline: list[tuple[str, int]] = ()) -> bytes:
    """A PDF of `pages` (lines of text; an empty list is a page without text) and `outline` (title, 1-based page)."""
    chars = sorted({ch for page in pages for line in page for ch in line})
    if len(chars) > 254:
        raise ValueError("too many distinct characters for one simple font")
    code = {ch: n for n, ch in enumerate(chars, start=1)}
    cmap = "\n".join(f"<{code[ch]:02X}> <{_utf16(ch)}>" for ch in chars)
    to_unicode = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Test def /CMapType 2 def\n"
        "1 begincodespacerange <00> <FF> endcodespacerange\n"
        f"{len(chars)} beginbfchar\n{cmap}\nendbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end"
    )
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream(data: bytes, extra: str = "") -> bytes:
        return f"<< /Length {len(data)}{extra} >>\nstream\n".encode() + data + b"\nendstream"

    cmap_id = add(stream(to_unicode.encode()))
    font_id = add(f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /FirstChar 0 /LastChar 255 "
                  f"/Widths [{' '.join(['500'] * 256)}] /ToUnicode {cmap_id} 0 R >>".encode())
    pages_id = len(objects) + 2 * len(pages) + 1
    kids = []
    for lines in pages:
        ops = []
        for n, line in enumerate(lines):
            hex_text = "".join(f"{code[ch]:02X}" for ch in line)
            ops.append(f"BT /F1 10 Tf 50 {780 - 14 * n} Td <{hex_text}> Tj ET")
        content_id = add(stream("\n".join(ops).encode()))
        kids.append(add(f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 595 842] "
                        f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {content_id} 0 R >>".encode()))
    assert add(f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()) == pages_id
    catalog_id = add(f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode())

    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{o:010d} 00000 n \n" for o in offsets).encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root {catalog_id} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    if not outline:
        return out.getvalue()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(out.getvalue())))
    for title, page in outline:
        writer.add_outline_item(title=title, page_number=page - 1)
    with_outline = io.BytesIO()
    writer.write(with_outline)
    return with_outline.getvalue()


BODIES = {
    1: ["Les émissions atteignent 24,7 tonnes de 𝐶𝑂2𝑒𝑞 selon la mé-", "thode de calcul retenue."],
    2: ["The eﬃcient use of ﬁnite resources is the ﬁrst goal of", "digital sobriety, and the ﬂow of devices the second."],
    3: ["La consomma-", "tion des terminaux du Royaume-", "Uni est décrite aux pages 3-", "5 du rapport."],
    4: ["Data centres use about one percent of the world's", "electricity, according to the agency."],
    6: ["Les réseaux représentent un quart des émissions du", "numérique mondial."],
    7: ["We estimate the energy of a request from its tokens and", "the power of the processor that served it."],
}


def report_pages() -> list[list[str]]:
    """Seven pages of a two-language report: a running header and footer, ligatures, math italics, words hyphenated
    across lines, and page 5 without text (a scanned figure)."""
    return [["RAPPORT 2019 / SOBRIÉTÉ NUMÉRIQUE", *BODIES[n], f"Version 2.0 - Septembre 2019 - page {n}"] if n in BODIES else []
            for n in range(1, 8)]
