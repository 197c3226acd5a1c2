"""The generator seam: chat messages in, streamed text pieces out, with token counts.

Two engines: llama.cpp through llama-cpp-python on a local GGUF file, and a scripted fake for tests.
Both serialise calls behind one lock per instance, since a llama.cpp context is not thread-safe.
"""
from __future__ import annotations

import atexit
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol

import numpy as np

from kb.errors import EventKBError

N_CTX = 2048


@dataclass
class Usage:
    """What one generation used, filled in as it runs."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    choice: dict[str, float] = field(default_factory=dict)  # the first token's probabilities over the labels asked for
    estimated: bool = False  # the prompt's tokens were estimated from its length (a server that does not count them)
    server_cpu_s: float | None = None  # CPU time of a model server on this machine while it answered, when readable


@dataclass(frozen=True)
class ModelInfo:
    name: str
    file: str  # the GGUF file, or the model server's address
    sha256: str
    backend: str = "llama.cpp"  # or "openai-compatible": a model server elsewhere

    def to_json(self) -> dict:
        return {"name": self.name, "file": self.file, "sha256": self.sha256, "backend": self.backend}


class Generator(Protocol):
    """Anything that streams a chat reply; callers hold `lock` around `stream` and its meter."""

    info: ModelInfo
    lock: threading.Lock

    def stream(self, messages: list[dict], max_tokens: int, usage: Usage, labels: list[str] | None = None, prefix: str = "") -> Iterator[str]:
        """The reply, piece by piece, after `prefix` (text the reply is made to start with, not repeated); with
        `labels`, `usage.choice` holds the probabilities of the next token being each label (normalised over them) once
        the first piece is out."""
        ...


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

    def stream(self, messages: list[dict], max_tokens: int, usage: Usage, labels: list[str] | None = None, prefix: str = "") -> Iterator[str]:
        # Streamed chunks carry no usage: the prompt is counted from the rendered template and
        # completion tokens as chunks arrive (llama-cpp-python yields one chunk per token).
        usage.prompt_tokens = self._prompt_tokens(messages)
        processors = None
        if labels:
            from llama_cpp import LogitsProcessorList

            ids = [self.llm.tokenize(label.encode("utf-8"), add_bos=False)[0] for label in labels]

            def read_choice(_input_ids, scores):  # called before each token is sampled: the first call is the choice
                if not usage.choice:
                    logits = np.asarray(scores)[ids].astype(np.float64)
                    weights = np.exp(logits - logits.max())
                    usage.choice = {label: float(w) for label, w in zip(labels, weights / weights.sum())}
                return scores

            processors = LogitsProcessorList([read_choice])
        if prefix:  # the model's own chat template, then the start of its reply
            prompt = self._template()(messages=messages).prompt + prefix
            chunks = self.llm.create_completion(prompt, stream=True, temperature=0.0, max_tokens=max_tokens, logits_processor=processors)
        else:
            chunks = self.llm.create_chat_completion(messages, stream=True, temperature=0.0, max_tokens=max_tokens, logits_processor=processors)
        for chunk in chunks:
            choice = chunk["choices"][0]
            piece = choice["text"] if prefix else choice["delta"].get("content")
            if piece:
                usage.completion_tokens += 1
                yield piece

    def _template(self):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if getattr(self, "_formatter", None) is None:
            special = lambda token: self.llm.detokenize([token], special=True).decode("utf-8", "replace")  # noqa: E731
            self._formatter = Jinja2ChatFormatter(self.llm.metadata["tokenizer.chat_template"], eos_token=special(self.llm.token_eos()),
                                                  bos_token=special(self.llm.token_bos()))
        return self._formatter

    def _prompt_tokens(self, messages: list[dict]) -> int:
        return sum(self.count(m["content"]) + 4 for m in messages) + 2


@dataclass
class FakeGenerator:
    """Scripted replies for tests: `reply(messages)` returns the text, streamed word by word."""

    reply: Callable[[list[dict]], str]
    info: ModelInfo = ModelInfo("fake", "fake.gguf", "0" * 64)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[list[dict]] = field(default_factory=list)
    choice: Callable[[list[dict], list[str], str], dict[str, float]] | None = None  # scripted probabilities; else the reply's own number

    def stream(self, messages: list[dict], max_tokens: int, usage: Usage, labels: list[str] | None = None, prefix: str = "") -> Iterator[str]:
        self.calls.append(messages)
        usage.prompt_tokens = sum(len(m["content"].split()) for m in messages)
        text = self.reply(messages)
        text = text[len(prefix):] if prefix and text.startswith(prefix) else text
        if labels:
            usage.choice = self.choice(messages, labels, text) if self.choice else _certain(labels, text)
        pieces = text.split(" ")
        for n, word in enumerate(pieces[:max_tokens]):
            usage.completion_tokens += 1
            yield word if n == 0 else " " + word


def _certain(labels: list[str], reply: str) -> dict[str, float]:
    """Probability 1 for the label the reply starts with (or cites, "… [2]"); "0" for a refusal or no number."""
    from kb.choose import parse

    number, _ = parse(reply)
    picked = str(number) if number is not None and str(number) in labels else "0"
    return {label: float(label == picked) for label in labels}


def echo_first_source(messages: list[dict]) -> str:
    """The fake engine's default reply: the first source sentence, cited as [1] (or the refusal); asked to choose among
    numbered sentences, the one sharing the most words with the question, copied, or 0 when none shares half of them."""
    user = messages[-1]["content"]
    if "\n[0] " in user:
        return _closest_sentence(user)
    for line in user.splitlines():
        if line.startswith("[1]"):
            return line.split(") ", 1)[-1].strip() + " [1]"
    return "NOT IN SOURCES"


def _closest_sentence(user: str) -> str:
    from kb.textnorm import STOPWORDS, words

    question = re.search(r"^Question: (.*)$", user, re.MULTILINE)
    wanted = {w for w in words(question.group(1) if question else "") if w not in STOPWORDS and len(w) > 2}
    best, shared = 0, 0
    lines = re.findall(r"^\[(\d+)\] \([^)]*\) (.*)$", user, re.MULTILINE)
    for n, text in lines:
        overlap = len(wanted & set(words(text)))
        if int(n) and overlap > shared:
            best, shared = int(n), overlap
    if not wanted or shared < len(wanted) / 2:
        return "Sentence [0]"
    return f"Sentence [{best}]: " + dict(lines)[str(best)]


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


def load_generator(spec: str | None = None, backend: str | None = None) -> Generator:
    """The generator for `spec` ("default", "small", "fake" or a GGUF path), loaded once per process; with a model
    server's address (`backend`, else $EVENTKB_BACKEND_URL), that server, `spec` naming its model unless "default"."""
    from kb import models
    from kb.remote import OpenAIGenerator, backend_url

    url = backend_url(backend)
    spec = generator_spec(spec)
    key = f"{url}|{spec}" if url else spec
    with _loading:
        if key in _loaded:
            return _loaded[key]
        if url:
            generator: Generator = OpenAIGenerator(url, model=None if spec == "default" else spec)
            _loaded[key] = generator
            return generator
        if spec == "fake":
            generator = FakeGenerator(echo_first_source)
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
