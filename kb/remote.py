"""A model served elsewhere, behind an OpenAI-compatible API (a llama.cpp server, vLLM, Ollama), through the official
openai client: the same generator seam as the local model, streamed, with the server's token counts.

Energy: when the server runs on this machine (a loopback address) and its process is readable, its CPU time while it
answered is read and turned into energy like this process's own (an estimate from measured CPU time, shared with any
answer it served at the same time); otherwise the generation is estimated from its tokens, with the per-token range
below. Either way the record says which.
"""
from __future__ import annotations

import hashlib
import math
import os
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from kb.energy import Energy, estimate_meter
from kb.errors import EventKBError, Unavailable
from kb.generator import ModelInfo, Usage

TIMEOUT_S = 60.0  # a server that sends nothing for this long is given up on
TOP_LOGPROBS = 20  # candidates asked for the first token when the odds of declining are wanted (the API's most)
PARALLEL = 4  # answers sent to the server at once from one process; the server queues or batches them
# Wh per 1,000 tokens (prompt and completion): high, this project's CPU figure for the bundled 1.5B model (0.0121 Wh
# for about 300 tokens, BENCHMARKS.md, rounded up); low, a tenth of it for a server that batches on a GPU.
WH_PER_1K_TOKENS = (0.005, 0.05)
WH_SOURCE = "eventkb's 2-core CPU figure for a 1.5B model (high) and a tenth of it for a batching GPU server (low)"


def backend_url(url: str | None = None) -> str | None:
    """The model server asked for: `url`, else $EVENTKB_BACKEND_URL, else none (the local model)."""
    return url or os.environ.get("EVENTKB_BACKEND_URL") or None


class OpenAIGenerator:
    """Streams chat replies from an OpenAI-compatible server at `url` (".../v1")."""

    def __init__(self, url: str, model: str | None = None, key: str | None = None, timeout_s: float = TIMEOUT_S,
                 parallel: int = PARALLEL) -> None:
        try:
            import openai
        except ImportError:
            raise EventKBError("The openai package is not installed: run `make setup`.") from None
        self.openai = openai
        self.url = url.rstrip("/")
        self.client = openai.OpenAI(base_url=self.url, api_key=key or os.environ.get("EVENTKB_BACKEND_KEY") or "none",
                                    timeout=timeout_s, max_retries=0)
        self.model = model or os.environ.get("EVENTKB_BACKEND_MODEL") or self._first_model()
        digest = hashlib.sha256(f"{self.url}|{self.model}".encode()).hexdigest()  # names the model in cache keys
        self.info = ModelInfo(self.model, self.url, digest, backend="openai-compatible")
        self.lock = threading.BoundedSemaphore(parallel)
        self.server_pid = local_server_pid(self.url)
        self.logprobs = True  # until the server refuses them

    def _first_model(self) -> str:
        with self._errors():
            models = self.client.models.list().data
        if not models:
            raise EventKBError(f"The model server at {self.url} serves no model: start it with one, or name its model with --model (or EVENTKB_BACKEND_MODEL).")
        return models[0].id

    def _errors(self):
        return _Translate(self)

    def stream(self, messages: list[dict], max_tokens: int, usage: Usage) -> Iterator[str]:
        kwargs: dict = {"model": self.model, "messages": messages, "stream": True, "temperature": 0.0, "max_tokens": max_tokens,
                        "stream_options": {"include_usage": True}}
        if usage.decline and self.logprobs:
            kwargs.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        cpu_before = process_cpu_seconds(self.server_pid) if self.server_pid else None
        with self._errors():
            chunks = self._create(kwargs)
            try:
                for chunk in chunks:
                    if getattr(chunk, "usage", None):
                        usage.prompt_tokens = chunk.usage.prompt_tokens or usage.prompt_tokens
                        usage.completion_tokens = chunk.usage.completion_tokens or usage.completion_tokens
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    piece = choice.delta.content if choice.delta else None
                    if not piece:
                        continue
                    read = getattr(choice, "logprobs", None)
                    if usage.decline and usage.decline_p is None and read is not None and read.content:
                        usage.decline_p = decline_odds(usage.decline, read.content[0].top_logprobs or [])
                    if not getattr(chunk, "usage", None):
                        usage.completion_tokens += 1  # replaced by the server's count when it sends one
                    yield piece
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
                cpu_after = process_cpu_seconds(self.server_pid) if cpu_before is not None else None
                if cpu_before is not None and cpu_after is not None:
                    usage.server_cpu_s = max(0.0, cpu_after - cpu_before)
                if not usage.prompt_tokens:  # the server sent no count: about 4 characters a token
                    usage.prompt_tokens, usage.estimated = sum(len(m["content"]) for m in messages) // 4 + 4 * len(messages), True

    def _create(self, kwargs: dict):
        """The streamed completion; asked again without `logprobs` when the server refuses them, and from then on."""
        try:
            return self.client.chat.completions.create(**kwargs)
        except self.openai.BadRequestError:
            if "logprobs" not in kwargs:
                raise
            self.logprobs = False
            return self.client.chat.completions.create(**{k: v for k, v in kwargs.items() if k not in ("logprobs", "top_logprobs")})

    def energy(self, usage: Usage) -> Energy:
        """The generation's energy on the server: from its process's CPU time when it runs here, else from its tokens."""
        if usage.server_cpu_s is not None:
            meter = estimate_meter()
            cpu, mid = usage.server_cpu_s, (meter.low + meter.high) / 2
            detail = (f"model server process {self.server_pid} on this machine: {cpu:.2f} CPU-s x {meter.low:g}-{meter.high:g} W per core "
                      f"({meter.source}); shared with any answer it served meanwhile")
            return Energy(cpu * mid, cpu * meter.low, cpu * meter.high, "estimate-server-cpu-time", cpu, detail)
        tokens = usage.prompt_tokens + usage.completion_tokens
        low, high = (tokens / 1000 * wh * 3600 for wh in WH_PER_1K_TOKENS)
        counted = " (prompt tokens estimated from its length)" if usage.estimated else ""
        detail = f"{tokens} tokens{counted} x {WH_PER_1K_TOKENS[0]:g}-{WH_PER_1K_TOKENS[1]:g} Wh per 1,000 tokens ({WH_SOURCE}), on {self.url}"
        return Energy((low + high) / 2, low, high, "estimate-tokens", 0.0, detail)


