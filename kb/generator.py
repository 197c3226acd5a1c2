"""The generator seam: chat messages in, streamed text pieces out, with token counts.

Two engines: llama.cpp through llama-cpp-python on a local GGUF file, and a scripted fake for tests.
Both serialise calls behind one lock per instance, since a llama.cpp context is not thread-safe.
"""
from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol

from kb.errors import EventKBError

N_CTX = 2048


@dataclass
class Usage:
    """What one generation used, filled in as it runs."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class ModelInfo:
    name: str
    file: str
    sha256: str

    def to_json(self) -> dict:
        return {"name": self.name, "file": self.file, "sha256": self.sha256}


class Generator(Protocol):
    """Anything that streams a chat reply; callers hold `lock` around `stream` and its meter."""

    info: ModelInfo
    lock: threading.Lock

    def stream(self, messages: list[dict], max_tokens: int, usage: Usage) -> Iterator[str]: ...


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class LlamaGenerator:
    """A GGUF model run by llama.cpp on the CPU, greedy decoding, with the model's own chat template."""

    def __init__(self, path: Path, info: ModelInfo, threads: int | None = None) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise EventKBError("llama-cpp-python is not installed: run `make setup`.") from None
        threads = threads or cpu_count()
        try:
            self.llm = Llama(model_path=str(path), n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise EventKBError(f"llama.cpp could not load {path} ({exc}): check that it is a GGUF model file.") from None
        self.info = info
        self.threads = threads
        self.lock = threading.Lock()

    def count(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, messages: list[dict], max_tokens: int, usage: Usage) -> Iterator[str]:
        # Streamed chunks carry no usage: the prompt is counted from the rendered template and
        # completion tokens as chunks arrive (llama-cpp-python yields one chunk per token).
        usage.prompt_tokens = self._prompt_tokens(messages)
        for chunk in self.llm.create_chat_completion(messages, stream=True, temperature=0.0, max_tokens=max_tokens):
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                usage.completion_tokens += 1
                yield piece

    def _prompt_tokens(self, messages: list[dict]) -> int:
        return sum(self.count(m["content"]) + 4 for m in messages) + 2


@dataclass
class FakeGenerator:
    """Scripted replies for tests: `reply(messages)` returns the text, streamed word by word."""

    reply: Callable[[list[dict]], str]
    info: ModelInfo = ModelInfo("fake", "fake.gguf", "0" * 64)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[list[dict]] = field(default_factory=list)

    def stream(self, messages: list[dict], max_tokens: int, usage: Usage) -> Iterator[str]:
        self.calls.append(messages)
        usage.prompt_tokens = sum(len(m["content"].split()) for m in messages)
        pieces = self.reply(messages).split(" ")
        for n, word in enumerate(pieces[:max_tokens]):
            usage.completion_tokens += 1
            yield word if n == 0 else " " + word


def echo_first_source(messages: list[dict]) -> str:
    """The fake engine's default reply: the first source sentence, cited as [1] (or the refusal)."""
    user = messages[-1]["content"]
    for line in user.splitlines():
        if line.startswith("[1]"):
            return line.split(") ", 1)[-1].strip() + " [1]"
    return "NOT IN SOURCES"


def generator_spec(spec: str | None = None) -> str:
    """The generator asked for: `spec`, else $EVENTKB_MODEL, else "default"."""
    return spec or os.environ.get("EVENTKB_MODEL") or "default"


_loaded: dict[str, Generator] = {}
_loading = threading.Lock()


@atexit.register
def _close_all() -> None:
    """Free the models before the interpreter tears down the modules llama.cpp's finaliser needs."""
    for generator in _loaded.values():
        llm = getattr(generator, "llm", None)
        if llm is not None:
            llm.close()
    _loaded.clear()


def load_generator(spec: str | None = None) -> Generator:
    """The generator for `spec` ("default", "small", "fake" or a GGUF path), loaded once per process."""
    from kb import models

    spec = generator_spec(spec)
    with _loading:
        if spec in _loaded:
            return _loaded[spec]
        if spec == "fake":
            generator: Generator = FakeGenerator(echo_first_source)
        elif spec in models.GENERATOR_ROLES:
            role = models.GENERATOR_ROLES[spec]
            entry = models.entry(role)
            path = models.generator_path(role)
            models.verify(path, entry)
            generator = LlamaGenerator(path, ModelInfo(entry["name"], path.name, entry["sha256"]))
        else:
            path = Path(spec).expanduser()
            if not path.is_file():
                raise EventKBError(f"The model file {path} does not exist: pass the path of a GGUF file to --model.")
            generator = LlamaGenerator(path, ModelInfo(path.stem, path.name, models.cached_sha256(path)))
        _loaded[spec] = generator
        return generator
