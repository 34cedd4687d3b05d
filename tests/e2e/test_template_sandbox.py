"""The chat-template sandbox against the real `vllm serve`: pathological templates from --chat-template end in an
OpenAI-shaped error, /health keeps answering while two of them render, and the server keeps serving. (The same
check runs as a Swift test only with VLLM_TEST_TIMING=1: beside the whole Swift suite on two cores it is no timing.)"""
import concurrent.futures
import time

import requests

from conftest import Server

# 100,000 scans of a 1 MB message: far past the render time limit, with no loop or size limit to stop it earlier.
SLOW = "{% for i in range(100000) %}{% if 'b' in messages[0].content %}b{% endif %}{% endfor %}"


def chat(url, content, timeout=120):
    body = {"model": "smollm2", "messages": [{"role": "user", "content": content}], "max_tokens": 2}
    return requests.post(url + "/v1/chat/completions", json=body, timeout=timeout)


def test_health_answers_while_two_slow_renders_run(tmp_path):
    template = tmp_path / "slow.jinja"
    template.write_text(SLOW)
    server = Server("--chat-template", str(template))
    try:
        big = "a" * 1_000_000
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            renders = [pool.submit(chat, server.url, big) for _ in range(2)]
            time.sleep(0.5)
            latencies = []
            for _ in range(5):
                sent = time.monotonic()
                assert requests.get(server.url + "/health", timeout=10).status_code == 200
                latencies.append(time.monotonic() - sent)
            still_rendering = not any(r.done() for r in renders)
            responses = [r.result() for r in renders]
        assert still_rendering, "the health checks ran while both renders did"
        assert sorted(latencies)[2] < 0.1, latencies
        for response in responses:
            assert response.status_code == 500, response.text
            error = response.json()["error"]
            assert "time limit" in error["message"], error
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
    finally:
        server.stop()


def test_recursive_macro_is_an_error_not_a_crash(tmp_path):
    template = tmp_path / "recursive.jinja"
    template.write_text("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
    server = Server("--chat-template", str(template))
    try:
        response = chat(server.url, "hi", timeout=30)
        assert response.status_code == 500, response.text
        assert "nested deeper" in response.json()["error"]["message"]
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
        assert server.process.poll() is None
    finally:
        server.stop()
