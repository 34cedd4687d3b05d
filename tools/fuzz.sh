#!/usr/bin/env bash
# Fuzzes every parser of untrusted bytes (GGUF, safetensors and its index, config.json, tokenizer.json, chat
# templates, request bodies) with libFuzzer and AddressSanitizer for SECONDS each (default 30).
#   tools/fuzz.sh [SECONDS] [HARNESS...]
# Builds `vllm-fuzz` with -sanitize=fuzzer,address -DFUZZING in its own scratch path (.build-fuzz), so the normal
# release build is never invalidated. Seeds come from small real files (tools/fuzz-seeds.py); the corpus grows in
# .build-fuzz/corpus/<harness> across runs. Fails on any crash, sanitizer report, leak, timeout (10 s an input) or
# input using more than 2 GB; the crashing input is kept in .build-fuzz/crashes/<harness>/. To make it a
# regression test, fix the parser and copy the input to Tests/Fixtures/fuzz-regressions/<harness>/ (replayed by
# FuzzRegressionTests through a normal build of vllm-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-30}
shift || true
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(gguf safetensors safetensors-index config tokenizer template request)
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
SCRATCH=.build-fuzz
# lld: gold fails on the fuzzer runtime's objects ("internal error in format_file_lineno").
start=$(date +%s)
nice -n 10 swift build -c release --scratch-path "$SCRATCH" --product vllm-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld 2>&1 \
    | grep -v "Cannot export local symbol" | tail -n 3
echo "fuzz build: $(( $(date +%s) - start )) s"
BIN=$SCRATCH/release/vllm-fuzz
python3 tools/fuzz-seeds.py "$SCRATCH/seeds" "$CACHE"
failed=()
for h in "${HARNESSES[@]}"; do
    mkdir -p "$SCRATCH/corpus/$h" "$SCRATCH/crashes/$h"
    log="$SCRATCH/crashes/$h.log"
    echo "== $h: ${SECONDS_EACH}s"
    # The Swift runtime's backtracer would take over the trap (and outlive the process): libFuzzer reports it.
    if SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 nice -n 10 "$BIN" "$h" \
        -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$SCRATCH/crashes/$h/" \
        "$SCRATCH/corpus/$h" "$SCRATCH/seeds/$h" >"$log" 2>&1; then
        grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$log" | tr '\n' ' '; echo
    else
        echo "FAILED: $h (log: $log)"; grep -E "ERROR|SUMMARY|Fatal error|Test unit written" "$log" | head -n 8
        failed+=("$h")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failures in ${failed[*]}; inputs under $SCRATCH/crashes/<harness>/ (replay: swift run vllm-fuzz HARNESS FILE)"
    exit 1
fi
echo "fuzz: ${#HARNESSES[@]} harnesses, ${SECONDS_EACH}s each, no crash"
