"""Words bridged across languages: a passage's word stands for the question's word it translates, by the embedder."""
from __future__ import annotations

import hashlib
import json

import numpy as np

import ingest.pipeline as pipeline
from kb.answer.context import select
from kb.answer.question import Question
from kb.embedder import FakeEmbedder
from kb.knowledge import KnowledgeBase
from kb.store import Passage
from kb.textnorm import tokens
from kb.words import WORDS_FILE, Lexicon, vocabulary
from tests.conftest import EVENT

# A stand-in for a multilingual embedder: each word a direction, a translation close to it.
_AXES = {"laptop": 0, "ordinateur": 0, "town": 1, "ville": 1, "last": 2, "durée": 3, "vie": 4, "habitants": 5}
_NEAR = {"ordinateur": 0.95, "ville": 0.90}  # the cosine of a French word to the English one of its axis


class WordEmbedder:
    name = "fake-words"
    dim = 256

    def __init__(self) -> None:
        self.seen: list[str] = []

    def passages(self, texts: list[str], progress=None) -> np.ndarray:
        self.seen += texts
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            own = 8 + int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little") % (self.dim - 8)
            axis, near = _AXES.get(text, own), _NEAR.get(text, 1.0)  # any other word: a direction of its own
            out[row, axis] = near
            out[row, 7] = np.sqrt(1 - near**2)
        return out


def lexicon(text: str) -> Lexicon:
    words = vocabulary(text)
    return Lexicon(words, WordEmbedder().passages(words))


def test_a_passage_word_stands_for_the_question_word_it_translates_when_close_enough():
    french = "La durée de vie d'un ordinateur dépasse celle d'une ville."
    bridged = lexicon(french).bridge("How long does a laptop last in a town?", WordEmbedder(), least=0.92)(french)
    assert set(tokens("ordinateur")) <= bridged  # cosine 0.95
    assert not set(tokens("ville")) & bridged  # 0.90: not close enough
    assert lexicon(french).bridge("How long does a laptop last?", WordEmbedder(), least=1.1)(french) == set()


def test_the_sentence_a_bridged_word_points_to_is_sent():
    text = "Le projet a commencé en 2019. Un ordinateur portable dure cinq ans en moyenne."
    passage = Passage(0, "p1", "report", "Rapport", 1, (1, 2), None, None, text, text)
    question = Question.parse("How many years does a laptop last?")
    plain, = select(question, [passage])
    bridged, = select(question, [passage], bridge=lexicon(text).bridge(question.text, WordEmbedder()))
    assert "ordinateur" not in " ".join(plain.sentences)
    assert bridged.sentences == ("Un ordinateur portable dure cinq ans en moyenne.",)
    asked_in_french = Question.parse("Combien d'années dure un ordinateur ?")
    calls = []
    select(asked_in_french, [passage], bridge=lambda text: calls.append(text) or set())
    assert calls == []  # a passage in the question's language needs no bridge


def test_ingest_keeps_the_passages_words_and_embeds_only_the_new_ones(kb_env, tmp_path):
    embedders: list[FakeEmbedder] = []

    class Counting(FakeEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.texts: list[str] = []
            embedders.append(self)

        def passages(self, texts, progress=None):
            self.texts += texts
            return super().passages(texts, progress)

    notes = tmp_path / "notes.txt"
    notes.write_text("Notes\n\nLe zorglubium des quasibatteries vient du Chili.\n", encoding="utf-8")
    pipeline.ingest([EVENT], kb_env, FakeEmbedder.name, Counting, log=lambda m: None)
    kb = KnowledgeBase.open(kb_env)
    assert kb.lexicon.words and json.loads((kb.build / WORDS_FILE).read_text(encoding="utf-8")) == kb.lexicon.words
    assert set(kb.lexicon.words) == {w for p in kb.passages for w in vocabulary(p.text)}
    stages: list[tuple[str, int, int]] = []
    pipeline.ingest([notes], kb_env, FakeEmbedder.name, Counting, log=lambda m: None, progress=lambda *step: stages.append(step))
    stage, done, total = stages[-1]
    assert stage == "words" and done == total >= 2  # the admin page's bar follows the words embedded too
    added = [t for t in embedders[-1].texts if t in vocabulary("Le zorglubium des quasibatteries vient du Chili.")]
    assert "zorglubium" in KnowledgeBase.open(kb_env).lexicon.row and "zorglubium" in added
    assert not set(embedders[-1].texts) & set(kb.lexicon.words)  # the words known already kept their vectors
