"""Organisers add an event from the browser: created, uploaded, reviewed and ingested behind the admin token; hostile
uploads and failed ingests leave everything as it was."""
from __future__ import annotations

import io
import time
import zipfile

import pytest

from ingest.pipeline import ingest
from ingest.upload import UPLOADS_DIR
from kb import series
from kb.embedder import FakeEmbedder
from tests.conftest import EVENT, fake_client
from tests.pdfgen import pdf_bytes, report_pages

TOKEN = "s3cret-organiser"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEW = "water-and-data-centres-2025-05-20"
TRANSCRIPT = """# Water and data centres

Alice Martin: Good evening. Tonight I welcome Bob Durand, engineer at CoolOps. Our data centre in Ghent cooled its servers with river water, 4 million litres a year.

Bob Durand: Thank you, Alice Martin. We moved to air cooling in 2023, and our water use fell by ninety percent.

Alice Martin: The next step is heat reuse: the Ghent swimming pool now warms its water with our servers.
"""


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "kb"
    ingest([EVENT], home, FakeEmbedder.name, FakeEmbedder, log=lambda m: None)
    return home


@pytest.fixture
def client(home):
    c = fake_client(home, lambda messages: "NOT_IN_SOURCES")
    c.application.config["ADMIN_TOKEN"] = TOKEN
    return c


def files(*named: tuple[str, bytes]) -> dict:
    return {"files": [(io.BytesIO(data), name) for name, data in named]}


