#!/usr/bin/env python3
"""transformers' float32 forward pass on Gemma 3 270M's GGUF weights, dequantized by transformers' own GGUF loader:
the reference that says whether our Gemma 3 math is right at full scale, apart from llama.cpp's quantized-activation
numerics. Writes the dequantized model as a float32 Hugging Face folder, $SWIFT_VLLM_CACHE/hf/gemma-3-270m-q4_k_m-f32
(1.1 GB), and Tests/VLLMModelsTests/Fixtures/transformers-gguf/gemma-3-270m.Q4_K_M.json in LlamaCppFidelity's format:
llama.cpp's fixture (tools/gen-llamacpp-fixtures.py) with its prompts and continuations kept and the top 5 logprobs
at each teacher-forced position replaced by transformers'. Prints transformers' own agreement with llama.cpp.

Rerun:  ~/.cache/swift-vllm/venv-ref/bin/pip install torch==2.13.0+cpu transformers safetensors gguf accelerate
        ./tools/fetch-model.sh gemma3-270m
        OMP_NUM_THREADS=2 ~/.cache/swift-vllm/venv-ref/bin/python tools/gen-transformers-gguf-fixture.py
"""
import json
import os
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm"))
NAME = "gemma-3-270m.Q4_K_M"
FOLDER = "hf/gemma-3-270m-q4_k_m-f32"


def main():
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    model = AutoModelForCausalLM.from_pretrained(os.path.join(CACHE, "models"), gguf_file="gemma-3-270m-q4_k_m.gguf",
                                                 dtype=torch.float32).eval()
    if getattr(model, "hf_quantizer", None) is not None:  # dense weights now: the GGUF quantizer cannot be saved
        model.hf_quantizer.remove_quantization_config(model)
    model.save_pretrained(os.path.join(CACHE, FOLDER))
    llamacpp = json.load(open(os.path.join(ROOT, "Tests/VLLMModelsTests/Fixtures/llamacpp-matrix", NAME + ".json")))
    cases, agree, drift = [], 0, []
    for c in llamacpp["cases"]:
        sequence = c["prompt_ids"] + c["greedy_ids"][:-1]
        with torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([sequence])).logits[0].double(), -1)
        positions = []
        for k, reference in enumerate(c["positions"]):
            row = logprobs[len(c["prompt_ids"]) - 1 + k]
            top = torch.argsort(-row, stable=True)[:5].tolist()
            positions.append({"ids": top, "logprobs": [round(float(row[t]), 3) for t in top]})
            agree += top[0] == reference["ids"][0]
            drift.append(np.mean([abs(float(row[t]) - lp) for t, lp in zip(reference["ids"], reference["logprobs"])]))
        cases.append({"text": c["text"], "prompt_ids": c["prompt_ids"], "greedy_ids": c["greedy_ids"], "positions": positions})
    print(f"transformers float32 on the dequantized weights vs llama.cpp: top-1 {agree}/{len(drift)}, "
          f"mean |dlogprob| over llama.cpp's top 5 {np.mean(drift):.3f}", file=sys.stderr)
    import transformers
    source = dict(llamacpp["source"], model=FOLDER, reference=f"transformers {transformers.__version__}, torch "
                  f"{torch.__version__}, float32, on llama.cpp's continuations")
    out = os.path.join(ROOT, "Tests/VLLMModelsTests/Fixtures/transformers-gguf")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, NAME + ".json"), "w") as f:
        json.dump({"source": source, "summary": llamacpp["summary"], "cases": cases}, f, separators=(",", ":"), ensure_ascii=False)


if __name__ == "__main__":
    main()
