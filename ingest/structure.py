"""Find the structure of a loaded document: sections, speakers and cited URLs.

Speakers come from what the text says and from the manifest's attributions, which win. In a transcript (speaker
labels open its paragraphs: "Name:", "**Name :**", initials), each turn runs from its label to the next. Elsewhere:
section titles such as "Questions du public posées à X", initials such as "XM :", paragraphs and list items that
open with a person's name, titled examples such as "Jane Doe et la vidéo de la conférence".
When none of these applies the text stays unattributed: a wrong speaker is worse than none.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.document import Heading, LoadedDocument, Line
from ingest.event import Attribution, Person
from kb.textnorm import fold

VERSION = 3  # in every build key: a change to how structure is read rebuilds unchanged sources
URL = re.compile(r"https?://[^\s<>\"“”«»]+")
_URL_LINE = re.compile(r"^\s*https?://\S+\s*$")
_BULLET = re.compile(r"^(?:[o•▪◦\-–—*]|\d+[.)])\s+")
_NUMBERED = re.compile(r"^\d+[.)]\s+")
_INITIALS = re.compile(r"^([A-Z]{2,3})\s*:\s*")
_BYLINE = re.compile(r"^(propos[ée]|pr[ée]sent[ée]|r[ée]dig[ée]|written|proposed|prepared)\s+(par|by)\s", re.I)
_RESPONDER = re.compile(r"(?:pos[ée]es?\s+[àa]|trait[ée]es?\s+par|answered\s+by|asked\s+to)\s+(.+)$", re.I)
_PDF_HEADING = re.compile(r"^\d+(?:\.\d+)*\.?\s+\S")
# A speaker label opening a line, as transcripts write them: "Name:", "**Name :**", "NAME:", "Name (Org):",
# "Jeff_Hammond:", with a timestamp before or after ("[00:12:03] Name:", "\\[04:00\\] Name:", "Name (00:12):").
_STAMP = r"(?:\\?\[\s*\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\s*\\?\]|\(\s*\d{1,2}:\d{2}(?::\d{2})?\s*\)|\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?)"
_LABEL_WORD = r"[^\W\d_](?:[\w.'’-]*[^\W_])?"
_LABEL = re.compile(
    rf"^\s*(?:{_STAMP}\s*)?(?:\*\*|__|\*|_)?\s*(?:{_STAMP}\s*)?(?P<label>{_LABEL_WORD}(?:[ _]{_LABEL_WORD}){{0,3}})"
    rf"\s*(?:\([^()]{{1,80}}\))?\s*(?:{_STAMP}\s*)?(?:\*\*|__|\*|_)?\s*:(?!//)"
)
_ATX_HEADING = re.compile(r"^(#{1,6})\s+(\S.*)$")
TRANSCRIPT_SHARE = 0.3  # labels open at least this share of a document's paragraphs: they are its structure
# "»" is left out on purpose: a closing guillemet often ends a quote inside a running paragraph.
_TERMINAL = (".", "!", "?", ")")
_HEADING_MAX = 70


@dataclass
class Block:
    """Consecutive lines of one page that share a section and a speaker."""

    page: int | None
    section: str | None
    speaker: str | None
    lines: list[Line] = field(default_factory=list)
    after_url: bool = False  # starts right after a block of URLs: never merged with the block before


@dataclass
class Reference:
    """A URL in the text, the line it sits on, and the blocks of text it cites."""

    url: str
    page: int | None
    line: int
    cites: list[int] = field(default_factory=list)  # indexes into the block list


@dataclass
class Structure:
    blocks: list[Block]
    references: list[Reference]
    unresolved: dict[str, int] = field(default_factory=dict)  # speaker labels that name none of the people, with their count


def _label_match(text: str) -> re.Match | None:
    match = _LABEL.match(text)
    # Every word of a label starts with a capital: "Practically speaking: ..." is prose.
    return match if match and all(word[0].isupper() for word in re.split(r"[ _]", match.group("label"))) else None


def turn_label(text: str) -> str | None:
    """The speaker label a line opens with ("**Mélanie RAPHAËL :** Bonjour" gives "Mélanie RAPHAËL"), or None."""
    match = _label_match(text)
    return match.group("label") if match else None


def without_label(text: str) -> str:
    """The line without the speaker label it opens with, if any."""
    match = _label_match(text)
    return text[match.end():] if match else text


def paragraph_starts(doc: LoadedDocument) -> list[str]:
    """The first line of each paragraph (a non-empty line after an empty one, or first on its page)."""
    starts = []
    for page in doc.pages:
        previous = ""
        for line in page.lines:
            text = line.text.strip()
            if text and not previous:
                starts.append(text)
            previous = text
    return starts


class NameMatcher:
    """Recognises the event's people in text by full name, alias, first or last name, and initials."""

    def __init__(self, people: list[Person]) -> None:
        self.by_initials = {p.initials: p.name for p in people if p.initials}
        forms: dict[str, str] = {}
        parts: dict[str, set[str]] = {}
        for p in people:
            for full in (p.name, *p.aliases):
                forms[fold(full)] = p.name
                for part in fold(full).split():
                    parts.setdefault(part, set()).add(p.name)
        for part, names in parts.items():
            if len(names) == 1 and len(part) > 2:
                forms.setdefault(part, next(iter(names)))
        self.forms = sorted(forms.items(), key=lambda kv: -len(kv[0]))

    def only_name(self, text: str) -> bool:
        """True for a line that is nothing but a name or part of one (a signature block)."""
        key = " ".join(fold(text).split())
        return bool(key) and any(key == form for form, _ in self.forms)

    def opener(self, text: str) -> str | None:
        """The person a paragraph or list item opens with ("Jane souligne...", "Sameer Patel, tout en...")."""
        body = fold(_BULLET.sub("", text, count=1)).lstrip()
        for form, name in self.forms:
            if body.startswith(form):
                rest = body[len(form) :]
                # The name must be the subject: followed by a verb or a comma, not a colon (a label).
                if re.match(r"^(,\s|\s+[a-z])", rest):
                    return name
        return None

    def titled(self, title: str) -> str | None:
        """The person a titled example is about ("Jane Doe et la vidéo de la conférence")."""
        key = fold(title)
        for form, name in self.forms:
            if key.startswith(form + " et ") and " " in form:
                return name
        return None

    def exact(self, label: str) -> str | None:
        """The person a speaker label names in full: a name, an alias, a first or last name only they have, or their
        initials ("Dom", "Jeff_Hammond", "Mélanie RAPHAËL", "XM")."""
        if label in self.by_initials:
            return self.by_initials[label]
        key = " ".join(fold(label.replace("_", " ")).split())
        return next((name for form, name in self.forms if form == key), None)

    def named(self, text: str) -> str | None:
        """The person a phrase names, by any of their forms ("Jane Doe (Institut ...)")."""
        key = fold(text)
        for form, name in self.forms:
            if key.startswith(form):
                return name
        return None


