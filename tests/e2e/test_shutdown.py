"""The server's life: the startup, request and stats log lines, and SIGTERM/SIGINT with requests in flight (vLLM's
--shutdown-timeout: 0 stops them at once with a 503, N seconds lets them finish), always exiting 0."""
import json
import re
import signal
import time

import requests

from conftest import Server


def start_stream(server, max_tokens):
    """Starts a streaming greedy completion and returns its line iterator once the first chunk has arrived."""
    r = requests.post(server.url + "/v1/completions", stream=True, timeout=120,
                      json={"model": "smollm2", "prompt": "Tell me a long story about a lighthouse keeper.",
                            "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True, "stream": True,
                            "stream_options": {"include_usage": True}})
    assert r.status_code == 200
    lines = (line for line in r.iter_lines(decode_unicode=True) if line)
    first = next(lines)
    assert first.startswith("data: {")
    return [first], lines


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_startup_line_names_model_kv_cache_and_address_and_requests_are_logged():
    s = Server("--kv-cache-space", "0.1", "--max-model-len", "4096", "--block-size", "32")
    try:
        line = next(line for line in s.log().splitlines() if "KV cache" in line)
        match = re.search(r"KV cache (\d+) blocks × 32 tokens = (\d+) tokens", line)
        assert match, line
        assert int(match.group(2)) == int(match.group(1)) * 32
        assert "smollm2" in line and f"http://127.0.0.1:{s.port}" in line
        requests.post(s.url + "/v1/completions", json={"model": "smollm2", "prompt": "Hi", "max_tokens": 2, "seed": 5})
        assert re.search(r"Received request cmpl-\w+: 1 prompt\(s\), 1 choice\(s\), prompt tokens \d+, max_tokens 2, .*seed 5", s.log()), s.log()
    finally:
        s.stop()
    assert s.process.returncode == 0


def test_sigterm_stops_in_flight_requests_with_a_503_and_exits_0():
    s = Server("--disable-log-requests")
    seen, lines = start_stream(s, 4000)
    s.process.send_signal(signal.SIGTERM)
    events = seen + list(lines)
    assert events[-1] == "data: [DONE]"
    error = json.loads(events[-2][len("data: "):])["error"]
    assert error["code"] == 503 and "shutting down" in error["message"]
    assert s.process.wait(timeout=20) == 0
    assert "Shutting down with 1 requests in flight: aborting them" in s.log()
    assert "Received request" not in s.log(), "--disable-log-requests"


def test_sigint_with_a_shutdown_timeout_drains_and_logs_stats():
    s = Server("--shutdown-timeout", "60", env={"VLLM_LOG_STATS_INTERVAL": "0.3"})
    seen, lines = start_stream(s, 300)
    # While a request generates, the stats line comes every 0.3 s.
    assert wait_for(lambda: "Running: 1 reqs" in s.log(), 5), s.log()
    stats = next(line for line in s.log().splitlines() if "Running: 1 reqs" in line)
    assert re.search(r"Avg prompt throughput: [\d.]+ tokens/s, Avg generation throughput: [\d.]+ tokens/s, Running: 1 reqs, "
                     r"Waiting: 0 reqs, KV cache usage: [\d.]+%, Prefix cache hit rate: [\d.]+%", stats), stats

    s.process.send_signal(signal.SIGINT)
    # Draining: health and new requests get 503 while the request in flight goes on.
    assert wait_for(lambda: requests.get(s.url + "/health").status_code == 503, 5)
    refused = requests.post(s.url + "/v1/completions", json={"model": "smollm2", "prompt": "Hi", "max_tokens": 2})
    assert refused.status_code == 503 and "shutting down" in refused.json()["error"]["message"]

    events = seen + list(lines)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[len("data: "):]) for e in events[:-1]]
    assert chunks[-1]["usage"]["completion_tokens"] == 300, "the request in flight ran to its end"
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert s.process.wait(timeout=20) == 0
    assert "Shutting down with 1 requests in flight: giving them up to 60.0 seconds to finish" in s.log()


def test_startup_line_names_the_kernels_and_vllm_cpu_isa_caps_them():
    """The startup line names the instruction set the kernels dispatch to: AVX-512 where /proc/cpuinfo lists it,
    AVX2 under VLLM_CPU_ISA=avx2, portable C under VLLM_CPU_ISA=scalar. The AVX2 path gives the default's greedy text
    (its matmuls give the same bits; its attention rounds differently, within 1e-4). The portable path (unpacked
    weights, ggml's summation order) agrees on the decisive first token and parts at a near-tie a few tokens on
    (" answer" / " United", 0.07-0.18 apart in logprob), as llama.cpp's own rounding does (LlamaCppReferenceTests)."""
    flags = next((line for line in open("/proc/cpuinfo") if line.startswith("flags")), "").split()
    best = "AVX-512" if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= set(flags) else "AVX2" if "avx2" in flags else "portable C"
    texts = {}
    for isa, expected in [(None, best), ("avx2", "AVX2" if best != "portable C" else "portable C"), ("scalar", "portable C")]:
        s = Server("--kv-cache-space", "0.1", "--max-model-len", "4096", env={"VLLM_CPU_ISA": isa} if isa else None)
        try:
            line = next(line for line in s.log().splitlines() if "KV cache" in line)
            assert re.search(rf", {re.escape(expected)}( \([A-Z0-9, ]+\))? kernels, ", line), line
            r = requests.post(s.url + "/v1/completions", timeout=120,
                              json={"model": "smollm2", "prompt": "The capital of France is", "max_tokens": 8, "temperature": 0})
            texts[isa] = r.json()["choices"][0]["text"]
        finally:
            s.stop()
    assert texts["avx2"] == texts[None], texts
    assert texts["scalar"].startswith(" Paris") and texts[None].startswith(" Paris"), texts
