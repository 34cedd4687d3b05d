#!/usr/bin/env python3
"""llama.cpp's view of every file of the quant matrix (tools/make-quant-matrix.sh), of the two Qwen2.5-Coder
Q4_K_M files (tools/fetch-qwen.sh) and of Gemma 3 270M Q4_K_M (tools/fetch-model.sh gemma3-270m), written to
Tests/VLLMModelsTests/Fixtures/llamacpp-matrix/NAME.TYPE.json for Tests/VLLMModelsTests/QuantMatrixTests.swift and
Gemma3Tests.swift.

For each of 8 prompts (code, chat template with special tokens, prose, non-English): llama.cpp's token ids
(add_special as the model asks, special tokens parsed; Gemma's prompts use its own turn markers, and its last
prompt is over 512 tokens so that its sliding-window layers drop the first positions), its greedy continuation of 64 tokens decoded one token at a
time with llama.cpp's top 5 (ids, logprobs) at each of those one-token steps (`greedy_positions`), and for the
teacher-forced sequence prompt + continuation, evaluated in one batch, the top 5 token ids with their logprobs at each
of the 64 positions that predict a continuation token (`positions`). The summary counts llama.cpp's own
near-ties (top two within 0.25 logprob) and the positions where its one-at-a-time greedy token differs from the
batch's top 1 (llama.cpp is not batch-invariant; at a near-tie the two may differ).

llama.cpp here is the one the tests compare against elsewhere: the tree inside the llama-cpp-python 0.3.36 source
archive, whose libllama tools/make-quant-matrix.sh builds (native CPU flags) next to llama-quantize; the Python
bindings are that archive's own llama_cpp package, loaded from the archive with LLAMA_CPP_LIB_PATH pointing at the
build, so nothing is compiled twice. Settings: n_ctx 512 (1024 for Gemma), n_batch = n_ctx, 1 thread, flash attention
off, f16 KV cache.

Rerun:  ./tools/make-quant-matrix.sh && ./tools/fetch-qwen.sh 1.5b
        ~/.cache/swift-vllm/venv-ref/bin/pip install numpy jinja2 diskcache typing-extensions
        ~/.cache/swift-vllm/venv-ref/bin/python tools/gen-llamacpp-fixtures.py [NAME.TYPE ...]   # default: all
"""
import hashlib
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm"))
sys.path.insert(0, os.path.join(CACHE, "llama_cpp_python-0.3.36"))
os.environ.setdefault("LLAMA_CPP_LIB_PATH", os.path.join(CACHE, "llama-cpp-build/bin"))
import llama_cpp  # noqa: E402  (after the path set-up above)

OUT = os.path.join(ROOT, "Tests/VLLMModelsTests/Fixtures/llamacpp-matrix")
QWEN_TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL", "Q2_K", "Q2_K-pure", "Q3_K_M", "Q4_K_S", "Q5_K_M", "Q6_K", "IQ4_XS", "F16"]
# fixture name -> model file relative to the cache
MODELS = {"Qwen2.5-Coder-0.5B-Instruct.Q4_K_M": "models/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
          "Qwen2.5-Coder-1.5B-Instruct.Q4_K_M": "models/Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf"}
MODELS.update({f"Qwen2.5-Coder-0.5B-Instruct.{t}": f"models/quant-matrix/Qwen2.5-Coder-0.5B-Instruct.{t}.gguf"
               for t in QWEN_TYPES})
MODELS.update({f"SmolLM2-135M-Instruct.{t}": f"models/quant-matrix/SmolLM2-135M-Instruct.{t}.gguf"
               for t in ["Q8_0", "Q4_K_M", "F16"]})
