#!/usr/bin/env bash
# llama.cpp's own speed on every file of the quant matrix and on both Qwen2.5-Coder Q4_K_M files: llama-bench
# (built by tools/make-quant-matrix.sh, native CPU flags) -t 2 -p 512 -n 128, REPS repetitions (default 2), one
# markdown table per file on stdout. The 1.5B is included when it has been fetched (tools/fetch-qwen.sh 1.5b).
#   ./tools/bench-llama-matrix.sh > bench-llama-raw.txt
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
mapfile -t MATRIX < <(./tools/make-quant-matrix.sh)
FILES=("$(./tools/fetch-qwen.sh 0.5b)")
[ -s "$CACHE/models/Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf" ] && FILES+=("$CACHE/models/Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf")
FILES+=("${MATRIX[@]}")
for f in "${FILES[@]}"; do
  echo "== $(basename "$f") ($(stat -c %s "$f") bytes; $(python3 tools/gguf-check.py "$f"))"
  "$CACHE/llama-cpp-build/bin/llama-bench" -m "$f" -t 2 -p 512 -n 128 -r "${REPS:-2}"
done
