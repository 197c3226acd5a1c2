"""The question, read once: its language, the names it asks about, its words, and the kind of figure it asks for;
what every step of the answer path reads of it."""
from __future__ import annotations

import re
from dataclasses import dataclass

from kb.answer.context import content_words
from kb.figures import Asked, asked, asks_quantity
from kb.language import detect
from kb.names import names
from kb.query import keyword_tokens
from kb.textnorm import STOPWORDS, tokens, words

_ATTRIBUTION = re.compile(r"\b(?:[Ss]elon|[Dd]['’]apr[eè]s|[Aa]ccording to|[Aa]s per)\s+(?:l['’]|la\s+|le\s+|les\s+|the\s+)?(?:[A-ZÀ-Ü][\w.’'-]*\s*)+")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Question:
    """A question as the answer path reads it."""

    text: str
    language: str
    subjects: tuple[str, ...]  # the names it asks about ("GPT-4"), not the source it attributes to ("selon l'AIE")
    names: tuple[str, ...]  # every name it writes, that source included
    capitalised: frozenset[str]  # its capitalised words past the first, folded ("bloom", "data", "good")
    words: tuple[str, ...]  # its content words, folded
    own: frozenset[str]  # its tokens
    related: frozenset[str]  # the tokens keyword search adds for it (glossary equivalents, units), not its own
    asked: Asked | None  # the kind of figure it asks for, when its words say
    quantity: bool  # it asks for a quantity ("how much", "quelle part")

    @classmethod
    def parse(cls, text: str, language: str | None = None) -> Question:
        """Read `text` (its language detected unless given)."""
        own = frozenset(tokens(text))
        return cls(
            text=text,
            language=language or detect(text),
            subjects=tuple(names(_ATTRIBUTION.sub(" ", text))),
            names=tuple(names(text)),
            capitalised=frozenset(w for m in re.finditer(r"(?<![\w'’-])[A-ZÀ-Ü][\w-]*", text) if m.start() > 0
                                  for w in words(m.group(0)) if w not in STOPWORDS),
            words=tuple(content_words(text)),
            own=own,
            related=frozenset(keyword_tokens(text)) - own,
            asked=asked(text),
            quantity=asks_quantity(text),
        )

    @property
    def figure(self) -> re.Pattern | None:
        """For a quantity question, a pattern for the figure it asks for (any number when its words do not say)."""
        if not self.quantity:
            return None
        return self.asked.figure if self.asked else _DIGIT
