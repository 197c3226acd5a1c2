"""The JSON API the pages use, under /api/. Every error has one shape: {"error": {"status", "code", "message"}}."""
from __future__ import annotations

import json
import re
from typing import Iterator

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from werkzeug.exceptions import HTTPException

from kb import across, audit, series
from kb.across import Across
from kb.answer import MAX_QUESTION_CHARS, BusyError, validate
from kb.energy import REFERENCES
from kb.errors import EventKBError, NoKnowledgeBase, NotFound, Unavailable
from webapp.routing import current_engines, current_event, route

bp = Blueprint("api", __name__, url_prefix="/api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def error_response(status: int, code: str, message: str, retry_after: int | None = None) -> Response:
    response = jsonify({"error": {"status": status, "code": code, "message": message}})
    response.status_code = status
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.retry_after)


@bp.errorhandler(BusyError)
def _busy(exc: BusyError) -> Response:
    return error_response(503, "busy", str(exc), exc.retry_after)


_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~])(?:[A-Za-z]:\\|/)(?:[^\s/\\:]+[/\\])+")


def public(exc: EventKBError) -> str:
    """The error's message for people on the network: the server's directories left out ("…/eventkb"), names kept."""
    return _ABSOLUTE_PATH.sub("…/", str(exc))


def kb_error_status(exc: EventKBError) -> tuple[int, str]:
    """The HTTP status and error code for an error of the knowledge base."""
    if isinstance(exc, NotFound):
        return 404, "not_found"
    if isinstance(exc, NoKnowledgeBase):
        return 503, "no_knowledge_base"
    return 400, "bad_request"


@bp.errorhandler(Unavailable)
def _unavailable(exc: Unavailable) -> Response:
    return error_response(503, "model_unavailable", public(exc), exc.retry_after)


@bp.errorhandler(EventKBError)
def _kb_error(exc: EventKBError) -> Response:
    return error_response(*kb_error_status(exc), public(exc))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    messages = {413: f"The request is too large: a question has at most {MAX_QUESTION_CHARS} characters.",
                404: "No such API endpoint.", 405: "This method is not allowed here."}
    return error_response(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), messages.get(exc.code or 0, exc.description or exc.name))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    current_app.logger.exception("unexpected error")
    return error_response(500, "internal_error", "Something went wrong on the server; the error was logged. Try again.")


def require_admin() -> None:
    """Refuse the request unless it carries the admin token (and an admin token is set at all)."""
    import hmac

    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        raise ApiError(403, "forbidden", "Changing the knowledge base from the web app is off: set EVENTKB_ADMIN_TOKEN to allow it.")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), str(token).encode()):
        raise ApiError(401, "unauthorized", "Send the admin token as 'Authorization: Bearer TOKEN'.")


def engines():
    """The engines of the event this request is for (its URL's, else the default event)."""
    return current_engines()


def _question() -> tuple[str, str | None]:
    """The question of the request's JSON body, and the conversation it follows up (None for a new one)."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", 'Send JSON: Content-Type: application/json and a body {"question": "..."}.')
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON parser goes: no question is shaped like that
        body = None
    if not isinstance(body, dict) or "question" not in body:
        raise ApiError(400, "bad_request", 'The body must be a JSON object {"question": "..."}.')
    question = body["question"]
    if isinstance(question, str) and len(question) > MAX_QUESTION_CHARS:
        raise ApiError(413, "question_too_long", f"The question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}: shorten it.")
    conversation = body.get("conversation")
    if conversation is not None and not (isinstance(conversation, str) and re.fullmatch(r"[\w-]{1,64}", conversation)):
        raise ApiError(400, "bad_request", 'conversation must be the id of the conversation\'s first answer, as returned in "conversation".')
    return validate(question), conversation


def text_arg(name: str) -> str:
    """A free-text query parameter ("" when absent), refused past the one length limit every text input shares."""
    value = request.args.get(name, "")
    if len(value) > MAX_QUESTION_CHARS:
        raise ApiError(413, "too_long", f"{name} is longer than {MAX_QUESTION_CHARS} characters: shorten it.")
    return value


def client_gone():
    """A function that tells whether this request's client has disconnected (waitress tells; other servers never do)."""
    return request.environ.get("waitress.client_disconnected") or (lambda: False)


