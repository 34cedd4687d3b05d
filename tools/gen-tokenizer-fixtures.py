#!/usr/bin/env python3
"""Expected token ids for Tests/VLLMTokenizersTests/Fixtures/reference-ids.json:

  * Hugging Face `tokenizers` on two real tokenizer.json files fetched by tools/fetch-tokenizer-references.sh
    (anthropic 0.38.0: byte-level BPE + NFKC; all-MiniLM-L6-v2: BERT WordPiece), with and without special tokens;
  * llama.cpp (llama-cpp-python 0.3.36) on the default SmolLM2 GGUF, parse_special off and on.

The texts are llama.cpp's own tokenizer test inputs (gpt-2 .inp) plus code, whitespace runs, scripts and emoji.
Rerun:  ./tools/fetch-tokenizer-references.sh && ./tools/fetch-llama-cpp-source.sh && ./tools/fetch-model.sh
        ~/.cache/swift-vllm/venv-ref/bin/pip install tokenizers ~/.cache/swift-vllm/downloads/llama_cpp_python-0.3.36.tar.gz
        ~/.cache/swift-vllm/venv-ref/bin/python tools/gen-tokenizer-fixtures.py
"""
import json
import os

import llama_cpp
import tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm"))
INP = os.path.join(CACHE, "llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-gpt-2.gguf.inp")
OUT = os.path.join(ROOT, "Tests/VLLMTokenizersTests/Fixtures/reference-ids.json")

EXTRA = [
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "for (int i = 0; i < 10; ++i) {\n\tprintf(\"%d\\n\", i);\n}",
    "Ünïcödé façade — “quotes” ‘single’ … naïve coöperate",
    "Русский текст, ελληνικά, עברית, العربية, हिन्दी, 한국어, 日本語のテキスト, 中文文本。",
    "emoji: 😀😃😄 👩‍👩‍👧‍👦 🇫🇷 ❤️ 🦙",
    "numbers 3.14159 1,000,000 -42 0x1F 1e-9 2024-07-26",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nmixed  \n\n  ",
    "<|im_start|>user\nHi<|im_end|>\n<|endoftext|> [CLS] [SEP] <EOT>",
    "ﬁ ligature ① circled Ｆｕｌｌｗｉｄｔｈ ㍿",
    "",
]


def main():
    texts = open(INP, encoding="utf-8").read().split("\n__ggml_vocab_test__\n") + EXTRA
    result = {"texts": texts, "tokenizers": tokenizers.__version__, "llama_cpp_python": llama_cpp.__version__, "ids": {}}
    for name in ["anthropic", "all-minilm-l6-v2"]:
        tok = tokenizers.Tokenizer.from_file(os.path.join(CACHE, "hf-tokenizers", name, "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        result["ids"][name] = {"plain": [tok.encode(t, add_special_tokens=False).ids for t in texts],
                               "special": [tok.encode(t, add_special_tokens=True).ids for t in texts]}
    llm = llama_cpp.Llama(model_path=os.path.join(CACHE, "models/SmolLM2-135M-Instruct.Q4_1.gguf"), vocab_only=True,
                          verbose=False)
    result["ids"]["smollm2-llamacpp"] = {
        "plain": [llm.tokenize(t.encode(), add_bos=False, special=False) for t in texts],
        "special": [llm.tokenize(t.encode(), add_bos=True, special=True) for t in texts]}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, separators=(",", ":"))
    print(f"{len(texts)} texts -> {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
