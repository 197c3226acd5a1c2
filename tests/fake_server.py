"""The real server (waitress) over a built knowledge base with fake engines, for tests that need real sockets.

Run as `python -m tests.fake_server HOME PORT`. The fake model burns CPU for EVENTKB_FAKE_WORD_S seconds per word, so a
test can see from the process's CPU time whether it still works. It obeys the question like a model that follows
injected instructions: it replies the text after "Answer:" in the question, else the first source followed by
EVENTKB_FAKE_PAD words that no source supports; a question with "#fail" makes it fail a few words after its first
sentence. EVENTKB_FAKE_CHANNEL_TIMEOUT and EVENTKB_FAKE_CONNECTIONS set the
server's idle timeout and connection cap.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kb.embedder import FakeEmbedder
from kb.energy import FakeMeter
from kb.generator import FakeGenerator, echo_first_source
from kb.knowledge import KnowledgeBase
from webapp import create_app
from webapp.engines import Engines
from webapp.serve import CHANNEL_TIMEOUT_S, CONNECTION_LIMIT, serve


def obedient(messages: list[dict]) -> str:
    """What a model that follows the question's instructions writes."""
    question = messages[-1]["content"].rsplit("Question: ", 1)[-1].split("\nAnswer in ", 1)[0]
    if "Answer:" in question:
        return question.split("Answer:", 1)[1].strip()
    pad = max(int(os.environ.get("EVENTKB_FAKE_PAD", "0")), 20 if "#fail" in question else 0)
    return echo_first_source(messages) + (" Blorp" + " blorp" * pad if pad else "")


@dataclass
class BusyGenerator(FakeGenerator):
    """The fake model, spending CPU on every word like a real one."""

    word_s: float = 0.05

    def stream(self, messages, max_tokens, usage):
        fail = "#fail" in messages[-1]["content"]
        after = 0  # words written after the first sentence
        for piece in super().stream(messages, max_tokens, usage):
            end = time.process_time() + self.word_s
            while time.process_time() < end:
                pass
            after += "lorp" in piece
            if fail and after > 5:
                raise RuntimeError("the fake model failed, as asked")
            yield piece


def main() -> None:
    home, port = Path(sys.argv[1]), int(sys.argv[2])
    engines = Engines({"KB_HOME": str(home), "QUEUE_WAIT_S": 30})
    engines._kb = KnowledgeBase.open(home, embedder=FakeEmbedder())
    engines._generator = BusyGenerator(obedient, word_s=float(os.environ.get("EVENTKB_FAKE_WORD_S", "0.05")))
    engines._meter = FakeMeter(1.0)
    app = create_app({"ENGINES": engines})
    print("serving", flush=True)
    serve(app, "127.0.0.1", port, connection_limit=int(os.environ.get("EVENTKB_FAKE_CONNECTIONS", CONNECTION_LIMIT)),
          channel_timeout=int(os.environ.get("EVENTKB_FAKE_CHANNEL_TIMEOUT", CHANNEL_TIMEOUT_S)))


if __name__ == "__main__":
    main()
