#!/usr/bin/env bash
# The whole test suite: fetches what the tests read (the default model, the llama.cpp source archive with its
# vocab GGUFs and chat templates, real tokenizer.json files), runs every Swift test in release mode (model-level
# tests are numeric and far too slow in debug), then the end-to-end server tests: pytest with the official
# `openai` client against the real `vllm serve` (tests/e2e). Extra arguments go to swift (CI adds
# -Xswiftc -warnings-as-errors).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
./tools/fetch-model.sh >/dev/null
./tools/fetch-llama-cpp-source.sh >/dev/null
./tools/fetch-tokenizer-references.sh >/dev/null
swift test -c release "$@"
swift build -c release --product vllm "$@"
VENV="$CACHE/venv-e2e"
[ -x "$VENV/bin/pytest" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q pytest openai requests; }
"$VENV/bin/pytest" -q tests/e2e
