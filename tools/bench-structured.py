#!/usr/bin/env python3
"""Structured-output serving cost for BENCHMARKS.md (issue 24): 32 concurrent streams, each with its own JSON schema,
against the same 32 prompts unconstrained, in one run of one `vllm serve`:

    python3 tools/bench-structured.py [--model PATH] [--streams 32] [--max-tokens 96] [--rounds 3]

Every schema has free-text string fields (long enough that generation runs to max_tokens either way), with property
names that differ per stream, so each stream compiles and walks its own grammar. Prints output tokens/s of both
phases (median over rounds, phases alternating) and their ratio; needs only `requests`.
"""
import argparse, os, socket, statistics, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm"))
OURS = os.environ.get("SWIFT_VLLM_BINARY", os.path.join(ROOT, ".build", "release", "vllm"))
TOPICS = "rivers mountains cities engines gardens winters libraries harbours forests deserts islands bridges".split()


def schema(i):
    fields = [f"{TOPICS[(i + k) % len(TOPICS)]}_{i}_{k}" for k in range(3)]
    return {"type": "object", "properties": {f: {"type": "string"} for f in fields} | {"count": {"type": "integer"}},
            "required": fields + ["count"], "additionalProperties": False}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_phase(url, streams, max_tokens, constrained, first=0):
    def one(i):
        body = {"model": "m", "messages": [{"role": "user", "content": f"Describe {TOPICS[i % len(TOPICS)]} in detail, as JSON."}],
                "max_tokens": max_tokens, "temperature": 0.8, "seed": i}
        if constrained:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": f"s{i}", "schema": schema(i)}}
        r = requests.post(url + "/v1/chat/completions", json=body, timeout=900)
        r.raise_for_status()
        return r.json()["usage"]["completion_tokens"]

    start = time.monotonic()
    with ThreadPoolExecutor(streams) as pool:
        tokens = sum(pool.map(one, range(first, first + streams)))
    return tokens / (time.monotonic() - start), tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(CACHE, "models", "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf"))
    ap.add_argument("--streams", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    server = subprocess.Popen([OURS, "serve", args.model, "--port", str(port), "--served-model-name", "m",
                               "--max-num-seqs", str(args.streams)], stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                sys.exit(log.read().decode()[-2000:])
            time.sleep(0.1)
        # Warm-up: the vocabulary's index is built on the first constrained request, and each stream's schema is
        # compiled once (compile time is its own figure, `vllm bench grammar`); the rounds time decoding.
        run_phase(url, args.streams, 1, True)
        free, constrained = [], []
        for r in range(args.rounds):
            order = [(False, free), (True, constrained)] if r % 2 == 0 else [(True, constrained), (False, free)]
            for flag, sink in order:
                rate, tokens = run_phase(url, args.streams, args.max_tokens, flag)
                sink.append(rate)
                print(f"round {r + 1} {'constrained' if flag else 'free':11s} {rate:7.1f} tok/s ({tokens} tokens)", file=sys.stderr)
        f, c = statistics.median(free), statistics.median(constrained)
        print(f"| {args.streams} streams, {args.max_tokens} max tokens | {f:.1f} | {c:.1f} | {c / f:.3f} |")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