def _is_upper_heading(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.85 * len(letters) and not _URL_LINE.match(text)


def _ends_paragraph(text: str) -> bool:
    return text.rstrip().endswith(_TERMINAL)


def _starts_upper(text: str) -> bool:
    first = next((c for c in text if c.isalnum()), "")
    return first.isupper()


def _section_name(level1: str | None, level2: str | None) -> str | None:
    if level1 and level2:
        return f"{level1} › {level2}"
    return level1 or level2


def is_transcript(doc: LoadedDocument, names: NameMatcher) -> bool:
    """True when speaker labels open a good share of the document's paragraphs, and at least two name its people:
    then each turn runs from its label to the next, and nothing else decides who speaks."""
    starts = paragraph_starts(doc)
    labels = [label for label in map(turn_label, starts) if label]
    return sum(names.exact(label) is not None for label in labels) >= 2 and len(labels) >= TRANSCRIPT_SHARE * len(starts)


def analyse(doc: LoadedDocument, people: list[Person], attributions: list[Attribution], detect_speakers: bool) -> Structure:
    """Split a document into blocks with sections and speakers, and collect its URLs."""
    names = NameMatcher(people)
    transcript = detect_speakers and is_transcript(doc, names)
    unresolved: dict[str, int] = {}
    blocks: list[Block] = []
    references: list[Reference] = []
    pending_refs: list[int] = []  # blocks since the last URL block

    outline: dict[tuple[int | None, int], Heading] = {(h.page, h.line): h for h in doc.headings or []}
    use_outline = doc.headings is not None

    level1: str | None = None
    level2: str | None = None
    default_speaker: str | None = None  # the responder of a Q&A section, when it has one
    responder: str | None = None
    speaker: str | None = None
    speaker_kind = ""  # "opener" ends at a paragraph break; "initials" and "responder" run on
    in_question = False
    prev_text: str | None = None
    prev_heading = True
    last_url = False
    cites: list[int] = []

    def emit(page: int | None, line: Line) -> None:
        section = _section_name(level1, level2)
        if blocks and blocks[-1].page == page and blocks[-1].section == section and blocks[-1].speaker == speaker and not last_url:
            blocks[-1].lines.append(line)
            return
        blocks.append(Block(page, section, speaker, [line], after_url=last_url))
        pending_refs.append(len(blocks) - 1)

    for page in doc.pages:
        lines = page.lines
        i = 0
        while i < len(lines):
            line = lines[i]
            text = line.text.strip()
            i += 1
            if not text:
                continue

            if _URL_LINE.match(text):
                if not last_url:
                    cites = list(pending_refs)
                    pending_refs.clear()
                for url in URL.findall(text):
                    references.append(Reference(url.rstrip(".,;)"), page.number, line.number, list(cites)))
                last_url = True
                if speaker_kind == "opener":
                    speaker, speaker_kind = default_speaker, "responder" if default_speaker else ""
                prev_text, prev_heading = text, False
                continue

            if transcript:
                label = turn_label(text)
                if label is not None:  # a turn begins: its speaker, or nobody for a label that names no one ("Music")
                    speaker, speaker_kind, in_question = names.exact(label), "turn", False
                    if speaker is None:
                        unresolved[label] = unresolved.get(label, 0) + 1
                    emit(page.number, line)
                    prev_text, prev_heading, last_url = text, False, False
                    continue

            if detect_speakers and not transcript and names.only_name(text):
                continue  # a signature block: the manifest says whose text it closes

            # Headings.
            heading: tuple[int, str] | None = None
            atx = _ATX_HEADING.match(text) if doc.format == "text" else None
            if atx:  # a markdown heading: "#" is a section, "##" and deeper its parts
                heading = (1 if len(atx.group(1)) == 1 else 2, atx.group(2).strip(" #"))
            elif use_outline:
                h = outline.get((page.number, line.number))
                if h:
                    heading = (1 if h.level == 1 else 2, h.title)
            elif _is_upper_heading(text) and not _BULLET.match(text):
                title = text
                while i < len(lines) and (not lines[i].text.strip() or _is_upper_heading(lines[i].text.strip())):
                    nxt = lines[i].text.strip()
                    if nxt and len(title) + len(nxt) < 200:
                        title += " " + nxt
                    elif nxt:
                        break
                    i += 1
                heading = (1, " ".join(title.split()))
            elif (
                doc.format == "text"
                and (prev_heading or _ends_paragraph(prev_text or "") or last_url)
                and _starts_upper(text)
                and text[0].isalpha()
                and not text.endswith((".", "?", "!", ":", ";", ","))
                and (len(text) <= _HEADING_MAX or text.count("(") > text.count(")"))
                and len(text) <= 100
                and not _BULLET.match(text)
                and not _INITIALS.match(text)
                and not _BYLINE.match(text)
            ):
                title = text
                while title.count("(") > title.count(")") and i < len(lines):
                    nxt = lines[i].text.strip()
                    i += 1
                    if nxt:
                        title += " " + nxt
                following = next((ln.text.strip() for ln in lines[i:] if ln.text.strip()), "")
                if not following or not following[0].islower():
                    heading = (2, title)
            elif doc.format == "pdf" and _PDF_HEADING.match(text) and len(text) <= 80 and not text.endswith((".", ",", ";")):
                heading = (2, text)

            if heading:
                lvl, title = heading
                if lvl == 1:
                    level1, level2 = title, None
                else:
                    level2 = title
                responder = None
                if detect_speakers:
                    match = _RESPONDER.search(title)
                    # "## Jane Doe": a heading that is a person's name alone gives them the section.
                    responder = names.exact(title.strip(" :*_")) or (names.named(match.group(1)) if match else None)
                    titled = names.titled(title)
                else:
                    titled = None
                default_speaker = responder
                speaker, speaker_kind = (titled, "opener") if titled else (responder, "responder" if responder else "")
                in_question = False
                prev_text, prev_heading, last_url = title, True, False
                pending_refs.clear()
                continue

            if transcript:
                emit(page.number, line)  # a turn runs on to the next label or heading
            elif detect_speakers:
                initials = _INITIALS.match(text)
                body_start = prev_heading or _ends_paragraph(prev_text or "") or last_url or bool(_BULLET.match(text))
                if initials and initials.group(1) in names.by_initials:
                    speaker, speaker_kind = names.by_initials[initials.group(1)], "initials"
                    in_question = False
                elif responder and _NUMBERED.match(text):
                    speaker, speaker_kind, in_question = None, "question", True
                elif body_start and (_starts_upper(text) or _BULLET.match(text)):
                    opener = names.opener(text)
                    if opener and not in_question:
                        speaker, speaker_kind = opener, "opener"
                    elif speaker_kind == "opener" and not prev_heading:
                        speaker, speaker_kind = default_speaker, "responder" if default_speaker else ""
                emit(page.number, line)
                if in_question and text.rstrip().endswith("?"):
                    in_question = False
                    speaker, speaker_kind = responder, "responder" if responder else ""
            else:
                emit(page.number, line)
            prev_text, prev_heading, last_url = text, False, False

    blocks, moved = _apply_attributions(blocks, attributions)
    for ref in references:
        ref.cites = sorted({new for old in ref.cites for new in moved[old]})
    return Structure(blocks, references, unresolved)


def _apply_attributions(blocks: list[Block], attributions: list[Attribution]) -> tuple[list[Block], list[list[int]]]:
    """Give the manifest's speakers to the lines they cover, splitting blocks where needed.

    Returns the new blocks and, for each old block, the indexes of the blocks it became.
    """

    def owner(page: int | None, number: int, current: str | None) -> str | None:
        for a in attributions:
            if a.first <= number <= a.last and (a.page is None or a.page == page):
                return a.speaker
        return current

    out: list[Block] = []
    moved: list[list[int]] = []
    for block in blocks:
        mine: list[int] = []
        for line in block.lines:
            who = owner(block.page, line.number, block.speaker)
            last = out[-1] if out else None
            if last and last.speaker == who and last.page == block.page and last.section == block.section and (mine or not block.after_url):
                last.lines.append(line)
                if not mine:
                    mine.append(len(out) - 1)
            else:
                out.append(Block(block.page, block.section, who, [line], after_url=block.after_url and not mine))
                mine.append(len(out) - 1)
        moved.append(mine)
    return out, moved
