"""The embedder seam: texts in, L2-normalised float32 vectors out.

Two engines: sentence-transformers on the bundled MiniLM (offline), and a deterministic fake built
from hashed word features for fast tests. Nothing here downloads anything.
"""
from __future__ import annotations

import hashlib
import os
from typing import Callable, Protocol

import numpy as np

from kb.errors import EventKBError
from kb.textnorm import tokens


class Embedder(Protocol):
    """Anything that maps texts to normalised vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class FakeEmbedder:
    """Deterministic bag-of-stems vectors: texts that share words are close, with no model file."""

    name = "fake-hashed-stems-64"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    def embed(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokens(text):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dim] += 1.0 if digest[4] & 1 else -1.0
        out[np.linalg.norm(out, axis=1) == 0, 0] = 1.0
        if progress:
            progress(len(texts), len(texts))
        return _normalise(out)


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local directory, on the CPU, never from a hub."""

    def __init__(self, path: str, name: str, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if not os.path.isdir(path):
            raise EventKBError(f"The embedding model directory {path} does not exist: run `make setup` to install it.")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EventKBError("sentence-transformers is not installed: run `make setup`.") from None
        self.name = name
        self.batch_size = batch_size
        self.model = SentenceTransformer(path, device="cpu")
        self.dim = int(self.model.get_embedding_dimension())

    def embed(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            parts.append(self.model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True))
            if progress:
                progress(min(start + self.batch_size, len(texts)), len(texts))
        return _normalise(np.vstack(parts))


DEFAULT_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def embedder_spec(spec: str | None = None) -> str:
    """The embedder asked for: `spec`, else $EVENTKB_EMBEDDER, else "default" (the bundled MiniLM)."""
    return spec or os.environ.get("EVENTKB_EMBEDDER") or "default"


def embedder_name(spec: str | None = None) -> str:
    """The name the embedder will have once loaded, known without loading it."""
    spec = embedder_spec(spec)
    if spec == "fake":
        return FakeEmbedder.name
    if spec == "default":
        return DEFAULT_NAME
    return os.path.abspath(spec)


def load_embedder(spec: str | None = None) -> Embedder:
    """Load the embedder named by `spec` (see embedder_spec): "fake", a model directory, or the bundled default."""
    spec = embedder_spec(spec)
    if spec == "fake":
        return FakeEmbedder()
    if spec == "default":
        from kb.models import default_embedder_path

        return SentenceTransformerEmbedder(str(default_embedder_path()), DEFAULT_NAME)
    return SentenceTransformerEmbedder(spec, embedder_name(spec))
