"""Ingest into a KB home: build, unchanged re-ingest, bad files, and a failed build leaving the old KB intact."""
from __future__ import annotations

import json
import shutil

import pytest

import ingest.pipeline as pipeline
from kb.embedder import FakeEmbedder
from kb.errors import EventKBError
from kb.indexes import KeywordIndex
from kb.knowledge import KnowledgeBase
from tests.conftest import EVENT


def run(paths, home, rebuild=False):
    return pipeline.ingest(paths, home, FakeEmbedder.name, FakeEmbedder, log=lambda m: None, rebuild=rebuild)


def ingested(home) -> set[str]:
    return {d["id"] for d in KnowledgeBase.open(home).documents() if d["ingested"]}


def test_adding_a_document_keeps_what_was_ingested(kb_env, generated_report):
    run([EVENT], kb_env)
    added = run([generated_report], kb_env)
    assert added.status == "built" and added.kept == [str(EVENT.resolve())]
    assert ingested(kb_env) == {"panel-summary", "bloom-carbon-2022"}
    assert run([], kb_env).status == "unchanged"  # the bundled event again: already there, with the report
    assert run([generated_report], kb_env).status == "unchanged"


def test_a_file_of_the_same_name_replaces_the_one_ingested(kb_env, tmp_path):
    old, new = tmp_path / "a" / "notes.txt", tmp_path / "b" / "notes.txt"
    for path, text in ((old, "Les anciennes notes parlent de lithium."), (new, "Les nouvelles notes parlent de cobalt.")):
        path.parent.mkdir()
        path.write_text(f"Notes\n\n{text}\n", encoding="utf-8")
    run([EVENT, old], kb_env)
    run([new], kb_env)
    kb = KnowledgeBase.open(kb_env)
    notes = " ".join(p.text for p in kb.passages if p.document == "notes")
    assert "cobalt" in notes and "lithium" not in notes and ingested(kb_env) == {"panel-summary", "notes"}


def test_a_wrong_path_is_reported_and_not_kept_for_the_next_ingest(kb_env, tmp_path):
    first = run([EVENT, tmp_path / "typo.pdf", tmp_path / "notes.docx"], kb_env)
    assert len(first.failures) == 2 and pipeline.store.read_manifest(first.build)["inputs"] == [str(EVENT.resolve())]
    assert run([], kb_env).status == "unchanged"


def test_rebuild_keeps_only_the_given_paths(kb_env, generated_report):
    run([EVENT], kb_env)
    assert run([generated_report], kb_env, rebuild=True).kept == []
    assert ingested(kb_env) == {"luccioni2022"}  # no event: the report is a document of its own


def test_a_previous_input_that_is_gone_stops_the_ingest_and_changes_nothing(kb_env, tmp_path, generated_report):
    moved = tmp_path / "moved.pdf"
    shutil.copy(generated_report, moved)
    first = run([EVENT, moved], kb_env)
    moved.unlink()
    with pytest.raises(EventKBError, match="moved.pdf was ingested before and is no longer there: put it back, or rebuild"):
        run([tmp_path / "other.txt"], kb_env)
    assert pipeline.store.current_build(kb_env) == first.build


