#!/usr/bin/env bash
# The engine, scheduler and thread pool tests under AddressSanitizer and ThreadSanitizer (debug builds, each in its
# own scratch path so neither invalidates the normal build):
#   tools/sanitize.sh [address|thread ...]      (default: both)
# Too slow for tools/test.sh (two extra builds of the package); the last result is in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
SANITIZERS=("$@")
[ ${#SANITIZERS[@]} -gt 0 ] || SANITIZERS=(address thread)
# The engine suites on the tiny synthetic model, the scheduler, block pool and sampling, and the thread pool. The
# suites on the real 135M model (AsyncEngineTests, BatchInvarianceTests, SamplingEngineTests, KVCacheUsageTests) take
# far longer in a sanitized debug build: SANITIZE_FILTER=VLLMEngineTests runs them all.
FILTER=${SANITIZE_FILTER:-'FakeModelEngineTests|SchedulerTests|BlockPoolTests|PreemptionTests|EngineInvariantTests|KVCacheStartupTests|CacheSaltTests|EngineOptionsTests|VLLMEngineTests.SamplingTests|ChatTests|ElementwiseTests/threadPool|PackedArenaTests'}
EXTRA=()
[ "${SANITIZE_SKIP_BUILD:-}" = 1 ] && EXTRA=(--skip-build)
export SWIFT_BACKTRACE=enable=no
status=0
for s in "${SANITIZERS[@]}"; do
    case $s in address) scratch=.build-asan ;; thread) scratch=.build-tsan ;; *) echo "unknown sanitizer $s"; exit 2 ;; esac
    log=$scratch/sanitize.log
    mkdir -p "$scratch"
    echo "== --sanitize=$s (filter: $FILTER)"
    start=$(date +%s)
    if ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/tools/lsan-suppressions.txt TSAN_OPTIONS=halt_on_error=0 \
        nice -n 10 swift test --scratch-path "$scratch" --sanitize="$s" --filter "$FILTER" "${EXTRA[@]}" >"$log" 2>&1; then
        result=pass
    else
        result=FAIL; status=1
    fi
    echo "$result in $(( $(date +%s) - start )) s; $(grep -E "Test run with|Executed .* tests" "$log" | tail -n 1)"
    grep -E "ERROR: (Address|Thread|Leak)Sanitizer|WARNING: ThreadSanitizer|SUMMARY:" "$log" | sort | uniq -c | head -n 20 || true
    echo "log: $log"
done
exit $status
