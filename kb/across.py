"""Search, answers and quotes across several events of one home: each event keeps its own knowledge base, and
every result names its event."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kb.embedder import Embedder
from kb.errors import EventKBError, NotFound
from kb.indexes import reciprocal_rank_fusion
from kb.knowledge import CANDIDATES, Hit, KnowledgeBase, fuse, wordings
from kb.query import event_glossary
from kb.series import EventHome
from kb.store import Passage
from kb.words import Lexicon


def open_all(events: list[EventHome], embedder: Embedder | None = None) -> list[tuple[str, KnowledgeBase]]:
    """The knowledge base of each event, sharing one embedder (so that it loads once)."""
    opened: list[tuple[str, KnowledgeBase]] = []
    for event in events:
        kb = KnowledgeBase.open(event.path, embedder=embedder)
        embedder = embedder or kb.embedder
        opened.append((event.id, kb))
    return opened


class Across:
    """Several events' knowledge bases searched and answered as one: what the answer path reads of a knowledge base
    (passages, search, people, glossary, event), with every passage naming its event. Search fuses each event's own
    ranking (what searching that event alone gives) by rank, so that a small event is not drowned by a large one;
    passages of equal rank in two events are ordered by their dense score, comparable since one embedder made all."""

    def __init__(self, kbs: list[tuple[str, KnowledgeBase]]) -> None:
        if not kbs:
            raise NotFound("There is no event to search yet: ingest one first.")
        self.kbs = kbs
        self.offsets: dict[str, int] = {}
        self.passages: list[Passage] = []
        for event_id, kb in kbs:
            offset = self.offsets[event_id] = len(self.passages)
            self.passages += [replace(p, row=offset + p.row, event=event_id) for p in kb.passages]
        self.by_id = {(p.event, p.id): p for p in self.passages}
        self.fusion = kbs[0][1].fusion
        self.glossary = tuple(dict.fromkeys(line for _, kb in kbs for line in kb.glossary))
        self.people = _people(kbs)
        self.lexicon = Lexicon.merged([kb.lexicon for _, kb in kbs])
        events = [{"id": e, "title": (kb.event or {}).get("title") or e, "date": (kb.event or {}).get("date")} for e, kb in kbs]
        self.event = {"id": "all", "title": "; ".join(e["title"] for e in events), "events": events}
        self.build = Path("+".join(kb.build.name for _, kb in kbs))  # what an answer's cache key and record name as its build

    @property
    def embedder(self) -> Embedder:
        return self.kbs[0][1].embedder

    def search(self, query: str, k: int = 5, speaker: str | None = None, document: str | None = None, section: str | None = None,
               mode: str = "hybrid", within: set[int] | None = None, expand: bool | None = None, also: tuple[str, ...] = ()) -> list[Hit]:
        """The k best passages over all the events, as `KnowledgeBase.search`; a speaker or document filter applies in
        the events that have them, and `within` holds rows of `self.passages`."""
        with event_glossary(self.glossary):
            return wordings(self._search, query, also, k, speaker, document, section, mode, within, expand)

    def _search(self, query: str, k: int, speaker: str | None, document: str | None, section: str | None, mode: str,
                within: set[int] | None, expand: bool | None) -> list[Hit]:
        rankings: list[list[int]] = []
        closeness: dict[int, float] = {}  # row: its dense score (one embedder for all, so comparable across events)
        for event_id, kb in self.kbs:
            offset = self.offsets[event_id]
            local = None if within is None else {r - offset for r in within if offset <= r < offset + len(kb.passages)}
            if local is not None and not local:
                continue
            try:
                lists = kb.ranked(query, max(k, CANDIDATES), speaker, document, section, mode, local, expand)
            except NotFound:  # that person or document is not one of this event's
                continue
            closeness.update((row + offset, score) for row, score in lists[-1])  # dense search's list (BM25's in bm25 mode)
            rankings.append([row + offset for row, _ in fuse(kb.fusion, lists)[: max(k, CANDIDATES)]])
        if not rankings:
            if within is not None:
                return []
            raise NotFound(f"None of the events {', '.join(e for e, _ in self.kbs)} has what the filters ask for.")
        fused = reciprocal_rank_fusion(rankings)
        fused.sort(key=lambda pair: (-pair[1], -closeness.get(pair[0], -1.0)))  # equal ranks in two events: the closer passage first
        return [Hit(self.passages[row], score) for row, score in fused[:k]]

    def passage(self, event_id: str, passage_id: str) -> Passage:
        """One passage of one of the events, with a clear error when there is none."""
        found = self.by_id.get((event_id, passage_id))
        if found is None:
            raise NotFound(f"No passage {passage_id!r} in the event {event_id!r}.")
        return found


def _people(kbs: list[tuple[str, KnowledgeBase]]) -> list[dict]:
    """Everyone who appears in the events, once each (as the first event that lists them describes them), with their
    passages counted over all the events and the ids of the events they appear in."""
    by_name: dict[str, dict] = {}
    for event_id, kb in kbs:
        for person in kb.people:
            known = by_name.setdefault(person["name"], {**person, "passages": 0, "events": []})
            known["passages"] += person.get("passages", 0)
            known["events"].append(event_id)
    return list(by_name.values())


def quotes(kbs: list[tuple[str, KnowledgeBase]], speaker: str, query: str | None = None, k: int | None = None) -> list[tuple[str, dict, list[Hit]]]:
    """What one person said at each event they spoke at, event by event: (event id, person, passages)."""
    found = []
    for event_id, kb in kbs:
        try:
            person, hits = kb.quotes(speaker, query, k)
        except NotFound:
            continue
        except EventKBError as exc:  # ambiguous in this event: say which event
            raise EventKBError(f"In {event_id}: {exc}") from None
        found.append((event_id, person, hits))
    if not found:
        raise NotFound(f"No one called {speaker!r} in the events {', '.join(e for e, _ in kbs)}: `eventkb people --event ID` lists each one's people.")
    return found
