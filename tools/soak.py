#!/usr/bin/env python3
"""Soak test (issue 26): a mixed load against the real `vllm serve` for a fixed time, then the server's health.

    python3 tools/soak.py [--duration 600] [--binary .build/release/vllm] [--model FILE] [--json OUT.json]

Needs `requests` (tools/test.sh's e2e venv has it). Starts the server on a free loopback port and runs, at once:
  - streamers: greedy completions and chat completions, streamed, each followed by its non-streamed twin (same
    prompt, same parameters); the two texts must be equal (outputs do not depend on the batch);
  - droppers: streams closed after a few chunks, and non-streamed requests whose client gives up after 0.3 s;
  - aborters: long streams (400 tokens, EOS ignored) dropped at once;
  - bad clients: malformed JSON, wrong types, out-of-range parameters, unknown models, oversized n: every answer a
    4xx in OpenAI's error shape, never a 5xx;
  - a health prober: /health every 0.5 s, its latency recorded.
The server's RSS is sampled every 2 s. At the end every load stops, and the server must become idle: no request
running or waiting and `vllm:kv_cache_usage_perc` 0 within 30 s. Exit status 1 on any failure, with the reasons.
"""
import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = ("the river city light paper music garden window story winter science market animal mountain "
         "language history friend number ocean silver morning engine valley bridge").split()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Soak:
    def __init__(self, url, duration, seed):
        self.url, self.deadline = url, time.monotonic() + duration
        self.lock = threading.Lock()
        self.counts, self.failures, self.health_ms = {}, [], []
        self.seed = seed

    def running(self):
        return time.monotonic() < self.deadline

    def count(self, name):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def fail(self, what):
        with self.lock:
            if len(self.failures) < 50:
                self.failures.append(what)

    def prompt(self, rng):
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 60)))

    # ---- workers
    def streamer(self, index):
        rng = random.Random(self.seed * 1000 + index)
        while self.running():
            chat = rng.random() < 0.4
            body = {"model": "soak", "max_tokens": rng.randint(4, 48), "temperature": 0}
            if chat:
                path, body["messages"] = "/v1/chat/completions", [{"role": "user", "content": self.prompt(rng)}]
            else:
                path, body["prompt"] = "/v1/completions", self.prompt(rng)
            try:
                streamed = self.stream_text(path, body, chat)
                plain = requests.post(self.url + path, json=body, timeout=300)
                if plain.status_code != 200:
                    self.fail(f"{path} non-streamed twin: HTTP {plain.status_code} {plain.text[:200]}")
                    continue
                choice = plain.json()["choices"][0]
                text = choice["message"]["content"] if chat else choice["text"]
                if text != streamed:
                    self.fail(f"{path}: streamed {streamed!r} != non-streamed {text!r} for {body}")
                self.count("stream pairs")
            except Exception as e:  # noqa: BLE001 - every client error is a soak failure
                self.fail(f"{path} streamer: {e!r}")

    def stream_text(self, path, body, chat):
        parts = []
        with requests.post(self.url + path, json={**body, "stream": True}, stream=True, timeout=300) as r:
            if r.status_code != 200:
                raise RuntimeError(f"HTTP {r.status_code} {r.text[:200]}")
            for line in r.iter_lines():
                if not line.startswith(b"data: ") or line == b"data: [DONE]":
                    continue
                event = json.loads(line[6:])
                if "error" in event:
                    raise RuntimeError(f"error event {event}")
                for c in event.get("choices", []):
                    parts.append((c.get("delta") or {}).get("content") or "" if chat else c.get("text") or "")
        return "".join(parts)

    def dropper(self, index):
        rng = random.Random(self.seed * 2000 + index)
        while self.running():
            body = {"model": "soak", "prompt": self.prompt(rng), "max_tokens": 200, "ignore_eos": True}
            try:
                if rng.random() < 0.5:
                    with requests.post(self.url + "/v1/completions", json={**body, "stream": True}, stream=True, timeout=60) as r:
                        for i, _ in enumerate(r.iter_lines()):
                            if i >= rng.randint(1, 6):
                                break
                    self.count("dropped streams")
                else:
                    try:
                        requests.post(self.url + "/v1/completions", json=body, timeout=0.3)
                    except requests.exceptions.Timeout:
                        pass
                    self.count("dropped requests")
            except Exception as e:  # noqa: BLE001
                self.fail(f"dropper: {e!r}")

    def aborter(self, index):
        rng = random.Random(self.seed * 3000 + index)
        while self.running():
            body = {"model": "soak", "prompt": self.prompt(rng), "max_tokens": 400, "ignore_eos": True, "stream": True}
            try:
                with requests.post(self.url + "/v1/completions", json=body, stream=True, timeout=60):
                    pass  # closed before reading anything
                self.count("aborted streams")
                time.sleep(0.2)
            except Exception as e:  # noqa: BLE001
                self.fail(f"aborter: {e!r}")

    BAD = [
        ("/v1/completions", b"{not json"),
        ("/v1/completions", json.dumps({"model": "soak", "prompt": "x", "max_tokens": -1}).encode()),
        ("/v1/completions", json.dumps({"model": "soak", "prompt": "x", "temperature": "hot"}).encode()),
        ("/v1/completions", json.dumps({"model": "soak", "prompt": "x", "top_p": 7}).encode()),
        ("/v1/completions", json.dumps({"model": "soak", "prompt": "x", "n": 100000}).encode()),
        ("/v1/completions", json.dumps({"model": "no-such-model", "prompt": "x"}).encode()),
        ("/v1/completions", json.dumps({"model": "soak", "prompt": "x", "logit_bias": {"999999999": 5}}).encode()),
        ("/v1/completions", json.dumps({"model": "soak", "prompt": "x " * 20000, "max_tokens": 4}).encode()),
        ("/v1/chat/completions", json.dumps({"model": "soak", "messages": "hello"}).encode()),
        ("/v1/chat/completions", json.dumps({"model": "soak", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}).encode()),
        ("/v1/chat/completions", json.dumps({"model": "soak", "messages": [{"role": 5, "content": "x"}]}).encode()),
    ]

    def bad_client(self, index):
        rng = random.Random(self.seed * 4000 + index)
        while self.running():
            path, data = rng.choice(self.BAD)
            try:
                r = requests.post(self.url + path, data=data, headers={"Content-Type": "application/json"}, timeout=60)
                if not 400 <= r.status_code < 500:
                    self.fail(f"bad request {data[:80]!r}: HTTP {r.status_code} {r.text[:200]}")
                elif "error" not in r.json():
                    self.fail(f"bad request {data[:80]!r}: no error object in {r.text[:200]}")
                self.count("bad requests")
            except Exception as e:  # noqa: BLE001
                self.fail(f"bad client: {e!r}")
            time.sleep(0.05)

    def prober(self):
        while self.running():
            t = time.monotonic()
            try:
                code = requests.get(self.url + "/health", timeout=10).status_code
                self.health_ms.append((time.monotonic() - t) * 1000)
                if code != 200:
                    self.fail(f"/health answered {code}")
            except Exception as e:  # noqa: BLE001
                self.fail(f"/health: {e!r}")
            time.sleep(0.5)


