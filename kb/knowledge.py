"""Open a built knowledge base and search it: hybrid BM25 + dense search, filters, quotes by person.

Loads the store and both indexes once; the embedder is loaded on the first dense query only.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from kb import store
from kb.embedder import Embedder, embedder_name, load_embedder
from kb.errors import EventKBError, NoKnowledgeBase, NotFound
from kb.indexes import DenseIndex, KeywordIndex, convex_fusion, reciprocal_rank_fusion
from kb.people import resolve
from kb.query import event_glossary, keyword_concepts
from kb.textnorm import fold
from kb.words import Lexicon

CANDIDATES = 50
MODES = ("hybrid", "bm25", "dense")


@dataclass(frozen=True)
class Fusion:
    """How hybrid search fuses the top lists of BM25 and dense search, each with its weight.

    `dense_pool` > 0 is the design before the multilingual embedder, kept for comparison: dense search only re-orders
    the keyword candidates plus its own `dense_pool` best, instead of bringing its whole top list."""

    keyword: float = 1.0
    dense: float = 1.0
    dense_pool: int = 0
    method: str = "convex"  # a weighted sum of each list's min-max normalised scores; or "rrf", reciprocal rank fusion


@dataclass(frozen=True)
class Hit:
    passage: store.Passage
    score: float

    def to_json(self) -> dict:
        return self.passage.to_json(self.score)


def fuse(fusion: Fusion, lists: list[list[tuple[int, float]]]) -> list[tuple[int, float]]:
    """One ranking from the top lists of `KnowledgeBase.ranked` (a single list stays as it is), best first."""
    if len(lists) == 1:
        return lists[0]
    if fusion.method == "convex":
        return convex_fusion(lists, [fusion.keyword, fusion.dense])
    return reciprocal_rank_fusion([[row for row, _ in ranked] for ranked in lists], weights=[fusion.keyword, fusion.dense])


def wordings(search, query: str, also: tuple[str, ...], k: int, *filters) -> list[Hit]:
    """`search(query, k, *filters)`, or with other wordings `also` of the same question, each searched and the lists
    fused by rank."""
    if not also:
        return search(query, k, *filters)
    lists = [search(q, max(k, CANDIDATES), *filters) for q in (query, *also)]
    by_row = {h.passage.row: h.passage for hits in lists for h in hits}
    fused = reciprocal_rank_fusion([[h.passage.row for h in hits] for hits in lists])
    return [Hit(by_row[row], score) for row, score in fused[:k]]


class KnowledgeBase:
    """A read-only knowledge base directory (the `current` build of a KB home)."""

    def __init__(self, build: Path, embedder: Embedder | None = None, embedder_spec: str | None = None) -> None:
        self.build = build
        self.manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
        wanted = embedder.name if embedder else embedder_name(embedder_spec)
        built_with = self.manifest["embedder"]["name"]
        if wanted != built_with:
            raise EventKBError(
                f"This knowledge base was built with the embedder {built_with!r} but {wanted!r} is configured: run `eventkb ingest` again."
            )
        self.conn = store.open_readonly(build / store.DB_FILE)
        self.passages = store.all_passages(self.conn)
        self.by_id = {p.id: p for p in self.passages}
        self.dense = DenseIndex.load(build)
        self.keyword = KeywordIndex.load(build, len(self.passages))
        self._embedder = embedder
        self._embedder_spec = embedder_spec
        self._lock = threading.Lock()
        self.fusion = Fusion()
        raw_event = store.meta(self.conn, "event")
        self.event = json.loads(raw_event) if raw_event else None
        self.glossary = tuple((self.event or {}).get("glossary") or ())  # the event's own terms, added to the general glossary
        self.people = store.people(self.conn)
        self.lexicon = Lexicon.load(build)

    @classmethod
    def open(cls, home: Path, embedder: Embedder | None = None, embedder_spec: str | None = None) -> "KnowledgeBase":
        """The current build of the KB home `home`, with a clear error if there is none."""
        build = store.current_build(home)
        if build is None:
            raise NoKnowledgeBase(f"No knowledge base in {home}: run `eventkb ingest` first.")
        return cls(build, embedder, embedder_spec)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self._embedder_spec)
            return self._embedder

    def documents(self) -> list[dict]:
        return store.documents(self.conn)

    def references(self) -> list[dict]:
        return store.references(self.conn)

    def person(self, name: str) -> dict:
        return resolve(name, self.people)

    def _rows(self, speaker: str | None, document: str | None, section: str | None) -> set[int] | None:
        if not (speaker or document or section):
            return None
        name = self.person(speaker)["name"] if speaker else None
        docs = self.documents() if document else []
        if document and document not in {d["id"] for d in docs}:
            ids = ", ".join(d["id"] for d in docs if d["ingested"])
            raise NotFound(f"No document {document!r} in this knowledge base; the documents are: {ids}.")
        wanted_section = fold(section) if section else None
        return {
            p.row
            for p in self.passages
            if (name is None or p.speaker == name)
            and (document is None or p.document == document)
            and (wanted_section is None or wanted_section in fold(p.section or ""))
        }

    def search(
        self,
        query: str,
        k: int = 5,
        speaker: str | None = None,
        document: str | None = None,
        section: str | None = None,
        mode: str = "hybrid",
        within: set[int] | None = None,
        expand: bool | None = None,
        also: tuple[str, ...] = (),
    ) -> list[Hit]:
        """The k passages that best match `query`, best first, within the filters (and among the rows `within`, if given).
        `expand` overrides whether BM25 adds the glossary's equivalents: by default BM25 alone does, hybrid search does not
        (on fresh questions they added nothing to it). With `also`, other wordings of the same question are searched
        too, and the lists fused by rank."""
        with event_glossary(self.glossary):
            return wordings(self._search, query, also, k, speaker, document, section, mode, within, expand)

    def _search(self, query: str, k: int, speaker: str | None, document: str | None, section: str | None, mode: str,
                within: set[int] | None, expand: bool | None) -> list[Hit]:
        ranked = fuse(self.fusion, self.ranked(query, max(k, CANDIDATES), speaker, document, section, mode, within, expand))
        return [Hit(self.passages[row], score) for row, score in ranked[:k]]

    def ranked(self, query: str, depth: int, speaker: str | None = None, document: str | None = None, section: str | None = None,
               mode: str = "hybrid", within: set[int] | None = None, expand: bool | None = None) -> list[list[tuple[int, float]]]:
        """The top lists search fuses, rows with their own scores: BM25's and dense search's for hybrid, one list otherwise."""
        if mode not in MODES:
            raise EventKBError(f"Unknown search mode {mode!r}: use one of {', '.join(MODES)}.")
        if not query.strip():
            raise EventKBError("The query is empty: type a few words to search for.")
        rows = self._rows(speaker, document, section)
        if within is not None:
            rows = within if rows is None else rows & within
        if mode == "dense":
            return [self.dense.search(self.embedder.query(query), depth, rows)]
        keyword = self.keyword.search(keyword_concepts(query, mode == "bm25" if expand is None else expand), depth, rows)
        if mode == "bm25":
            return [keyword]
        vector = self.embedder.query(query)
        if self.fusion.dense_pool:
            pool = {row for row, _ in keyword} | {row for row, _ in self.dense.search(vector, self.fusion.dense_pool, rows)}
            return [keyword, self.dense.search(vector, len(pool), pool)]
        return [keyword, self.dense.search(vector, depth, rows)]

    def passage(self, passage_id: str) -> store.Passage:
        """One passage by id, with a clear error when there is none."""
        found = self.by_id.get(passage_id)
        if found is None:
            raise NotFound(f"No passage {passage_id!r} in this knowledge base.")
        return found

    def around(self, passage_id: str, before: int = 2, after: int = 2) -> list[store.Passage]:
        """The passage with its neighbours in the same document, in document order."""
        centre = self.passage(passage_id)
        same = [p for p in self.passages if p.document == centre.document]
        i = next(n for n, p in enumerate(same) if p.id == passage_id)
        return same[max(0, i - before) : i + after + 1]

    def quotes(self, speaker: str, query: str | None = None, k: int | None = None) -> tuple[dict, list[Hit]]:
        """What one person said: every passage attributed to them, in document order or ranked by `query`."""
        person = self.person(speaker)
        if query and query.strip():
            limit = k or len(self.passages)
            return person, self.search(query, k=limit, speaker=person["name"])
        mine = [Hit(p, 1.0) for p in self.passages if p.speaker == person["name"]]
        return person, mine[:k] if k else mine

    def close(self) -> None:
        self.conn.close()