def _int_arg(name: str, default: int, low: int = 1, high: int = 100) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise ApiError(400, "bad_request", f"{name} must be between {low} and {high}.")
    return value


@route(bp, "POST", "/ask")
def ask() -> Response:
    question, conversation = _question()
    e = engines()
    e.enter_queue()
    answerer = None
    try:
        answerer = e.answerer()
        record = answerer.ask(question, client_gone(), conversation)
        return jsonify({**record, "conversation_totals": audit.conversation_energy(answerer.audit_log, record["conversation"])})
    finally:
        e.leave_queue()
        if answerer is not None:
            answerer.audit_log.close()


@route(bp, "POST", "/ask/stream")
def ask_stream() -> Response:
    """Server-Sent Events: `retrieval`, `sentence` (each checked sentence), `answer`, `record`, or `error`."""
    question, conversation = _question()
    gone = client_gone()
    e = engines()
    e.enter_queue()
    try:
        answerer = e.answerer()
    except BaseException:
        e.leave_queue()
        raise

    def events() -> Iterator[str]:
        answer = answerer.stream(question, gone, conversation)
        try:
            for event in answer:
                yield f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
                if event["type"] == "record":
                    totals = audit.conversation_energy(answerer.audit_log, event["record"]["conversation"])
                    yield f"event: conversation\ndata: {json.dumps(totals, ensure_ascii=False)}\n\n"
        except BusyError as exc:
            yield "event: error\ndata: " + json.dumps({"status": 503, "code": "busy", "message": str(exc), "retry_after": exc.retry_after}) + "\n\n"
        except Unavailable as exc:
            yield "event: error\ndata: " + json.dumps({"status": 503, "code": "model_unavailable", "message": public(exc), "retry_after": exc.retry_after},
                                                      ensure_ascii=False) + "\n\n"
        except EventKBError as exc:
            status, code = kb_error_status(exc)
            yield "event: error\ndata: " + json.dumps({"status": status, "code": code, "message": public(exc)}, ensure_ascii=False) + "\n\n"
        except Exception:  # the page must hear about it; the log keeps the details
            current_app.logger.exception("answer failed")
            yield "event: error\ndata: " + json.dumps({"status": 500, "code": "internal_error", "message": "The answer failed on the server; try again."}) + "\n\n"
        finally:
            answer.close()  # a client that left stops the model here (and its answer is recorded as cancelled)
            e.leave_queue()
            answerer.audit_log.close()

    return Response(stream_with_context(events()), mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@route(bp, "GET", "/conversations/<conversation_id>")
def conversation(conversation_id: str) -> Response:
    """One conversation: its answers in order, each with the question as typed and as searched, and its totals."""
    conn = engines().audit_log()
    try:
        turns = audit.conversation(conn, conversation_id)
        return jsonify({"conversation": conversation_id, "totals": audit.conversation_energy(conn, conversation_id),
                        "answers": [{k: r.get(k) for k in ("id", "created", "question", "searched", "answer", "abstained", "cancelled")}
                                    for r in turns]})
    finally:
        conn.close()


@route(bp, "GET", "/search")
def search() -> Response:
    query = text_arg("q")
    if not query.strip():
        raise ApiError(400, "bad_request", "Give a query: /api/search?q=words")
    hits = engines().kb.search(query, k=_int_arg("k", 5), speaker=text_arg("speaker") or None, document=text_arg("document") or None)
    return jsonify({"query": query, "results": [h.to_json() for h in hits]})


@route(bp, "GET", "/quotes")
def quotes() -> Response:
    """What one person said; across all events, event by event: {"speaker", "events": [{"event", "speaker", "quotes"}]}."""
    speaker, query, k = text_arg("speaker"), text_arg("q") or None, _int_arg("k", 0, 0, 1000) or None
    kb = engines().kb
    if isinstance(kb, Across):
        return jsonify({"speaker": speaker, "events": [{"event": e, "speaker": person["name"], "quotes": [h.to_json() for h in hits]}
                                                       for e, person, hits in across.quotes(kb.kbs, speaker, query, k)]})
    person, hits = kb.quotes(speaker, query, k)
    return jsonify({"speaker": person["name"], "quotes": [h.to_json() for h in hits]})


@route(bp, "GET", "/answers")
def answers() -> Response:
    """The stored answers, newest first, in brief; with format=csv or format=json, every answer as a downloadable file."""
    wanted = request.args.get("format", "")
    if wanted not in ("", "csv", "json"):
        raise ApiError(400, "bad_request", "format must be csv or json.")
    conn = engines().audit_log()
    try:
        if not wanted:
            return jsonify({"answers": audit.listing(conn, limit=_int_arg("limit", 100, 1, 1000), offset=_int_arg("offset", 0, 0, 10**9))})
        rows = audit.export(conn)
    finally:
        conn.close()
    body = audit.to_csv(rows) if wanted == "csv" else json.dumps(rows, ensure_ascii=False, indent=1)
    mimetype = "text/csv" if wanted == "csv" else "application/json"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename=eventkb-answers.{wanted}"})


@route(bp, "POST", "/answers/<answer_id>/feedback")
def feedback(answer_id: str) -> Response:
    """A reader's thumbs up or down, with an optional comment, on a stored answer: {"rating": "up"|"down", "comment"}."""
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict) or body.get("rating") not in audit.RATINGS:
        raise ApiError(400, "bad_request", 'The body must be a JSON object {"rating": "up" or "down", "comment": "..."}.')
    comment = body.get("comment") or ""
    if not isinstance(comment, str):
        raise ApiError(400, "bad_request", "The comment must be text.")
    if len(comment) > MAX_QUESTION_CHARS:
        raise ApiError(413, "too_long", f"The comment is longer than {MAX_QUESTION_CHARS} characters: shorten it.")
    conn = engines().audit_log()
    try:
        return jsonify(audit.add_feedback(conn, answer_id, body["rating"], comment))
    finally:
        conn.close()


