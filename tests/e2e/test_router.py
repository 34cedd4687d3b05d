"""Two `vllm serve` replicas behind vllm-router (PyPI, the router of vLLM's production stack): completions, chat
streaming and metrics work through it, with the fields the router adds ignored with a warning (as vLLM does, not
refused), and killing one replica leaves the other serving."""
import json
import os
import subprocess
import sys
import time

import requests

from conftest import Server, free_port


def start_router(workers, policy, extra=()):
    port = free_port()
    tool = os.path.join(os.path.dirname(sys.executable), "vllm-router")
    process = subprocess.Popen([tool, "--host", "127.0.0.1", "--port", str(port), "--policy", policy,
                                "--prometheus-port", str(free_port()), "--health-check-interval-secs", "1",
                                "--health-failure-threshold", "1", *extra, "--worker-urls", *[w.url for w in workers]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/v1/models", timeout=2).status_code == 200:
                return process, url
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("vllm-router did not start")


def test_replicas_behind_vllm_router():
    replicas = [Server(), Server()]
    router = None
    try:
        router, url = start_router(replicas, "cache_aware")
        for i in range(4):
            r = requests.post(url + "/v1/completions", json={
                "model": "smollm2", "prompt": f"Request {i}: the capital of France is", "max_tokens": 4, "temperature": 0})
            assert r.status_code == 200, r.text
            assert r.json()["choices"][0]["text"]
        with requests.post(url + "/v1/chat/completions", json={
                "model": "smollm2", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 6, "stream": True},
                stream=True, timeout=60) as r:
            assert r.status_code == 200
            events = [line for line in r.iter_lines() if line.startswith(b"data: ")]
        assert events[-1] == b"data: [DONE]" and len(events) >= 3
        served = sum(float(line.split()[-1]) for s in replicas for line in requests.get(s.url + "/metrics").text.splitlines()
                     if line.startswith("vllm:request_success_total"))
        assert served >= 5
        assert any("were present in the request but ignored" in s.log() for s in replicas)
        replicas[0].stop()
        time.sleep(4)  # health checks every second, one failure marks a worker down
        ok = 0
        for i in range(4):
            r = requests.post(url + "/v1/completions", json={"model": "smollm2", "prompt": f"After {i}", "max_tokens": 2},
                              timeout=60)
            ok += r.status_code == 200
        assert ok == 4, "the surviving replica serves once the router has seen the other one go"
    finally:
        if router:
            router.kill()
        for s in replicas:
            s.stop()


PREFIXES = [
    "You are a careful assistant for a shipping company. Policies: parcels over 30 kg need a freight booking; "
    "international parcels need a customs form; refunds take five working days; lost parcels are traced for ten days. ",
    "You are a museum guide. The east wing holds Roman sculpture, the west wing Dutch paintings of the golden age, "
    "the basement the textile collection; guided tours start every hour at the main staircase; photography is free. ",
    "You are a cooking coach. Bread needs flour, water, salt and yeast; proof the dough twice; bake at 230 degrees "
    "with steam for the first ten minutes; let it cool an hour before slicing; store it in a linen bag, never a fridge. ",
]
# Longer shared texts make the difference between the policies plain (the questions' own tokens never hit).
PREFIXES = [p + "Answer in one short sentence, politely, without lists, and say so when you do not know the answer. "
            "Never invent facts that are not in these instructions; refer the user to a human colleague instead. "
            for p in PREFIXES]
QUESTIONS = ["Question: what should I do first?", "Question: how long does it take?", "Question: what does it cost?",
             "Question: who do I ask?", "Question: can I do it today?", "Question: what is the most common mistake?"]


def prefix_counters(replicas):
    """Prefix-cache hit and query tokens summed over the replicas."""
    counters = {"vllm:prefix_cache_hits_total": 0.0, "vllm:prefix_cache_queries_total": 0.0}
    for s in replicas:
        for line in requests.get(s.url + "/metrics").text.splitlines():
            name = line.split("{")[0].split(" ")[0]
            if name in counters:
                counters[name] += float(line.split()[-1])
    return counters["vllm:prefix_cache_hits_total"], counters["vllm:prefix_cache_queries_total"]


def prefix_hit_rate(policy):
    """Shared-prefix traffic (three long system texts, six questions each, interleaved) through the router to two fresh
    replicas; the prefix-cache hit rate over both, from their vllm:prefix_cache_* counters."""
    replicas = [Server(), Server()]
    router = None
    try:
        router, url = start_router(replicas, policy)
        for question in QUESTIONS:
            for prefix in PREFIXES:
                r = requests.post(url + "/v1/completions", json={"model": "smollm2", "prompt": prefix + question,
                                                                 "max_tokens": 1}, timeout=60)
                assert r.status_code == 200, r.text
        hits, queries = prefix_counters(replicas)
        return hits / queries
    finally:
        if router:
            router.kill()
        for s in replicas:
            s.stop()


def test_cache_aware_and_kv_aware_routing_beat_round_robin_on_shared_prefixes():
    rates = {policy: prefix_hit_rate(policy) for policy in ("round_robin", "cache_aware", "consistent_hash")}
    print("prefix-cache hit rate by router policy:", {k: round(v, 3) for k, v in rates.items()})
    # Round robin sends each system text to both replicas, so each computes it once; cache_aware keeps a text on one.
    assert rates["cache_aware"] > rates["round_robin"] + 0.1, rates


def kv_aware_routed_hit_rate(events):
    """Each system text is first sent to one replica directly (the router never sees it), then questions on it go
    through vllm-router's kv_aware policy: only the replicas' KV events (`--kv-events-config`) tell it where each
    text is cached. Returns the prefix-cache hit rate of the routed requests."""
    ports = [free_port(), free_port()]
    replicas = [Server(*(["--kv-events-config", json.dumps({"enable_kv_cache_events": True, "endpoint": f"tcp://127.0.0.1:{p}"})]
                         if events else [])) for p in ports]
    extra = ["--kv-event-model", "smollm2"]
    for replica, p in zip(replicas, ports):
        extra += ["--kv-event-source", f"{replica.url}=tcp://127.0.0.1:{p}"]
    router = None
    try:
        router, url = start_router(replicas, "kv_aware", extra)
        time.sleep(1)  # the router's subscriptions reach the replicas
        for k, prefix in enumerate(PREFIXES):
            requests.post(replicas[(k + 1) % 2].url + "/v1/completions", json={"model": "smollm2", "prompt": prefix + "Hello.",
                                                                              "max_tokens": 1}, timeout=60)
        time.sleep(1.5)
        hits0, queries0 = prefix_counters(replicas)
        for question in QUESTIONS[:2]:
            for prefix in PREFIXES:
                r = requests.post(url + "/v1/completions", json={"model": "smollm2", "prompt": prefix + question, "max_tokens": 1},
                                  timeout=60)
                assert r.status_code == 200, r.text
        hits, queries = prefix_counters(replicas)
        return (hits - hits0) / (queries - queries0)
    finally:
        if router:
            router.kill()
        for s in replicas:
            s.stop()


def test_kv_aware_routing_follows_the_replicas_kv_events():
    with_events, without = kv_aware_routed_hit_rate(True), kv_aware_routed_hit_rate(False)
    print(f"kv_aware routed hit rate: {with_events:.3f} with KV events, {without:.3f} without")
    # With events every routed request finds its text where it was cached (only the question's tokens miss).
    assert with_events > without + 0.05 and with_events > 0.85, (with_events, without)
