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

FOLLOWUP_METHODS = ("model", "names", "concat", "fused", "none")  # kb.followup.METHODS, named here so that --help loads no model code
FOLLOWUP_HELP = ("how a follow-up is made standalone before it is searched: the model rewrites it, checked against the conversation; "
                 "names adds the names of the turn before; concat puts the question before in front; fused answers the model's question but searches it and the concatenation, fused by rank; none searches it as typed (default: fused)")

EXAMPLES = {
    "init": "eventkb init my-event/      # then edit my-event/event.toml, then: eventkb ingest --rebuild my-event/",
    "ingest": "eventkb ingest                      # the bundled AILouvain event\n  eventkb ingest ../shared/reports/*.pdf   # adds the reports to it\n  eventkb ingest --rebuild FOLDER            # this event alone",
    "search": 'eventkb search "consommation électrique des data centres" --k 3',
    "quotes": 'eventkb quotes --speaker XM "limites planétaires"',
    "people": "eventkb people --json",
    "documents": "eventkb documents",
    "ask": 'eventkb ask "Combien d\'énergie consomme une requête ChatGPT ?"',
    "audit": "eventkb audit            # the list; eventkb audit ID for one answer; eventkb audit --csv > answers.csv",
    "energy": "eventkb energy --json",
    "serve": "eventkb serve                      # http://127.0.0.1:5000",
    "eval": "eventkb eval --subset 10 --json",
    "events": "eventkb events            # then, with several: eventkb search \"water\" --event ID",
    "remove": "eventkb remove w3c-webml-workshop-2020-09-16",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eventkb", description="An event knowledge base with cited search, on a laptop.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=f"example:\n  {EXAMPLES[name]}", formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--kb", metavar="DIR", help="knowledge base directory (default: $EVENTKB_HOME or ~/.local/share/eventkb)")
        p.add_argument("--json", action="store_true", help="print JSON")
        if name in ("search", "quotes", "ask"):
            p.add_argument("--event", metavar="ID", help="the event, when the knowledge base holds several (`eventkb events` lists them); "
                           "'all', or ids separated by commas, for several at once")
        elif name in ("audit", "energy"):
            p.add_argument("--event", metavar="ID", help="the event, when the knowledge base holds several (`eventkb events` lists them); "
                           "'all' for the answers asked across events")
        elif name not in ("init", "events", "remove"):
            p.add_argument("--event", metavar="ID", help="the event, when the knowledge base holds several (`eventkb events` lists them)")
        return p

    p = command("init", "Draft an event.toml for a folder of documents: people from the speaker labels, documents, language, title.")
    p.add_argument("folder", type=Path, metavar="FOLDER", help="the folder that holds the event's documents")

    p = command("ingest", "Add an event folder and/or .txt, .md and .pdf files to the knowledge base (files of the same name are replaced).")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="event folder or file (default: what the knowledge base holds, or the bundled event when it is empty)")
    p.add_argument("--rebuild", action="store_true", help="build the knowledge base from these paths alone, dropping what it held")

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

    command("events", "List the events the knowledge base holds: id, title, date, documents, passages, answers.")
    p = command("remove", "Remove one event from the knowledge base: its builds and its audit log; the other events are untouched.")
    p.add_argument("id", metavar="ID", help="the event's id, as `eventkb events` lists it")

    command("people", "List the people of the event and how many passages are theirs.")
    command("documents", "List the documents: ingested ones and cited ones that are not.")

    p = command("ask", "Answer a question from the event's sources, with checked citations and the energy used.")
    p.add_argument("question")
    p.add_argument("--model", metavar="PATH", help="GGUF file, or 'default' / 'small' (default: $EVENTKB_MODEL or the bundled Qwen2.5 1.5B)")
    p.add_argument("--backend", metavar="URL", help="an OpenAI-compatible model server (llama.cpp server, vLLM, Ollama), e.g. http://127.0.0.1:8080/v1; "
                   "--model then names its model (default: $EVENTKB_BACKEND_URL, else the local model)")
    p.add_argument("--no-cache", action="store_true", help="generate again even if this question was answered before on the same build, model and settings")
    p.add_argument("--conversation", metavar="ID", help="a follow-up in this conversation (the id `ask` printed): the question is made standalone from the turn before")
    p.add_argument("--followup", choices=FOLLOWUP_METHODS, default=None, help=FOLLOWUP_HELP)

    p = command("audit", "Show the stored answers, or one of them with the passages behind it.")
    p.add_argument("id", nargs="?")
    p.add_argument("--limit", type=int, default=50, help="how many answers to list (default 50)")
    p.add_argument("--csv", action="store_true", help="print every stored answer as CSV (with its energy and feedback)")

    command("energy", "Energy used by the stored answers, per method, against published figures.")

    p = command("eval", "Measure retrieval, quote attribution and answers on the committed question sets.")
    p.add_argument("--subset", type=int, metavar="N", help="only N questions of each set, spread over it (a quick run)")
    p.add_argument("--batch", metavar="NAME", help='only the answer questions of one batch of eval/answers.toml ("first", "hp")')
    p.add_argument("--model", metavar="PATH", help="GGUF file, or 'default' / 'small'")
    p.add_argument("--backend", metavar="URL", help="an OpenAI-compatible model server (llama.cpp server, vLLM, Ollama), e.g. http://127.0.0.1:8080/v1; "
                   "--model then names its model (default: $EVENTKB_BACKEND_URL, else the local model)")

    p = command("serve", "Run the web app (chat, quotes, audit, energy, event; every event of the home, --event ID at /) on this machine.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--followup", choices=FOLLOWUP_METHODS, default=None, help=FOLLOWUP_HELP)
    p.add_argument("--workers", type=int, default=1, metavar="N", help="serve with N gunicorn worker processes (threaded); best with --backend")
    p.add_argument("--model", metavar="PATH", help="GGUF file, or 'default' / 'small'")
    p.add_argument("--backend", metavar="URL", help="an OpenAI-compatible model server (llama.cpp server, vLLM, Ollama), e.g. http://127.0.0.1:8080/v1; "
                   "--model then names its model (default: $EVENTKB_BACKEND_URL, else the local model)")
    p.add_argument("--public", action="store_true", help="required to listen on an address other than loopback")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a name or address people open the app by (repeatable); loopback names are always allowed")
    return parser


