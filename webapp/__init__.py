"""The eventkb web app: chat with streamed cited answers, quotes, source viewer, audit trail, energy and event pages.

`create_app(config)` builds the app; tests pass fake engines in `config["ENGINES"]`.
"""
from __future__ import annotations

import os

from flask import Flask, request

from webapp.engines import Engines

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def create_app(config: dict | None = None) -> Flask:
    """The Flask app; `config` may set KB_HOME, EVENT (the event shown at / when the home holds several), MODEL, EMBEDDER, ANSWER_DESIGN, FOLLOWUP, ENGINES, QUEUE_WAIT_S, QUEUE_SIZE, ADMIN_TOKEN, INGEST_PATHS,
    ALLOWED_HOSTS (the names the app answers to: loopback names by default)."""
    app = Flask(__name__)
    app.config.update(KB_HOME=None, MODEL=None, EMBEDDER=None, QUEUE_WAIT_S=60.0, QUEUE_SIZE=8, MAX_CONTENT_LENGTH=64 * 1024, JSON_SORT_KEYS=False)
    app.config.update(ALLOWED_HOSTS=LOOPBACK_NAMES)
    app.config.update(ADMIN_TOKEN=os.environ.get("EVENTKB_ADMIN_TOKEN") or None, INGEST_PATHS=None)
    app.config.update(config or {})
    app.extensions["eventkb"] = app.config.get("ENGINES") or Engines(app.config)

    from webapp import admin, api, pages, routing

    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(pages.bp)

    @app.before_request
    def known_host():
        # A page of another site whose name resolves to this machine (DNS rebinding) must not read the audit trail.
        allowed = {name.lower() for name in app.config["ALLOWED_HOSTS"]}
        if host_name(request.headers.get("Host", "")) not in allowed:
            from webapp.api import error_response

            return error_response(400, "unknown_host", "This server does not answer to this name: open it by its own address, "
                                                       "or start it with --allow-host NAME for this one.")
        return None

    routing.init_app(app)  # after the host check: a request for another site's name learns nothing of the events

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return app


def host_name(host: str) -> str:
    """The name in a Host header, without its port or IPv6 brackets, lower-cased: "[::1]:5000" is "::1"."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.index("]")] if "]" in host else host
    return (host.rsplit(":", 1)[0] if host.count(":") == 1 else host).rstrip(".")
