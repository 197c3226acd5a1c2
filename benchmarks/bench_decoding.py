"""llama.cpp's decoding options on the prompts eventkb sends: plain greedy, prompt lookup decoding, flash attention.

Usage: .venv/bin/python benchmarks/bench_decoding.py [--kb DIR] [--n 12] [--lookup 2,4,8]
Captures the prompts of `n` answerable questions of the answer set as the pipeline sends them, then answers each
with bare llama-cpp-python under each option, loaded one after the other in this process, and prints time to first
token, full answer, generation speed, and how many replies are identical to plain greedy decoding's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ingest  # noqa: E402
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_answer import capture_prompts  # noqa: E402
from kb.answer import MAX_TOKENS, Answerer  # noqa: E402
from kb.embedder import embedder_name, load_embedder  # noqa: E402
from kb.energy import choose_meter  # noqa: E402
from kb.evaluate import ANSWER_SET, load_set  # noqa: E402
from kb.generator import N_CTX, load_generator  # noqa: E402
from kb.knowledge import KnowledgeBase  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402


def prompts(kb: KnowledgeBase, n: int) -> tuple[list[list[dict]], str, int]:
    """The messages the pipeline sends for `n` answerable questions spread over the answer set, the model's path and threads."""
    generator = load_generator("default")
    sent = capture_prompts(generator)
    answerer = Answerer(kb, generator, choose_meter(), cache=False)
    questions = [q for q in load_set(ANSWER_SET)["questions"] if q["answerable"]]
    for q in questions[:: max(1, len(questions) // n)][:n]:
        answerer.ask(q["question"])
    del generator.stream  # the capture refers back to the generator: without it, the model is freed before the next one loads
    return sent, generator.llm.model_path, generator.threads


def replies(llm, sent: list[list[dict]]) -> tuple[list[tuple[float, float, int]], list[str]]:
    """(first token s, full answer s, pieces) and the text of each reply, after one unmeasured warm-up answer."""
    list(llm.create_chat_completion(sent[0], stream=True, temperature=0.0, max_tokens=MAX_TOKENS))
    rows, texts = [], []
    for messages in sent:
        t0, first, text, n = time.perf_counter(), None, "", 0
        for chunk in llm.create_chat_completion(messages, stream=True, temperature=0.0, max_tokens=MAX_TOKENS):
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                first, text, n = first or time.perf_counter() - t0, text + piece, n + 1
        rows.append((first or 0.0, time.perf_counter() - t0, n))
        texts.append(text)
    return rows, texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "var" / "eval-kb")
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "reports")
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--lookup", default="2,4,8", help="prompt lookup decoding's tokens drafted per step, one run each")
    args = parser.parse_args()
    from llama_cpp import Llama
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    ingest([BUNDLED_EVENT, *sorted(args.reports.glob("*.pdf"))], args.kb, embedder_name(), load_embedder, log=lambda m: None)
    sent, path, threads = prompts(KnowledgeBase.open(args.kb), args.n)
    options = {"plain greedy": {}, "flash attention": {"flash_attn": True}}
    for n in (int(x) for x in args.lookup.split(",") if x):  # drafting needs the logits of every token
        options[f"prompt lookup, {n} drafted"] = {"logits_all": True, "draft_model": LlamaPromptLookupDecoding(num_pred_tokens=n)}
    print(f"{len(sent)} prompts, {threads} threads")
    base: list[str] = []
    for label, extra in options.items():
        llm = Llama(model_path=path, n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads, verbose=False, **extra)
        rows, texts = replies(llm, sent)
        base = base or texts
        speed = statistics.median((n - 1) / (total - first) for first, total, n in rows if n > 1 and total > first)
        print(f"{label:26} first token p50 {statistics.median(r[0] for r in rows):5.2f} s  full answer p50 "
              f"{statistics.median(r[1] for r in rows):5.2f} s  all {sum(r[1] for r in rows):6.1f} s  {speed:5.1f} tokens/s  "
              f"same reply as plain {sum(a == b for a, b in zip(base, texts))}/{len(texts)}", flush=True)
        del llm
    return 0


if __name__ == "__main__":
    sys.exit(main())
