"""Answer quality, speed and energy side by side, per event, on one fresh batch of each event.

Usage: .venv/bin/python benchmarks/compare_answers.py [--batches ii,a34] [--set NAME:KEY=VALUE;KEY=VALUE] [--oracle]
       [--repack 1,0] [--llamaindex] [--json OUT]
Runs, on the bundled event (with the four reports) and on each event of ../shared/events that has a question set,
the questions of the named batch (by default "ii" on the bundled event, "a34" on the others: written before the
change they measure) with the default model, eventkb's settings and each variant of them given with --set (the
settings before a change, for example), and prints key facts (same- and cross-language apart),
citation precision, abstention recall, language match, time to first token, full answer and energy per answer.
With --oracle, the passage that answers each question is put first among the retrieved ones (the ceiling of each
design when retrieval is perfect); unanswerable questions are asked as they are. With --repack 1,0, each design runs
with llama.cpp's weight repacking on, then off (two loads of the model), and the rows count the answers that differ.
With --llamaindex (after `pip install -r benchmarks/requirements-compare.txt`), LlamaIndex's default RAG runs on the
same questions, the same GGUF, eventkb's embedder and the event's document files, in the same run.
About 6 s per question and design on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.answer import Answerer  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.energy import choose_meter  # noqa: E402
from kb.evaluate import ANSWER_SET, EVENT_SETS, load_set, matches, score_answer, summarise_answers  # noqa: E402
from kb.generator import load_generator  # noqa: E402
from kb.knowledge import Hit, KnowledgeBase  # noqa: E402
from kb.language import detect  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402
from ingest.pipeline import ingest  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from compare_llamaindex import llamaindex_rows  # noqa: E402

BUNDLED = "ailouvain-2024-03-18"


def batch_questions(event: str, batch: str) -> list[dict]:
    """The questions of one batch: on the bundled event, those of eval/answers.toml whose ids start with "<batch>-";
    on another, those of its own set marked `batch = "<batch>"`. "hq+hr" is both batches."""
    if "+" in batch:
        return [q for part in batch.split("+") for q in batch_questions(event, part)]
    if event == BUNDLED:
        return [q for q in load_set(ANSWER_SET)["questions"] if q["id"].startswith(f"{batch}-")]
    return [q for q in load_set(EVENT_SETS / f"{event}.toml").get("questions", []) if q.get("batch") == batch]


def source_language(kb: KnowledgeBase, question: dict) -> str | None:
    """The language of the passage that answers, to tell same- from cross-language questions (None: unanswerable)."""
    found = next((p for p in kb.passages if question.get("expect") and matches(p, question["expect"])), None)
    return detect(found.text, default="fr") if found else None


class AnswerFirst:
    """A knowledge base whose search for the question being asked returns the passage that answers it first."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self.question: dict | None = None

    def __getattr__(self, name: str):
        return getattr(self._kb, name)

    def search(self, query: str, k: int = 5, **filters) -> list[Hit]:
        hits = self._kb.search(query, k=k, **filters)
        q = self.question
        if q is None or query != q["question"] or not q.get("expect"):
            return hits
        answering = next((p for p in self._kb.passages if matches(p, q["expect"])), None)
        return hits if answering is None else ([Hit(answering, 1.0)] + [h for h in hits if h.passage.id != answering.id])[:k]


def run(answerer: Answerer, kb: KnowledgeBase, questions: list[dict], log) -> list[dict]:
    rows = []
    for q in questions:
        if isinstance(answerer.kb, AnswerFirst):
            answerer.kb.question = q
        record = answerer.ask(q["question"])
        row = score_answer(q, record)
        lang = source_language(kb, q)
        row["group"] = None if lang is None else "same" if lang == q["lang"] else "cross"
        row["mode"] = record["mode"]
        rows.append(row)
        log(f"    {'abst' if row['abstained'] else ('ok  ' if row['facts_ok'] else 'miss')} {q['id']} [{row['mode']}]: {row['answer'][:110]}")
    return rows


def summary(rows: list[dict]) -> dict:
    """The scores of one design's rows, same- and cross-language key facts apart, and the medians of its generated
    answers' times and energy (None where no row has the figure: LlamaIndex's answers are not streamed)."""
    out = summarise_answers(rows)
    for group in ("same", "cross"):
        picked = [r for r in rows if r["group"] == group]
        out[f"key_facts_{group}"] = round(sum(r["facts_ok"] for r in picked) / len(picked), 3) if picked else None
    generated = [r for r in rows if r["tokens"]["completion"]]

    def median(key: str, scale: float = 1.0, digits: int = 3) -> float | None:
        values = [r[key] for r in generated if r[key] is not None]
        return round(round(statistics.median(values), 3) / scale, digits) if values else None

    out["first_token_s_p50"] = median("first_token_ms", 1000, 2)
    out["first_shown_s_p50"] = median("first_shown_ms", 1000, 2)
    out["total_s_p50"] = median("total_ms", 1000, 2)
    out["wh_p50"] = median("wh")
    out["modes"] = {m: sum(r["mode"] == m for r in rows) for m in dict.fromkeys(r["mode"] for r in rows)}
    return out


def variant(spec: str) -> dict:
    """Settings from "key=value;key=value", numbers read as numbers ("min_coverage=0;unsupported=quote")."""
    out: dict = {}
    for pair in filter(None, spec.split(";")):
        key, _, value = pair.partition("=")
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


