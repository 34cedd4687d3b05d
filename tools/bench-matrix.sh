#!/usr/bin/env bash
# Real models side by side with llama.cpp, one row per GGUF file (the tables of BENCHMARKS.md, issue 22):
# llama-bench -t 2 -p 512 -n 128 against our `vllm bench latency` on the same file in the same run
# (prefill: one 512-token prompt, 1 output token; decode: a 1-token prompt and 128 output tokens, tok/s = 128 / time).
#   ./tools/bench-matrix.sh [--isa avx2] [FILE.gguf ...]
# With no files: both Qwen2.5-Coder Q4_K_M files and every file of the quant matrix (tools/make-quant-matrix.sh).
# --isa avx2: both engines without AVX-512 (llama.cpp built for AVX2/FMA/F16C in its own folder, ours under
# VLLM_CPU_ISA=avx2). ROUNDS (default 2) rounds a file, each running llama.cpp and then us, REPS (default 1) times a
# figure; each engine's figure is its best round (this shared VM's bandwidth moves by 20-30% from one minute to the
# next, and a ratio of two single runs carried that). Ours after 3 untimed iterations (the weights are on huge pages
# by then: they are packed on 4 KiB pages and collapsed in the background); VLLM_BIN overrides our binary.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
ISA=native
if [ "${1:-}" = --isa ]; then ISA=${2:?--isa takes avx2}; [ "$ISA" = avx2 ] || { echo "--isa takes avx2" >&2; exit 2; }; shift 2; fi
FILES=("$@")
if [ ${#FILES[@]} -eq 0 ]; then
  FILES=("$(./tools/fetch-qwen.sh 0.5b)" "$(./tools/fetch-qwen.sh 1.5b)")
  mapfile -t -O 2 FILES < <(./tools/make-quant-matrix.sh)
fi
BENCH="$CACHE/llama-cpp-build/bin/llama-bench"
if [ "$ISA" = avx2 ]; then
  export VLLM_CPU_ISA=avx2
  BUILD="$CACHE/llama-cpp-build-avx2"
  if [ ! -x "$BUILD/bin/llama-bench" ]; then
    VENV="$CACHE/venv-ref"
    [ -x "$VENV/bin/cmake" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q cmake ninja; }
    PATH="$VENV/bin:$PATH" cmake -S "$(./tools/fetch-llama-cpp-source.sh)" -B "$BUILD" -G Ninja -DGGML_NATIVE=OFF \
      -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DLLAMA_CURL=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
    PATH="$VENV/bin:$PATH" cmake --build "$BUILD" --target llama-bench -j2 >/dev/null
  fi
  BENCH="$BUILD/bin/llama-bench"
fi
[ -x "$BENCH" ] || ./tools/make-quant-matrix.sh >/dev/null
VLLM=${VLLM_BIN:-}
if [ -z "$VLLM" ]; then swift build -c release --product vllm >/dev/null 2>&1; VLLM=.build/release/vllm; fi
REPS=${REPS:-1}
ROUNDS=${ROUNDS:-2}

# Our average latency in seconds over REPS iterations.
ours() { "$VLLM" bench latency --model "$1" --batch-size 1 --input-len "$2" --output-len "$3" --num-iters "$REPS" \
  --num-iters-warmup 3 --threads 2 2>/dev/null | awk '/Avg latency/ {print $3}'; }
# llama-bench's mean tok/s for pp512 and for tg128, on one line (one llama-bench run measures both).
llama() { "$BENCH" -m "$1" -t 2 -p 512 -n 128 -r "$REPS" -o csv 2>/dev/null |
  awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) {gsub(/"/, "", $i); col[$i] = i}; next}
    {gsub(/"/, ""); if ($col["n_prompt"] > 0) pp = $col["avg_ts"]; if ($col["n_gen"] > 0) tg = $col["avg_ts"]}
    END {print pp, tg}'; }

echo "kernels: $ISA; best of $ROUNDS rounds of $REPS; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); $(git rev-parse --short HEAD)"
echo "roofline (tools/machine-roofline.sh, this ISA): $(./tools/machine-roofline.sh | tail -1)"
echo
echo "Decode GB/s: the file's bytes times tok/s (every weight is read once a token; these models tie the LM head to"
echo "the embeddings, so the whole file is streamed), to set beside the roofline's read bandwidth."
echo
echo "| file | llama.cpp pp512 tok/s | ours | ratio | llama.cpp tg128 tok/s | ours | ratio | decode GB/s llama.cpp / ours |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for f in "${FILES[@]}"; do
  rounds=()
  for _ in $(seq "$ROUNDS"); do
    read -r lpp ltg < <(llama "$f")
    rounds+=("$lpp,$ltg,$(ours "$f" 512 1),$(ours "$f" 1 128)")
  done
  python3 - "$(basename "$f" .gguf)" "$(stat -c %s "$f")" "${rounds[@]}" <<'PY'
import sys
name, size = sys.argv[1], float(sys.argv[2])
rounds = [list(map(float, r.split(","))) for r in sys.argv[3:]]
# Each engine's best round: llama.cpp's tok/s; our seconds as tok/s.
lpp, ltg = max(r[0] for r in rounds), max(r[1] for r in rounds)
pp, tg = max(512 / r[2] for r in rounds), max(128 / r[3] for r in rounds)
print(f"| {name} | {lpp:.1f} | {pp:.1f} | {pp / lpp:.2f}x | {ltg:.1f} | {tg:.1f} | {tg / ltg:.2f}x "
      f"| {size * ltg / 1e9:.1f} / {size * tg / 1e9:.1f} |")
PY
done
