"""The HTML pages. Data comes from the engines (kb, audit); the pages only arrange it."""
from __future__ import annotations

import re

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, current_app, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from kb import across, audit, series
from kb.across import Across
from kb.energy import EQUIVALENTS, LABELS_SOURCE, REFERENCES, cloud_total, energy_classes, energy_label
from kb.errors import EventKBError, NotFound
from webapp.api import ApiError, engines, text_arg
from webapp.chart import log_bars
from webapp.engines import ALL
from webapp.i18n import LANGUAGES, decimal, language, t
from webapp.routing import current_event, route

bp = Blueprint("pages", __name__)


@bp.app_context_processor
def _helpers() -> dict:
    event = _event()
    title = t("all_events") if current_event() == ALL else event.get("title") or t("title")
    return {"t": t, "lang": language(), "other_lang": "en" if language() == "fr" else "fr", "here": _here(), "event_id": current_event(),
            "event_title": title, "example": _example(event, language()) or t("ask_placeholder"), "several_events": _several()}


def _several() -> bool:
    """Whether the home holds more than one event (the pages then link to the list of events)."""
    try:
        return len(current_app.extensions["eventkb"].events()) > 1
    except (EventKBError, OSError):
        return False


def _event() -> dict:
    """The event the knowledge base holds, as its manifest describes it ({} when there is none yet)."""
    try:
        return engines().kb.event or {}
    except EventKBError:
        return {}


def _example(event: dict, lang: str) -> str | None:
    """The manifest's example question in the page's language, else its first one."""
    from kb.language import detect

    examples = event.get("examples") or []
    return next((q for q in examples if detect(q, default="") == lang), examples[0] if examples else None)


def _here() -> str:
    """This page's path and query, without the language choice: where switching the language returns."""
    query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "lang"])
    return request.path + (f"?{query}" if query else "")


@bp.after_app_request
def _remember_language(response: Response) -> Response:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        response.set_cookie("lang", asked, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@bp.app_errorhandler(EventKBError)
def _error(exc: EventKBError):
    from webapp.api import error_response, kb_error_status, public

    status, code = kb_error_status(exc)
    if request.path.startswith("/api/"):
        return error_response(status, code, public(exc))
    return render_template("error.html", message=public(exc)), status


@bp.app_errorhandler(ApiError)
def _bad_argument(exc: ApiError):
    if request.path.startswith("/api/"):
        from webapp.api import error_response

        return error_response(exc.status, exc.code, exc.message, exc.retry_after)
    return render_template("error.html", message=exc.message), exc.status


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    if request.path.startswith("/api/"):
        from webapp.api import _http_error as api_error

        return api_error(exc)
    return render_template("error.html", message=f"{exc.code} {exc.name}"), exc.code


@route(bp, "GET", "/")
def chat() -> str:
    return render_template("chat.html")


@route(bp, "GET", "/quotes")
def quotes() -> str:
    """What one person said: in one event, or event by event across them all."""
    kb = engines().kb
    speaker, query = text_arg("speaker"), text_arg("q")
    people = [p for p in kb.people if p["passages"]]
    if not speaker:
        groups = []
    elif isinstance(kb, Across):
        groups = across.quotes(kb.kbs, speaker, query or None)
    else:
        person, hits = kb.quotes(speaker, query or None)
        groups = [(None, person, hits)]
    return render_template("quotes.html", people=people, groups=groups, person=groups[0][1] if groups else None, speaker=speaker, query=query)


@route(bp, "GET", "/audit")
def audit_list() -> str:
    conn = engines().audit_log()
    try:
        return render_template("audit.html", answers=audit.listing(conn, limit=500))
    finally:
        conn.close()


@route(bp, "GET", "/audit/<answer_id>")
def audit_entry(answer_id: str) -> str:
    conn = engines().audit_log()
    try:
        return render_template("audit_entry.html", r=audit.get(conn, answer_id))
    finally:
        conn.close()


@route(bp, "GET", "/energy")
def energy() -> str:
    conn = engines().audit_log()
    try:
        answers, summary, talks = audit.all_energy(conn), audit.energy_summary(conn), audit.conversations(conn)
    finally:
        conn.close()
    rows = [(label, wh, "reference") for label, wh, _ in REFERENCES]
    rows += [(f"#{n} {a['created'][:16].replace('T', ' ')}", a["wh"], "measured" if a["method"].startswith("measured") else "estimate")
             for n, a in enumerate(answers[-20:], start=max(1, len(answers) - 19))]
    generated = [a for a in answers if not a["cached"]]
    used = sum(a["wh"] for a in generated)
    cloud = cloud_total(len(generated), used)
    classes = [dict(c, answers=sum(energy_label(a["wh"])["class"] == c["class"] for a in generated)) for c in energy_classes()]
    return render_template("energy.html", chart=log_bars(rows), summary=summary, references=REFERENCES, answers=answers, cloud=cloud, conversations=talks,
                           classes=classes, equivalents=EQUIVALENTS, labels_source=LABELS_SOURCE)


@route(bp, "GET", "/event")
def event():
    if series.several(current_event()):
        return redirect(url_for("pages.events"))
    kb = engines().kb
    return render_template("event.html", event=kb.event or {}, people=kb.people, documents=kb.documents(), references=kb.references())


@route(bp, "GET", "/passage/<passage_id>")
def passage(passage_id: str) -> str:
    if series.several(current_event()):
        raise NotFound("A passage belongs to one event: open it at /e/EVENT/passage/ID, as the answers' citations link it.")
    kb = engines().kb
    centre = kb.passage(passage_id)
    flat = " ".join(centre.text.split())
    sentence = request.args.get("sentence", "")
    at = flat.find(sentence) if sentence else -1
    chosen = (flat[:at], sentence, flat[at + len(sentence):]) if at >= 0 else None  # the sentence an answer was chosen from
    document = next((d for d in kb.documents() if d["id"] == centre.document), {})
    url = document.get("url") if re.match(r"https?://", document.get("url") or "") else None  # the original, where the event names one
    if url and centre.page and url.lower().endswith(".pdf"):
        url += f"#page={centre.page}"
    return render_template("passage.html", p=centre, around=kb.around(passage_id), chosen=chosen, original=url)


@bp.get("/events")
def events() -> str:
    """The events of the home, each with its pages, and the chat across all of them."""
    found = [e.summary() for e in current_app.extensions["eventkb"].events()]
    return render_template("events.html", events=found, admin_on=bool(current_app.config.get("ADMIN_TOKEN")))


def same_site(target: str | None) -> str:
    """`target` when it is a path of this site ("/quotes?speaker=XM"), else the chat page: never another site."""
    parts = urlsplit(target or "")
    odd = any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in target or "")  # browsers drop tabs: "/\t/evil"
    if not target or odd or parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("pages.chat")
    return target


bp.add_app_template_filter(decimal, "decimal")


@bp.app_template_filter("reflow")
def reflow(text: str) -> str:
    """A passage as people read it: the layout's line breaks and end-of-line hyphens removed, paragraphs kept (display only)."""
    paragraphs = re.split(r"\n\s*\n", text)
    joined = (re.sub(r"(?<=\w)-\n(?=\w)", "-", re.sub(r"(?<=[^\W\d_])-\n(?=[a-zà-ÿ])", "", p)) for p in paragraphs)
    return "\n\n".join(" ".join(p.split()) for p in joined if p.strip())


@bp.get("/lang/<code>")
def switch_language(code: str):
    """Switch the language and return to the page the link was on (`next`, a path of this site)."""
    response = make_response(redirect(same_site(request.args.get("next"))))
    if code in LANGUAGES:
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax")
    return response
