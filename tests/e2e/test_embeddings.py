"""/v1/embeddings, /score and /rerank on all-MiniLM-L6-v2 through the official `openai` client and plain HTTP,
checked against the sentence-transformers fixture (Tests/Fixtures/embeddings); and the 400s a chat model gives on
these endpoints, and a pooling model on chat."""
import base64
import json
import math
import os
import struct

import openai
import pytest
import requests

from conftest import ROOT

FIXTURE = json.load(open(os.path.join(ROOT, "Tests", "Fixtures", "embeddings", "all-MiniLM-L6-v2.json")))


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_openai_client_embeddings_match_sentence_transformers(embedding_server):
    client = openai.OpenAI(base_url=embedding_server.url + "/v1", api_key="none")
    cases = FIXTURE["cases"]
    # The long case is over max_seq_length: vLLM's behaviour is a 400 unless truncate_prompt_tokens is given.
    response = client.embeddings.create(model="minilm", input=[c["text"] for c in cases],
                                        extra_body={"truncate_prompt_tokens": -1})
    assert len(response.data) == len(cases)
    for case, item in zip(cases, response.data):
        assert cosine(item.embedding, case["embedding"]) >= 0.9999, case["text"][:40]
    assert response.usage.prompt_tokens == sum(len(c["token_ids"]) for c in cases)
    assert response.usage.total_tokens == response.usage.prompt_tokens


def test_base64_token_ids_and_shapes(embedding_server):
    case = FIXTURE["cases"][2]
    r = requests.post(embedding_server.url + "/v1/embeddings",
                      json={"model": "minilm", "input": [case["token_ids"]], "encoding_format": "base64"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "list" and body["id"].startswith("embd-") and body["model"] == "minilm"
    item = body["data"][0]
    assert item["object"] == "embedding" and item["index"] == 0
    vector = struct.unpack(f"<{384}f", base64.b64decode(item["embedding"]))
    assert cosine(vector, case["embedding"]) >= 0.9999
    assert body["usage"] == {"prompt_tokens": len(case["token_ids"]), "total_tokens": len(case["token_ids"]),
                             "completion_tokens": 0, "prompt_tokens_details": None}


def test_errors(embedding_server):
    url = embedding_server.url
    long = FIXTURE["cases"][-1]["text"] * 3
    r = requests.post(url + "/v1/embeddings", json={"input": long})
    assert r.status_code == 400 and "maximum context length is 256" in r.json()["error"]["message"]
    r = requests.post(url + "/v1/embeddings", json={"input": "hi", "dimensions": 128})
    assert r.status_code == 400 and "matryoshka" in r.json()["error"]["message"]
    r = requests.post(url + "/v1/embeddings", json={"input": "hi", "encoding_format": "int8"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "encoding_format"
    r = requests.post(url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 400 and "pooling" in r.json()["error"]["message"]
    r = requests.post(url + "/v1/completions", json={"prompt": "hi"})
    assert r.status_code == 400 and "Completions API" in r.json()["error"]["message"]


def test_chat_model_refuses_pooling_endpoints(server):
    for path, body in [("/v1/embeddings", {"input": "hi"}), ("/score", {"text_1": "a", "text_2": "b"}),
                       ("/rerank", {"query": "a", "documents": ["b"]})]:
        r = requests.post(server.url + path, json=body)
        assert r.status_code == 400, path
        assert "generative" in r.json()["error"]["message"], path


def test_score_and_rerank(embedding_server):
    url = embedding_server.url
    query = "Where is the Eiffel Tower?"
    documents = ["Bananas are yellow fruit.", "The Eiffel Tower is in Paris, France.", "Python is a programming language."]
    r = requests.post(url + "/score", json={"model": "minilm", "text_1": query, "text_2": documents})
    assert r.status_code == 200, r.text
    scores = [d["score"] for d in r.json()["data"]]
    assert [d["object"] for d in r.json()["data"]] == ["score"] * 3
    assert max(range(3), key=lambda i: scores[i]) == 1
    same = requests.post(url + "/score", json={"queries": [query], "documents": documents}).json()
    assert [d["score"] for d in same["data"]] == pytest.approx(scores, abs=1e-6)
    for path in ["/rerank", "/v1/rerank"]:
        r = requests.post(url + path, json={"model": "minilm", "query": query, "documents": documents, "top_n": 2})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [x["index"] for x in body["results"]] == sorted(range(3), key=lambda i: -scores[i])[:2]
        assert body["results"][0]["document"] == {"text": documents[1]}
        assert body["results"][0]["relevance_score"] == pytest.approx(scores[1], abs=1e-6)
        assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] > 0
    r = requests.post(url + "/score", json={"text_1": ["a", "b"], "text_2": ["c", "d", "e"]})
    assert r.status_code == 400


def test_messages_embed_the_rendered_conversation(tmp_path):
    """`messages` (vLLM's chat-style embedding input) embeds the conversation as the chat template renders it, without
    a generation prompt: the same vector as the text `vllm template` renders, sent as `input`. On SmolLM2 turned into
    an embedder (`--convert embed`), since the MiniLM folder has no chat template (there `messages` is a 400)."""
    import subprocess
    from conftest import BINARY, MODEL, Server
    messages = [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "Where is Lyon?"}]
    (tmp_path / "messages.json").write_text(json.dumps(messages))
    rendered = subprocess.run([BINARY, "template", "--model", MODEL, "--messages", str(tmp_path / "messages.json"),
                               "--no-generation-prompt"], capture_output=True, text=True, check=True).stdout
    server = Server("--convert", "embed")
    try:
        by_messages = requests.post(server.url + "/v1/embeddings", json={"messages": messages}).json()
        by_text = requests.post(server.url + "/v1/embeddings", json={"input": rendered, "add_special_tokens": False}).json()
        assert by_messages["data"][0]["embedding"] == by_text["data"][0]["embedding"]
        assert by_messages["usage"]["prompt_tokens"] == by_text["usage"]["prompt_tokens"] > 10
        both = requests.post(server.url + "/v1/embeddings", json={"messages": messages, "input": "x"})
        assert both.status_code == 400 and both.json()["error"]["param"] == "messages"
    finally:
        server.stop()
