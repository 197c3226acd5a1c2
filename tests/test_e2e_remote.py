"""End to end against a real OpenAI-compatible model server: llama-cpp-python's own (`python -m llama_cpp.server`,
its `server` extra) with the small model, started by the test on loopback, answered through `eventkb ask --backend`,
then killed mid-reply. Never skipped: `make setup` installs the server's dependencies, and CI runs this."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from eventkb.cli import main
from ingest.pipeline import ingest
from kb import models
from kb.embedder import embedder_name, load_embedder
from kb.errors import Unavailable
from kb.generator import Usage
from kb.remote import OpenAIGenerator
from tests.conftest import EVENT
from tests.fake_server import free_port, wait_until_up

pytestmark = pytest.mark.e2e


def start_llama_server(folder, threads: int = 1) -> tuple[str, subprocess.Popen]:
    """llama-cpp-python's server with the small model on a free loopback port, logging to `folder`; its /v1 address."""
    port = free_port()
    small = models.generator_path(models.GENERATOR_ROLES["small"])
    with open(folder / "llama-server.log", "w") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(small), "--host", "127.0.0.1", "--port", str(port),
                                 "--n_threads", str(threads), "--n_ctx", "2048"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    wait_until_up(url + "/models", proc, folder / "llama-server.log")
    return url, proc


@pytest.fixture
def model_server(tmp_path):
    url, proc = start_llama_server(tmp_path)
    yield url, proc
    proc.kill()
    proc.wait(timeout=20)


def test_ask_through_a_llama_cpp_server_then_lose_it_mid_reply(model_server, tmp_path, monkeypatch, capsys):
    url, proc = model_server
    home = tmp_path / "kb"
    ingest([EVENT], home, embedder_name("default"), lambda: load_embedder("default"), log=lambda m: None)
    monkeypatch.setenv("EVENTKB_HOME", str(home))
    monkeypatch.setenv("EVENTKB_EMBEDDER", "default")
    assert main(["ask", "How much electricity does a ChatGPT request use?", "--backend", url, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["model"]["backend"] == "openai-compatible" and record["model"]["file"] == url
    assert record["sources"], "the question must reach the model server for this test to mean anything"
    assert 0.0 <= record["decline_p"] < 1.0  # llama.cpp's server gives its first token's logprobs
    assert record["tokens"]["prompt"] > 0 and record["tokens"]["completion"] > 0 and record["energy"]["method"] == "estimate-server-cpu-time"
    assert record["energy"]["cpu_seconds"] > 0 and f"process {proc.pid} on this machine" in record["energy"]["detail"]
    generator = OpenAIGenerator(url)
    pieces = generator.stream([{"role": "user", "content": "Count from one to two hundred in words."}], 400, Usage())
    with pytest.raises(Unavailable, match="stopped answering mid-reply|cannot be reached"):
        for n, _ in enumerate(pieces):
            if n == 3:
                proc.kill()
    assert main(["ask", "How much electricity does a ChatGPT request use?", "--backend", url, "--no-cache"]) == 1
    assert "cannot be reached: start it" in capsys.readouterr().err
