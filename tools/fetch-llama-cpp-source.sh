#!/usr/bin/env bash
# Fetches the source archive of llama-cpp-python==0.3.36 (it vendors llama.cpp: reference implementation,
# tokenizer-only vocab GGUFs with .inp/.out cases, real chat templates) and prints the llama.cpp folder.
set -euo pipefail
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
DIR=$CACHE/llama_cpp_python-0.3.36
if [ ! -d "$DIR/vendor/llama.cpp/models" ]; then
  mkdir -p "$CACHE/downloads"
  python3 -m pip download -q --no-deps --no-binary llama-cpp-python -d "$CACHE/downloads" llama-cpp-python==0.3.36 >&2
  tar -xzf "$CACHE/downloads/llama_cpp_python-0.3.36.tar.gz" -C "$CACHE"
fi
echo "$DIR/vendor/llama.cpp"