def metric(url, name):
    text = requests.get(url + "/metrics", timeout=10).text
    values = [float(m.group(1)) for m in re.finditer(rf"^{re.escape(name)}(?:{{[^}}]*}})? ([0-9.eE+-]+)$", text, re.M)]
    return sum(values) if values else None


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line.split()[1] for line in f if line.startswith("VmRSS")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "vllm"))
    ap.add_argument("--model", default=os.path.join(os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm")),
                                                   "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write the summary here")
    args = ap.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="soak-server-", suffix=".log", delete=False)
    server = subprocess.Popen([args.binary, "serve", args.model, "--host", "127.0.0.1", "--port", str(port),
                               "--served-model-name", "soak", "--max-model-len", "2048"], stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(600):
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    else:
        server.kill()
        sys.exit(f"server did not start (log: {log.name})")

    # The KV cache's pages are faulted in after /health by an idle-priority thread: start once memory has settled.
    last, same = -1, 0
    for _ in range(120):
        rss = rss_kb(server.pid)
        same = same + 1 if abs(rss - last) <= 2048 else 0
        last = rss
        if same >= 3:
            break
        time.sleep(0.5)
    soak = Soak(url, args.duration, args.seed)
    threads = [threading.Thread(target=soak.streamer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=soak.dropper, args=(i,)) for i in range(2)]
    threads += [threading.Thread(target=soak.aborter, args=(0,)), threading.Thread(target=soak.bad_client, args=(0,)),
                threading.Thread(target=soak.prober)]
    for t in threads:
        t.start()
    start, samples = time.monotonic(), []
    while soak.running() and server.poll() is None:
        samples.append((time.monotonic() - start, rss_kb(server.pid)))
        time.sleep(2)
    for t in threads:
        t.join()

    failures = list(soak.failures)
    if server.poll() is not None:
        failures.append(f"the server exited with status {server.returncode} (log: {log.name})")
    idle = None
    if server.poll() is None:
        for _ in range(60):
            running, waiting = metric(url, "vllm:num_requests_running"), metric(url, "vllm:num_requests_waiting")
            usage = metric(url, "vllm:kv_cache_usage_perc")
            idle = {"running": running, "waiting": waiting, "kv_cache_usage_perc": usage}
            if running == 0 and waiting == 0 and usage == 0:
                break
            time.sleep(0.5)
        else:
            failures.append(f"not idle 30 s after the load stopped: {idle}")
    # RSS after warm-up: the first fifth of the run warms buffers up; from then on it must stay flat.
    warm = [kb for t, kb in samples if t >= args.duration / 5]
    growth = (max(warm) - warm[0]) / 1024 if warm else 0
    if growth > 64:
        failures.append(f"RSS grew by {growth:.0f} MiB after warm-up")
    health = sorted(soak.health_ms)
    summary = {
        "duration_s": args.duration, "counts": soak.counts, "failures": failures, "idle_at_end": idle,
        "rss_mib": {"after_warmup": warm[0] / 1024 if warm else None, "max": max(kb for _, kb in samples) / 1024 if samples else None,
                    "growth_after_warmup": growth},
        "health_ms": {"p50": health[len(health) // 2] if health else None,
                      "p99": health[min(len(health) - 1, int(len(health) * 0.99))] if health else None,
                      "max": health[-1] if health else None},
    }
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        failures.append("SIGTERM did not stop the server in 30 s")
    print(json.dumps(summary, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
