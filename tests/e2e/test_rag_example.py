"""examples/rag/rag.py end to end: LangChain's OpenAIEmbeddings on the embedding server and ChatOpenAI on the chat
server; the right document is retrieved first and the chat model answers."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytest.importorskip("langchain_openai")


def test_rag_example_retrieves_and_answers(server, embedding_server):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "rag", "rag.py"), "--json",
         "--question", "How does PagedAttention store the key and value cache?",
         "--embed-url", embedding_server.url + "/v1", "--embed-model", "minilm",
         "--chat-url", server.url + "/v1", "--chat-model", "smollm2", "--max-tokens", "32"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["sources"][0]["file"] == "paged-attention.txt"
    assert out["sources"][0]["score"] > out["sources"][1]["score"]
    assert out["answer"].strip()
    assert out["timings"]["question_to_answer_s"] > 0