def _print_hits(hits, show_speaker: bool = True, events: list[str] | None = None) -> None:
    """Numbered passages with their locators (and, across events, the event of each)."""
    if not hits:
        print("No passage found.")
    for n, hit in enumerate(hits, start=1):
        p = hit.passage
        who = f" — {p.speaker}" if show_speaker and p.speaker else ""
        where = f"{events[n - 1]} · " if events else ""
        print(f"{n}. {where}[{p.locator()}]{who}  ({p.title}{' › ' + p.section if p.section else ''})")
        print(textwrap.indent(textwrap.fill(" ".join(p.text.split()), 100), "   "))
        print()


def _k(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise EventKBError("--k must be 1 or more.")
    return value


def run(args: argparse.Namespace) -> int:
    if args.command == "init":
        return _init(args)
    from kb import series

    base = kb_home(args.kb)
    if args.command == "events":
        return _events(args, base)
    if args.command == "remove":
        removed = series.remove(base, args.id)
        print(json.dumps({"removed": args.id, "home": str(removed)}) if args.json else f"Removed {args.id} ({removed}); the other events are untouched.")
        return 0
    if args.command == "ingest":
        from ingest.pipeline import event_id_of, ingest
        from kb.embedder import embedder_name, load_embedder

        given = event_id_of(args.paths)
        if given and args.event and given != args.event:
            raise EventKBError(f"The folder given is the event {given!r}, not {args.event!r}: drop --event, or give that event's folder.")
        held = [e.id for e in series.events(base)]
        if not args.paths and args.event and held and args.event not in held:
            raise EventKBError(f"No event {args.event!r} in {base} yet: give its folder (eventkb ingest FOLDER) to add it.")
        home = series.home_for_ingest(base, given or args.event)
        result = ingest(args.paths, home, embedder_name(), load_embedder, rebuild=args.rebuild)
        if args.json:
            print(json.dumps({"status": result.status, "build": str(result.build), "documents": result.documents, "passages": result.passages,
                              "failures": result.failures, "empty_pages": result.empty_pages, "seconds": result.seconds, "kept": result.kept},
                             ensure_ascii=False))
        elif result.status == "unchanged":
            print(f"Unchanged: {result.documents} documents, {result.passages} passages in {home}")
        else:
            print(f"Built {home}: {result.documents} documents, {result.passages} passages in {result.seconds.get('total', 0):.1f} s")
        if result.kept and not args.json:
            print(f"Kept from before: {', '.join(Path(k).name for k in result.kept)} (--rebuild builds from the given paths alone)")
        if result.failures:
            print(f"error: {len(result.failures)} file(s) could not be ingested (listed above); the others were.", file=sys.stderr)
            return 1
        return 0

    if args.command == "ask":
        from kb.generator import preload

        preload(args.model, args.backend)
    if args.command in ("search", "quotes", "ask") and series.several(args.event):
        return _across(args, base)
    if args.command in ("audit", "energy") and args.event == "all":
        return _audit_commands(args, series.across_home(base))  # the answers asked across events
    if series.several(args.event):
        raise EventKBError(f"--event {args.event} names several events: only search, quotes and ask work across events "
                           "(audit and energy take --event all, for the answers asked across events); give one id.")
    home = series.event_home(base, args.event)
    if args.command in ("audit", "energy"):
        return _audit_commands(args, home)
    if args.command == "serve":
        return _serve(args, base, args.event)

    from kb.knowledge import KnowledgeBase

    kb = KnowledgeBase.open(home)
    if args.command == "ask":
        return _ask(args, kb, home)
    if args.command == "eval":
        return _eval(args, kb)
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


def _eval(args: argparse.Namespace, kb) -> int:
    from kb.answer import Answerer, warm_up_question
    from kb.energy import choose_meter
    from kb.evaluate import ANSWER_SET, evaluate, in_batch, load_set
    from kb.generator import load_generator

    in_batch(load_set(ANSWER_SET)["questions"], args.batch)  # an unknown batch fails before the model loads
    answerer = Answerer(kb, load_generator(args.model, args.backend), choose_meter())
    kb.search("warm up", k=1)
    answerer.ask(warm_up_question(kb.event))  # the constant prompt prefix is then cached, as in a running server
    result = evaluate(kb, answerer, _k(args.subset), log=(lambda m: None) if args.json else lambda m: print(m, file=sys.stderr), batch=args.batch)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    c = result["counts"]
    print(f"{c['retrieval_questions']} retrieval and {c['answer_questions']} answer questions on {', '.join(c['ingested'])}"
          + (f" ({c['skipped_for_missing_documents']} skipped: their documents are not ingested)" if c["skipped_for_missing_documents"] else ""))
    if result["retrieval"]:
        print(f"\n{'retrieval':10} {'recall@1':>9} {'recall@5':>9} {'MRR':>6}")
        for r in result["retrieval"]:
            print(f"{r['mode']:10} {r['recall@1']:9.3f} {r['recall@5']:9.3f} {r['mrr']:6.3f}")
        print(f"\nquote attribution precision: {result['quote_attribution_precision']:.3f}")
    if result.get("event"):
        ev, q = result["event"], result["event"]["quote_scores"]
        print(f"\nevent {ev['id']}, batch {ev['batch']}: quotes of {len(ev['quotes'])} people, {q['attributed_passages']} passages attributed, "
              f"precision {q['precision']:.3f}, recall {q['recall']:.3f} of {q['required']} required")
        for case in ev["quotes"]:
            for text in case["missing"]:
                print(f"  missing   {case['speaker']}: {text}")
            for text in case["wrongly_attributed"]:
                print(f"  wrong     {case['speaker']}: {text}")
        for r in ev.get("retrieval", []):
            print(f"  retrieval {r['mode']:7} recall@1 {r['recall@1']:.3f}  recall@5 {r['recall@5']:.3f}  MRR {r['mrr']:.3f}")
        for key, value in (ev.get("answers") or {}).items():
            print(f"  answers   {key:22} {value if value is not None else 'n/a'}")
    if not c["answer_questions"]:
        return 0
    print(f"\nanswers ({result['model']['name']}):")
    groups = {"all": result["answers"], "tuned on": result["answers_tuned_on"], "held out": result["answers_held_out"]}
    groups = {name: g for name, g in groups.items() if g}
    print(f"  {'':22}" + "".join(f" {name:>9}" for name in groups))
    for key in result["answers"]:
        print(f"  {key:22}" + "".join(f" {g[key] if g[key] is not None else 'n/a':>9}" for g in groups.values()))
    print("\nper answer (median / p90):")
    for key, value in result["speed"].items():
        if isinstance(value, dict):
            print(f"  {key:22} {value['median']:g} / {value['p90']:g}")
    print(f"  energy method          {result['meter']}")
    return 0


def _across(args: argparse.Namespace, base: Path) -> int:
    """search, ask and quotes over several events: each result and citation names its event."""
    from kb import across, series

    kbs = across.open_all(series.chosen(base, args.event))
    if args.command == "ask":
        return _ask(args, across.Across(kbs), series.across_home(base))
    if args.command == "search":
        hits = across.Across(kbs).search(args.query, k=_k(args.k) or 5, speaker=args.speaker, document=args.document, section=args.section, mode=args.mode)
        if args.json:
            print(json.dumps({"query": args.query, "events": [e for e, _ in kbs], "results": [h.to_json() for h in hits]}, ensure_ascii=False))
        else:
            _print_hits(hits, events=[h.passage.event for h in hits])
        return 0
    found = across.quotes(kbs, args.speaker, args.query, _k(args.k))
    if args.json:
        print(json.dumps({"speaker": args.speaker, "events": [{"event": e, "speaker": person["name"], "quotes": [h.to_json() for h in hits]}
                                                               for e, person, hits in found]}, ensure_ascii=False))
        return 0
    for event_id, person, hits in found:
        print(f"## {event_id}: {person['name']} ({person['role']}, {person['organisation']}), {len(hits)} passage(s)\n")
        _print_hits(hits, show_speaker=False)
    return 0


def _events(args: argparse.Namespace, base: Path) -> int:
    from kb import series

    found = [e.summary() for e in series.events(base)]
    if args.json:
        print(json.dumps({"events": found}, ensure_ascii=False))
    elif not found:
        print(f"No event in {base} yet: `eventkb ingest FOLDER` adds one.")
    for e in [] if args.json else found:
        print(f"{e['id']}: {e['title'] or '(no title)'}{', ' + e['date'] if e['date'] else ''} — {e['documents']} documents, "
              f"{e['people']} people, {e['passages']} passages, {e['answers']} answers ({e['wh']:.4f} Wh)")
    return 0


def _init(args: argparse.Namespace) -> int:
    from ingest.draft import write_draft

    path, text, failures = write_draft(args.folder)
    if args.json:
        print(json.dumps({"manifest": str(path), "text": text, "failures": failures}, ensure_ascii=False))
    else:
        people = text.count("[[people]]")
        print(f"Wrote {path}: {people} people, {text.count('[[documents]]')} documents. Check it (names, roles, title, date), "
              f"then run: eventkb ingest --rebuild {args.folder}")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _serve(args: argparse.Namespace, home: Path, event: str | None) -> int:
    """Serve every event of `home`, `event` (else its first) at / and each at /e/<id>/."""
    import ipaddress

    from kb.answer import warm_up_question
    from webapp import LOOPBACK_NAMES, create_app
    from webapp.serve import serve

    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback and not args.public:
        raise EventKBError(f"{args.host} is not this machine only: add --public to serve the app on that address.")
    wildcard = args.host in {"0.0.0.0", "::", ""}
    if wildcard and not args.allow_host:
        raise EventKBError(f"{args.host or 'every address'} has no name of its own: add --allow-host NAME for each name or address people will open the app by.")
    if not loopback:
        print(f"warning: serving on {args.host}: anyone who can reach this machine can use the app.", file=sys.stderr)
    allowed = [*LOOPBACK_NAMES, *([] if wildcard else [args.host]), *args.allow_host]
    config = {"KB_HOME": str(home), "EVENT": event, "MODEL": args.model, "BACKEND_URL": args.backend, "ALLOWED_HOSTS": allowed,
              "FOLLOWUP": args.followup}

    def warm_app():
        app = create_app(config)
        engines = app.extensions["eventkb"]
        # Fail now, in one sentence, rather than on the first request; and warm up the embedder and
        # llama.cpp's prompt cache so that the first attendee does not wait for them (not logged).
        engines.kb.search("warm up", k=1)
        engines.answerer(logged=False).ask(warm_up_question(engines.kb.event))
        return app

    if args.workers > 1:
        from webapp.serve import serve_workers

        if not (args.backend or os.environ.get("EVENTKB_BACKEND_URL")):
            print(f"warning: each of the {args.workers} workers loads its own model; with --backend they share one model server.", file=sys.stderr)
        checked = create_app(config)
        checked.extensions["eventkb"].kb  # one sentence now if the knowledge base cannot be opened; models load in the workers
        print(f"eventkb is serving {home} at http://{args.host}:{args.port} with {args.workers} workers  (Ctrl-C to stop)", flush=True)
        _print_events(checked, f"http://{args.host}:{args.port}")
        serve_workers(warm_app, args.host, args.port, args.workers)
        return 0
    print("Loading the knowledge base and the models ...", flush=True)
    app = warm_app()
    print(f"eventkb is serving {home} at http://{args.host}:{args.port}  (Ctrl-C to stop)", flush=True)
    _print_events(app, f"http://{args.host}:{args.port}")
    serve(app, args.host, args.port)
    return 0


def _print_events(app, url: str) -> None:
    """Where each event is, when the app serves several."""
    found = app.extensions["eventkb"].events()
    if len(found) > 1:
        shown = app.extensions["eventkb"].event().id
        print(f"  {shown} at {url}/; all {len(found)} events at {url}/events, asked together at {url}/e/all/", flush=True)


def _ask(args: argparse.Namespace, kb, home: Path) -> int:
    """Answer one question (of one event, or of several: `kb` an `Across`), its audit record kept in `home`."""
    from kb import audit
    from kb.answer import Answerer
    from kb.energy import choose_meter
    from kb.generator import load_generator

    answerer = Answerer(kb, load_generator(args.model, args.backend), choose_meter(), audit.connect(home), cache=not args.no_cache,
                        **({"followup": args.followup} if args.followup else {}))
    record = None
    shown = False
    for event in answerer.stream(args.question, conversation=args.conversation):
        if event["type"] == "sentence" and not args.json:  # each sentence once it has passed its check
            print(("" if not shown else " ") + event["text"], end="", flush=True)
            shown = True
        elif event["type"] == "answer" and not args.json and not shown:
            print(event["text"], end="", flush=True)
        elif event["type"] == "record":
            record = event["record"]
    assert record is not None
    if args.json:
        print(json.dumps(record, ensure_ascii=False))
        return 0
    print("\n")
    _print_record(record)
    print(f"Conversation: {record['conversation']} (a follow-up: eventkb ask --conversation {record['conversation']} \"...\")")
    return 0


def _print_record(record: dict) -> None:
    if record.get("searched") and record["searched"] != record["question"]:
        print(f"(searched as: {record['searched']})")
    if record.get("cached"):
        print(f"(asked before: answer {record['cached_from']} served again, which used {record['original_energy']['wh']:.4f} Wh; "
              "--no-cache generates a new one)")
    if record["abstained"]:
        print(f"(abstained: {record['abstain_reason']})")
    else:
        print(f"Checked answer: {record['answer']}")
        for s in record["sentences"]:
            if not s["supported"]:
                print(f"  left out, unsupported: {s['text']} ({'; '.join(s['problems'])})")
    for c in record["citations"]:
        where = f"p.{c['page']} " if c["page"] else ""
        where += f"l.{c['lines'][0]}-{c['lines'][1]}" if c["lines"] else ""
        who = f" — {c['speaker']}" if c["speaker"] else ""
        print(f"[{c['n']}] {c['event'] + ' · ' if c.get('event') else ''}{c['document']} {where}{who}")
        print(textwrap.indent(textwrap.fill(" ".join(c["text"].split()), 100), "    "))
    e, t = record["energy"], record["timings"]
    print(f"\n{record['model']['name']}: {record['tokens']['prompt']} prompt + {record['tokens']['completion']} completion tokens; "
          f"first checked text {t['first_shown_ms'] / 1000:.1f} s, total {t['total_ms'] / 1000:.1f} s")
    ratio = next((c["ratio"] for c in e["comparisons"] if c["label"] == "ChatGPT request"), None)
    print(f"Energy ({e['method']}): {e['wh']:.4f} Wh (range {e['wh_low']:.4f}-{e['wh_high']:.4f}), {e['gco2e']:.4f} gCO2e"
          + (f"; a ChatGPT request (2.9 Wh, IEA 2024) uses {ratio:g} times more" if ratio else ""))
    print(f"Audit id: {record['id']}")


def _audit_commands(args: argparse.Namespace, home: Path) -> int:
    from kb import audit
    from kb.energy import REFERENCES

    conn = audit.connect(home)
    if args.command == "audit" and args.csv:
        sys.stdout.write(audit.to_csv(audit.export(conn)))
    elif args.command == "audit" and args.id:
        record = audit.get(conn, args.id)
        if args.json:
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(f"{record['created']}  {record['question']}\n")
            _print_record(record)
            fb = record["feedback"]
            if fb["up"] or fb["down"]:
                print(f"Feedback: {fb['up']} up, {fb['down']} down" + "".join(f"\n  {c['rating']}: {c['comment']}" for c in fb["comments"]))
    elif args.command == "audit":
        rows = audit.listing(conn, limit=_k(args.limit) or 50)
        if args.json:
            print(json.dumps({"answers": rows}, ensure_ascii=False))
        elif not rows:
            print("No answer stored yet: ask one with `eventkb ask QUESTION`.")
        else:
            for r in rows:
                flag = (" (abstained)" if r["abstained"] else "") + (f" (repeats {r['cached_from']})" if r["cached_from"] else "")
                print(f"{r['id']}  {r['wh']:.4f} Wh {r['energy_method']}  {r['question']}{flag}")
    else:
        summary = audit.energy_summary(conn)
        refs = [{"label": label, "wh": wh, "source": source} for label, wh, source in REFERENCES]
        if args.json:
            print(json.dumps({"methods": summary, "references": refs}, ensure_ascii=False))
        else:
            if not summary:
                print("No answer stored yet: ask one with `eventkb ask QUESTION`.")
            for m in summary:
                kind = "answer(s) served from the cache" if m["cached"] else "answer(s)"
                print(f"{m['method']}: {m['answers']} {kind}, {m['total_wh']:.4f} Wh in all, {m['mean_wh']:.4f} Wh per answer")
            for r in refs:
                print(f"  reference: {r['label']} {r['wh']} Wh ({r['source']})")
    conn.close()
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
    except OSError as exc:  # a full disk, a file too large, no permission
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}: check the free disk space and the permissions; nothing was half-written.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; the previous knowledge base is unchanged.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