def decline_odds(decline: str, top: list) -> float:
    """The probability a server gave to beginning `decline`, read from its first token's top candidates: the longest
    candidate that begins it, or 0 when none does (it is then below every candidate listed)."""
    begins = [t for t in top if t.token.strip() and decline.startswith(t.token.lstrip())]
    return math.exp(max(begins, key=lambda t: len(t.token.lstrip())).logprob) if begins else 0.0


def local_server_pid(url: str) -> int | None:
    """The process listening on `url`'s port when its host is this machine and /proc says which (Linux), else None."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or not parts.port:
        return None
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == parts.port:  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            fds = list(fd_dir.iterdir())
        except OSError:  # another user's process, or gone
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    return int(fd_dir.parent.name)
            except OSError:  # closed meanwhile
                continue
    return None


def process_cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a process so far (Linux), or None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Translate:
    """Turns the client's errors into one sentence that says what to do."""

    def __init__(self, generator: OpenAIGenerator) -> None:
        self.g = generator

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        openai, url = self.g.openai, self.g.url
        if exc is None:
            return False
        transport = type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "h11")  # whichever the client version uses
        if transport or isinstance(exc, ConnectionError):  # the connection broke while the reply streamed
            raise Unavailable(f"The model server at {url} stopped answering mid-reply: check that it is running, then ask again.") from None
        if isinstance(exc, ValueError) and not isinstance(exc, openai.OpenAIError):
            raise Unavailable(f"The model server at {url} sent a reply eventkb cannot read: check that it speaks the OpenAI API.") from None
        if not isinstance(exc, openai.OpenAIError):
            return False
        if isinstance(exc, openai.APITimeoutError):
            raise Unavailable(f"The model server at {url} did not answer in time: check that it is not overloaded, then ask again.") from None
        if isinstance(exc, openai.APIConnectionError):
            raise Unavailable(f"The model server at {url} cannot be reached: start it, or check the address given to --backend.") from None
        if isinstance(exc, openai.APIStatusError):
            if exc.status_code in (429, 502, 503, 504):
                raise Unavailable(f"The model server at {url} is busy or unavailable ({exc.status_code}): ask again in a moment.") from None
            raise EventKBError(f"The model server at {url} refused the request ({exc.status_code}): check --backend-model and the server's log.") from None
        raise Unavailable(f"The model server at {url} sent a reply eventkb cannot read: check that it speaks the OpenAI API.") from None