@route(bp, "GET", "/answers/<answer_id>")
def answer(answer_id: str) -> Response:
    conn = engines().audit_log()
    try:
        return jsonify(audit.get(conn, answer_id))
    finally:
        conn.close()


@route(bp, "GET", "/passages/<passage_id>")
def passage(passage_id: str) -> Response:
    if series.several(current_event()):
        raise NotFound("A passage belongs to one event: ask for /api/e/EVENT/passages/ID, the event its citation names.")
    kb = engines().kb
    centre = kb.passage(passage_id)
    return jsonify({"passage": centre.to_json(), "context": [dict(p.to_json(), current=p.id == centre.id) for p in kb.around(passage_id)]})


@route(bp, "GET", "/energy")
def energy() -> Response:
    conn = engines().audit_log()
    try:
        return jsonify({"methods": audit.energy_summary(conn), "answers": audit.all_energy(conn),
                        "references": [{"label": label, "wh": wh, "source": source} for label, wh, source in REFERENCES]})
    finally:
        conn.close()


@route(bp, "GET", "/event")
def event() -> Response:
    kb = engines().kb
    if isinstance(kb, Across):
        return jsonify({"event": kb.event, "people": kb.people, "events": _summaries()})
    return jsonify({"event": kb.event, "people": kb.people, "documents": kb.documents(), "references": kb.references()})


@bp.get("/events")
def events() -> Response:
    """The events of the home: id, title, date, organiser, documents, people, passages, answers and the Wh they used."""
    return jsonify({"events": _summaries()})


def _summaries() -> list[dict]:
    return [{k: v for k, v in e.summary().items() if k != "home"} for e in current_app.extensions["eventkb"].events()]


@bp.post("/ingest")
def reingest() -> Response:
    """Rebuild the knowledge base from the configured sources; off unless EVENTKB_ADMIN_TOKEN (or ADMIN_TOKEN) is set."""
    require_admin()
    result = engines().reingest()
    return jsonify({"status": result.status, "documents": result.documents, "passages": result.passages, "failures": result.failures})


@route(bp, "GET", "/health")
def health() -> Response:
    e = engines()
    try:
        kb = e.kb
    except EventKBError as exc:
        return error_response(503, "no_knowledge_base", public(exc))
    return jsonify({"status": "ok", "passages": len(kb.passages), "build": kb.build.name})
