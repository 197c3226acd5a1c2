"""The web app with fake engines: every endpoint, every error shape, escaping, security headers, languages."""
from __future__ import annotations

import json
import re

import pytest

from ingest.pipeline import ingest
from kb.embedder import FakeEmbedder
from kb.energy import FakeMeter
from kb.generator import FakeGenerator, echo_first_source
from webapp import create_app
from webapp.engines import Engines, EventEngines
from tests.conftest import EVENT

QUESTION = "Combien de vues compte la vidéo Baby shark sur YouTube ?"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    home = tmp_path_factory.mktemp("kb-web")
    ingest([EVENT], home, FakeEmbedder.name, FakeEmbedder, log=lambda m: None)
    return home


@pytest.fixture
def engines(built):
    e = Engines({"KB_HOME": str(built), "QUEUE_WAIT_S": 0.05, "QUEUE_SIZE": 2, "ANSWER_CACHE": False})
    e._embedder = FakeEmbedder()
    e._generator = FakeGenerator(echo_first_source)
    e._meter = FakeMeter()
    return e


@pytest.fixture
def client(engines):
    app = create_app({"ENGINES": engines, "TESTING": True})
    return app.test_client()


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["status"] == status and body["error"]["message"]
    return body["error"]


def test_ask_returns_the_cli_record(client):
    record = client.post("/api/ask", json={"question": QUESTION}).get_json()
    assert {"id", "question", "language", "answer", "abstained", "citations", "sentences", "model", "tokens", "timings", "energy"} <= set(record)
    assert not record["abstained"] and record["citations"]


def test_stream_sends_events_in_order(client):
    response = client.post("/api/ask/stream", json={"question": QUESTION})
    assert response.mimetype == "text/event-stream"
    events = [block.split("\n")[0].removeprefix("event: ") for block in response.get_data(as_text=True).strip().split("\n\n")]
    assert events[0] == "retrieval" and events[-3:] == ["answer", "record", "conversation"] and "sentence" in events and "token" not in events


def test_answers_are_listed_and_fetched(client):
    record = client.post("/api/ask", json={"question": QUESTION}).get_json()
    listed = client.get("/api/answers").get_json()["answers"]
    assert listed[0]["id"] == record["id"]
    stored = client.get(f"/api/answers/{record['id']}").get_json()
    assert stored["answer"] == record["answer"] and len(stored["retrieved"]) == 5
    error_of(client.get("/api/answers/nope"), 404)


@pytest.mark.parametrize("kwargs,status", [
    ({"data": "{not json", "content_type": "application/json"}, 400),
    ({"json": {"q": "no question key"}}, 400),
    ({"json": ["a", "list"]}, 400),
    ({"json": {"question": ""}}, 400),
    ({"json": {"question": "  \n\t "}}, 400),
    ({"json": {"question": "\x00\x07"}}, 400),
    ({"json": {"question": 42}}, 400),
    ({"json": {"question": "x" * 5000}}, 413),
    ({"data": "question=hello", "content_type": "application/x-www-form-urlencoded"}, 415),
])
def test_bad_questions_get_one_error_shape(client, kwargs, status):
    error_of(client.post("/api/ask", **kwargs), status)


def test_a_100_kb_body_is_refused(client):
    error_of(client.post("/api/ask", data=json.dumps({"question": "x" * 100_000}), content_type="application/json"), 413)


def test_busy_gets_503_with_retry_after(client, engines):
    engines._generator.lock.acquire()
    try:
        response = client.post("/api/ask", json={"question": QUESTION})
        assert error_of(response, 503)["code"] == "busy" and int(response.headers["Retry-After"]) >= 1
    finally:
        engines._generator.lock.release()


def test_a_full_queue_gets_503_at_once(client, engines):
    engines.queue.acquire()
    engines.queue.acquire()
    try:
        response = client.post("/api/ask/stream", json={"question": QUESTION})
        assert error_of(response, 503)["code"] == "busy" and response.headers["Retry-After"]
    finally:
        engines.queue.release()
        engines.queue.release()


