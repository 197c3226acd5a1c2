"""The OpenAI-compatible backend against a fake server on loopback: streamed answers with the server's token counts,
energy estimated from tokens and labelled so, and one clear sentence when the server is down, failing, slow or
sends what eventkb cannot read."""
from __future__ import annotations

import os
import socket

import pytest

from kb import audit
from kb.answer import Answerer
from kb.energy import FakeMeter
from kb.errors import EventKBError, Unavailable
from kb.generator import Usage
from kb.remote import OpenAIGenerator
from tests.fake_openai import FakeOpenAI

QUESTION = "Combien de vues compte la vidéo Baby shark sur YouTube ?"


@pytest.fixture
def fake():
    server = FakeOpenAI()
    yield server
    server.close()


def test_an_answer_from_a_model_server_is_recorded_with_its_backend_tokens_and_estimated_energy(kb, fake, tmp_path):
    generator = OpenAIGenerator(fake.url)
    assert generator.model == "fake-model" and generator.info.backend == "openai-compatible"
    record = Answerer(kb, generator, FakeMeter(), audit.connect(tmp_path / "home"), cache=False).ask(QUESTION)
    assert not record["abstained"] and "14 millards" in record["answer"]
    assert record["model"] == {"name": "fake-model", "file": fake.url, "sha256": generator.info.sha256, "backend": "openai-compatible"}
    assert record["tokens"]["prompt"] == 123 and record["tokens"]["completion"] > 0
    energy = record["energy"]  # the fake server listens in this very process: its CPU time is read
    assert energy["method"] == "estimate-server-cpu-time" and f"process {os.getpid()} on this machine" in energy["detail"]
    assert energy["wh_low"] <= energy["wh"] <= energy["wh_high"]
    sent = fake.requests[-1]
    assert sent["stream"] is True and sent["temperature"] == 0.0 and sent["model"] == "fake-model"


@pytest.mark.parametrize("mode, kind, words", [
    ("busy", Unavailable, "busy or unavailable (503)"),
    ("error", EventKBError, "refused the request (500)"),
    ("garbage", Unavailable, "cannot read"),
])
def test_a_failing_server_gives_one_sentence(fake, mode, kind, words):
    generator = OpenAIGenerator(fake.url)
    fake.mode = mode
    with pytest.raises(kind) as caught:
        list(generator.stream([{"role": "user", "content": "hi"}], 10, Usage()))
    assert words in str(caught.value) and str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_a_slow_server_is_given_up_on(fake):
    generator = OpenAIGenerator(fake.url, timeout_s=0.5)
    fake.mode = "slow"
    with pytest.raises(Unavailable, match="did not answer in time"):
        list(generator.stream([{"role": "user", "content": "hi"}], 10, Usage()))


def test_a_server_that_is_down_gives_one_sentence_and_a_503_in_the_web_app(event_home):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(Unavailable, match="cannot be reached: start it"):
        OpenAIGenerator(url)
    from tests.conftest import fake_client

    client = fake_client(event_home, lambda m: "unused")
    engines = client.application.config["ENGINES"]
    engines._generator = OpenAIGenerator.__new__(OpenAIGenerator)  # a generator whose server went away after it started
    OpenAIGenerator.__init__(engines._generator, url, model="gone")
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "model_unavailable"


def test_a_server_elsewhere_has_its_energy_estimated_from_tokens_and_labelled_so(fake):
    from kb.remote import local_server_pid

    assert local_server_pid(fake.url) == os.getpid()
    assert local_server_pid("http://gpu-host.example:8000/v1") is None and local_server_pid("http://127.0.0.1:9/v1") is None
    generator = OpenAIGenerator(fake.url)
    energy = generator.energy(Usage(prompt_tokens=900, completion_tokens=100))
    assert energy.method == "estimate-tokens" and "1000 tokens x 0.005-0.05 Wh per 1,000 tokens" in energy.detail
    assert energy.joules_low == pytest.approx(0.005 * 3600) and energy.joules_high == pytest.approx(0.05 * 3600)


def test_a_server_gives_the_odds_of_declining_from_its_first_tokens_logprobs(kb, fake):
    generator = OpenAIGenerator(fake.url)
    fake.top = [("Le", 0.7), ("NOT", 0.2), ("N", 0.05)]  # the longest candidate that begins the refusal counts
    unsure = Answerer(kb, generator, FakeMeter(), None, cache=False).ask(QUESTION)
    assert unsure["decline_p"] == pytest.approx(0.2) and unsure["mode"] == "quoted"  # declined: the source sentence quoted
    assert fake.requests[-1]["logprobs"] is True and fake.requests[-1]["top_logprobs"] == 20
    fake.top = [("Le", 0.99)]  # the refusal is not among the candidates: below all of them
    sure = Answerer(kb, generator, FakeMeter(), None, cache=False).ask(QUESTION)
    assert sure["decline_p"] == 0.0 and sure["mode"] == "generated"


def test_a_server_that_refuses_logprobs_is_asked_without_them_and_the_reply_decides(kb, fake):
    fake.mode, fake.top = "no-logprobs", [("NOT", 0.9)]
    generator = OpenAIGenerator(fake.url)
    for _ in range(2):
        record = Answerer(kb, generator, FakeMeter(), None, cache=False).ask(QUESTION)
        assert record["mode"] == "generated" and record["decline_p"] is None and "14 millards" in record["answer"]
    assert [bool(r.get("logprobs")) for r in fake.requests] == [True, False, False]  # refused once, then not asked again
