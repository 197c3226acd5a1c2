"""Model load time, prompt processing and generation speed of the installed llama.cpp build, with the instruction
sets it uses, with llama.cpp's weight repacking on and off side by side.

Usage: .venv/bin/python benchmarks/bench_llama_build.py [--model PATH] [--runs 4]
Prompt processing sets the time to first token on a CPU; run this once per build (AVX2 only, AVX-512)
to see what the build flags in scripts/setup.sh, and repacking, are worth on this machine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.generator import _llama, cpu_count, default_repack  # noqa: E402
from kb.models import generator_path  # noqa: E402
from kb.paths import BUNDLED_EVENT  # noqa: E402

PROMPT_WORDS = 200  # about the sources and question an answer sends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: the default answer model)")
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()

    import llama_cpp

    path = args.model or generator_path("generator")
    threads = cpu_count()
    cpu = next((line for line in llama_cpp.llama_print_system_info().decode().split("|") if "AVX512 =" in line), "AVX512 = 0")
    variant = Path(sys.prefix) / ".llama-cpp-variant"  # written by scripts/setup.sh
    print(f"llama-cpp-python {llama_cpp.__version__}, {threads} threads, {cpu.strip()}; repacking by default: {default_repack()}")
    if variant.exists():
        print(f"build: {variant.read_text().strip()}")
    text = " ".join(next(BUNDLED_EVENT.glob("*.txt")).read_text(encoding="utf-8").split())
    words = text.split()
    for repack in (True, False):
        start = time.perf_counter()
        llm = _llama(path, threads, repack)
        load = time.perf_counter() - start
        prompt_speed, generation_speed = [], []
        for run in range(args.runs):
            chunk = " ".join(words[run * 300 : run * 300 + PROMPT_WORDS])
            tokens = llm.tokenize(chunk.encode("utf-8"))
            llm.reset()
            start = time.perf_counter()
            llm.eval(tokens)
            prompt_speed.append(len(tokens) / (time.perf_counter() - start))
            start = time.perf_counter()  # the prompt is now cached: this is mostly generation
            out = llm.create_completion(chunk, max_tokens=32, temperature=0.0)
            generation_speed.append(out["usage"]["completion_tokens"] / (time.perf_counter() - start))
        print(f"repack {'on ' if repack else 'off'}: load {load:.2f} s; prompt processing median {statistics.median(prompt_speed):.1f} tokens/s "
              f"({', '.join(f'{s:.1f}' for s in prompt_speed)}); generation median {statistics.median(generation_speed):.1f} tokens/s "
              f"({', '.join(f'{s:.1f}' for s in generation_speed)})")
        llm.close()


if __name__ == "__main__":
    main()
