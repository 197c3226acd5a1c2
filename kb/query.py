"""Query handling for keyword search: (for now) the query's own tokens."""
from __future__ import annotations


def expand(query_tokens: list[str]) -> list[str]:
    """The tokens BM25 searches with."""
    return query_tokens
