"""A question in another language than the passages it finds, translated by the model into theirs, so that search and
the choice of the sentences sent match the passages' own words (BENCHMARKS.md, "Translating the question")."""
from __future__ import annotations

from dataclasses import dataclass

from kb.answer.prompt import LANGUAGE_NAMES
from kb.generator import Generator, Usage
from kb.knowledge import Hit
from kb.language import detect

MAX_TOKENS = 60
SYSTEM = "You translate questions. Reply with the translation only."


@dataclass
class Translation:
    """The question in the passages' language (`text`), or None when the model's reply was not a usable translation."""

    language: str
    text: str | None
    reply: str
    usage: Usage

    def to_json(self) -> dict:
        return {"language": self.language, "text": self.text, "reply": self.reply,
                "tokens": {"prompt": self.usage.prompt_tokens, "completion": self.usage.completion_tokens}}


def passages_language(hits: list[Hit], default: str) -> str:
    """The language of the best passage found (`default` when none is found)."""
    return detect(hits[0].passage.text, default=default) if hits else default


def translate(generator: Generator, question: str, language: str, usage: Usage) -> Translation:
    """The model's translation of `question` into `language`, its tokens counted in `usage`; its text is None when the
    reply is empty, longer than three times the question, or not in `language`. The caller holds the generator's lock."""
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Translate into {LANGUAGE_NAMES[language]}: {question}"}]
    reply = "".join(generator.stream(messages, MAX_TOKENS, usage)).strip()
    text = reply.splitlines()[0].strip().strip('"«»“” ') if reply else ""
    usable = text and len(text) <= 3 * len(question) and detect(text, default="") == language
    return Translation(language, text if usable else None, reply, usage)
