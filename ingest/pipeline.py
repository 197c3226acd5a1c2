"""Build a knowledge base from sources: load, structure, chunk, embed, index, then swap it in.

The new build is written in a temporary directory beside the current one and becomes current by
an atomic symlink swap at the very end, so a failed or interrupted ingest leaves the previous
knowledge base untouched. Unchanged sources with unchanged settings rebuild nothing.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ingest import chunk as chunking
from ingest.document import LoadedDocument, LoadError
from ingest.event import MANIFEST as EVENT_MANIFEST
from ingest.event import DocumentSpec, Event, load_event
from ingest.pdf import load_pdf
from ingest.people import label_people
from ingest.structure import VERSION as structure_version
from ingest.structure import analyse
from ingest.subtitles import load_subtitles
from ingest.text import load_text
from kb import store
from kb.embedder import Embedder
from kb.errors import EventKBError
from kb.indexes import DenseIndex
from kb.paths import BUNDLED_EVENT
from kb import words as lexicons

BUILD_FORMAT = 1
SETTINGS = {"max_words": chunking.MAX_WORDS, "min_words": chunking.MIN_WORDS, "chunker": chunking.VERSION, "structure": structure_version,
            "tokens": "fold+fr/en-snowball-v1"}
SUFFIXES = {".txt": "text", ".md": "text", ".markdown": "text", ".pdf": "pdf", ".vtt": "captions", ".srt": "captions"}


@dataclass
class Source:
    path: Path
    spec: DocumentSpec


@dataclass
class IngestResult:
    status: str  # "built" or "unchanged"
    build: Path
    documents: int = 0
    passages: int = 0
    failures: list[str] = field(default_factory=list)
    empty_pages: dict[str, list[int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # inputs of the build before that this one still holds


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "document"


def event_id_of(paths: list[Path]) -> str | None:
    """The id of the event whose folder (with its event.toml) is among `paths`, else None."""
    for path in paths:
        if path.is_dir() and (path / EVENT_MANIFEST).is_file():
            return load_event(path).id
    return None


def resolve_sources(paths: list[Path]) -> tuple[Event | None, list[Source], list[str]]:
    """The event (if a folder with event.toml is given) and the files to ingest; unusable paths become failures."""
    paths = paths or [BUNDLED_EVENT]
    event: Event | None = None
    files: list[Path] = []
    failures: list[str] = []
    for path in paths:
        if path.is_dir():
            if (path / EVENT_MANIFEST).is_file():
                if event is not None:
                    raise EventKBError(f"Two event folders given ({event.folder} and {path}): a knowledge base holds one event; "
                                      "add --rebuild to replace the one it holds, or --kb DIR to build another.")
                event = load_event(path)
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES and p.name != "README.md")
            if not found and event is None:
                failures.append(f"{path}: no .txt, .md, .pdf, .vtt or .srt file in this folder")
            files.extend(found)
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                failures.append(f"{path}: unsupported file type {path.suffix or '(none)'}; give a .txt, .md, .pdf, .vtt or .srt file")
            else:
                files.append(path)
        else:
            failures.append(f"{path}: no such file or folder")

    sources: list[Source] = []
    taken = {d.id for d in event.documents} if event else set()
    seen: set[Path] = set()
    by_spec: dict[str, int] = {}
    for path in files:
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        spec = event.document_for_file(path.name) if event else None
        if spec is not None and spec.id in by_spec:  # a later file for one of the event's documents replaces it
            sources[by_spec[spec.id]] = Source(path, spec)
            continue
        if spec is None:
            base = _slug(path.stem)
            doc_id, n = base, 2
            while doc_id in taken:
                doc_id, n = f"{base}-{n}", n + 1
            taken.add(doc_id)
            spec = DocumentSpec(doc_id, path.stem, path.name)
        by_spec[spec.id] = len(sources)
        sources.append(Source(path, spec))
    return event, sources, failures


def with_previous(paths: list[Path], previous: list[str]) -> tuple[list[Path], list[str]]:
    """The inputs of an ingest into a knowledge base built before from `previous`: those, less the files the new
    `paths` replace (same file name), then `paths`. Nothing is lost: a previous input that is gone is an error."""
    given = [p.resolve() for p in paths]
    names = {p.name for p in given if p.is_file()}
    kept = []
    for raw in previous:
        old = Path(raw)
        if old in given or (old.is_file() and old.name in names):
            continue
        if not old.exists():
            raise EventKBError(f"{old} was ingested before and is no longer there: put it back, or rebuild without it with --rebuild.")
        kept.append(old)
    return kept + given, [str(p) for p in kept]


def _file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def build_key(event: Event | None, sources: list[Source], embedder_name: str, inputs: list[str] = ()) -> str:
    """A hash of everything a build depends on, and of the paths it came from; equal keys mean an identical knowledge base."""
    material = {
        "inputs": sorted(set(inputs)),
        "format": BUILD_FORMAT,
        "store": store.FORMAT,
        "settings": SETTINGS,
        "embedder": embedder_name,
        "words": lexicons.VERSION,
        "event": event.manifest_sha256 if event else None,
        "sources": sorted((s.spec.id, _file_sha256(s.path)) for s in sources),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def load_source(source: Source) -> LoadedDocument:
    """The loaded document of one source, or a LoadError naming it."""
    kind = SUFFIXES[source.path.suffix.lower()]
    try:
        loader = {"pdf": load_pdf, "captions": load_subtitles}.get(kind, load_text)
        return loader(source.path)
    except LoadError:
        raise
    except OSError as exc:
        raise LoadError(f"{source.path}: cannot be read ({exc.strerror or exc})") from None


def _cached_vectors(home: Path, embedder_name: str) -> dict[str, np.ndarray]:
    """Vectors of the current build keyed by embedded text, to avoid re-embedding unchanged passages."""
    build = store.current_build(home)
    if build is None:
        return {}
    try:
        if store.read_manifest(build).get("embedder", {}).get("name") != embedder_name:
            return {}
        conn = store.open_readonly(build / store.DB_FILE)
        texts = [r[0] for r in conn.execute("SELECT embed_text FROM passages ORDER BY row")]
        conn.close()
        vectors = DenseIndex.load(build).vectors()
    except Exception:  # a damaged old build only costs us the cache
        return {}
    return {hashlib.sha1(t.encode()).hexdigest(): v for t, v in zip(texts, vectors)}


def _cached_lexicon(home: Path, embedder_name: str) -> lexicons.Lexicon:
    """The current build's words and their vectors, when the same embedder made them (else none)."""
    build = store.current_build(home)
    try:
        if build is None or store.read_manifest(build).get("embedder", {}).get("name") != embedder_name:
            return lexicons.Lexicon()
        return lexicons.Lexicon.load(build)
    except Exception:  # a damaged old build only costs us the cache
        return lexicons.Lexicon()


