#!/usr/bin/env python3
"""Embedding throughput for BENCHMARKS.md (issue 25): our `vllm serve` on all-MiniLM-L6-v2 (tools/fetch-minilm.sh),
sentence-transformers on torch CPU in-process, and llama.cpp's `llama-server --embedding` on the F32 GGUF that
convert_hf_to_gguf.py makes from the same folder, one engine at a time, all with 2 threads, the same texts:

  batch1  one short text per request, requests back to back   -> texts/s and p50 latency
  batch64 64 short texts (8-14 words) per request             -> texts/s
  long16  16 long texts (about 240 tokens each) per request   -> texts/s

    ~/.cache/swift-vllm/venv-st/bin/python tools/bench-embeddings.py [--engines ours,st,llama] [--rounds 3]
    ~/.cache/swift-vllm/venv-st/bin/python tools/bench-embeddings.py --chat-load   # p50 of one query under chat load

The venv is the one tools/gen-embedding-fixtures.py uses (sentence-transformers, torch CPU, requests); the GGUF is
written next to the folder on first use (convert_hf_to_gguf.py from tools/fetch-llama-cpp-source.sh, gguf-py on
PYTHONPATH). Prints one markdown table; every figure is the median over rounds.
"""
import argparse, os, random, socket, statistics, subprocess, sys, tempfile, time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm"))
FOLDER = os.path.join(CACHE, "models", "all-MiniLM-L6-v2")
GGUF = os.path.join(CACHE, "models", "all-MiniLM-L6-v2.f32.gguf")
OURS = os.environ.get("SWIFT_VLLM_BINARY", os.path.join(ROOT, ".build", "release", "vllm"))
LLAMA_SERVER = os.path.join(CACHE, "llama-cpp-build", "bin", "llama-server")
WORDS = ("retrieval passage query answer model vector cosine document source river mountain city history science "
         "music garden winter summer engine kernel thread memory cache token server client paper book").split()


def texts(seed, count, words):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(*words))).capitalize() + "." for _ in range(count)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command, url):
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                time.sleep(2)  # whatever the server still does after its first 200 (page faults, threads) settles
                return process
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    process.kill()
    log.seek(0)
    sys.exit(f"{command[0]} did not start: {log.read().decode()[-2000:]}")


def http_embedder(url, extra):
    def embed(batch):
        r = requests.post(url + "/v1/embeddings", json={"input": batch, **extra}, timeout=600)
        r.raise_for_status()
        assert len(r.json()["data"]) == len(batch)
    return embed


