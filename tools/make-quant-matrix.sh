#!/usr/bin/env bash
# The quant matrix: one GGUF per weight type llama-quantize's common presets write, made by llama.cpp's own
# llama-quantize from files we already fetch, so every type can be checked against llama.cpp on the same file.
#   Qwen2.5-Coder-0.5B-Instruct (tools/fetch-qwen.sh 0.5b, Q4_K_M) requantized to each of $QWEN_TYPES;
#   SmolLM2-135M-Instruct (tools/fetch-model.sh, Q4_1) requantized to Q8_0 and Q4_K_M, and widened to F16 (the same
#   weights with no activation quantization in llama.cpp: the float path alone, QuantMatrixTests);
#   Gemma 3 270M (tools/fetch-model.sh gemma3-270m, Q4_K_M) widened to F16 likewise (Gemma3Tests).
# Requantizing (--allow-requantize) starts from already-quantized weights: the files are not as good as ones made
# from F16, but they are real files of each type, and the fidelity tests compare two engines on the same file.
# Neither Qwen's nor SmolLM2's width is a multiple of 256 (896 and 576), so llama-quantize's fallbacks put the 256-wide types
# (Q2_K..Q6_K, IQ4_XS) only where the input width allows it (ffn_down, 4864 wide) and Q4_0/Q5_0/Q5_1/Q8_0/IQ4_NL
# elsewhere; `tools/gguf-check.py FILE` lists what each file holds. The presets give ffn_down Q3_K in Q2_K files and
# never Q2_K, so one more file, Q2_K-pure (--pure: no mixture), has Q2_K there.
#
# Builds the llama.cpp inside the llama-cpp-python 0.3.36 source archive (tools/fetch-llama-cpp-source.sh) once into
# $CACHE/llama-cpp-build (cmake and ninja from PyPI in $CACHE/venv-ref, native CPU flags, the same folder
# tools/bench-llama-cpp.sh uses), only the targets needed here and by tools/gen-llamacpp-fixtures.py: llama-quantize,
# llama-bench and libllama. Writes $CACHE/models/quant-matrix/NAME.TYPE.gguf and prints their paths. Idempotent:
# a file already there is kept (each is written to .part and renamed when llama-quantize has finished).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
QWEN_TYPES=${QWEN_TYPES:-"Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL Q2_K Q2_K-pure Q3_K_M Q4_K_S Q5_K_M Q6_K IQ4_XS F16"}
SMOLLM_TYPES=${SMOLLM_TYPES:-"Q8_0 Q4_K_M F16"}
SRC=$(./tools/fetch-llama-cpp-source.sh)
QWEN=$(./tools/fetch-qwen.sh 0.5b)
SMOLLM=$(./tools/fetch-model.sh)
GEMMA=$(./tools/fetch-model.sh gemma3-270m)
BUILD="$CACHE/llama-cpp-build"
if [ ! -x "$BUILD/bin/llama-quantize" ] || [ ! -x "$BUILD/bin/llama-bench" ] || [ ! -e "$BUILD/bin/libllama.so" ]; then
  VENV="$CACHE/venv-ref"
  [ -x "$VENV/bin/cmake" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q cmake ninja; }
  export PATH="$VENV/bin:$PATH"
  cmake -S "$SRC" -B "$BUILD" -G Ninja -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" --target llama-quantize llama-bench llama -j2 >/dev/null
fi
OUT="$CACHE/models/quant-matrix"
mkdir -p "$OUT"

quantize() {  # SOURCE NAME TYPE (a preset name, or PRESET-pure for --pure)
  local dest="$OUT/$2.$3.gguf" preset=${3%-pure} flags=(--allow-requantize)
  [ "$preset" = "$3" ] || flags+=(--pure)
  if [ ! -s "$dest" ]; then
    "$BUILD/bin/llama-quantize" "${flags[@]}" "$1" "$dest.part" "$preset" 2 >"$dest.log" 2>&1 \
      || { echo "llama-quantize $3 failed, see $dest.log" >&2; exit 1; }
    python3 tools/gguf-check.py "$dest.part" >/dev/null
    mv "$dest.part" "$dest"
  fi
  echo "$dest"
}

for t in $QWEN_TYPES; do quantize "$QWEN" Qwen2.5-Coder-0.5B-Instruct "$t"; done
for t in $SMOLLM_TYPES; do quantize "$SMOLLM" SmolLM2-135M-Instruct "$t"; done
quantize "$GEMMA" gemma-3-270m F16
