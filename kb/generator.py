"""The generator seam: chat messages in, streamed text pieces out, with token counts.

Two engines: llama.cpp through llama-cpp-python on a local GGUF file, and a scripted fake for tests.
Both serialise calls behind one lock per instance, since a llama.cpp context is not thread-safe.
"""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import dataclasses
import hashlib
import importlib.util
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol

from kb.errors import EventKBError

N_CTX = 2048
PREFIX_FILES = 32  # evaluated system prompts kept on disk, the most recently used


@dataclass
class Usage:
    """What one generation used, filled in as it runs."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False  # the prompt's tokens were estimated from its length (a server that does not count them)
    server_cpu_s: float | None = None  # CPU time of a model server on this machine while it answered, when readable
    decline: str = ""  # the reply that declines, set by the caller: an engine that reads its first token's odds
    decline_p: float | None = None  # reports here the probability it gave to starting that reply


@dataclass(frozen=True)
class ModelInfo:
    name: str
    file: str  # the GGUF file, or the model server's address
    sha256: str
    backend: str = "llama.cpp"  # or "openai-compatible": a model server elsewhere
    options: tuple[tuple[str, object], ...] = ()  # how the engine runs the model, where that can change its replies

    def to_json(self) -> dict:
        return {"name": self.name, "file": self.file, "sha256": self.sha256, "backend": self.backend,
                **({"options": dict(self.options)} if self.options else {})}


class Generator(Protocol):
    """Anything that streams a chat reply; callers hold `lock` around `stream` and its meter."""

    info: ModelInfo
    lock: threading.Lock

    def stream(self, messages: list[dict], max_tokens: int, usage: Usage) -> Iterator[str]:
        """The reply, piece by piece; `usage` counts its tokens as it goes."""
        ...


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def repack_wanted(value: str | None = None) -> bool:
    """Whether llama.cpp repacks the weights at load: $EVENTKB_REPACK ("1" or "0"), else `default_repack()`."""
    value = os.environ.get("EVENTKB_REPACK", "") if value is None else value
    if value not in ("", "0", "1"):
        raise EventKBError(f"EVENTKB_REPACK is {value!r}: set it to 1 (repack the weights at load) or 0 (do not).")
    return value == "1" if value else default_repack()


def default_repack() -> bool:
    """Off where llama.cpp was built for AVX-512, on (llama.cpp's own default) elsewhere. Measured on an AVX-512 CPU
    with 2 cores (BENCHMARKS.md, "llama.cpp's weight repacking"): without repacking the model loads in a fifth to a
    third of the time, takes 600 MB less and gives its first token 20-30 % sooner (long answers end about 5 % later);
    AVX2-only CPUs were not measured."""
    from llama_cpp import llama_cpp as lib

    return b"AVX512 = 1" not in lib.llama_print_system_info()


_params_lock = threading.Lock()


def _llama_version() -> str:
    import llama_cpp

    return llama_cpp.__version__


@contextlib.contextmanager
def repacking(repack: bool) -> Iterator[None]:
    """Within the block, llama.cpp models load with weight repacking on or off (its `--no-repack`, which
    llama-cpp-python does not expose: it is set in the default parameters Llama starts from, restored after)."""
    from llama_cpp import llama_cpp as lib

    with _params_lock:
        defaults = lib.llama_model_default_params

        def params():
            p = defaults()
            p.use_extra_bufts = repack
            return p

        lib.llama_model_default_params = params
        try:
            yield
        finally:
            lib.llama_model_default_params = defaults


def _llama(path: Path, threads: int, repack: bool):
    """llama-cpp-python's Llama on `path`, with llama.cpp's weight repacking on or off."""
    from llama_cpp import Llama

    with repacking(repack):
        return Llama(model_path=str(path), n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads, verbose=False)


class LlamaGenerator:
    """A GGUF model run by llama.cpp on the CPU, greedy decoding, with the model's own chat template."""

    def __init__(self, path: Path, info: ModelInfo, threads: int | None = None, repack: bool | None = None,
                 prefix_dir: Path | None = None) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise EventKBError("llama-cpp-python is not installed: run `make setup`.")
        threads = threads or cpu_count()
        repack = repack_wanted() if repack is None else repack
        try:
            self.llm = _llama(path, threads, repack)
        except (ValueError, RuntimeError) as exc:
            raise EventKBError(f"llama.cpp could not load {path} ({exc}): check that it is a GGUF model file.") from None
        self.info = dataclasses.replace(info, options=(("repack", repack),))
        self.threads = threads
        self.prefix_dir = prefix_dir  # where evaluated system prompts are kept between processes; None: not kept
        self._prefix_for: tuple[str | None, list[int]] = (None, [])  # the last system message and its constant tokens
        self.lock = threading.Lock()

    def _constant_prefix(self, system: str) -> list[int]:
        """The tokens every prompt with this system message starts with, whatever the user asks: the common start of two
        prompts that differ only in the user's message."""
        render = lambda user: self._template()(messages=[{"role": "system", "content": system}, {"role": "user", "content": user}]).prompt  # noqa: E731
        a, b = (self.llm.tokenize(render(user).encode("utf-8"), special=True) for user in ("A", "7"))
        n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        return a[:n]

    def _restore_prefix(self, messages: list[dict]) -> None:
        """Start the context with the system message already evaluated: kept in memory by llama-cpp-python between
        calls, and on disk (llama.cpp's own state files) between processes, so that a fresh process skips its evaluation."""
        if self.prefix_dir is None or not messages or messages[0]["role"] != "system":
            return
        if self._prefix_for[0] != messages[0]["content"]:
            self._prefix_for = (messages[0]["content"], self._constant_prefix(messages[0]["content"]))
        tokens = self._prefix_for[1]
        if len(tokens) < 2 or self.llm.input_ids[: self.llm.n_tokens].tolist()[: len(tokens)] == tokens:
            return  # too short to pay, or already in the context
        from llama_cpp import llama_cpp as lib

        key = hashlib.sha256(json.dumps([self.info.sha256, dict(self.info.options), N_CTX, _llama_version(), tokens]).encode()).hexdigest()[:32]
        path = self.prefix_dir / f"{key}.state"
        ctx = self.llm._ctx.ctx
        if path.is_file():
            out = (lib.llama_token * len(tokens))()
            n = ctypes.c_size_t(0)
            if lib.llama_state_load_file(ctx, str(path).encode(), out, len(tokens), ctypes.byref(n)) and list(out[: n.value]) == tokens:
                self.llm.input_ids[: len(tokens)] = tokens
                self.llm.n_tokens = len(tokens)
                self.llm._requires_eval = True
                with contextlib.suppress(OSError):
                    os.utime(path)  # most recently used: kept longest
                return
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        self.llm.reset()
        self.llm.eval(tokens)
        try:
            self.prefix_dir.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.part")
            if lib.llama_state_save_file(ctx, str(partial).encode(), (lib.llama_token * len(tokens))(*tokens), len(tokens)):
                os.replace(partial, path)
            partial.unlink(missing_ok=True)
            for old in sorted(self.prefix_dir.glob("*.state"), key=lambda f: f.stat().st_mtime)[:-PREFIX_FILES]:
                old.unlink(missing_ok=True)
        except OSError:
            pass  # a cache that cannot be written only makes the next fresh process slower

    def count(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, messages: list[dict], max_tokens: int, usage: Usage) -> Iterator[str]:
        # Streamed chunks carry no usage: the prompt is counted from the rendered template and
        # completion tokens as chunks arrive (llama-cpp-python yields one chunk per token).
        usage.prompt_tokens = self._prompt_tokens(messages)
        self._restore_prefix(messages)
        watch = [_first_token_odds(self.llm.tokenize(usage.decline.encode("utf-8"), add_bos=False)[0], usage)] if usage.decline else None
        for chunk in self.llm.create_chat_completion(messages, stream=True, temperature=0.0, max_tokens=max_tokens, logits_processor=watch):
            piece = chunk["choices"][0]["delta"].get("content")
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


def _first_token_odds(token: int, usage: Usage) -> Callable:
    """A llama.cpp logits processor that, at the first token only, puts the softmax probability of `token` in
    `usage.decline_p`; it changes no logit."""
    import numpy as np

    def read(_ids, logits):
        if usage.decline_p is None:
            z = np.asarray(logits, dtype=np.float64)
            z = np.exp(z - z.max())
            usage.decline_p = float(z[token] / z.sum())
        return logits

    return read


@dataclass
class FakeGenerator:
    """Scripted replies for tests: `reply(messages)` returns the text, streamed word by word."""

    reply: Callable[[list[dict]], str]
    info: ModelInfo = ModelInfo("fake", "fake.gguf", "0" * 64)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[list[dict]] = field(default_factory=list)
    decline_p: Callable[[list[dict]], float] | None = None  # scripted odds of declining; None: not reported

    def stream(self, messages: list[dict], max_tokens: int, usage: Usage) -> Iterator[str]:
        self.calls.append(messages)
        usage.prompt_tokens = sum(len(m["content"].split()) for m in messages)
        if usage.decline and self.decline_p is not None:
            usage.decline_p = self.decline_p(messages)
        text = self.reply(messages)
        pieces = text.split(" ")
        for n, word in enumerate(pieces[:max_tokens]):
            usage.completion_tokens += 1
            yield word if n == 0 else " " + word


def echo_first_source(messages: list[dict]) -> str:
    """The fake engine's default reply: the first source sentence, cited as [1], or the refusal when no source shares a
    word of the question, as a model declines."""
    from kb.textnorm import STOPWORDS, words

    user = messages[-1]["content"]
    question = re.search(r"^Question: (.*)$", user, re.MULTILINE)
    wanted = {w for w in words(question.group(1) if question else "") if w not in STOPWORDS and len(w) > 2}
    lines = [line for line in user.splitlines() if re.match(r"\[\d+\] ", line)]
    if lines and (not question or any(wanted & set(words(line.split(") ", 1)[-1])) for line in lines)):
        return lines[0].split(") ", 1)[-1].strip() + " [1]"
    return "NOT IN SOURCES"


def generator_spec(spec: str | None = None) -> str:
    """The generator asked for: `spec`, else $EVENTKB_MODEL, else "default"."""
    return spec or os.environ.get("EVENTKB_MODEL") or "default"


def prefix_dir() -> Path:
    """Where llama.cpp's evaluated system prompts are kept between processes."""
    from kb.paths import cache_home

    return cache_home() / "llama-prefix"


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


def load_generator(spec: str | None = None, backend: str | None = None, repack: bool | None = None) -> Generator:
    """The generator for `spec` ("default", "small", "fake" or a GGUF path), loaded once per process (per `repack`,
    else $EVENTKB_REPACK); with a model server's address (`backend`, else $EVENTKB_BACKEND_URL), that server, `spec`
    naming its model unless "default"."""
    from kb import models
    from kb.remote import OpenAIGenerator, backend_url

    url = backend_url(backend)
    spec = generator_spec(spec)
    local = not url and spec != "fake"
    repack = repack_wanted() if repack is None and local else repack
    key = f"{url}|{spec}" if url else f"{spec}|repack={repack}" if local else spec
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
            generator = LlamaGenerator(path, ModelInfo(entry["name"], path.name, entry["sha256"]), repack=repack, prefix_dir=prefix_dir())
        else:
            path = Path(spec).expanduser()
            if not path.is_file():
                raise EventKBError(f"The model file {path} does not exist: pass the path of a GGUF file to --model.")
            generator = LlamaGenerator(path, ModelInfo(path.stem, path.name, models.cached_sha256(path)), repack=repack, prefix_dir=prefix_dir())
        _loaded[key] = generator
        return generator


def preload(spec: str | None = None, backend: str | None = None) -> None:
    """Start loading the generator in the background, so that it loads while the knowledge base opens and the question
    is searched; `load_generator` then waits for it. A failure here is raised again by that later call."""
    def load() -> None:
        try:
            load_generator(spec, backend)
        except Exception:  # noqa: BLE001 - raised again, with its message, where the generator is needed
            pass

    threading.Thread(target=load, name="eventkb-preload", daemon=True).start()
