"""Let the model choose: the candidate sentences of the retrieved passages, numbered, and the model's pick among them.

The reply is made to start with "Sentence [", so that the model's next token is a number (0: none answers); the
probabilities it gives the numbers 0..N there are the choice, read in the same pass that writes the answer after
"]: ", and "0" or a weak best number is the abstention.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from kb.context import source_label, split_sentences
from kb.knowledge import Hit
from kb.store import Passage
from kb.textnorm import fold

MAX_CANDIDATES = 6  # one digit each, so that one token carries the choice
PASSAGES = 5  # the retrieved passages the candidates are drawn from
MAX_WORDS = 45  # a longer sentence is split at its commas and semicolons into parts of at most this many words
THRESHOLD = 0.4  # the least probability the chosen number must have: calibrated on the tuned sets (58 questions, three events)


@dataclass(frozen=True)
class Candidate:
    """One numbered sentence as the model sees it, with the passage it comes from."""

    n: int
    passage: Passage
    text: str

    @property
    def label(self) -> str:
        return source_label(self.passage)


def parts(sentence: str, size: int = MAX_WORDS) -> list[str]:
    """A sentence, or when it runs over `size` words, its clauses gathered into parts of at most `size` words."""
    if len(sentence.split()) <= size:
        return [sentence]
    out: list[str] = []
    for clause in re.split(r"(?<=[,;:])\s+", sentence):
        if out and len(out[-1].split()) + len(clause.split()) <= size:
            out[-1] += " " + clause
        else:
            out.extend(" ".join(clause.split()[i : i + size]) for i in range(0, len(clause.split()), size))
    return out


def candidates(hits: list[Hit], question_vector: np.ndarray, embed, n: int = MAX_CANDIDATES) -> list[Candidate]:
    """The `n` sentences of the best passages closest in meaning to the question, numbered in reading order: by
    passage rank, then as the passage runs. `embed` turns texts into unit vectors like the question's."""
    pool = [(rank, i, h.passage, s) for rank, h in enumerate(hits[:PASSAGES])
            for i, s in enumerate(x for sentence in split_sentences(h.passage.text) for x in parts(sentence))]
    if not pool:
        return []
    similarity = embed([s for *_, s in pool]) @ question_vector
    best = sorted(np.argsort(-similarity, kind="stable")[:n])
    return [Candidate(k, pool[j][2], pool[j][3]) for k, j in enumerate(best, start=1)]


def labels(found: list[Candidate]) -> list[str]:
    """The tokens the choice is read from: "0" (none answers) and one number per candidate."""
    return [str(k) for k in range(len(found) + 1)]


PREFIX = "Sentence ["  # what the reply is made to start with, so that its next token is the choice
NONE = "None of these sentences answers the question."  # the option numbered 0


def prompt(question: str, language_name: str, found: list[Candidate]) -> str:
    lines = "\n".join(f"[{c.n}] ({c.label}) {c.text}" for c in found)
    return (f"Question: {question}\n\nSentences:\n[0] {NONE}\n{lines}\n\n"
            f"Which sentence answers the question? Reply \"Sentence [n]:\" then the answer in {language_name}.")


def instructions(about: str) -> str:
    """The system prompt: constant for a knowledge base, so that llama.cpp reuses its evaluated prefix."""
    return (
        f"You answer questions about {about} from numbered sentences of its documents. "
        "Reply with the number of the sentence that answers the question, then the answer in one short sentence "
        "in the language the question asks for, copying figures, units and names exactly as the sentence writes them. "
        "Reply Sentence [0] when no sentence answers the question."
    )


def decide(probabilities: dict[str, float], threshold: float = THRESHOLD) -> tuple[int, float]:
    """The chosen number (0: none) and its probability: the likeliest number, unless "0" is likelier or it is below
    the threshold."""
    numbered = {int(k): p for k, p in probabilities.items() if k.isdigit()}
    best = max((k for k in numbered if k), key=lambda k: numbered[k], default=0)
    if not best or numbered[best] < threshold or numbered.get(0, 0.0) >= numbered[best]:
        return 0, numbered.get(0, 0.0)
    return best, numbered[best]


def parse(reply: str) -> tuple[int | None, str]:
    """The number the reply starts with ("3: …", "[3] …") or cites ("… [3]"), and its answer text without it; 0 when
    the answer is the words of option 0 whatever number came first."""
    number, text = _parse(reply)
    return (0, text) if fold(text).rstrip(". ").startswith(fold(NONE).rstrip(". ")) else (number, text)


def _parse(reply: str) -> tuple[int | None, str]:
    found = re.match(r"\s*(?:Sentence\s*)?\[?(\d)\]?\s*[:.)\-–]?\s*", reply)
    if found:
        return int(found.group(1)), re.sub(r"\s*\[\d\]", "", reply[found.end():]).strip()
    cited = re.search(r"\[(\d)\]", reply)
    return (int(cited.group(1)) if cited else None), re.sub(r"\s*\[\d\]", "", reply).strip()
