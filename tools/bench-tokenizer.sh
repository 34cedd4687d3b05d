#!/usr/bin/env bash
# Tokenizer throughput for BENCHMARKS.md: 5 MB of English (this repository's docs, repeated) through `vllm tokenize`
# on the default model, and through Hugging Face `tokenizers` (PyPI) on the same vocabulary, converted from the
# GGUF by transformers. Also checks that both produce the same ids.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
MODEL=$(./tools/fetch-model.sh)
VENV="$CACHE/venv-ref"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q tokenizers transformers gguf numpy sentencepiece protobuf >/dev/null 2>&1 || true
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$VENV/bin/python" - "$MODEL" "$WORK" <<'PY'
import os, sys
from transformers import AutoTokenizer
model, work = sys.argv[1], sys.argv[2]
AutoTokenizer.from_pretrained(os.path.dirname(model), gguf_file=os.path.basename(model)).save_pretrained(work + "/hf")
base = "".join(open(f).read() for f in ["README.md", "../shared/DESIGN.md", "../shared/SPEC.md"] if os.path.exists(f))
open(work + "/english.txt", "w").write((base * (5_000_000 // len(base) + 1))[:5_000_000])
PY
swift build -c release --product vllm >/dev/null 2>&1
start=$(date +%s.%N); .build/release/vllm tokenize --model "$MODEL" < /dev/null > /dev/null; loaded=$(date +%s.%N)
.build/release/vllm tokenize --model "$MODEL" < "$WORK/english.txt" > "$WORK/ours.json"; done_=$(date +%s.%N)
python3 -c "
load=$loaded-$start; total=$done_-$loaded
print(f'swift-vllm: {5.0/(total-load):.2f} MB/s (5 MB in {total:.2f} s, of which ~{load:.2f} s loading)')"
"$VENV/bin/python" - "$WORK" <<'PY'
import json, sys, time
from tokenizers import Tokenizer
work = sys.argv[1]
tok = Tokenizer.from_file(work + "/hf/tokenizer.json")
text = open(work + "/english.txt").read()
t = time.perf_counter(); ids = tok.encode(text, add_special_tokens=False).ids; dt = time.perf_counter() - t
print(f"HF tokenizers {__import__('tokenizers').__version__}: {len(text.encode()) / dt / 1e6:.2f} MB/s (encode, one call)")
print("same ids:", json.load(open(work + "/ours.json")) == ids, f"({len(ids)} tokens)")
PY
