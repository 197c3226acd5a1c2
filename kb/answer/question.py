"""The question, read once: its language, the names it asks about and its words; what every step of the answer path
reads of it."""
from __future__ import annotations

from dataclasses import dataclass

from kb.answer.context import content_words
from kb.language import detect
from kb.names import names
from kb.textnorm import tokens

@dataclass(frozen=True)
class Question:
    """A question as the answer path reads it."""

    text: str
    language: str
    names: tuple[str, ...]  # the names it writes ("GPT-4", "Paris")
    words: tuple[str, ...]  # its content words, folded
    own: frozenset[str]  # its tokens

    @classmethod
    def parse(cls, text: str, language: str | None = None) -> Question:
        """Read `text` (its language detected unless given)."""
        return cls(
            text=text,
            language=language or detect(text),
            names=tuple(names(text)),
            words=tuple(content_words(text)),
            own=frozenset(tokens(text)),
        )