def document_files(kb: KnowledgeBase, paths: list[Path]) -> list[Path]:
    """The files the knowledge base was built from: its documents' files in the event folders given, and the PDFs given."""
    folders = [p for p in paths if p.is_dir()]
    listed = [folder / d["file"] for d in kb.documents() if d["file"] for folder in folders if (folder / d["file"]).is_file()]
    return listed + [p for p in paths if p.is_file()]


def event_inputs(reports_dir: Path, events_dir: Path, batches: str) -> dict[str, tuple[list[Path], str]]:
    """Each event measured, with the paths it is built from and its batch: the bundled event with the four reports,
    then every event of `events_dir` that has a question set. `batches` is "bundled batch,other events' batch"."""
    reports = sorted(reports_dir.glob("*.pdf"))
    if len(reports) < 4:
        sys.exit(f"error: the four reports are not in {reports_dir}: pass --reports DIR.")
    bundled_batch, event_batch = batches.split(",")
    inputs = {BUNDLED: ([BUNDLED_EVENT, *reports], bundled_batch)}
    for folder in sorted(p for p in events_dir.iterdir() if (p / "event.toml").is_file() and (EVENT_SETS / f"{p.name}.toml").is_file()):
        inputs[folder.name] = ([folder], event_batch)
    return inputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-default", action="store_true", help="run only the --set variants, not eventkb's own settings")
    parser.add_argument("--events", type=Path, default=ROOT.parent / "shared" / "events")
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "reports")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "compare-answers")
    parser.add_argument("--batches", default="ij,a35", help="the bundled event's batch and the other events' (default ij,a35; hq+hr for two batches)")
    parser.add_argument("--oracle", action="store_true", help="put the answering passage first (the ceiling with perfect retrieval)")
    parser.add_argument("--only", help="one event id")
    parser.add_argument("--repack", default="", help="1, 0 or 1,0: llama.cpp's weight repacking (default: $EVENTKB_REPACK)")
    parser.add_argument("--llamaindex", action="store_true", help="also LlamaIndex's default RAG on the same files")
    parser.add_argument("--set", action="append", default=[], metavar="NAME:KEY=VALUE[;KEY=VALUE]",
                        help="also run with these settings, as a row named NAME (repeatable)")
    parser.add_argument("--json", type=Path, help="also write every row to this file")
    args = parser.parse_args()
    inputs = event_inputs(args.reports, args.events, args.batches)
    if args.only:
        inputs = {args.only: inputs[args.only]}
    designs = [] if args.no_default else [("eventkb", {})]
    designs += [(name, variant(spec)) for name, _, spec in (v.partition(":") for v in args.set)]
    embedder = load_embedder()
    repacks = [r == "1" for r in args.repack.split(",")] if args.repack else [None]
    generators = {"" if r is None else f"/repack={int(r)}": load_generator(repack=r) for r in repacks}
    out: dict = {"model": next(iter(generators.values())).info.to_json(), "events": {}}
    for event, (paths, batch) in inputs.items():
        home = args.work / event
        ingest(paths, home, embedder_name(), lambda: embedder, log=lambda m: None)
        kb = KnowledgeBase.open(home, embedder=embedder)
        questions = batch_questions(event, batch)
        print(f"## {event}: batch {batch}, {len(questions)} questions", file=sys.stderr)
        entry = out["events"][event] = {"batch": batch, "questions": len(questions), "designs": {}}
        for design, settings in designs:
            first = None
            for label, generator in generators.items():
                print(f"  {design}{label}", file=sys.stderr)
                answerer = Answerer(AnswerFirst(kb) if args.oracle else kb, generator, choose_meter(), None, cache=False, settings=settings)
                answerer.ask(questions[0]["question"])  # warm: the model's constant prefix, as in the web app
                rows = run(answerer, kb, questions, lambda m: print(m, file=sys.stderr, flush=True))
                entry["designs"][design + label] = {"summary": summary(rows), "rows": rows}
                first = first or rows
                if len(generators) > 1:
                    entry["designs"][design + label]["summary"]["differ"] = sum(a["answer"] != b["answer"] for a, b in zip(first, rows))
        if args.llamaindex:
            print("  llamaindex", file=sys.stderr)
            rows, index_s = llamaindex_rows(document_files(kb, paths), embedder, questions, lambda m: print(m, file=sys.stderr, flush=True))
            for row in rows:
                lang = source_language(kb, next(q for q in questions if q["id"] == row["id"]))
                row["group"] = None if lang is None else "same" if lang == row["lang"] else "cross"
            entry["designs"]["llamaindex"] = {"summary": dict(summary(rows), index_build_s=round(index_s, 1)), "rows": rows}
        kb.close()
    cols = ["key_fact_accuracy", "key_facts_same", "key_facts_cross", "citation_precision", "abstention_recall", "abstention_precision",
            "language_match", "first_token_s_p50", "total_s_p50", "wh_p50"]
    heads = ["facts", "same", "cross", "cit.prec", "abst.rec", "abst.prec", "lang", "1st tok s", "total s", "Wh"]
    for event, entry in out["events"].items():
        print(f"\n## {event}: fresh batch {entry['batch']}, {entry['questions']} questions" + (", answering passage first" if args.oracle else ""))
        print("  " + f"{'design':17} " + " ".join(f"{h:>9}" for h in heads) + "  modes")
        for design, d in entry["designs"].items():
            s = d["summary"]
            cells = " ".join(f"{s[c]:9}" if s[c] is not None else f"{'-':>9}" for c in cols)
            differ = f"; {s['differ']} answers differ from the first setting's" if "differ" in s else ""
            print(f"  {design:17} {cells}  {s['modes']}{differ}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
