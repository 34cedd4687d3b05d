#!/usr/bin/env python3
"""Converts the tiny Phi-3 and mixture-of-experts checkpoints of tools/gen-hf-tiny-moe-fixtures.py to GGUF with
llama.cpp's own convert_hf_to_gguf.py (F32, and Q8_0 by llama-quantize), and records llama.cpp's logits on them, as
fixtures for Tests/VLLMModelsTests/GGUFTinyReferenceTests.swift (Fixtures/gguf-tiny/NAME.TYPE.gguf and .json).

The checkpoints have no tokenizer (their 320 ids are only numbers), so the conversion runs with each model class's
set_vocab replaced by a stand-in SentencePiece vocabulary of the right size (3 specials, the 256 byte tokens llama.cpp
needs, then numbered pieces); nothing else of the converter is changed. Mixtral converts to GGUF `llama` with expert
tensors, as its real files do.

For each prompt of expected.json: llama.cpp's logits at every position (one batch, all logits), and its greedy
continuation of the first prompt decoded one token at a time. llama.cpp is the tree and build the other llama.cpp
fixtures use (tools/gen-llamacpp-fixtures.py): llama-cpp-python 0.3.36's archive, its libllama built in
~/.cache/swift-vllm/llama-cpp-build. Settings: 1 thread, n_batch 512, flash attention off, F32 KV cache, n_ctx 64
(which llama.cpp pads to 256: within phi3-longrope's original context, so it uses the short factors as we do).

Rerun:  ~/.cache/swift-vllm/venv-ref/bin/pip install torch==2.13.0+cpu transformers safetensors sentencepiece numpy \
            jinja2 diskcache typing-extensions
        ~/.cache/swift-vllm/venv-ref/bin/python tools/gen-gguf-tiny-fixtures.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm"))
LLAMA_CPP = os.path.join(CACHE, "llama_cpp_python-0.3.36/vendor/llama.cpp")
BUILD = os.path.join(CACHE, "llama-cpp-build/bin")
HF = os.path.join(ROOT, "Tests/VLLMModelsTests/Fixtures/hf-tiny")
OUT = os.path.join(ROOT, "Tests/VLLMModelsTests/Fixtures/gguf-tiny")
NAMES = ["phi3", "phi3-longrope", "qwen3moe", "qwen2moe", "mixtral"]
QUANTIZED = {"qwen3moe": "Q8_0", "phi3": "Q8_0", "qwen2moe": "Q4_0", "mixtral": "Q4_0"}


def convert(name, out_path):
    """Runs convert_hf_to_gguf.py's main() in a child process with the stand-in vocabulary."""
    code = f"""
import sys
sys.path.insert(0, {LLAMA_CPP!r}); sys.path.insert(0, {os.path.join(LLAMA_CPP, 'gguf-py')!r})
import gguf, convert_hf_to_gguf
from conversion.base import TextModel

def stand_in_vocab(self):
    n = self.hparams["vocab_size"]
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    tokens += ["\\u2581t%d" % i for i in range(n - len(tokens))]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    types += [gguf.TokenType.NORMAL] * (n - len(types))
    self.gguf_writer.add_tokenizer_model("llama")
    self.gguf_writer.add_tokenizer_pre("default")
    self.gguf_writer.add_token_list(tokens)
    self.gguf_writer.add_token_scores([0.0] * 259 + [-float(i) for i in range(n - 259)])
    self.gguf_writer.add_token_types(types)
    self.gguf_writer.add_bos_token_id(1); self.gguf_writer.add_eos_token_id(2); self.gguf_writer.add_unk_token_id(0)

# The model classes load on demand: give every instance the stand-in, whatever its class.
original_init = TextModel.__init__
def init_with_stand_in(self, *args, **kwargs):
    original_init(self, *args, **kwargs)
    self.set_vocab = stand_in_vocab.__get__(self)
TextModel.__init__ = init_with_stand_in
sys.argv = ["convert_hf_to_gguf.py", {os.path.join(HF, name)!r}, "--outtype", "f32", "--outfile", {out_path!r},
            "--model-name", "tiny random checkpoint"]  # a name with "phi3" in it makes llama.cpp look for Phi-3 tokens
convert_hf_to_gguf.main()
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=LLAMA_CPP, stdout=subprocess.DEVNULL)


def reference(path, prompts, greedy_count):
    sys.path.insert(0, os.path.join(CACHE, "llama_cpp_python-0.3.36"))
    os.environ.setdefault("LLAMA_CPP_LIB_PATH", BUILD)
    import llama_cpp
    import numpy as np
    llm = llama_cpp.Llama(model_path=path, n_ctx=64, n_batch=512, n_threads=1, logits_all=True, flash_attn=False,
                          type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32, verbose=False)
    logits = []
    for prompt in prompts:
        llm.reset()
        llm.eval(prompt)
        logits.append([[float(f"{v:.6g}") for v in np.array(llm.scores[i], dtype=np.float32)] for i in range(len(prompt))])
    llm.reset()
    llm.eval(prompts[0])
    greedy = []
    for _ in range(greedy_count):
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        greedy.append(token)
        llm.eval([token])
    return {"prompts": prompts, "logits": logits, "greedy": greedy, "llama_cpp_python": llama_cpp.__version__,
            "settings": "n_ctx 64, n_batch 512, 1 thread, flash attention off, F32 KV cache"}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in NAMES:
        with open(os.path.join(HF, name, "expected.json")) as f:
            expected = json.load(f)
        files = {"F32": os.path.join(OUT, f"{name}.F32.gguf")}
        convert(name, files["F32"])
        if name in QUANTIZED:
            kind = QUANTIZED[name]
            files[kind] = os.path.join(OUT, f"{name}.{kind}.gguf")
            subprocess.run([os.path.join(BUILD, "llama-quantize"), files["F32"], files[kind], kind], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for kind, path in files.items():
            result = reference(path, expected["prompts"], len(expected["greedy"]))
            with open(path[:-len(".gguf")] + ".json", "w") as f:
                json.dump(result, f, separators=(",", ":"))
            print(name, kind, os.path.getsize(path), result["greedy"], "transformers:", expected["greedy"])


if __name__ == "__main__":
    main()
