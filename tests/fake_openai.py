"""A tiny OpenAI-compatible server on loopback, for the remote backend's unit tests: /v1/models and streamed
/v1/chat/completions whose reply is `reply(messages)`, or a failure (`mode`: "error", "busy", "garbage", "slow")."""
from __future__ import annotations

import json
import math
import threading
import time
from typing import Callable

from flask import Flask, Response, request
from werkzeug.serving import make_server

from kb.generator import echo_first_source


class FakeOpenAI:
    def __init__(self, reply: Callable[[list[dict]], str] = echo_first_source) -> None:
        self.reply = reply
        self.mode = "ok"  # or "error", "busy", "garbage", "slow", "no-logprobs" (a 400 when they are asked for)
        self.top: list[tuple[str, float]] = []  # the first token's candidates and probabilities, sent when logprobs are asked
        self.requests: list[dict] = []
        app = Flask(__name__)
        app.add_url_rule("/v1/models", view_func=lambda: {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
        app.add_url_rule("/v1/chat/completions", view_func=self._complete, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _complete(self):
        body = request.get_json()
        self.requests.append(body)
        if self.mode in ("error", "busy"):
            return {"error": {"message": "no", "type": "server_error"}}, 500 if self.mode == "error" else 503
        if self.mode == "slow":
            time.sleep(3)
        if self.mode == "no-logprobs" and body.get("logprobs"):
            return {"error": {"message": "logprobs is not supported", "type": "invalid_request_error"}}, 400
        text = self.reply(body["messages"])
        words = text.split(" ")

        def chunk(delta: dict, usage=None) -> str:
            data = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                    "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": None}]}
            if usage:
                data["usage"] = usage
            return f"data: {json.dumps(data)}\n\n"

        def events():
            if self.mode == "garbage":
                yield "data: {not json\n\n"
                return
            for n, word in enumerate(words):
                piece = chunk({"content": word if n == 0 else " " + word})
                if n == 0 and body.get("logprobs") and self.top:
                    data = json.loads(piece[len("data: "):])
                    top = [{"token": t, "logprob": math.log(p), "bytes": None} for t, p in self.top]
                    data["choices"][0]["logprobs"] = {"content": [{**top[0], "top_logprobs": top}]}
                    piece = f"data: {json.dumps(data)}\n\n"
                yield piece
            yield chunk({}, usage={"prompt_tokens": 123, "completion_tokens": len(words), "total_tokens": 123 + len(words)})
            yield "data: [DONE]\n\n"

        return Response(events(), mimetype="text/event-stream")

    def close(self) -> None:
        self.server.shutdown()
