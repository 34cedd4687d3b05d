#!/usr/bin/env bash
# The whole test suite: fetches what the tests read (the default model, Gemma 3 270M, the llama.cpp source archive with its
# vocab GGUFs and chat templates, real tokenizer.json files, Qwen2.5-Coder-0.5B and the quant matrix llama.cpp's
# llama-quantize makes from it, all-MiniLM-L6-v2 for the embedding tests: about 20 minutes the first time on a machine, mostly building llama.cpp, then
# cached; SWIFT_VLLM_TEST_1_5B=1 also fetches the 1.5B and runs its fidelity test), runs every Swift test in release
# mode (model-level tests are numeric and far too slow in debug), then the end-to-end server tests: pytest with the
# official `openai` client against the real `vllm serve` (tests/e2e). Extra arguments go to swift (CI adds
# -Xswiftc -warnings-as-errors).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
./tools/fetch-model.sh >/dev/null
./tools/fetch-model.sh gemma3-270m >/dev/null
./tools/fetch-llama-cpp-source.sh >/dev/null
./tools/fetch-tokenizer-references.sh >/dev/null
./tools/make-quant-matrix.sh >/dev/null
./tools/fetch-minilm.sh >/dev/null
if [ "${SWIFT_VLLM_TEST_1_5B:-}" = 1 ]; then ./tools/fetch-qwen.sh 1.5b >/dev/null; fi
# Every temporary file and folder the tests make (GGUF files written byte by byte, copied model folders, templates,
# servers' scratch) goes under one folder that the run removes when it ends, passed or failed: hundreds of them
# were left in /tmp by every run.
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/swift-vllm-tests.XXXXXX")
trap 'rm -rf "$TEST_TMP"' EXIT
export TMPDIR="$TEST_TMP"
swift test -c release "$@"
# `swift test` builds every product, the `vllm` binary the e2e tests run included (with testability: same code, same
# speed for these tests); building it again without testability recompiled the whole package (~400 s on 2 cores).
[ -x .build/release/vllm ] && [ .build/release/vllm -nt Package.swift ] || swift build -c release --product vllm "$@"
# Every parser of untrusted bytes under libFuzzer + AddressSanitizer, briefly (the README has the longer command).
FUZZ_SECONDS=${SWIFT_VLLM_FUZZ_SECONDS:-20}
if [ "$FUZZ_SECONDS" != 0 ]; then ./tools/fuzz.sh "$FUZZ_SECONDS"; fi
VENV="$CACHE/venv-e2e"
[ -x "$VENV/bin/pytest" ] || python3 -m venv "$VENV"
# The e2e suite's references: the openai client, kubernetes-validate for deploy/, vllm-router for replicas behind it,
# pyzmq and msgspec to read KV events as vLLM's subscribers do, jsonschema to check structured outputs,
# prometheus_client to parse /metrics.
[ -x "$VENV/bin/vllm-router" ] && [ -x "$VENV/bin/kubernetes-validate" ] && [ -x "$VENV/bin/hf" ] \
    && "$VENV/bin/python" -c "import selenium, zmq, msgspec, jsonschema, prometheus_client" 2>/dev/null \
    || "$VENV/bin/pip" install -q pytest openai requests kubernetes-validate vllm-router huggingface_hub selenium pyzmq msgspec jsonschema prometheus_client
# The tensor-parallel tests' MPI backend: Open MPI's mpirun and libmpi (loaded at run time, never linked).
command -v mpirun >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openmpi-bin libopenmpi3; } >/dev/null
# The chat page's browser test: Debian's chromium and its driver.
command -v chromedriver >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; } >/dev/null
# The RAG example's test (tests/e2e/test_rag_example.py) runs LangChain's OpenAI classes.
"$VENV/bin/python" -c 'import langchain_openai' 2>/dev/null || "$VENV/bin/pip" install -q langchain-openai
"$VENV/bin/pytest" -q tests/e2e
