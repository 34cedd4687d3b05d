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


def families(server):
    """/metrics read by prometheus_client's own parser: every sample by name and labels."""
    from prometheus_client.parser import text_string_to_metric_families
    samples = {}
    for family in text_string_to_metric_families(requests.get(server.url + "/metrics").text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_request_phase_and_step_histograms(server):
    """SPEC's vllm:request_{queue,prefill,decode}_time_seconds, vLLM's request_inference_time_seconds,
    request_time_per_output_token_seconds and vllm:iteration_tokens_total move with a request; a request's RUNNING
    time is its PREFILL plus its DECODE, and its time per output token its DECODE over its tokens but one."""
    def value(samples, name):
        return sum(v for (n, _), v in samples.items() if n == name)
    before = families(server)
    r = requests.post(server.url + "/v1/completions",
                      json={"model": "smollm2", "prompt": "The capital of France is", "max_tokens": 6, "ignore_eos": True})
    assert r.status_code == 200
    after = families(server)
    for phase in ["queue", "prefill", "decode", "inference"]:
        assert value(after, f"vllm:request_{phase}_time_seconds_count") == value(before, f"vllm:request_{phase}_time_seconds_count") + 1
    delta = {phase: value(after, f"vllm:request_{phase}_time_seconds_sum") - value(before, f"vllm:request_{phase}_time_seconds_sum")
             for phase in ["prefill", "decode", "inference"]}
    assert delta["decode"] > 0 and abs(delta["inference"] - delta["prefill"] - delta["decode"]) < 1e-6
    tpot = value(after, "vllm:request_time_per_output_token_seconds_sum") - value(before, "vllm:request_time_per_output_token_seconds_sum")
    assert abs(tpot - delta["decode"] / 5) < 1e-6
    # One prefill step and five decode steps (other tests' requests may share them): at least 6 more steps, and
    # their tokens (5 prompt + 5 decoded, the sixth token ends the request) counted in the sum.
    assert value(after, "vllm:iteration_tokens_total_count") >= value(before, "vllm:iteration_tokens_total_count") + 6
    assert value(after, "vllm:iteration_tokens_total_sum") >= value(before, "vllm:iteration_tokens_total_sum") + 10


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
