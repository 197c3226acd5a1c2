"""Every page and API endpoint exists for the default event (/quotes, /api/search) and for each event under its own
URL (/e/<event id>/quotes, /api/e/<event id>/search); the event a request is for is `g.event` (None: the default)."""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, Flask, current_app, g


def route(bp: Blueprint, method: str, rule: str) -> Callable:
    """Register a view for `rule` and for `/e/<event>` + `rule`: url_for names the event's URL when given an event."""

    def register(view: Callable) -> Callable:
        bp.add_url_rule("/e/<event>" + rule, view_func=view, methods=[method])  # first: url_for builds it when given an event
        bp.add_url_rule(rule, view_func=view, methods=[method])
        return view

    return register


def init_app(app: Flask) -> None:
    """Take the event out of each URL into `g.event`, and put it back into the URLs its pages link to."""

    @app.url_value_preprocessor
    def event_of_url(endpoint: str | None, values: dict | None) -> None:
        g.event = values.pop("event", None) if values else None

    @app.before_request
    def known_event() -> None:
        if g.get("event"):
            current_engines()  # NotFound, listing the events, for an id the home does not hold

    @app.url_defaults
    def event_in_urls(endpoint: str, values: dict) -> None:
        if values.get("event") is None and app.url_map.is_endpoint_expecting(endpoint, "event"):
            values.pop("event", None)  # event=None: this request's event, as when no event is given
            if g.get("event"):
                values["event"] = g.event


def current_engines():
    """The engines of the event this request is for, looked up once per request (it reads the events' manifests)."""
    if "event_engines" not in g:
        g.event_engines = current_app.extensions["eventkb"].event(g.get("event"))
    return g.event_engines


def current_event() -> str | None:
    """The id of the event this request is for; None for the default one."""
    return g.get("event")
