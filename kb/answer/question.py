"""The question, read once: its language, the names it asks about and its words; what every step of the answer path
reads of it."""
from __future__ import annotations

import re
from dataclasses import dataclass

from kb.answer.context import content_words
from kb.language import detect
from kb.names import names
from kb.textnorm import tokens

_ATTRIBUTION = re.compile(r"\b(?:[Ss]elon|[Dd]['’]apr[eè]s|[Aa]ccording to|[Aa]s per)\s+(?:l['’]|la\s+|le\s+|les\s+|the\s+)?(?:[A-ZÀ-Ü][\w.’'-]*\s*)+")


@dataclass(frozen=True)
class Question:
    """A question as the answer path reads it."""

    text: str
    language: str
    subjects: tuple[str, ...]  # the names it asks about ("GPT-4"), not the source it attributes to ("selon l'AIE")
    names: tuple[str, ...]  # every name it writes, that source included
    words: tuple[str, ...]  # its content words, folded
    own: frozenset[str]  # its tokens

    @classmethod
    def parse(cls, text: str, language: str | None = None) -> Question:
        """Read `text` (its language detected unless given)."""
        return cls(
            text=text,
            language=language or detect(text),
            subjects=tuple(names(_ATTRIBUTION.sub(" ", text))),
            names=tuple(names(text)),
            words=tuple(content_words(text)),
            own=frozenset(tokens(text)),
        )