def test_another_event_needs_rebuild(kb_env, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(EVENT, other)
    run([EVENT], kb_env)
    with pytest.raises(EventKBError, match="--rebuild to replace"):
        run([other], kb_env)
    rebuilt = run([other], kb_env, rebuild=True)
    assert rebuilt.status == "built" and pipeline.store.read_manifest(rebuilt.build)["inputs"] == [str(other.resolve())]
    assert run([], kb_env).status == "unchanged"  # no paths: what it holds, read again (not the bundled event)


def test_bundled_event_builds(kb_env):
    result = run([], kb_env)
    assert result.status == "built" and result.documents == 1 and result.passages > 50
    kb = KnowledgeBase.open(kb_env)
    assert kb.event["date"] == "2024-03-18" and kb.event["organiser"] == "AILouvain"
    assert {p["name"] for p in kb.people} >= {"Fabrice Brion", "Xavier Marichal", "Roald Sieberath", "Steve Tumson", "Laurence Guiot", "Benoit Simon", "Jules Delcon"}
    docs = {d["id"]: d for d in kb.documents()}
    assert docs["panel-summary"]["ingested"] and not docs["greenit-2019"]["ingested"]
    manifest = json.loads((result.build / "manifest.json").read_text())
    assert manifest["embedder"]["name"] == FakeEmbedder.name and manifest["counts"]["passages"] == result.passages


def test_reingesting_unchanged_sources_changes_nothing(kb_env):
    first = run([EVENT], kb_env)
    stamp = (first.build / "kb.sqlite").stat().st_mtime_ns
    second = run([EVENT], kb_env)
    assert second.status == "unchanged" and second.build == first.build
    assert (first.build / "kb.sqlite").stat().st_mtime_ns == stamp


def test_changed_source_rebuilds_with_the_same_ids_for_unchanged_passages(kb_env, tmp_path):
    folder = tmp_path / "event"
    shutil.copytree(EVENT, folder)
    run([folder], kb_env)
    before = {p.id for p in KnowledgeBase.open(kb_env).passages}
    summary = folder / "panel-summary-2024-03-18.txt"
    summary.write_text(summary.read_text(encoding="utf-8") + "\nUne ligne ajoutée à la fin du document.\n", encoding="utf-8")
    result = run([folder], kb_env)
    after = {p.id for p in KnowledgeBase.open(kb_env).passages}
    assert result.status == "built"
    assert len(before - after) <= 1 and len(after - before) >= 1
    assert len(list((kb_env / "builds").iterdir())) == 1


def test_a_bad_file_is_reported_and_the_others_are_ingested(kb_env, tmp_path, generated_report):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"not a pdf")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = run([EVENT, bad, empty, generated_report], kb_env)
    assert result.status == "built" and result.documents == 2
    assert len(result.failures) == 2
    assert any("broken.pdf: this is not a PDF" in f for f in result.failures)
    assert any("empty.txt: the file is empty" in f for f in result.failures)
    again = run([EVENT, bad, empty, generated_report], kb_env)
    assert again.status == "unchanged" and len(again.failures) == 2


def test_reports_are_matched_to_the_event_by_file_name(kb_env, generated_report):
    run([EVENT, generated_report], kb_env)
    kb = KnowledgeBase.open(kb_env)
    docs = {d["id"]: d for d in kb.documents()}
    assert docs["bloom-carbon-2022"]["ingested"] and docs["bloom-carbon-2022"]["pages"] == 7
    assert all(p.speaker is None for p in kb.passages if p.document == "bloom-carbon-2022")
    targets = {r["url"]: r["target"] for r in kb.references()}
    assert targets["https://www.greenit.fr/wp-content/uploads/2019/10/2019-10-GREENIT-etude_EENM-rapport-accessible.VF_.pdf"] == "greenit-2019"
    cited = [r for r in kb.references() if r["target"] == "greenit-2019"][0]["cited_by"]
    assert cited and all(kb.by_id[pid].document == "panel-summary" for pid in cited)


def test_failed_build_leaves_the_previous_kb_usable(kb_env, tmp_path, monkeypatch, generated_report):
    run([EVENT], kb_env)
    before = [h.passage.id for h in KnowledgeBase.open(kb_env).search("Baby shark", k=3)]

    def explode(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(KeywordIndex, "build", explode)
    with pytest.raises(EventKBError, match="disk full .simulated.*previous knowledge base is unchanged"):
        run([EVENT, generated_report], kb_env)
    assert not list((kb_env / "builds").glob(".tmp-*"))
    kb = KnowledgeBase.open(kb_env)
    assert [h.passage.id for h in kb.search("Baby shark", k=3)] == before
    assert {d["id"] for d in kb.documents() if d["ingested"]} == {"panel-summary"}


def test_stale_temporary_builds_are_cleaned(kb_env):
    (kb_env / "builds" / ".tmp-killed").mkdir(parents=True)
    run([EVENT], kb_env)
    assert not (kb_env / "builds" / ".tmp-killed").exists()


def test_two_event_folders_are_refused(kb_env, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(EVENT, other)
    with pytest.raises(EventKBError, match="Two event folders"):
        run([EVENT, other], kb_env)


def test_a_kb_built_with_another_embedder_is_refused(kb_env):
    run([EVENT], kb_env)
    with pytest.raises(EventKBError, match="run `eventkb ingest` again"):
        KnowledgeBase.open(kb_env, embedder_spec="default")


def test_a_new_chunker_version_rebuilds_unchanged_sources(kb_env, monkeypatch):
    from ingest import pipeline

    first = run([EVENT], kb_env)
    monkeypatch.setitem(pipeline.SETTINGS, "chunker", pipeline.SETTINGS["chunker"] + 1)
    assert run([EVENT], kb_env).status == "built"  # the same files cut by new rules are ingested again
    assert first.status == "built"