MODELS["gemma-3-270m.Q4_K_M"] = "models/gemma-3-270m-q4_k_m.gguf"
MODELS["gemma-3-270m.F16"] = "models/quant-matrix/gemma-3-270m.F16.gguf"
# Both families use ChatML (<|im_start|>, <|im_end|> are special tokens in both vocabularies).
PROMPTS = [
    "def quicksort(items):\n    \"\"\"Sort a list of numbers in ascending order.\"\"\"\n",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    "Write a short poem about the sea.<|im_end|>\n<|im_start|>assistant\n",
    "The history of the printing press begins in the fifteenth century, when",
    "La Révolution française a commencé en 1789, lorsque",
    "人工智能的发展历史可以追溯到",
    "#include <stdio.h>\n\n/* Print the first ten squares. */\nint main(void) {\n",
    "<|im_start|>user\nHow do I reverse a string in JavaScript?<|im_end|>\n<|im_start|>assistant\n",
    "Москва — столица России. Это крупнейший город страны, где",
]
# Gemma 3: its turn markers, and a long prompt (about 700 tokens with the continuation) past the 512-key window.
GEMMA_PROMPTS = [
    "<start_of_turn>user\nWrite a short poem about the sea.<end_of_turn>\n<start_of_turn>model\n",
    PROMPTS[0], PROMPTS[2], PROMPTS[3], PROMPTS[4], PROMPTS[7],
    "<start_of_turn>user\nHow do I reverse a string in JavaScript?<end_of_turn>\n<start_of_turn>model\n",
    "".join(f"Day {d}: the traveller walked from {a} to {b}, carrying {c}.\n" for d, (a, b, c) in enumerate(
        [(["Avon", "Brill", "Corfe", "Dunster", "Eyam", "Frome"][i % 6], ["Glyn", "Hythe", "Ilam", "Jarrow", "Keld"][i % 5],
          ["a lamp", "two apples", "a map", "some rope", "a book", "bread", "a blue coat"][i % 7]) for i in range(40)], 1))
    + "Day 41: the traveller walked from",
]
GENERATED = 64
TOP = 5
NEAR_TIE = 0.25
# One thread: ggml splits a matmul over output rows, so its results do not depend on the thread count, and on a
# busy machine two spinning threads waiting for each other are several times slower than one.
THREADS = int(os.environ.get("FIXTURE_THREADS", "1"))
# FIXTURE_KV=f32: an f32 KV cache, so llama.cpp's attention runs in f32 (with the f16 cache it rounds Q and the
# softmax probabilities to f16 as well); FIXTURE_OUT: another folder (for such experiments).
KV_F32 = os.environ.get("FIXTURE_KV") == "f32"
OUT = os.environ.get("FIXTURE_OUT", OUT)


def log_softmax(row):
    row = np.asarray(row, dtype=np.float64)
    shifted = row - row.max()
    return shifted - np.log(np.exp(shifted).sum())


def top_entry(row):
    """The top TOP token ids of a log-softmax row and their logprobs (3 decimals), best first."""
    top = np.argsort(-row, kind="stable")[:TOP]
    return {"ids": [int(t) for t in top], "logprobs": [round(float(row[t]), 3) for t in top]}


def fixture(name, relative):
    path = os.path.join(CACHE, relative)
    gemma = name.startswith("gemma")
    n_ctx = 1024 if gemma else 512
    llm = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=n_ctx, logits_all=True, n_threads=THREADS,
                          n_threads_batch=THREADS, seed=0, verbose=False,
                          **({"type_k": 0, "type_v": 0} if KV_F32 else {}))
    cases, near_ties, self_mismatches = [], 0, 0
    for text in GEMMA_PROMPTS if gemma else PROMPTS:
        prompt = llm.tokenize(text.encode(), add_bos=True, special=True)
        llm.reset()
        llm.eval(prompt)
        generated, decoded = [], []
        for _ in range(GENERATED):
            row = log_softmax(llm.scores[llm.n_tokens - 1])
            token = int(np.argmax(row))
            generated.append(token)
            decoded.append(top_entry(row))
            llm.eval([token])
        sequence = prompt + generated[:-1]
        llm.reset()
        llm.eval(sequence)
        positions = []
        for k in range(GENERATED):
            row = log_softmax(llm.scores[len(prompt) - 1 + k])
            entry = top_entry(row)
            positions.append(entry)
            near_ties += int(row[entry["ids"][0]] - row[entry["ids"][1]] < NEAR_TIE)
            self_mismatches += int(entry["ids"][0] != generated[k])
        cases.append({"text": text, "prompt_ids": prompt, "greedy_ids": generated, "greedy_positions": decoded,
                      "greedy_text": llm.detokenize(generated).decode("utf-8", "replace"), "positions": positions})
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    types = subprocess.run([sys.executable, os.path.join(ROOT, "tools/gguf-check.py"), path],
                           capture_output=True, text=True, check=True).stdout.strip()
    source = {"llama_cpp_python": llama_cpp.__version__, "model": relative, "model_bytes": os.path.getsize(path),
              "model_sha256": digest, "tensors": types,
              "settings": f"n_ctx {n_ctx}, n_batch {n_ctx}, {THREADS} thread(s), flash attention off, {'f32' if KV_F32 else 'f16'} KV cache"}
    summary = {"positions": GENERATED * len(cases), "near_ties": near_ties, "near_tie_logprob_gap": NEAR_TIE,
               "greedy_differs_from_batch_top1": self_mismatches}
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"source": source, "summary": summary, "cases": cases}, f, separators=(",", ":"), ensure_ascii=False)
    return summary


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in sys.argv[1:] or MODELS:
        relative = MODELS[name]
        if not os.path.exists(os.path.join(CACHE, relative)):
            print(f"{name}: {relative} absent, skipped", file=sys.stderr)
            continue
        print(name, fixture(name, relative), flush=True)


if __name__ == "__main__":
    main()
