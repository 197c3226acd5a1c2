"""Side by side, one run, same machine and questions: eventkb against LlamaIndex's default RAG pipeline and bare llama-cpp-python.

LlamaIndex gets the same GGUF (with the ChatML template Qwen2.5 expects), the same MiniLM files and the same
extracted text (pages of the reports, the summary), and its defaults otherwise: SentenceSplitter chunks,
VectorStoreIndex, as_query_engine() with top-2 retrieval and its compact answer prompt. Nothing is downloaded.

Usage: .venv/bin/pip install -r benchmarks/requirements-compare.txt
       .venv/bin/python benchmarks/compare_llamaindex.py [--n 20] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_answer import bare  # noqa: E402
from ingest.pdf import load_pdf  # noqa: E402
from ingest.pipeline import ingest  # noqa: E402
from ingest.text import load_text  # noqa: E402
from kb import models  # noqa: E402
from kb.answer import Answerer  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.energy import choose_meter  # noqa: E402
from kb.evaluate import ANSWER_SET, holds, load_set, score_answer, subset, summarise_answers  # noqa: E402
from kb.generator import cpu_count, load_generator  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from kb.language import detect  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402

# How LlamaIndex's answers say the context does not hold the answer (its prompt asks for no prior knowledge).
REFUSALS = re.compile(
    r"(not (provided|mentioned|specified|available|stated|given)|does not (provide|mention|specify|contain|say)|no (information|mention)|"
    r"cannot (be )?(determine|answer|found)|n'est pas (mentionn|précis|indiqu|fourni)|ne (mentionne|précise|fournit|donne|contient) pas|"
    r"pas d'information|aucune information|context (does not|doesn't))", re.I)


def chatml(messages) -> str:
    parts = [f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>" for m in messages]
    return "\n".join(parts) + "\n<|im_start|>assistant\n"


def chatml_completion(prompt: str) -> str:
    return f"<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def measured(call):
    """`call()`'s result, with the wall-clock seconds and CPU-seconds it took."""
    c0, t0 = cpu(), time.perf_counter()
    result = call()
    return result, time.perf_counter() - t0, cpu() - c0


def eventkb_embedding(embedder):
    """eventkb's own embedder as a LlamaIndex embedding model, so that both stacks read the same model files."""
    from llama_index.core.embeddings import BaseEmbedding

    class EventkbEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.query(query).tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.passages(texts).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return EventkbEmbedding(model_name=embedder_name(), embed_batch_size=16)


def llamaindex_engine(sources: list[Path], gguf: Path, embed_model=None, repack: bool | None = None):
    """LlamaIndex's default query engine over `sources` (MiniLM through Hugging Face unless `embed_model`), the model
    loaded with llama.cpp's weight repacking as eventkb loads it (`repack`, default: eventkb's default)."""
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.llms.llama_cpp import LlamaCPP

    from kb.generator import repack_wanted, repacking

    if embed_model is None:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        embed_model = HuggingFaceEmbedding(model_name=str(models.minilm_path()), device="cpu")
    Settings.embed_model = embed_model
    with repacking(repack_wanted() if repack is None else repack):
        Settings.llm = LlamaCPP(model_path=str(gguf), temperature=0.0, max_new_tokens=120, context_window=4096,
                                model_kwargs={"n_threads": cpu_count(), "n_threads_batch": cpu_count()},
                                messages_to_prompt=chatml, completion_to_prompt=chatml_completion, verbose=False)
    docs = []
    for path in sources:
        loaded = load_pdf(path) if path.suffix == ".pdf" else load_text(path)
        for page in loaded.pages:
            text = "\n".join(line.text for line in page.lines)
            if text.strip():
                docs.append(Document(text=text, metadata={"file": path.name, "page": page.number}))
    t0 = time.perf_counter()
    index = VectorStoreIndex.from_documents(docs)
    return index.as_query_engine(), time.perf_counter() - t0


def score_llamaindex(question: dict, text: str, nodes: list[str]) -> dict:
    facts = question.get("facts", [])
    abstained = bool(REFUSALS.search(text)) or not text.strip()
    good = sum(any(holds(n, alts) for alts in facts) or any(_norm_in(n, s) for _, s in question.get("expect", [])) for n in nodes)
    return {"answerable": question["answerable"], "abstained": abstained, "lang": question["lang"],
            "facts_ok": (not abstained) and question["answerable"] and all(holds(text, alts) for alts in facts),
            "citations": len(nodes), "good_citations": good,
            "language_ok": detect(text, default=question["lang"]) == question["lang"] if not abstained else None}


