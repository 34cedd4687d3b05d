#!/usr/bin/env bash
# The llama.cpp side of BENCHMARKS.md: builds llama-bench from the llama.cpp inside the llama-cpp-python 0.3.36
# source archive (cmake from PyPI, native CPU flags), then runs it on the default model beside our own figures.
#   ./tools/bench-llama-cpp.sh            # llama-bench -p 512 -n 128 -t 2, then vllm bench latency (prefill, decode)
#   ./tools/bench-llama-cpp.sh --isa avx2 # both sides without AVX-512, as on a machine that lacks it: llama.cpp built
#                                         # for AVX2/FMA/F16C only (its own build folder), ours under VLLM_CPU_ISA=avx2
set -euo pipefail
cd "$(dirname "$0")/.."
ISA=native
case "${1:-}" in
  "") ;;
  --isa) ISA=${2:?--isa takes avx2}; [ "$ISA" = avx2 ] || { echo "--isa takes avx2" >&2; exit 2; } ;;
  *) echo "usage: $0 [--isa avx2]" >&2; exit 2 ;;
esac
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
MODEL=$(./tools/fetch-model.sh)
./tools/fetch-llama-cpp-source.sh >/dev/null
VENV="$CACHE/venv-ref"
[ -x "$VENV/bin/cmake" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q cmake ninja; }
export PATH="$VENV/bin:$PATH"
SRC="$CACHE/llama_cpp_python-0.3.36/vendor/llama.cpp"
if [ "$ISA" = avx2 ]; then
  BUILD="$CACHE/llama-cpp-build-avx2"
  FLAGS=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF)
  export VLLM_CPU_ISA=avx2
else
  BUILD="$CACHE/llama-cpp-build"
  FLAGS=(-DGGML_NATIVE=ON)
fi
if [ ! -x "$BUILD/bin/llama-bench" ]; then
  cmake -S "$SRC" -B "$BUILD" -G Ninja "${FLAGS[@]}" -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" --target llama-bench -j2 >/dev/null
fi
echo "== llama.cpp (llama-bench, 2 threads, $ISA build)"
"$BUILD/bin/llama-bench" -m "$MODEL" -p 512 -n 128 -t 2
swift build -c release --product vllm >/dev/null 2>&1
echo "== swift-vllm prefill: 1 request x 512 prompt tokens, 1 output token (kernels: ${VLLM_CPU_ISA:-native})"
.build/release/vllm bench latency --batch-size 1 --input-len 512 --output-len 1 --num-iters 5 --threads 2 2>/dev/null | grep "Avg latency"
echo "== swift-vllm decode: 1 request x 1 prompt token, 128 output tokens"
.build/release/vllm bench latency --batch-size 1 --input-len 1 --output-len 128 --num-iters 5 --threads 2 2>/dev/null | grep "Avg latency"