def test_search_quotes_passages_event_energy_health(client):
    results = client.get("/api/search", query_string={"q": "Baby shark", "k": 2}).get_json()["results"]
    assert len(results) == 2 and "text" in results[0]
    quotes = client.get("/api/quotes", query_string={"speaker": "XM"}).get_json()
    assert quotes["speaker"] == "Xavier Marichal" and all(q["speaker"] == "Xavier Marichal" for q in quotes["quotes"])
    pid = results[0]["id"]
    around = client.get(f"/api/passages/{pid}").get_json()
    assert around["passage"]["id"] == pid and sum(p["current"] for p in around["context"]) == 1
    event = client.get("/api/event").get_json()
    assert event["event"]["date"] == "2024-03-18" and event["people"] and event["documents"]
    client.post("/api/ask", json={"question": QUESTION})
    energy = client.get("/api/energy").get_json()
    assert energy["methods"][0]["answers"] >= 1 and any(r["wh"] == 2.9 for r in energy["references"])
    assert client.get("/api/health").get_json()["status"] == "ok"


def test_query_errors(client):
    error_of(client.get("/api/search"), 400)
    error_of(client.get("/api/search", query_string={"q": "x", "k": "many"}), 400)
    error_of(client.get("/api/search", query_string={"q": "x", "k": 0}), 400)
    assert "people are" in error_of(client.get("/api/quotes", query_string={"speaker": "Nobody"}), 404)["message"]
    error_of(client.get("/api/passages/../../etc/passwd"), 404)
    error_of(client.get("/api/passages/%2e%2e%2fetc%2fpasswd"), 404)
    error_of(client.get("/api/nothing-here"), 404)
    error_of(client.get("/api/ask"), 405)


def test_pages_render_in_both_languages(client):
    for path in ("/", "/quotes?speaker=XM", "/audit", "/energy", "/event"):
        page = client.get(path, headers={"Accept-Language": "en"})
        assert page.status_code == 200, path
        assert 'lang="en"' in page.get_data(as_text=True)
    fr = client.get("/", headers={"Accept-Language": "fr-BE,fr;q=0.9"}).get_data(as_text=True)
    assert 'lang="fr"' in fr and "Demander" in fr
    switched = client.get("/?lang=en", headers={"Accept-Language": "fr"})
    assert "Ask" in switched.get_data(as_text=True) and "lang=en" in switched.headers["Set-Cookie"]


def test_audit_energy_and_passage_pages_show_the_record(client):
    record = client.post("/api/ask", json={"question": QUESTION}).get_json()
    page = client.get(f"/audit/{record['id']}").get_data(as_text=True)
    assert record["model"]["name"] in page and "sha256" in page
    assert "<svg" in client.get("/energy").get_data(as_text=True)
    passage = client.get(f"/passage/{record['citations'][0]['id']}").get_data(as_text=True)
    assert '<mark id="passage"' in passage
    assert client.get("/passage/nope").status_code == 404
    assert client.get("/audit/nope").status_code == 404


