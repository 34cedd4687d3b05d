#!/usr/bin/env python3
"""Reference logits from llama.cpp (llama-cpp-python 0.3.36, built from its PyPI source archive) for the default
model, written to Tests/VLLMModelsTests/Fixtures/smollm2-llamacpp.json.

For each prompt: llama.cpp's token ids, its greedy continuation (16 tokens), and for the teacher-forced sequence
prompt + continuation the top-20 logits at every position.

Rerun:  python3 -m venv ~/.cache/swift-vllm/venv-ref
        CMAKE_ARGS="-DGGML_NATIVE=ON" ~/.cache/swift-vllm/venv-ref/bin/pip install \
            ~/.cache/swift-vllm/downloads/llama_cpp_python-0.3.36.tar.gz numpy
        ./tools/fetch-model.sh && ~/.cache/swift-vllm/venv-ref/bin/python tools/gen-llamacpp-logits.py
"""
import hashlib
import json
import os

import llama_cpp
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm"))
MODEL = os.path.join(CACHE, "models/SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = os.path.join(ROOT, "Tests/VLLMModelsTests/Fixtures/smollm2-llamacpp.json")
PROMPTS = ["The capital of France is",
           "Once upon a time, in a small village",
           "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"]


def main():
    llm = llama_cpp.Llama(model_path=MODEL, n_ctx=512, logits_all=True, n_threads=2, n_batch=512, seed=0, verbose=False)
    cases = []
    for text in PROMPTS:
        prompt = llm.tokenize(text.encode(), add_bos=False, special=True)
        llm.reset()
        llm.eval(prompt)
        generated = []
        for _ in range(16):
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            generated.append(token)
            llm.eval([token])
        sequence = prompt + generated
        llm.reset()
        llm.eval(sequence)
        positions = []
        for i in range(len(sequence)):
            row = np.array(llm.scores[i], dtype=np.float32)
            top = np.argsort(-row, kind="stable")[:20]
            positions.append({"ids": [int(t) for t in top], "logits": [round(float(row[t]), 4) for t in top]})
        cases.append({"text": text, "prompt_ids": prompt, "greedy_ids": generated,
                      "greedy_text": llm.detokenize(generated).decode("utf-8", "replace"), "positions": positions})
    with open(MODEL, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    source = {"llama_cpp_python": llama_cpp.__version__, "model_bytes": os.path.getsize(MODEL), "model_sha256": digest,
              "settings": "n_ctx 512, n_batch 512, 2 threads, flash attention off, f16 KV cache (library defaults)"}
    with open(OUT, "w") as f:
        json.dump({"source": source, "cases": cases}, f, separators=(",", ":"))
    for c in cases:
        print(c["prompt_ids"], repr(c["greedy_text"]))


if __name__ == "__main__":
    main()