class _Progress:
    """Prints "label: n/total" at most every few seconds, and tells `progress` every time."""

    def __init__(self, label: str, log: Callable[[str], None], progress: Callable[[str, int, int], None], every: float = 3.0,
                 stage: str = "embed") -> None:
        self.label, self.log, self.progress, self.every, self.last, self.stage = label, log, progress, every, 0.0, stage

    def __call__(self, done: int, total: int) -> None:
        self.progress(self.stage, done, total)
        now = time.monotonic()
        if done == total or now - self.last >= self.every:
            self.last = now
            self.log(f"  {self.label}: {done}/{total}")


def ingest(
    paths: list[Path],
    home: Path,
    embedder_name: str,
    load_embedder: Callable[[], Embedder],
    log: Callable[[str], None] = _log,
    rebuild: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> IngestResult:
    """Add `paths` to the knowledge base in `home`, replacing the files of the same name; with `rebuild`, build it from
    `paths` alone. No paths: what it holds, read again, or the bundled event when it holds nothing. Nothing changes
    when nothing did. `progress(stage, done, total)` hears of each file read ("read") and passages embedded ("embed")."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".ingest.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EventKBError(f"Another ingest is running on {home}: wait for it to finish, then try again.") from None
        return _ingest_locked(paths, home, embedder_name, load_embedder, log, rebuild, progress or (lambda stage, done, total: None))


def _ingest_locked(paths, home, embedder_name, load_embedder, log, rebuild, progress) -> IngestResult:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    before = store.current_build(home)
    previous = store.read_manifest(before).get("inputs", []) if before is not None and not rebuild else []
    paths = list(paths) or ([] if previous else [BUNDLED_EVENT])  # no paths: what it holds, read again; else the bundled event
    kept: list[str] = []
    if previous:
        paths, kept = with_previous(paths, previous)
    # What the next ingest reads again: the paths that exist and can be ingested (a wrong path is reported, not kept).
    inputs = [str(p.resolve()) for p in paths if p.is_dir() or (p.is_file() and p.suffix.lower() in SUFFIXES)]
    try:
        event, sources, failures = resolve_sources(paths)
    except LoadError as exc:
        raise EventKBError(str(exc)) from None
    if not sources:
        raise EventKBError("Nothing to ingest: give an event folder or .txt, .md, .pdf, .vtt or .srt files.")
    key = build_key(event, sources, embedder_name, inputs)
    if before is not None:
        manifest = store.read_manifest(before)
        if manifest.get("build_key") == key:
            old_failures = manifest.get("failures", [])
            for line in failures + old_failures:
                log(f"error: {line}")
            return IngestResult("unchanged", before, manifest["counts"]["documents"], manifest["counts"]["passages"], failures + old_failures, kept=kept)

    # Load and structure every source; one bad file does not stop the others.
    read: list[tuple[Source, LoadedDocument]] = []
    for n, source in enumerate(sources):
        progress("read", n, len(sources))
        log(f"Reading {source.path.name}")
        try:
            read.append((source, load_source(source)))
        except LoadError as exc:
            failures.append(str(exc))
            log(f"error: {exc}")
    progress("read", len(sources), len(sources))
    people = event.people if event and event.people else []
    if not people:  # no manifest says who they are: the transcripts' own labels do
        people = [found.person for found in label_people([d for s, d in read if "report" not in s.spec.kind])]
        if people:
            log(f"People read from the speaker labels (no manifest names them): {', '.join(p.name for p in people)}")
    loaded: list[tuple[Source, LoadedDocument]] = []
    chunks: list[chunking.Chunk] = []
    refs: list[tuple[str, str, int | None, int, list[str]]] = []
    empty_pages: dict[str, list[int]] = {}
    notes: list[str] = []
    for source, doc in read:
        attributions = [a for a in (event.attributions if event else []) if a.document == source.spec.id]
        structure = analyse(doc, people, attributions, detect_speakers="report" not in source.spec.kind)
        block_chunks = [chunking.chunk_block(b, source.spec.id, source.spec.title) for b in structure.blocks]
        for ref in structure.references:
            cited = [c.id for i in ref.cites for c in block_chunks[i]]
            refs.append((ref.url, source.spec.id, ref.page, ref.line, cited))
        doc_chunks = [c for group in block_chunks for c in group]
        chunks.extend(doc_chunks)
        speakers: dict[str, int] = {}
        for c in doc_chunks:
            if c.speaker:
                speakers[c.speaker] = speakers.get(c.speaker, 0) + 1
        if speakers:
            log(f"  speakers: {', '.join(f'{name} ({n})' for name, n in speakers.items())}")
        if structure.unresolved:
            log(f"  speaker labels that name no one of the event (their text stays unattributed): "
                f"{', '.join(f'{label} ({n})' for label, n in structure.unresolved.items())}")
        loaded.append((source, doc))
        notes.extend(doc.notes)
        if doc.empty_pages:
            empty_pages[source.spec.id] = doc.empty_pages
            log(f"  {source.path.name}: no extractable text on page(s) {', '.join(map(str, doc.empty_pages))}")
        log(f"  {len(doc.pages)} page(s), {len(doc_chunks)} passages")
    for note in notes:
        log(f"note: {note}")
    timings["load"] = time.perf_counter() - started

    # Duplicate ids can only come from identical text at an identical place: keep the first.
    unique: dict[str, chunking.Chunk] = {}
    for c in chunks:
        unique.setdefault(c.id, c)
    chunks = list(unique.values())

    # Embed, reusing vectors of passages whose embedded text is unchanged.
    t0 = time.perf_counter()
    cache = _cached_vectors(home, embedder_name)
    digests = [hashlib.sha1(c.embed_text.encode()).hexdigest() for c in chunks]
    missing = [i for i, d in enumerate(digests) if d not in cache]
    embedder = None
    dim = next(iter(cache.values())).shape[0] if cache else 0
    if missing or not chunks:
        log("Loading the embedding model")
        embedder = load_embedder()
        dim = embedder.dim
        timings["model_load"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        log(f"Embedding {len(missing)} passages ({len(chunks) - len(missing)} unchanged)")
        fresh = embedder.passages([chunks[i].embed_text for i in missing], progress=_Progress("embedded", log, progress))
        for i, vector in zip(missing, fresh):
            cache[digests[i]] = vector
    vectors = np.vstack([cache[d] for d in digests]).astype(np.float32) if chunks else np.zeros((0, dim), np.float32)
    timings["embed"] = time.perf_counter() - t0

    # The passages' words, for bridging a question's words to a passage in another language (kb/words.py).
    t0 = time.perf_counter()
    previous = _cached_lexicon(home, embedder_name)
    texts = [c.text for c in chunks]
    new_words = len(set(w for t in texts for w in lexicons.vocabulary(t)) - set(previous.row))
    if new_words and embedder is None:
        log("Loading the embedding model")
        embedder = load_embedder()
    if new_words:
        log(f"Embedding {new_words} words ({len(previous.words)} known)")
    lexicon = lexicons.build(texts, embedder, previous, progress=_Progress("words embedded", log, progress, stage="words"))
    timings["words"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    manifest = {
        "format": BUILD_FORMAT,
        "build_key": key,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "event": event.to_json() if event else None,
        "embedder": {"name": embedder_name, "dim": int(vectors.shape[1]) if len(vectors) else dim},
        "settings": SETTINGS,
        "inputs": inputs,
        "sources": [{"path": str(s.path), "document": s.spec.id, "sha256": d.sha256} for s, d in loaded],
        "failures": failures,
        "empty_pages": empty_pages,
        "counts": {"documents": len(loaded), "passages": len(chunks), "references": len(refs)},
    }
    final = store.write_build(home, key[:16], _content(event, people, sources, loaded, chunks, refs, vectors, lexicon), manifest)
    timings["write"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    return IngestResult("built", final, len(loaded), len(chunks), failures, empty_pages, timings, kept)


def _content(event, people, sources, loaded, chunks, refs, vectors, lexicon) -> store.BuildContent:
    """What the store writes for this build, as rows."""
    people = [(p.name, p.role, p.organisation, p.title, p.initials, p.aliases) for p in people]
    ingested = {s.spec.id: (s, d) for s, d in loaded}
    specs = list(event.documents) if event else []
    specs += [s.spec for s in sources if s.spec not in specs]
    documents = []
    for spec in specs:
        pair = ingested.get(spec.id)
        doc = pair[1] if pair else None
        documents.append((
            spec.id, spec.title, spec.kind, doc.format if doc else None, pair[0].path.name if pair else spec.file,
            doc.sha256 if doc else None, spec.url, spec.language,
            len(doc.pages) if doc and doc.format == "pdf" else None,
            json.dumps(doc.empty_pages if doc else []), 1 if doc else 0,
        ))
    passages = [(c.id, c.document, c.page, c.first_line, c.last_line, c.section, c.speaker, c.text, c.embed_text) for c in chunks]
    by_url = {spec.url: spec.id for spec in specs if spec.url}
    references = [(url, document, page, line, by_url.get(url), cited) for url, document, page, line, cited in refs]
    return store.BuildContent(event.to_json() if event else None, people, documents, passages, references, vectors, lexicon)
