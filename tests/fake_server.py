"""The real server (waitress) over a built knowledge base with fake engines, for tests that need real sockets.

Run as `python -m tests.fake_server HOME PORT`; `Server` starts it for a test and speaks to it over raw sockets. The fake model burns CPU for EVENTKB_FAKE_WORD_S seconds per word, so a
test can see from the process's CPU time whether it still works. It obeys the question like a model that follows
injected instructions: it replies the text after "Answer:" in the question (rewriting a follow-up, the question before in brackets), else the first source followed by
EVENTKB_FAKE_PAD words that no source supports; a question with "#fail" makes it fail a few words after its first
sentence. EVENTKB_FAKE_CHANNEL_TIMEOUT and EVENTKB_FAKE_CONNECTIONS set the
server's idle timeout and connection cap.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kb import followup
from kb.embedder import FakeEmbedder
from kb.energy import FakeMeter
from kb.generator import FakeGenerator, echo_first_source
from tests.conftest import ROOT
from webapp import create_app
from webapp.engines import Engines
from webapp.serve import CHANNEL_TIMEOUT_S, CONNECTION_LIMIT, serve


def obedient(messages: list[dict]) -> str:
    """What a model that follows the question's instructions writes; asked to make a follow-up standalone, the
    follow-up with the question before in brackets."""
    if messages[0]["content"] == followup.INSTRUCTIONS:
        user = messages[-1]["content"]
        before = user.split("Earlier question: ", 1)[1].split("\n", 1)[0]
        return user.split("Last question: ", 1)[1].split("\n", 1)[0] + f" ({before})"
    question = messages[-1]["content"].rsplit("Question: ", 1)[-1].split("\nAnswer in ", 1)[0]
    if "Answer:" in question:
        return question.split("Answer:", 1)[1].strip()
    pad = max(int(os.environ.get("EVENTKB_FAKE_PAD", "0")), 20 if "#fail" in question else 0)
    return echo_first_source(messages) + (" Blorp" + " blorp" * pad if pad else "")


@dataclass
class BusyGenerator(FakeGenerator):
    """The fake model, spending CPU on every word like a real one."""

    word_s: float = 0.05

    def stream(self, messages, max_tokens, usage, *args):
        fail = "#fail" in messages[-1]["content"]
        after = 0  # words written after the first sentence
        for piece in super().stream(messages, max_tokens, usage, *args):
            end = time.process_time() + self.word_s
            while time.process_time() < end:
                pass
            after += "lorp" in piece
            if fail and after > 5:
                raise RuntimeError("the fake model failed, as asked")
            yield piece


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 120) -> None:
    """Wait until `url` answers 200; fail the test with the end of the server's log if it exits or takes too long."""
    import urllib.request

    import pytest

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.5)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """The fake server in a subprocess, on a free port of 127.0.0.1, with EVENTKB_FAKE_* settings from `env`."""

    def __init__(self, home: Path, **env: object) -> None:
        self.port = free_port()
        self.log = open(home.parent / f"probe-server-{self.port}.log", "w")
        environ = dict(os.environ, **{f"EVENTKB_FAKE_{k.upper()}": str(v) for k, v in env.items()})
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fake_server", str(home), str(self.port)], cwd=ROOT, env=environ,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while self.get("/api/health", timeout=1)[:12] != b"HTTP/1.1 200":
            assert self.proc.poll() is None and time.monotonic() < deadline, "the fake server did not start"
            time.sleep(0.2)

    def connect(self, timeout: float = 10) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def request(self, method: str, path: str, body: dict | None = None) -> bytes:
        data = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        return head.encode() + data

    def get(self, path: str, timeout: float = 10) -> bytes:
        try:
            with self.connect(timeout) as s:
                s.sendall(self.request("GET", path))
                out = b""
                while chunk := s.recv(65536):
                    out += chunk
                return out
        except OSError:
            return b""

    def answers(self) -> list[dict]:
        return json.loads(self.get("/api/answers").split(b"\r\n\r\n", 1)[1])["answers"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()


def main() -> None:
    home, port = Path(sys.argv[1]), int(sys.argv[2])
    engines = Engines({"KB_HOME": str(home), "QUEUE_WAIT_S": 30})
    engines._embedder = FakeEmbedder()
    engines._generator = BusyGenerator(obedient, word_s=float(os.environ.get("EVENTKB_FAKE_WORD_S", "0.05")))
    engines._meter = FakeMeter(1.0)
    app = create_app({"ENGINES": engines, "ADMIN_TOKEN": os.environ.get("EVENTKB_FAKE_ADMIN_TOKEN") or None})
    print("serving", flush=True)
    serve(app, "127.0.0.1", port, connection_limit=int(os.environ.get("EVENTKB_FAKE_CONNECTIONS", CONNECTION_LIMIT)),
          channel_timeout=int(os.environ.get("EVENTKB_FAKE_CHANNEL_TIMEOUT", CHANNEL_TIMEOUT_S)))


if __name__ == "__main__":
    main()
