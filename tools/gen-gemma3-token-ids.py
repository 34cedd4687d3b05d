#!/usr/bin/env python3
"""llama.cpp's token ids for Gemma 3's SentencePiece vocabulary (the 270M Q4_K_M GGUF of tools/fetch-model.sh
gemma3-270m) on text that exercises it: whitespace runs, newlines, CRLF, byte fallback, CJK, digits, the turn markers
and other special tokens written as text. Written to Tests/VLLMTokenizersTests/Fixtures/gemma3-llamacpp-ids.json for
Gemma3TokenizerTests: each case with add_special (BOS, as the file asks) and special tokens parsed, as llama.cpp's
server tokenizes a prompt.

Rerun:  ./tools/fetch-model.sh gemma3-270m && ~/.cache/swift-vllm/venv-ref/bin/python tools/gen-gemma3-token-ids.py
(the llama_cpp bindings come from the llama-cpp-python source archive, as in tools/gen-llamacpp-fixtures.py)
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm"))
sys.path.insert(0, os.path.join(CACHE, "llama_cpp_python-0.3.36"))
os.environ.setdefault("LLAMA_CPP_LIB_PATH", os.path.join(CACHE, "llama-cpp-build/bin"))
import llama_cpp  # noqa: E402  (after the path set-up above)

MODEL = "models/gemma-3-270m-q4_k_m.gguf"
OUT = os.path.join(ROOT, "Tests/VLLMTokenizersTests/Fixtures/gemma3-llamacpp-ids.json")
TEXTS = ["  leading spaces", "trailing  ", "tabs\tand\nnewlines\n\n\nthree", "emoji 🦙🚀 and ü ñ 中文",
         "12345 apples 3.14159", "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", "Hello  world", " ",
         "", "a\u00a0b", "x" * 50 + " yyy", "mixed\r\nCRLF", "ﬁ ligature and Ⅻ", "<unused0> and <start_of_image>",
         "def f(x):\n    return x ** 2  # square\n", "Москва — столица России.", "人工智能的发展历史可以追溯到"]


def main():
    llm = llama_cpp.Llama(model_path=os.path.join(CACHE, MODEL), vocab_only=True, verbose=False)
    cases = [{"text": t, "ids": llm.tokenize(t.encode(), add_bos=True, special=True)} for t in TEXTS]
    with open(OUT, "w") as f:
        json.dump({"source": {"llama_cpp_python": llama_cpp.__version__, "model": MODEL,
                              "settings": "add_special true, parse_special true"}, "cases": cases},
                  f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