def llamaindex_rows(sources: list[Path], embedder, questions: list[dict], log) -> tuple[list[dict], float]:
    """LlamaIndex's default RAG on `sources` with the default GGUF and eventkb's embedder: one scored row per question
    (with its wall time, CPU time and estimated energy, measured like eventkb's), and the index build time."""
    from kb.energy import estimate_meter

    engine, index_s = llamaindex_engine(sources, models.generator_path("generator"), eventkb_embedding(embedder))
    engine.query(questions[0]["question"])  # warm, as eventkb's designs are
    meter, rows = estimate_meter(), []
    for q in questions:
        read = meter.start()
        response, seconds, cpu_seconds = measured(lambda: engine.query(q["question"]))
        text = str(response)
        row = score_llamaindex(q, text, [n.node.get_content() for n in response.source_nodes])
        rows.append(dict(row, id=q["id"], answer=text, mode="abstained" if row["abstained"] else "generated", tokens={"completion": 1},
                         first_token_ms=None, first_shown_ms=None, total_ms=seconds * 1000, cpu_seconds=cpu_seconds, wh=read().wh))
        log(f"    {'abst' if row['abstained'] else ('ok  ' if row['facts_ok'] else 'miss')} {q['id']} [llamaindex]: {' '.join(text.split())[:110]}")
    return rows, index_s


def _norm_in(text: str, snippet: str) -> bool:
    from kb.evaluate import _norm

    return _norm(snippet) in _norm(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "var" / "eval-kb")
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "reports")
    parser.add_argument("--n", type=int, default=20, help="questions, spread over eval/answers.toml (default 20)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reports = sorted(args.reports.glob("*.pdf"))
    sources = [BUNDLED_EVENT / "panel-summary-2024-03-18.txt", *reports]
    ingest([BUNDLED_EVENT, *reports], args.kb, embedder_name(), load_embedder, log=lambda m: None, rebuild=True)
    questions = subset(load_set(ANSWER_SET)["questions"], args.n)

    kb = KnowledgeBase.open(args.kb)
    generator = load_generator("default")
    ours = Answerer(kb, generator, choose_meter())
    kb.search("warm up", k=1)
    ours.ask("Qui a modéré le panel ?")
    sent = []
    original = generator.stream
    generator.stream = lambda messages, max_tokens, usage: (sent.append(messages), original(messages, max_tokens, usage))[1]
    our_rows, our_time, our_cpu = [], [], []
    for q in questions:
        record, seconds, cpu_seconds = measured(lambda: ours.ask(q["question"]))
        our_time.append(seconds)
        our_cpu.append(cpu_seconds)
        our_rows.append(score_answer(q, record))

    bare_time, bare_cpu = [], []
    for messages in sent:
        _, seconds, cpu_seconds = measured(lambda: bare(generator.llm, messages))
        bare_time.append(seconds)
        bare_cpu.append(cpu_seconds)

    engine, index_s = llamaindex_engine(sources, models.generator_path("generator"))
    engine.query("Qui a modéré le panel ?")
    li_rows, li_time, li_cpu = [], [], []
    for q in questions:
        response, seconds, cpu_seconds = measured(lambda: engine.query(q["question"]))
        li_time.append(seconds)
        li_cpu.append(cpu_seconds)
        li_rows.append(score_llamaindex(q, str(response), [n.node.get_content() for n in response.source_nodes]))
        if not args.json:
            print(f"  llamaindex {q['id']}: {str(response)[:100]!r}", file=sys.stderr)

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 2) if values else 0.0

    result = {
        "questions": len(questions), "machine": f"{os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d"),
        "eventkb": dict(summarise_answers(our_rows), seconds_median=med(our_time), cpu_seconds_median=med(our_cpu)),
        "llamaindex": dict(summarise_answers([dict(r, answer="") for r in li_rows]), seconds_median=med(li_time), cpu_seconds_median=med(li_cpu), index_build_s=round(index_s, 1)),
        "bare_llama_cpp": {"prompts": len(sent), "seconds_median": med(bare_time), "cpu_seconds_median": med(bare_cpu)},
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{len(questions)} questions, {result['machine']}, {result['date']}")
    keys = ["key_fact_accuracy", "citation_precision", "abstention_accuracy", "abstention_recall", "language_match", "seconds_median", "cpu_seconds_median"]
    print(f"{'':24} {'eventkb':>10} {'llamaindex':>11}")
    for key in keys:
        print(f"{key:24} {str(result['eventkb'].get(key)):>10} {str(result['llamaindex'].get(key)):>11}")
    print(f"bare llama-cpp-python on eventkb's {len(sent)} prompts: {result['bare_llama_cpp']['seconds_median']} s, "
          f"{result['bare_llama_cpp']['cpu_seconds_median']} CPU-s per answer (median)")
    print(f"LlamaIndex index build: {result['llamaindex']['index_build_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