def measure(embed, rounds):
    """Median texts/s of each workload, and the p50 latency of batch1."""
    out = {}
    embed(texts(0, 4, (8, 14)))  # warm-up
    for name, count, words, per_request in [("batch1", 32, (8, 14), 1), ("batch64", 64, (8, 14), 64), ("long16", 16, (170, 180), 16)]:
        rates, latencies = [], []
        for r in range(rounds):
            items = texts(1000 * r + len(name), count, words)
            start = time.perf_counter()
            for i in range(0, count, per_request):
                t = time.perf_counter()
                embed(items[i:i + per_request])
                latencies.append(time.perf_counter() - t)
            rates.append(count / (time.perf_counter() - start))
        out[name] = statistics.median(rates)
        if name == "batch1":
            out["batch1_p50_ms"] = 1000 * statistics.median(latencies)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="ours,st,llama")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ours-args", default="", help="more arguments for our `vllm serve` (e.g. '--dtype float32')")
    parser.add_argument("--chat-load", action="store_true",
                        help="instead: one query's latency idle and beside 8 chat streams on another `vllm serve`")
    args = parser.parse_args()
    if args.chat_load:
        return query_latency_under_chat_load(args.ours_args)
    results = {}
    for engine in args.engines.split(","):
        if engine == "ours":
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            p = start([OURS, "serve", FOLDER, "--host", "127.0.0.1", "--port", str(port), "--threads", "2"]
                      + args.ours_args.split(), url)
            try:
                results[engine] = measure(http_embedder(url, {"truncate_prompt_tokens": -1}), args.rounds)
            finally:
                p.terminate(); p.wait()
        elif engine == "llama":
            if not os.path.exists(GGUF):
                llama_cpp = subprocess.check_output([os.path.join(ROOT, "tools", "fetch-llama-cpp-source.sh")], text=True).strip()
                subprocess.check_call([sys.executable, os.path.join(llama_cpp, "convert_hf_to_gguf.py"), FOLDER, "--outtype", "f32",
                                       "--outfile", GGUF], env={**os.environ, "PYTHONPATH": os.path.join(llama_cpp, "gguf-py")})
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            p = start([LLAMA_SERVER, "-m", GGUF, "--embedding", "--pooling", "mean", "-t", "2", "-c", "8192", "-np", "16",
                       "-b", "8192", "-ub", "8192", "--host", "127.0.0.1", "--port", str(port)], url)
            try:
                results[engine] = measure(http_embedder(url, {}), args.rounds)
            finally:
                p.terminate(); p.wait()
        elif engine == "st":
            import torch
            from sentence_transformers import SentenceTransformer
            torch.set_num_threads(2)
            model = SentenceTransformer(FOLDER, device="cpu")
            results[engine] = measure(lambda batch: model.encode(batch, batch_size=64), args.rounds)
        print(engine, results[engine], file=sys.stderr)
    names = {"ours": "swift-vllm (`vllm serve`, HTTP)", "st": "sentence-transformers (torch CPU, in-process)",
             "llama": "llama-server --embedding (F32 GGUF, HTTP)"}
    print("| engine | batch 1: texts/s | batch 1: p50 ms | 64 short: texts/s | 16 long: texts/s |")
    print("|---|---:|---:|---:|---:|")
    for engine, r in results.items():
        print(f"| {names[engine]} | {r['batch1']:.1f} | {r['batch1_p50_ms']:.1f} | {r['batch64']:.1f} | {r['long16']:.1f} |")
    if "ours" in results:
        for other in [e for e in results if e != "ours"]:
            ratios = [results["ours"][k] / results[other][k] for k in ("batch1", "batch64", "long16")]
            print(f"| ours / {other} | {ratios[0]:.2f}× | | {ratios[1]:.2f}× | {ratios[2]:.2f}× |")


def query_latency_under_chat_load(ours_args, queries=60):
    """p50 / p90 ms of one short query embedding, idle and while 8 streams generate 64 tokens each back to back on
    a chat server (the default model) beside the embedding server on the same cores."""
    import threading
    chat_model = os.path.join(CACHE, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
    eport, cport = free_port(), free_port()
    eurl, curl = f"http://127.0.0.1:{eport}", f"http://127.0.0.1:{cport}"
    embedder = start([OURS, "serve", FOLDER, "--host", "127.0.0.1", "--port", str(eport)] + ours_args.split(), eurl)
    chat = start([OURS, "serve", chat_model, "--host", "127.0.0.1", "--port", str(cport)], curl)
    embed = http_embedder(eurl, {})
    stop = threading.Event()
    chunks = []

    def stream():
        while not stop.is_set():
            body = {"prompt": "Tell me a story about a river.", "max_tokens": 64, "ignore_eos": True, "stream": True}
            with requests.post(curl + "/v1/completions", json=body, stream=True, timeout=600) as r:
                r.raise_for_status()
                chunks.append(sum(1 for line in r.iter_lines() if line.startswith(b"data: {")))

    def latencies():
        out = []
        for i in range(queries):
            t = time.perf_counter()
            embed(texts(i, 1, (6, 10)))
            out.append(1000 * (time.perf_counter() - t))
            time.sleep(0.05)
        out.sort()
        return out[len(out) // 2], out[int(len(out) * 0.9)]

    try:
        embed(texts(0, 4, (8, 14)))
        idle = latencies()
        streams = [threading.Thread(target=stream) for _ in range(8)]
        for t in streams:
            t.start()
        time.sleep(2)
        started, generated = time.monotonic(), sum(chunks)
        loaded = latencies()
        rate = (sum(chunks) - generated) / (time.monotonic() - started)
        stop.set()
        for t in streams:
            t.join()
    finally:
        for p in (embedder, chat):
            p.terminate(); p.wait()
    print(f"| one query embedding, idle: p50 / p90 ms | {idle[0]:.1f} / {idle[1]:.1f} |")
    print(f"| the same beside 8 chat streams ({rate:.0f} tokens/s meanwhile): p50 / p90 ms | {loaded[0]:.1f} / {loaded[1]:.1f} |")


if __name__ == "__main__":
    main()
