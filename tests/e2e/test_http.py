"""Raw HTTP: error shapes, SSE framing, tokenize, metrics, disconnects."""
import json
import time

import requests


def metric(server, name):
    total = 0.0
    for line in requests.get(server.url + "/metrics").text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_malformed_json_is_400_in_openai_shape(server):
    r = requests.post(server.url + "/v1/completions", data="{bad", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["message"] and error["type"] and error["code"] == 400


def test_prompt_over_the_context_is_400(server):
    r = requests.post(server.url + "/v1/completions", json={"model": "smollm2", "prompt": "hi " * 9000, "max_tokens": 4})
    assert r.status_code == 400
    assert "8192" in r.json()["error"]["message"]


def test_wrong_type_is_400(server):
    r = requests.post(server.url + "/v1/chat/completions", json={"model": "smollm2", "messages": "not a list"})
    assert r.status_code == 400


def test_sse_framing(server):
    with requests.post(server.url + "/v1/completions", stream=True,
                       json={"model": "smollm2", "prompt": "Hello", "max_tokens": 4, "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines(decode_unicode=True) if line]
    assert events[-1] == "data: [DONE]"
    bodies = [json.loads(e[len("data: "):]) for e in events[:-1]]
    assert bodies[-1]["choices"][0]["finish_reason"] == "length"


def test_tokenize_and_detokenize(server):
    r = requests.post(server.url + "/tokenize", json={"model": "smollm2", "prompt": "Hello  world"}).json()
    assert r["tokens"] == [19556, 216, 905] and r["count"] == 3
    d = requests.post(server.url + "/detokenize", json={"model": "smollm2", "tokens": r["tokens"]}).json()
    assert d["prompt"] == "Hello  world"


def test_metrics_move(server):
    before = metric(server, "vllm:prompt_tokens_total")
    requests.post(server.url + "/v1/completions", json={"model": "smollm2", "prompt": "The capital of France is", "max_tokens": 2})
    assert metric(server, "vllm:prompt_tokens_total") == before + 5
    assert metric(server, "vllm:request_success_total") >= 1


def test_disconnect_mid_stream_frees_the_request(server):
    usage_before = metric(server, "vllm:kv_cache_usage_perc")
    r = requests.post(server.url + "/v1/completions", stream=True,
                      json={"model": "smollm2", "prompt": "Write a long story.", "max_tokens": 2000, "stream": True,
                            "ignore_eos": True})
    lines = r.iter_lines()
    for _ in range(3):
        next(lines)
    r.close()
    deadline = time.time() + 10
    while time.time() < deadline and metric(server, "vllm:num_requests_running") > 0:
        time.sleep(0.1)
    assert metric(server, "vllm:num_requests_running") == 0
    assert metric(server, "vllm:kv_cache_usage_perc") == usage_before
