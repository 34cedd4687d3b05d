#!/bin/bash
# Makes the xgrammar venv (torch CPU wheel first, so pip does not pull a CUDA build) and runs the fixture generator.
# Usage: tools/gen-grammar-fixtures.sh [--bench] [...]   (from the repository root)
set -euo pipefail
cache=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
venv=$cache/venv-grammar
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "torch==2.13.0+cpu" xgrammar==0.2.9 gguf numpy
fi
./tools/fetch-llama-cpp-source.sh >/dev/null
exec "$venv/bin/python" tools/gen-grammar-fixtures.py "$@"
