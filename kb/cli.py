"""The `eventkb` command: ingest sources, search them, list quotes, people and documents.

Expected failures print one line on stderr and exit 1; use --json for machine-readable output.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path

from kb.errors import EventKBError
from kb.paths import kb_home

EXAMPLES = {
    "ingest": "eventkb ingest                      # the bundled AILouvain event\n  eventkb ingest data/ailouvain-2024-03-18 ../shared/reports/*.pdf",
    "search": 'eventkb search "consommation électrique des data centres" --k 3',
    "quotes": 'eventkb quotes --speaker XM "limites planétaires"',
    "people": "eventkb people --json",
    "documents": "eventkb documents",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eventkb", description="An event knowledge base with cited search, on a laptop.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=f"example:\n  {EXAMPLES[name]}", formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--kb", metavar="DIR", help="knowledge base directory (default: $EVENTKB_HOME or ~/.local/share/eventkb)")
        p.add_argument("--json", action="store_true", help="print JSON")
        return p

    p = command("ingest", "Build the knowledge base from an event folder and/or .txt, .md and .pdf files.")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="event folder or file (default: the bundled event)")

    p = command("search", "Search the passages with hybrid keyword and semantic search.")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=5, help="number of passages (default 5)")
    p.add_argument("--speaker", help="only passages attributed to this person (name, last name or initials)")
    p.add_argument("--document", help="only passages of this document id")
    p.add_argument("--section", help="only passages whose section contains this text")
    p.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid", help="retrieval method (default hybrid)")

    p = command("quotes", "List what one person said, optionally ranked by a query.")
    p.add_argument("query", nargs="?")
    p.add_argument("--speaker", required=True, help="full name, last name or initials")
    p.add_argument("--k", type=int, help="at most this many passages")

    command("people", "List the people of the event and how many passages are theirs.")
    command("documents", "List the documents: ingested ones and cited ones that are not.")
    return parser


def _print_hits(hits, show_speaker: bool = True) -> None:
    if not hits:
        print("No passage found.")
    for n, hit in enumerate(hits, start=1):
        p = hit.passage
        who = f" — {p.speaker}" if show_speaker and p.speaker else ""
        print(f"{n}. [{p.locator()}]{who}  ({p.title}{' › ' + p.section if p.section else ''})")
        print(textwrap.indent(textwrap.fill(" ".join(p.text.split()), 100), "   "))
        print()


def _k(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise EventKBError("--k must be 1 or more.")
    return value


def run(args: argparse.Namespace) -> int:
    home = kb_home(args.kb)
    if args.command == "ingest":
        from ingest.pipeline import ingest
        from kb.embedder import embedder_name, load_embedder

        result = ingest(args.paths, home, embedder_name(), load_embedder)
        if args.json:
            print(json.dumps({"status": result.status, "build": str(result.build), "documents": result.documents, "passages": result.passages,
                              "failures": result.failures, "empty_pages": result.empty_pages, "seconds": result.seconds}, ensure_ascii=False))
        elif result.status == "unchanged":
            print(f"Unchanged: {result.documents} documents, {result.passages} passages in {home}")
        else:
            print(f"Built {home}: {result.documents} documents, {result.passages} passages in {result.seconds.get('total', 0):.1f} s")
        if result.failures:
            print(f"error: {len(result.failures)} file(s) could not be ingested (listed above); the others were.", file=sys.stderr)
            return 1
        return 0

    from kb.knowledge import KnowledgeBase

    kb = KnowledgeBase.open(home)
    if args.command == "search":
        hits = kb.search(args.query, k=_k(args.k) or 5, speaker=args.speaker, document=args.document, section=args.section, mode=args.mode)
        if args.json:
            print(json.dumps({"query": args.query, "results": [h.to_json() for h in hits]}, ensure_ascii=False))
        else:
            _print_hits(hits)
    elif args.command == "quotes":
        person, hits = kb.quotes(args.speaker, args.query, _k(args.k))
        if args.json:
            print(json.dumps({"speaker": person["name"], "quotes": [h.to_json() for h in hits]}, ensure_ascii=False))
        else:
            print(f"{person['name']} ({person['role']}, {person['organisation']}): {len(hits)} passage(s)\n")
            _print_hits(hits, show_speaker=False)
    elif args.command == "people":
        if args.json:
            print(json.dumps({"event": kb.event, "people": kb.people}, ensure_ascii=False))
        else:
            for p in kb.people:
                extra = f" [{p['initials']}]" if p["initials"] else ""
                print(f"{p['name']}{extra} — {p['role']}, {p['title'] + ' @ ' if p['title'] else ''}{p['organisation']}: {p['passages']} passage(s)")
    elif args.command == "documents":
        docs = kb.documents()
        if args.json:
            print(json.dumps({"documents": docs}, ensure_ascii=False))
        else:
            for d in docs:
                state = f"{d['passages']} passages" if d["ingested"] else "cited, not ingested"
                empty = f"; no text on page(s) {', '.join(map(str, d['empty_pages']))}" if d["empty_pages"] else ""
                print(f"{d['id']}: {d['title']} ({state}{empty})")
    kb.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except EventKBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt:
        print("error: interrupted; the previous knowledge base is unchanged.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
