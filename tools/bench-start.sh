#!/usr/bin/env bash
# Start to the first /health 200 (issue 22), ours and llama.cpp's server in turn on the same GGUF, the file in the page
# cache, GAP seconds of idleness before each start (10 by default: on a VM that hands free memory back to its host,
# memory left idle for a few seconds is slow to fault in again, and a server started after a pause meets it).
#   ./tools/bench-start.sh [FILE] [ROUNDS]      (VLLM_BIN, LLAMA_SERVER, GAP override)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
MODEL=${1:-$CACHE/models/Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf}
ROUNDS=${2:-3}
VLLM_BIN=${VLLM_BIN:-.build/release/vllm}
LLAMA_SERVER=${LLAMA_SERVER:-$CACHE/llama-cpp-build/bin/llama-server}
PORT=${PORT:-8123}
cat "$MODEL" >/dev/null
measure() {
    local t0 t1 pid
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 &
    pid=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$PORT/health"; do
        kill -0 "$pid" 2>/dev/null || { echo "failed to start: $*" >&2; exit 1; }
        sleep 0.02
    done
    t1=$(date +%s.%N)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "$t1 - $t0" | bc | awk '{printf "%.2f", $1}'
}
echo "| round | swift-vllm (s) | llama-server (s) |"
echo "|---:|---:|---:|"
for round in $(seq "$ROUNDS"); do
    sleep "${GAP:-10}"; ours=$(measure "$VLLM_BIN" serve "$MODEL" --threads 2 --port "$PORT")
    sleep "${GAP:-10}"; llama=$(measure "$LLAMA_SERVER" -m "$MODEL" -np 32 -t 2 -c 32768 --cache-ram 0 --port "$PORT")
    echo "| $round | $ours | $llama |"
done
