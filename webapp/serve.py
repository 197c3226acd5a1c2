"""Serve the app with waitress, a production WSGI server: a fixed pool of threads, a cap on connections and timeouts;
or, for several processes, with gunicorn's threaded workers.

Waitress reads each request whole before a thread sees it, so a client that sends slowly holds a connection, not a
thread; it also tells the app when a client has gone (`waitress.client_disconnected`), which stops its answer. Under
gunicorn a streamed answer stops when writing to a client that has gone fails.
"""
from __future__ import annotations

from typing import Callable

from flask import Flask

from ingest.upload import MAX_UPLOAD_BYTES

THREADS = 16  # the queue of questions (8 by default) plus pages, search and static files meanwhile
CONNECTION_LIMIT = 64
CHANNEL_TIMEOUT_S = 30  # a connection idle this long is closed
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 1024 * 1024  # waitress's own hard limit: an organiser's upload; the app refuses any other body past 64 KiB


def serve(app: Flask, host: str, port: int, threads: int = THREADS, connection_limit: int = CONNECTION_LIMIT,
          channel_timeout: int = CHANNEL_TIMEOUT_S) -> None:
    """Serve `app` on host:port until interrupted."""
    server_for(app, host, port, threads, connection_limit, channel_timeout).run()


def server_for(app: Flask, host: str, port: int, threads: int = THREADS, connection_limit: int = CONNECTION_LIMIT,
               channel_timeout: int = CHANNEL_TIMEOUT_S):
    """The waitress server for `app`, listening but not yet serving."""
    try:
        import waitress
    except ImportError:
        from kb.errors import EventKBError

        raise EventKBError("waitress is not installed: run `make setup`.") from None
    return waitress.create_server(
        app, host=host, port=port, threads=threads, connection_limit=connection_limit, channel_timeout=channel_timeout,
        cleanup_interval=min(30, channel_timeout), max_request_header_size=MAX_HEADER_BYTES,
        max_request_body_size=MAX_BODY_BYTES,
        channel_request_lookahead=1,  # waitress then notices a client that hangs up while its answer is produced
        ident="eventkb", expose_tracebacks=False, clear_untrusted_proxy_headers=True,
    )


def serve_workers(make_app: Callable[[], Flask], host: str, port: int, workers: int, threads: int = THREADS) -> None:
    """Serve with gunicorn: `workers` processes of `threads` threads, each building its own app (its own index and,
    unless the model runs in a model server, its own model) by calling `make_app` after it starts."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        from kb.errors import EventKBError

        raise EventKBError("gunicorn is not installed: run `make setup` (it does not run on Windows: serve with one worker there).") from None

    class Workers(BaseApplication):
        def load_config(self) -> None:
            settings = {"bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread", "threads": threads,
                        "worker_connections": CONNECTION_LIMIT, "timeout": 120, "graceful_timeout": 30, "keepalive": 5,
                        "limit_request_field_size": MAX_HEADER_BYTES, "preload_app": False, "proc_name": "eventkb"}
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return make_app()

    Workers().run()
