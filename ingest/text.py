"""Load plain text and markdown with their line numbers, exactly as written."""
from __future__ import annotations

import hashlib
from pathlib import Path

from ingest.document import LoadedDocument, LoadError, Line, Page

_CONTROL = {c for c in range(32) if chr(c) not in "\t\n\r\f"}


def decode_text(data: bytes, path: Path) -> tuple[str, list[str]]:
    """Decode UTF-8 (with or without BOM), falling back to Latin-1 for text that is clearly not binary."""
    if not data.strip():
        raise LoadError(f"{path}: the file is empty")
    if b"\x00" in data[:4096]:
        raise LoadError(f"{path}: this is not a text file (it contains binary data)")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    if "\ufffd" in text or sum(ord(ch) in _CONTROL for ch in text) > 0:
        raise LoadError(f"{path}: unreadable encoding: save the file as UTF-8 and ingest it again")
    return text, [f"{path}: not UTF-8; read as Windows-1252/Latin-1"]


def load_text(path: Path) -> LoadedDocument:
    """Read a .txt or .md file into one page of numbered lines."""
    data = path.read_bytes()
    text, notes = decode_text(data, path)
    lines = [Line(i, raw.rstrip()) for i, raw in enumerate(text.splitlines(), start=1)]
    return LoadedDocument(
        path=path,
        format="text",
        sha256=hashlib.sha256(data).hexdigest(),
        pages=[Page(None, lines)],
        notes=notes,
    )