def test_html_in_questions_and_documents_is_shown_as_text(client, engines):
    hostile = "<script>alert(1)</script> Baby shark <img src=x onerror=alert(2)> vues ?"
    record = client.post("/api/ask", json={"question": hostile}).get_json()
    page = client.get(f"/audit/{record['id']}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "default-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script src=\"/static/chat.js\">" in response.get_data(as_text=True)
    assert "http://" not in response.get_data(as_text=True) and "https://" not in response.get_data(as_text=True)


def test_no_knowledge_base_is_one_clear_error(tmp_path):
    app = create_app({"KB_HOME": str(tmp_path / "empty"), "TESTING": True})
    response = app.test_client().get("/api/health")
    assert error_of(response, 503)["message"].startswith("No knowledge base")


def test_event_page_marks_which_cited_reports_are_ingested(client):
    page = client.get("/event", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "cited, not ingested" in page and "ingested" in page and "Jules Delcon" in page


def test_each_request_closes_its_audit_connection_and_its_queue_place(client, engines, monkeypatch):
    opened = []
    real = EventEngines.answerer

    def tracking(self, logged=True):
        answerer = real(self, logged)
        opened.append(answerer.audit_log)
        return answerer

    monkeypatch.setattr(EventEngines, "answerer", tracking)
    client.post("/api/ask", json={"question": QUESTION})
    client.post("/api/ask/stream", json={"question": QUESTION}).get_data()
    assert len(opened) == 2
    for conn in opened:
        with pytest.raises(Exception, match="closed"):
            conn.execute("SELECT 1")
    for _ in range(2):  # all queue places came back (QUEUE_SIZE 2)
        engines.queue.acquire(blocking=False) or pytest.fail("a queue place leaked")
    for _ in range(2):
        engines.queue.release()


def test_the_chat_page_takes_its_title_and_example_from_the_event(client, engines):
    event = engines.kb.event
    french = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    english = client.get("/?lang=en").get_data(as_text=True)
    title = event["title"].replace("'", "&#39;")
    assert f"<h1>{title}</h1>" in french and f"<title>{title} · eventkb</title>" in english
    assert 'placeholder="Combien d&#39;énergie consomme une requête ChatGPT ?"' in french
    assert 'placeholder="How much energy does a ChatGPT request use?"' in english


def test_the_passage_page_highlights_the_sentence_an_answer_was_chosen_from(client):
    hit = client.get("/api/search", query_string={"q": "Baby shark", "k": 1}).get_json()["results"][0]
    flat = " ".join(hit["text"].split())
    sentence = flat[: flat.index(".") + 1] if "." in flat else flat
    page = client.get(f"/passage/{hit['id']}", query_string={"sentence": sentence}).get_data(as_text=True)
    assert '<strong class="chosen">' in page and page.count('class="chosen"') == 1
    page = client.get(f"/passage/{hit['id']}", query_string={"sentence": "<script>not in it</script>"}).get_data(as_text=True)
    assert 'class="chosen"' not in page and "<script>not" not in page


def test_passages_are_shown_reflowed_and_their_locators_kept():
    from webapp.pages import reflow

    text = "Roald fait\nconfiance au secteur du numé-\nrique.\n\nDeuxième para-\ngraphe, Data-\nCenter, 2018-\n2020."
    assert reflow(text) == "Roald fait confiance au secteur du numérique.\n\nDeuxième paragraphe, Data-Center, 2018-2020."


def test_the_energy_page_states_the_classes_and_what_a_cloud_chatbot_would_have_used(client):
    client.post("/api/ask", json={"question": QUESTION})
    page = client.get("/energy").get_data(as_text=True)
    assert 'id="energy-classes"' in page and "IEA, Electricity 2024" in page and page.count('class="energy-class class-') == 5
    assert 'id="energy-vs-cloud"' in page and ("2.9 Wh each" in page or "2,9 Wh chacune" in page)
    assert "10 W LED bulb" in page and "170 Wh per km" in page


def test_the_passage_page_links_to_the_original_document_where_the_event_names_one(tmp_path):
    from ingest.pipeline import ingest
    from kb.embedder import FakeEmbedder
    from kb.generator import echo_first_source

    from tests.conftest import fake_client

    folder = tmp_path / "event"
    folder.mkdir()
    (folder / "event.toml").write_text('id = "notes-day"\ntitle = "Notes day"\n\n[[documents]]\nid = "notes"\nfile = "notes.md"\n'
                                       'url = "https://example.org/notes"\n\n[[documents]]\nid = "other"\nfile = "other.md"\nurl = "javascript:alert(1)"\n',
                                       encoding="utf-8")
    (folder / "notes.md").write_text("# Notes\n\nThe workshop discussed water use in data centres at length.\n", encoding="utf-8")
    (folder / "other.md").write_text("# Other\n\nA second document about batteries and their recycling.\n", encoding="utf-8")
    home = tmp_path / "kb"
    ingest([folder], home, FakeEmbedder.name, FakeEmbedder, log=lambda m: None)
    client = fake_client(home, echo_first_source)
    by_doc = {h["document"]: h["id"] for h in client.get("/api/search", query_string={"q": "water batteries", "k": 5}).get_json()["results"]}
    assert 'href="https://example.org/notes"' in client.get(f"/passage/{by_doc['notes']}").get_data(as_text=True)
    assert "javascript:" not in client.get(f"/passage/{by_doc['other']}").get_data(as_text=True)


def test_the_energy_chart_reads_without_colour():
    from webapp.chart import log_bars

    svg = log_bars([("ChatGPT request", 2.9, "reference"), ("#1 2026-12-01 17:01", 0.01, "estimate"), ("#2", 0.02, "measured")])
    assert "2.9 · reference" in svg and "0.01 · estimate" in svg and "0.02 · measured" in svg
    assert svg.count('class="reference"') == 1 and svg.count('class="estimate"') == 1


def test_figures_take_the_decimal_mark_of_the_page_language(client):
    client.post("/api/ask", json={"question": QUESTION})
    french = client.get("/energy", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    english = client.get("/energy", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert re.search(r"<td>\d+,\d{4}</td>", french) and not re.search(r"<td>\d+\.\d{4}</td>", french)
    assert re.search(r"<td>\d+\.\d{4}</td>", english)
