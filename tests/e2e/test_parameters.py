"""Request parameters against the real server and model: vLLM's refusals, last-wins JSON keys, null content."""
import socket

import requests


def post(server, path, body):
    return requests.post(server.url + path, json=body, timeout=60)


def error(r):
    assert r.status_code == 400, r.text
    return r.json()["error"]


def test_logit_bias_out_of_vocab_is_400(server):
    e = error(post(server, "/v1/completions", {"model": "smollm2", "prompt": "Hi", "max_tokens": 1,
                                               "logit_bias": {"99999999": 5}}))
    assert "out-of-vocab" in e["message"] and e["param"] == "logit_bias"


def test_allowed_token_ids_beyond_int32_are_refused_not_truncated(server):
    e = error(post(server, "/v1/completions", {"model": "smollm2", "prompt": "Hi", "max_tokens": 1,
                                               "allowed_token_ids": [2**32 + 5]}))
    assert e["message"].startswith("allowed_token_ids contains out-of-vocab token id!")


def test_limits_and_unsupported_fields_are_named(server):
    assert error(post(server, "/v1/completions", {"model": "smollm2", "prompt": "Hi", "n": 1000}))["param"] == "n"
    assert error(post(server, "/v1/completions", {"model": "smollm2", "prompt": ["x"] * 10000}))["param"] == "prompt"
    e = error(post(server, "/v1/completions", {"model": "smollm2", "prompt": "Hi", "prompt_logprobs": 21}))
    assert e["message"] == "Requested prompt logprobs of 21, which is greater than max allowed: 20"
    e = error(post(server, "/v1/completions", {"model": "smollm2", "prompt": "Hi", "best_of": 2}))
    assert e["param"] == "best_of"


def test_a_repeated_key_keeps_its_last_value(server):
    body = '{"model": "smollm2", "prompt": "Hello", "temperature": 0, "max_tokens": 9, "max_tokens": 2}'
    r = requests.post(server.url + "/v1/completions", data=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 2


def test_null_content_renders_with_the_model_template(server):
    r = post(server, "/v1/chat/completions", {"model": "smollm2", "max_tokens": 2, "messages": [
        {"role": "system", "content": None}, {"role": "user", "content": "Hi"}]})
    assert r.status_code == 200, r.text


def test_a_malformed_chunked_body_is_not_413(server):
    host, port = server.url.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"pro\r\nzz\r\nmpt\r\n0\r\n\r\n")
        reply = b""
        try:
            while chunk := s.recv(4096):
                reply += chunk
        except socket.timeout:
            pass
    assert b" 413 " not in reply and b"67108864" not in reply, reply
    assert requests.get(server.url + "/health", timeout=5).status_code == 200


def test_bad_words_keep_a_word_out(server):
    """bad_words, tokenized by the server (alone and after a space), keep the greedy answer's first word out."""
    body = {"model": "smollm2", "prompt": "The capital of France is", "max_tokens": 12, "temperature": 0}
    free = post(server, "/v1/completions", body).json()["choices"][0]["text"]
    assert free.startswith(" Paris")
    banned = post(server, "/v1/completions", {**body, "bad_words": ["Paris"]}).json()["choices"][0]["text"]
    assert "Paris" not in banned and banned
