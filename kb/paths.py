"""Where knowledge bases live: `--kb DIR`, else $EVENTKB_HOME, else the user's data directory."""
from __future__ import annotations

import os
from pathlib import Path

BUNDLED_EVENT = Path(__file__).resolve().parent.parent / "data" / "ailouvain-2024-03-18"


def kb_home(explicit: str | os.PathLike | None = None) -> Path:
    """The knowledge base directory to use."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("EVENTKB_HOME"):
        return Path(os.environ["EVENTKB_HOME"]).expanduser()
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "eventkb"


def cache_home() -> Path:
    """Where eventkb keeps what it can always make again (llama.cpp's evaluated prompt prefixes): $XDG_CACHE_HOME/eventkb."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "eventkb"
