#!/usr/bin/env bash
# The whole test suite: fetches what the tests read (the default model, the llama.cpp source archive with
# its vocab GGUFs and chat templates), then runs every Swift test in release mode (model-level tests are
# numeric and far too slow in debug). Extra arguments go to `swift test` (CI adds -Xswiftc -warnings-as-errors).
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/fetch-model.sh >/dev/null
./tools/fetch-llama-cpp-source.sh >/dev/null
./tools/fetch-tokenizer-references.sh >/dev/null
exec swift test -c release "$@"
