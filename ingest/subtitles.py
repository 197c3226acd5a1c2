"""Load WebVTT (.vtt) and SubRip (.srt) captions as numbered lines of what was said.

Cue numbers, timings, the WEBVTT header and NOTE, STYLE and REGION blocks are left out (as blank lines, so every
line keeps its number in the file and each cue stays a paragraph). A WebVTT voice, `<v Jane Doe>Hello`, becomes the
speaker label it is, `Jane Doe: Hello`, which the structure step reads like any transcript's; other markup
(`<i>`, `<b>`, `<c.loud>`, timestamps inside a cue) is dropped. An SRT cue keeps its own "NAME:" prefix, if any.
"""
from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

from ingest.document import LoadedDocument, LoadError, Line, Page
from ingest.text import decode_text

_TIMING = re.compile(r"^\s*(?:\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}\s*-->\s*(?:\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d{1,2}:\d{2}[:.\d]*>")


def load_subtitles(path: Path) -> LoadedDocument:
    """Read a .vtt or .srt file into one page of numbered lines of cue text."""
    data = path.read_bytes()
    text, notes = decode_text(data, path)
    raw = text.splitlines()
    lines: list[Line] = []
    skipping = False  # inside a NOTE, STYLE or REGION block, or the header
    cues = 0
    for number, line in enumerate(raw, start=1):
        stripped = line.strip()
        if not stripped:
            skipping = False
            lines.append(Line(number, ""))
            continue
        if number == 1 and stripped.startswith("WEBVTT") or re.match(r"^(NOTE|STYLE|REGION)\b", stripped):
            skipping = True
        nxt = raw[number].strip() if number < len(raw) else ""
        if skipping or _TIMING.match(stripped) or (stripped.isdigit() and _TIMING.match(nxt)) or _TIMING.match(nxt):
            lines.append(Line(number, ""))  # a cue number or identifier, a timing line, or a block that is not speech
            cues += bool(_TIMING.match(stripped))
            continue
        spoken = _TAG.sub("", _VOICE.sub(lambda m: m.group(1).strip() + ": ", stripped, count=1))
        lines.append(Line(number, " ".join(html.unescape(spoken).split())))
    if not cues:
        raise LoadError(f"{path}: no caption cue (no 'start --> end' timing line): is this a .vtt or .srt file?")
    return LoadedDocument(path=path, format="text", sha256=hashlib.sha256(data).hexdigest(), pages=[Page(None, lines)], notes=notes)
