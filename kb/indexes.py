"""The two search indexes over passages, each with build, save, load and search.

Dense: FAISS inner product on normalised vectors. Keyword: BM25 (bm25s) over folded, stemmed tokens.
Both return (row, score) pairs best first, optionally restricted to a set of rows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from kb.textnorm import tokens

DENSE_FILE = "dense.faiss"
BM25_DIR = "bm25"


class DenseIndex:
    """FAISS flat inner-product index; rows are passage positions."""

    def __init__(self, index) -> None:
        self.index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> "DenseIndex":
        import faiss

        index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    def save(self, directory: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(directory / DENSE_FILE))

    @classmethod
    def load(cls, directory: Path) -> "DenseIndex":
        import faiss

        return cls(faiss.read_index(str(directory / DENSE_FILE)))

    def vectors(self) -> np.ndarray:
        """All stored vectors, in row order."""
        return self.index.reconstruct_n(0, self.index.ntotal) if self.index.ntotal else np.zeros((0, self.index.d), np.float32)

    def search(self, vector: np.ndarray, k: int, rows: set[int] | None = None) -> list[tuple[int, float]]:
        import faiss

        total = self.index.ntotal
        if total == 0 or k <= 0 or rows == set():
            return []
        params = None
        if rows is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.fromiter(rows, dtype=np.int64)))
            k = min(k, len(rows))
        scores, ids = self.index.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), min(k, total), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


class KeywordIndex:
    """BM25 over the tokens of kb.textnorm.tokens."""

    def __init__(self, retriever, size: int) -> None:
        self.retriever = retriever
        self.size = size
        self.vocab = set(retriever.vocab_dict) if size else set()

    @classmethod
    def build(cls, texts: list[str]) -> "KeywordIndex":
        import bm25s

        retriever = bm25s.BM25()
        if texts:
            retriever.index([tokens(t) or ["\u2205"] for t in texts], show_progress=False)
        return cls(retriever, len(texts))

    def save(self, directory: Path) -> None:
        (directory / BM25_DIR).mkdir(exist_ok=True)
        if self.size:
            self.retriever.save(str(directory / BM25_DIR), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int) -> "KeywordIndex":
        import bm25s

        if not size:
            return cls(bm25s.BM25(), 0)
        return cls(bm25s.BM25.load(str(directory / BM25_DIR), show_progress=False, verbosity=0), size)

    def scores(self, concepts: list[list[tuple[str, float]]]) -> np.ndarray:
        """BM25 score of every row: for each concept, the best weighted score among its tokens, summed over concepts
        (a disjunction-max query; tokens the index does not know score nothing)."""
        total = np.zeros(self.size, dtype=np.float32)
        if not self.size:
            return total
        by_token: dict[str, np.ndarray] = {}
        for concept in concepts:
            best = np.zeros(self.size, dtype=np.float32)
            for token, weight in concept:
                if token not in self.vocab:
                    continue
                if token not in by_token:
                    by_token[token] = np.asarray(self.retriever.get_scores([token]), dtype=np.float32)
                np.maximum(best, weight * by_token[token], out=best)
            total += best
        return total

    def search(self, concepts: list[list[tuple[str, float]]], k: int, rows: set[int] | None = None) -> list[tuple[int, float]]:
        scores = self.scores(concepts)
        if rows is not None:
            mask = np.zeros(self.size, dtype=bool)
            mask[list(rows)] = True
            scores = np.where(mask, scores, 0.0)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0]


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60, weights: list[float] | None = None) -> list[tuple[int, float]]:
    """Fuse ranked lists of ids: score(id) = sum of weight / (k + rank), best first, ties by first appearance."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda pair: -pair[1])


def convex_fusion(scored: list[list[tuple[int, float]]], weights: list[float]) -> list[tuple[int, float]]:
    """Fuse scored lists of ids by a weighted sum of their min-max normalised scores (best of a list 1, its worst 0,
    absent 0), best first, ties by first appearance: unlike rank fusion, one retriever's clear best is not
    outweighed by passages that both rank in the middle."""
    fused: dict[int, float] = {}
    for pairs, weight in zip(scored, weights):
        if not pairs:
            continue
        high, low = max(s for _, s in pairs), min(s for _, s in pairs)
        for item, s in pairs:
            fused[item] = fused.get(item, 0.0) + weight * ((s - low) / (high - low) if high > low else 1.0)
    return sorted(fused.items(), key=lambda pair: -pair[1])