def create(client, title="Water and data centres", date="2025-05-20") -> str:
    response = client.post("/api/admin/events", json={"title": title, "date": date, "organiser": "Green IT Ghent"}, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def wait_for(client, event_id: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = client.get(f"/api/admin/events/{event_id}/ingest", headers=AUTH).get_json()
        if job["state"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError("the ingest did not finish")


def tree(path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def test_an_organiser_adds_an_event_from_created_to_served(client, home):
    assert create(client) == NEW
    response = client.post(f"/api/admin/events/{NEW}/files", data=files(("transcript.md", TRANSCRIPT.encode()),
                                                                        ("report.pdf", pdf_bytes(report_pages()))), headers=AUTH)
    assert response.status_code == 200 and response.get_json()["files"] == ["report.pdf", "transcript.md"]
    found = client.get(f"/api/admin/events/{NEW}/review", headers=AUTH).get_json()
    assert {p["name"]: (p["turns"], p["role"]) for p in found["people"]} == {"Alice Martin": (2, ""), "Bob Durand": (1, "engineer at CoolOps")}
    manifest = found["manifest"]
    assert 'title = "Water and data centres"' in manifest and 'date = "2025-05-20"' in manifest and 'organiser = "Green IT Ghent"' in manifest
    corrected = manifest.replace('name = "Alice Martin"\nrole = ""', 'name = "Alice Martin"\nrole = "director of Ghent DC"', 1)
    assert corrected != manifest
    assert client.put(f"/api/admin/events/{NEW}/manifest", json={"manifest": corrected}, headers=AUTH).status_code == 200
    assert client.post(f"/api/admin/events/{NEW}/ingest", headers=AUTH).status_code == 202
    job = wait_for(client, NEW)
    assert job["state"] == "done", job
    outcome = job["outcome"]
    assert outcome["passages"] > 3 and {p["name"] for p in outcome["people"]} == {"Alice Martin", "Bob Durand"}
    assert outcome["empty_pages"] == {"report": [5]} and outcome["refused"] == []  # the generated report's page 5 has no text
    assert [e.id for e in series.events(home)] == ["ailouvain-2024-03-18", NEW]
    people = client.get(f"/api/e/{NEW}/event").get_json()["people"]
    assert {p["name"]: p["role"] for p in people} == {"Alice Martin": "director of Ghent DC", "Bob Durand": "engineer at CoolOps"}
    quotes = client.get(f"/api/e/{NEW}/quotes?speaker=Alice+Martin").get_json()["quotes"]
    assert len(quotes) == 2 and all(q["speaker"] == "Alice Martin" for q in quotes)
    assert client.get("/api/search?q=river+water").get_json()["results"][0]["document"] == "panel-summary"  # the default event is untouched
    series.remove(home, NEW)
    assert not (home / UPLOADS_DIR / NEW).exists() and [e.id for e in series.events(home)] == ["ailouvain-2024-03-18"]


def test_without_the_token_nothing_can_be_changed(client, home):
    before = tree(home)
    assert client.post("/api/admin/events", json={"title": "X"}).status_code == 401
    assert client.post("/api/admin/events", json={"title": "X"}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    client.application.config["ADMIN_TOKEN"] = None
    off = client.post("/api/admin/events", json={"title": "X"}, headers=AUTH)
    assert off.status_code == 403 and "EVENTKB_ADMIN_TOKEN" in off.get_json()["error"]["message"]
    assert tree(home) == before
    page = client.get("/admin").get_data(as_text=True)  # the page itself asks for the token, and says when adding is off
    assert 'id="admin-off"' in page and "EVENTKB_ADMIN_TOKEN" in page and 'id="add-event"' not in client.get("/events").get_data(as_text=True)
    client.application.config["ADMIN_TOKEN"] = TOKEN
    assert 'id="admin-off"' not in client.get("/admin").get_data(as_text=True) and 'href="/admin"' in client.get("/events").get_data(as_text=True)


@pytest.mark.parametrize("name, data, reason", [
    ("notes.pdf", b"Just some text, not a PDF at all.\n" * 20, "it is not a PDF"),
    ("report.pdf", None, "it is not a PDF (its content is a zip archive)"),  # a zip bomb renamed .pdf
    ("../../evil.md", b"# Evil\n\nAlice Martin: hello.\n", "is not a plain file name"),
    ("..\\evil.md", b"# Evil\n", "is not a plain file name"),
    ("slides.pptx", b"PK\x03\x04", "eventkb reads .txt, .md, .pdf, .vtt, .srt files"),
    ("captions.vtt", b"1\n00:00:01,000 --> 00:00:02,000\nHello\n", "no WEBVTT header"),
    ("binary.txt", b"\x00\x01\x02text", "it is not text"),
    ("latin1.md", "Café où l'on parle".encode("latin-1"), "it is not UTF-8 text"),
    ("event.toml.md", b"", "it is empty"),
])
def test_hostile_or_wrong_uploads_are_refused_with_their_reason_and_nothing_is_kept(client, home, tmp_path, name, data, reason):
    if data is None:
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("zeros.bin", b"\0" * (50 * 1024 * 1024))  # 50 MB of zeros in about 50 KB
        data = packed.getvalue()
    create(client)
    before = tree(tmp_path)
    response = client.post(f"/api/admin/events/{NEW}/files", data=files(("transcript.md", TRANSCRIPT.encode()), (name, data)), headers=AUTH)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert any(reason in r for r in error["reasons"]) and error["message"].startswith("Nothing was added:")
    assert tree(tmp_path) == before  # not even the good file of the batch


def test_an_upload_past_the_limits_is_refused_before_it_is_read(client, home, tmp_path):
    create(client)
    before = tree(tmp_path)
    huge = client.post(f"/api/admin/events/{NEW}/files", data=b"x" * 1024, headers={**AUTH, "Content-Type": "multipart/form-data; boundary=x"},
                       environ_overrides={"CONTENT_LENGTH": str(200 * 1024 * 1024)})
    assert huge.status_code == 413 and "the limit is 64 MB an upload" in huge.get_json()["error"]["message"]
    many = client.post(f"/api/admin/events/{NEW}/files", data=files(*[(f"t{n}.md", b"# T\n\ntext\n") for n in range(21)]), headers=AUTH)
    assert many.status_code == 400 and "at most 20 documents" in many.get_json()["error"]["message"]
    assert tree(tmp_path) == before


def test_creating_an_event_that_exists_or_with_a_wrong_date_is_refused(client, home):
    bad = client.post("/api/admin/events", json={"title": "Meetup", "date": "20/05/2025"}, headers=AUTH)
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_json()["error"]["message"]
    create(client)
    again = client.post("/api/admin/events", json={"title": "Water and data centres", "date": "2025-05-20"}, headers=AUTH)
    assert again.status_code == 409 and "already being added" in again.get_json()["error"]["message"]
    assert client.post("/api/admin/events", json={"title": "ailouvain 2024 03 18"}, headers=AUTH).status_code == 409
    assert client.get("/api/admin/events/nope/review", headers=AUTH).status_code == 404


def test_a_wrong_manifest_is_refused_and_the_saved_one_kept(client, home):
    create(client)
    client.post(f"/api/admin/events/{NEW}/files", data=files(("transcript.md", TRANSCRIPT.encode())), headers=AUTH)
    manifest = client.get(f"/api/admin/events/{NEW}/review", headers=AUTH).get_json()["manifest"]
    assert client.put(f"/api/admin/events/{NEW}/manifest", json={"manifest": manifest}, headers=AUTH).status_code == 200
    for wrong, says in [("title = [", "not valid TOML"), (manifest.replace(f'id = "{NEW}"', 'id = "other"'), "must stay"),
                        (manifest.replace('title = "Water and data centres"\n', ""), "missing or malformed field 'title'")]:
        response = client.put(f"/api/admin/events/{NEW}/manifest", json={"manifest": wrong}, headers=AUTH)
        assert response.status_code == 400 and says in response.get_json()["error"]["message"]
    assert (home / UPLOADS_DIR / NEW / "event.toml").read_text(encoding="utf-8") == manifest


def test_a_failed_ingest_leaves_the_home_as_it_was(client, home, monkeypatch):
    import ingest.pipeline

    create(client)
    client.post(f"/api/admin/events/{NEW}/files", data=files(("transcript.md", TRANSCRIPT.encode())), headers=AUTH)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ingest.pipeline, "_ingest_locked", broken)
    before = tree(home / "builds")
    assert client.post(f"/api/admin/events/{NEW}/ingest", headers=AUTH).status_code == 202
    job = wait_for(client, NEW)
    assert job["state"] == "failed" and job["error"].startswith("The ingest failed on the server; nothing was changed.")
    assert [e.id for e in series.events(home)] == ["ailouvain-2024-03-18"] and not (home / series.EVENTS_DIR / NEW).exists()
    assert tree(home / "builds") == before


def test_every_worker_sees_the_same_ingest_and_one_that_died_counts_as_failed(client, home):
    import json

    create(client)
    client.post(f"/api/admin/events/{NEW}/files", data=files(("transcript.md", TRANSCRIPT.encode())), headers=AUTH)
    assert client.post(f"/api/admin/events/{NEW}/ingest", headers=AUTH).status_code == 202
    assert wait_for(client, NEW)["state"] == "done"
    other = fake_client(home, lambda messages: "NOT_IN_SOURCES")  # another worker process's app over the same home
    other.application.config["ADMIN_TOKEN"] = TOKEN
    seen = other.get(f"/api/admin/events/{NEW}/ingest", headers=AUTH).get_json()
    assert seen["state"] == "done" and seen["outcome"]["passages"] > 0
    kept = home / UPLOADS_DIR / NEW / ".ingest.json"
    kept.write_text(json.dumps({**json.loads(kept.read_text()), "state": "running", "pid": 2**22 + 12345}))  # a process that is gone
    stale = other.get(f"/api/admin/events/{NEW}/ingest", headers=AUTH).get_json()
    assert stale["state"] == "failed" and "The server stopped during the ingest" in stale["error"]
    assert other.post(f"/api/admin/events/{NEW}/ingest", headers=AUTH).status_code == 202  # and it can be started again
    assert wait_for(other, NEW)["state"] == "done"


def test_events_being_added_are_listed_and_can_be_discarded_until_served(client, home):
    create(client)
    client.post(f"/api/admin/events/{NEW}/files", data=files(("transcript.md", TRANSCRIPT.encode())), headers=AUTH)
    other = create(client, "Second meetup", "2025-06-01")
    listed = {d["id"]: d for d in client.get("/api/admin/events", headers=AUTH).get_json()["events"]}
    assert listed[NEW]["files"] == ["transcript.md"] and listed[NEW]["title"] == "Water and data centres" and not listed[NEW]["served"]
    assert client.delete(f"/api/admin/events/{other}", headers=AUTH).status_code == 200 and not (home / UPLOADS_DIR / other).exists()
    client.post(f"/api/admin/events/{NEW}/ingest", headers=AUTH)
    assert wait_for(client, NEW)["state"] == "done"
    assert [d["served"] for d in client.get("/api/admin/events", headers=AUTH).get_json()["events"]] == [True]
    served = client.delete(f"/api/admin/events/{NEW}", headers=AUTH)
    assert served.status_code == 409 and f"eventkb remove {NEW}" in served.get_json()["error"]["message"]
    assert client.delete(f"/api/admin/events/{NEW}").status_code == 401


def test_text_that_starts_like_a_program_s_signature_is_still_text():
    from ingest.upload import content_problem

    assert content_problem("panel.md", "MZ : Bonjour à toutes et à tous.\n".encode()) is None  # a speaker's initials
    assert content_problem("panel.md", b"MZ\x90\x00\x03\x00") == "it is not text (its content is a Windows program)"
