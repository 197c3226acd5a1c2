"""The answer cache: a question asked before, on the same build, model and settings, gets the stored answer again,
recorded apart with its own energy; anything else that changes the answer generates a new one."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb import audit
from kb.answer import Answerer, cache_key
from kb.energy import FakeMeter
from kb.generator import FakeGenerator
from tests.conftest import fake_client

QUESTION = "Combien de vues compte la vidéo Baby shark sur YouTube ?"
REPLY = "La vidéo Baby shark compte plus de 14 millards de vues [1]."


class Counting(FakeGenerator):
    generated = 0

    def stream(self, messages, max_tokens, usage, *args):
        self.generated += 1
        yield from super().stream(messages, max_tokens, usage, *args)


def test_the_key_ignores_case_spacing_and_punctuation_and_nothing_else():
    key = cache_key(QUESTION, "build-a", "sha", {"k": 5})
    assert key == cache_key("  combien de vues compte la vidéo baby-shark sur youtube?? ", "build-a", "sha", {"k": 5})
    assert key != cache_key("Combien de vues compte la vidéo Baby shark sur TikTok ?", "build-a", "sha", {"k": 5})
    assert key != cache_key(QUESTION, "build-b", "sha", {"k": 5})  # a re-ingest
    assert key != cache_key(QUESTION, "build-a", "other", {"k": 5})  # another model
    assert key != cache_key(QUESTION, "build-a", "sha", {"k": 6})  # other settings


def test_a_repeated_question_is_served_from_the_cache_and_recorded_apart(kb, tmp_path):
    log = audit.connect(tmp_path / "home")
    generator = Counting(lambda m: REPLY)
    answerer = Answerer(kb, generator, FakeMeter(36.0), log)
    first = answerer.ask(QUESTION)
    events = list(answerer.stream(QUESTION.upper().replace("?", " !")))
    again = events[-1]["record"]
    assert [e["type"] for e in events] == ["retrieval", "answer", "record"] and generator.generated == 1
    assert again["cached"] and again["cached_from"] == first["id"] and again["id"] != first["id"]
    assert again["answer"] == first["answer"] and again["citations"] == first["citations"] and "14 millards" in again["answer"]
    assert again["original_energy"] == first["energy"] and again["energy"]["joules"] == 36.0  # this request: one span, no generation
    assert first["energy"]["joules"] == 72.0 and again["tokens"] == {"prompt": 0, "completion": 0}
    assert audit.get(log, again["id"])["retrieved"] == audit.get(log, first["id"])["retrieved"]
    assert [r["cached_from"] for r in audit.listing(log)] == [first["id"], None]
    assert {(m["cached"], m["answers"]) for m in audit.energy_summary(log)} == {(False, 1), (True, 1)}
    third = answerer.ask(QUESTION)
    assert third["cached_from"] == first["id"]  # always the answer that was generated, never a copy


def test_other_settings_no_cache_or_no_audit_log_generate_again(kb, tmp_path):
    log = audit.connect(tmp_path / "home")
    generator = Counting(lambda m: REPLY)
    Answerer(kb, generator, FakeMeter(), log).ask(QUESTION)
    assert not Answerer(kb, generator, FakeMeter(), log, cache=False).ask(QUESTION)["cached"]
    other = Answerer(kb, generator, FakeMeter(), log)
    other.settings = {**other.settings, "max_tokens": 77}
    assert not other.ask(QUESTION)["cached"]
    assert not Answerer(kb, generator, FakeMeter(), None).ask(QUESTION)["cached"]
    assert generator.generated == 4


def test_a_cancelled_answer_is_never_served_again(kb, tmp_path):
    log = audit.connect(tmp_path / "home")
    generator = Counting(lambda m: "La vidéo Baby shark compte " + "et encore " * 50)
    answerer = Answerer(kb, generator, FakeMeter(), log)
    assert answerer.ask(QUESTION, gone=lambda: True)["cancelled"]
    assert not answerer.ask(QUESTION)["cached"] and generator.generated == 1  # the cancelled one never reached the model


def test_the_web_app_serves_a_repeated_question_from_the_cache(kb_home_copy):
    client = fake_client(kb_home_copy, lambda m: REPLY, ANSWER_CACHE=True)
    first = client.post("/api/ask", json={"question": QUESTION}).get_json()
    again = client.post("/api/ask", json={"question": QUESTION.lower()}).get_json()
    assert not first["cached"] and again["cached"] and again["cached_from"] == first["id"]
    assert "servies à nouveau" in client.get("/energy?lang=fr").get_data(as_text=True) or \
        "served again" in client.get("/energy").get_data(as_text=True)


@pytest.fixture
def kb_home_copy(tmp_path, event_home):
    return Path(shutil.copytree(event_home, tmp_path / "kb"))
