"""What the web app calls: each event's knowledge base, one answerer per question, the audit logs. No logic of its own."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kb import audit, series, store
from kb.across import Across
from kb.answer import FOLLOWUP, Answerer, BusyError
from kb.energy import Meter, choose_meter
from kb.embedder import Embedder, load_embedder
from kb.generator import Generator, load_generator
from kb.knowledge import KnowledgeBase
from kb.paths import kb_home

if TYPE_CHECKING:
    from ingest.pipeline import IngestResult

ALL = "all"  # the event id that means every event of the home at once (ids separated by commas: those events)


class Engines:
    """Opens each event's knowledge base and the model once, on first use, and hands out answerers; the model, the
    embedder and the queue of questions are shared by all the events of the home."""

    def __init__(self, config: dict) -> None:
        self.home: Path = kb_home(config.get("KB_HOME"))
        self.default_event = config.get("EVENT")  # the event the pages without /e/<id>/ show (else the home's first)
        self.model_spec = config.get("MODEL")
        self.backend = config.get("BACKEND_URL")  # a model server elsewhere (else $EVENTKB_BACKEND_URL, else the local model)
        self.embedder_spec = config.get("EMBEDDER")
        self.wait_s = float(config.get("QUEUE_WAIT_S", 60.0))
        self.ingest_paths = [Path(p) for p in config.get("INGEST_PATHS") or []]
        self.queue = threading.BoundedSemaphore(int(config.get("QUEUE_SIZE", 8)))
        self.cache = bool(config.get("ANSWER_CACHE", True))  # a question asked before gets its stored answer again
        self.followup = config.get("FOLLOWUP") or FOLLOWUP  # how follow-ups are made standalone: see kb.followup.METHODS
        self._embedder: Embedder | None = None
        self._kbs: dict[str, KnowledgeBase | Across] = {}
        self._generator: Generator | None = None
        self._meter: Meter | None = None
        self._lock = threading.RLock()

    def events(self) -> list[series.EventHome]:
        """The events the home holds now (an event ingested while the app runs is listed at once)."""
        return series.events(self.home)

    def event(self, event_id: str | None = None) -> "EventEngines":
        """The engines of one event (None: the default one; "all", or ids separated by commas: several at once);
        NotFound for an unknown id."""
        if series.several(event_id):
            series.chosen(self.home, event_id)  # NotFound for an unknown id
            return EventEngines(self, event_id, series.across_home(self.home))
        wanted = event_id or self.default_event
        if wanted is None:
            found = self.events()
            return EventEngines(self, found[0].id if found else None, found[0].path if found else self.home)
        return EventEngines(self, wanted, series.event_home(self.home, wanted))

    def knowledge(self, event: "EventEngines") -> KnowledgeBase | Across:
        """The event's knowledge base, opened once and again when a new build of it is current."""
        with self._lock:
            if series.several(event.id):
                parts = [(e.id, self._open(e.id, e.path)) for e in series.chosen(self.home, event.id)]
                builds = "+".join(kb.build.name for _, kb in parts)
                joined = self._kbs.get(event.id)
                if not isinstance(joined, Across) or joined.build.name != builds:
                    joined = self._kbs[event.id] = Across(parts)
                return joined
            return self._open(event.id or "", event.home)

    def _open(self, key: str, home: Path) -> KnowledgeBase:
        opened = self._kbs.get(key)
        current = store.current_build(home)
        if isinstance(opened, KnowledgeBase) and current is not None and opened.build.name == current.name:
            return opened
        kb = KnowledgeBase.open(home, embedder=self.embedder, embedder_spec=self.embedder_spec)
        self._kbs[key] = kb
        return kb

    @property
    def embedder(self) -> Embedder:
        """The one embedder every event's knowledge base and every ingest from the browser uses, loaded on first use."""
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.embedder_spec)
            return self._embedder

    @property
    def generator(self) -> Generator:
        with self._lock:
            if self._generator is None:
                self._generator = load_generator(self.model_spec, self.backend)
                self._meter = choose_meter()
            return self._generator

    def enter_queue(self) -> None:
        """Take a place in the bounded queue of questions, or raise BusyError at once when it is full."""
        if not self.queue.acquire(blocking=False):
            raise BusyError(max(5, int(self.wait_s / 4)))

    def leave_queue(self) -> None:
        self.queue.release()

    # The default event's engines, for callers that serve one event.
    @property
    def kb(self) -> KnowledgeBase | Across:
        return self.event().kb

    def answerer(self, logged: bool = True) -> Answerer:
        return self.event().answerer(logged)


@dataclass
class EventEngines:
    """One event's part of the engines: its knowledge base, its answerers, its audit log (`home` holds it)."""

    engines: Engines
    id: str | None
    home: Path

    @property
    def kb(self) -> KnowledgeBase | Across:
        return self.engines.knowledge(self)

    def answerer(self, logged: bool = True) -> Answerer:
        """An answerer for one question; `logged=False` keeps its answer out of the audit log (a warm-up)."""
        e = self.engines
        kb, generator = self.kb, e.generator
        assert e._meter is not None
        return Answerer(kb, generator, e._meter, audit.connect(self.home) if logged else None, wait_s=e.wait_s,
                        cache=e.cache, followup=e.followup)

    def audit_log(self):
        return audit.connect(self.home)

    def enter_queue(self) -> None:
        self.engines.enter_queue()

    def leave_queue(self) -> None:
        self.engines.leave_queue()

    def reingest(self) -> IngestResult:
        """Ingest the configured sources again (the bundled event by default) into this event's home; the next request
        opens the new build."""
        from ingest.pipeline import ingest
        from kb.embedder import embedder_name

        e = self.engines
        return ingest(e.ingest_paths, self.home, embedder_name(e.embedder_spec), lambda: e.embedder, log=lambda m: None)
