"""What the web app calls: the knowledge base, one answerer per question, the audit log. No logic of its own."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from kb import audit
from kb.answer import FOLLOWUP, Answerer, BusyError
from kb.energy import Meter, choose_meter
from kb.generator import Generator, load_generator
from kb.knowledge import KnowledgeBase
from kb.paths import kb_home

if TYPE_CHECKING:
    from ingest.pipeline import IngestResult


class Engines:
    """Opens the knowledge base and the model once, on first use, and hands out answerers."""

    def __init__(self, config: dict) -> None:
        self.home: Path = kb_home(config.get("KB_HOME"))
        self.model_spec = config.get("MODEL")
        self.backend = config.get("BACKEND_URL")  # a model server elsewhere (else $EVENTKB_BACKEND_URL, else the local model)
        self.embedder_spec = config.get("EMBEDDER")
        self.wait_s = float(config.get("QUEUE_WAIT_S", 60.0))
        self.ingest_paths = [Path(p) for p in config.get("INGEST_PATHS") or []]
        self.queue = threading.BoundedSemaphore(int(config.get("QUEUE_SIZE", 8)))
        self.cache = bool(config.get("ANSWER_CACHE", True))  # a question asked before gets its stored answer again
        self.design = config.get("ANSWER_DESIGN") or "legacy"  # or "choose": see kb.answer.DESIGNS
        self.followup = config.get("FOLLOWUP") or FOLLOWUP  # how follow-ups are made standalone: see kb.followup.METHODS
        self._kb: KnowledgeBase | None = None
        self._generator: Generator | None = None
        self._meter: Meter | None = None
        self._lock = threading.Lock()

    @property
    def kb(self) -> KnowledgeBase:
        with self._lock:
            if self._kb is None:
                self._kb = KnowledgeBase.open(self.home, embedder_spec=self.embedder_spec)
            return self._kb

    @property
    def generator(self) -> Generator:
        with self._lock:
            if self._generator is None:
                self._generator = load_generator(self.model_spec, self.backend)
                self._meter = choose_meter()
            return self._generator

    def answerer(self, logged: bool = True) -> Answerer:
        """An answerer for one question; `logged=False` keeps its answer out of the audit log (a warm-up)."""
        generator = self.generator
        assert self._meter is not None
        return Answerer(self.kb, generator, self._meter, audit.connect(self.home) if logged else None, wait_s=self.wait_s,
                        cache=self.cache, design=self.design, followup=self.followup)

    def enter_queue(self) -> None:
        """Take a place in the bounded queue of questions, or raise BusyError at once when it is full."""
        if not self.queue.acquire(blocking=False):
            raise BusyError(max(5, int(self.wait_s / 4)))

    def leave_queue(self) -> None:
        self.queue.release()

    def reingest(self) -> IngestResult:
        """Ingest the configured sources again (the bundled event by default) and reopen the new build."""
        from ingest.pipeline import ingest
        from kb.embedder import embedder_name, load_embedder

        result = ingest(self.ingest_paths, self.home, embedder_name(self.embedder_spec), lambda: load_embedder(self.embedder_spec), log=lambda m: None)
        with self._lock:
            self._kb = KnowledgeBase.open(self.home, embedder=self._kb._embedder if self._kb else None, embedder_spec=self.embedder_spec)
        return result

    def audit_log(self):
        return audit.connect(self.home)
