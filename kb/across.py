"""Search and quotes across several events of one home: each event searched in its own knowledge base, the lists
fused by rank, every result naming its event."""
from __future__ import annotations

from kb.embedder import Embedder
from kb.errors import EventKBError, NotFound
from kb.indexes import reciprocal_rank_fusion
from kb.knowledge import CANDIDATES, Hit, KnowledgeBase
from kb.series import EventHome


def open_all(events: list[EventHome], embedder: Embedder | None = None) -> list[tuple[str, KnowledgeBase]]:
    """The knowledge base of each event, sharing one embedder (so that it loads once)."""
    opened: list[tuple[str, KnowledgeBase]] = []
    for event in events:
        kb = KnowledgeBase.open(event.path, embedder=embedder)
        embedder = embedder or kb.embedder
        opened.append((event.id, kb))
    return opened


def search(kbs: list[tuple[str, KnowledgeBase]], query: str, k: int = 5, **filters) -> list[tuple[str, Hit]]:
    """The k best passages over all the events, each with its event's id: each event's top list, fused by rank.
    A speaker or document filter applies in the events that have them."""
    lists: list[list[tuple[str, Hit]]] = []
    for event_id, kb in kbs:
        try:
            lists.append([(event_id, h) for h in kb.search(query, k=max(k, CANDIDATES), **filters)])
        except NotFound:  # that person is not one of this event's
            continue
    if not lists:
        raise NotFound(f"None of the events {', '.join(e for e, _ in kbs)} has what the filters ask for.")
    keyed = {(e, h.passage.id): (e, h) for hits in lists for e, h in hits}
    fused = reciprocal_rank_fusion([[(e, h.passage.id) for e, h in hits] for hits in lists])
    return [(keyed[key][0], Hit(keyed[key][1].passage, score)) for key, score in fused[:k]]


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
