"""The eventkb web app: chat with streamed cited answers, quotes, source viewer, audit trail, energy and event pages.

`create_app(config)` builds the app; tests pass fake engines in `config["ENGINES"]`.
"""
from __future__ import annotations

import os

from flask import Flask

from webapp.engines import Engines


def create_app(config: dict | None = None) -> Flask:
    """The Flask app; `config` may set KB_HOME, MODEL, EMBEDDER, ENGINES, QUEUE_WAIT_S, QUEUE_SIZE, ADMIN_TOKEN, INGEST_PATHS."""
    app = Flask(__name__)
    app.config.update(KB_HOME=None, MODEL=None, EMBEDDER=None, QUEUE_WAIT_S=60.0, QUEUE_SIZE=8, MAX_CONTENT_LENGTH=64 * 1024, JSON_SORT_KEYS=False)
    app.config.update(ADMIN_TOKEN=os.environ.get("EVENTKB_ADMIN_TOKEN") or None, INGEST_PATHS=None)
    app.config.update(config or {})
    app.extensions["eventkb"] = app.config.get("ENGINES") or Engines(app.config)

    from webapp import api, pages

    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)

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
