"""Tensor parallelism through the real binary: `vllm serve --tensor-parallel-size 2` (rank 0 starts a `vllm tp-worker`
process on a shared memory segment) against the same server with one process, a killed worker, and the MPI backend
under Open MPI's mpirun."""
import os
import shutil
import signal
import subprocess
import time
import types

import requests

from conftest import BINARY, MODEL, Server, free_port

PROMPTS = ["Write a haiku about the sea.", "List three prime numbers.", "What is the capital of France?",
           "Explain recursion in one sentence."]


def greedy(server, prompt):
    body = {"model": "smollm2", "messages": [{"role": "user", "content": prompt}], "max_tokens": 32, "temperature": 0,
            "logprobs": True, "top_logprobs": 2}
    r = requests.post(server.url + "/v1/chat/completions", json=body, timeout=60)
    r.raise_for_status()
    return r.json()["choices"][0]


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_two_ranks_answer_as_one_process_does():
    one = Server()
    try:
        reference = [greedy(one, p) for p in PROMPTS]
    finally:
        one.stop()
    two = Server("--tensor-parallel-size", "2")
    try:
        assert len(children(two.process.pid)) == 1, "rank 0 starts one tp-worker process"
        for prompt, ref in zip(PROMPTS, reference):
            got = greedy(two, prompt)
            ours = [t["token"] for t in got["logprobs"]["content"]]
            theirs = [t["token"] for t in ref["logprobs"]["content"]]
            if ours == theirs:
                continue
            # Greedy text equal to one process except at a near-tie of the one-process run's own top two.
            k = next(i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)
            top = ref["logprobs"]["content"][k]["top_logprobs"]
            assert top[0]["logprob"] - top[1]["logprob"] < 0.25, (prompt, k, ours[:k + 1], theirs[:k + 1], top)
        # Streaming and the metrics work as with one process.
        body = {"model": "smollm2", "prompt": "Once upon a time", "max_tokens": 8, "stream": True}
        with requests.post(two.url + "/v1/completions", json=body, stream=True, timeout=60) as r:
            chunks = [line for line in r.iter_lines() if line.startswith(b"data: ")]
        assert chunks[-1] == b"data: [DONE]" and len(chunks) >= 3
        assert "vllm:generation_tokens_total" in requests.get(two.url + "/metrics", timeout=5).text
    finally:
        two.stop()
    assert two.process.returncode == 0, "SIGTERM stops a tensor-parallel server cleanly"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and subprocess.run(["pgrep", "-f", "vllm tp-worker.*" + str(two.process.pid)]).returncode == 0:
        time.sleep(0.1)
    assert subprocess.run(["pgrep", "-f", "vllm tp-worker.*--parent " + str(two.process.pid)]).returncode != 0, "workers exit with rank 0"


def test_a_killed_worker_ends_the_server_with_the_reason_not_a_hang():
    server = Server("--tensor-parallel-size", "2")
    try:
        [worker] = children(server.process.pid)
        os.kill(worker, signal.SIGKILL)
        # A request in flight or arriving now cannot complete without the worker's shard: the server exits.
        try:
            requests.post(server.url + "/v1/completions", json={"model": "smollm2", "prompt": "Hi", "max_tokens": 4}, timeout=10)
        except requests.RequestException:
            pass
        server.process.wait(timeout=15)
        assert server.process.returncode != 0
        assert "tensor parallelism" in server.log() and "cannot continue" in server.log()
    finally:
        if server.process.poll() is None:
            server.stop()


def test_the_mpi_backend_under_mpirun_generates_the_same_text():
    assert shutil.which("mpirun"), "tools/test.sh installs Open MPI (openmpi-bin)"
    prompt = "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n"
    args = ["generate", "--model", MODEL, "--prompt", prompt, "--max-tokens", "24", "--temperature", "0", "--tensor-parallel-size", "2"]
    mp = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=120)
    assert mp.returncode == 0, mp.stderr
    mpi = subprocess.run(["mpirun", "--allow-run-as-root", "-np", "2", BINARY, *args, "--distributed-executor-backend", "mpi"],
                         capture_output=True, text=True, timeout=120)
    assert mpi.returncode == 0, mpi.stderr
    assert mpi.stdout.strip() == mp.stdout.strip() and mp.stdout  # mpirun ends the forwarded output with a newline
    # Without mpirun the MPI backend says how to start it.
    alone = subprocess.run([BINARY, *args, "--distributed-executor-backend", "mpi"], capture_output=True, text=True, timeout=60)
    assert alone.returncode != 0 and "mpirun" in alone.stderr


def test_vllm_serve_under_mpirun_answers_as_the_mp_backend_does():
    """Issue 27's command: `mpirun -np 2 vllm serve ... --tensor-parallel-size 2 --distributed-executor-backend mpi`.
    Rank 0 serves; rank 1 computes its shard until the job ends."""
    assert shutil.which("mpirun"), "tools/test.sh installs Open MPI (openmpi-bin)"
    mp = Server("--tensor-parallel-size", "2")
    try:
        expected = [greedy(mp, p)["message"]["content"] for p in PROMPTS[:2]]
    finally:
        mp.stop()
    port = free_port()
    job = subprocess.Popen(["mpirun", "--allow-run-as-root", "-np", "2", BINARY, "serve", MODEL, "--host", "127.0.0.1", "--port",
                            str(port), "--served-model-name", "smollm2", "--tensor-parallel-size", "2",
                            "--distributed-executor-backend", "mpi"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise AssertionError("vllm serve under mpirun did not become healthy")
        served = types.SimpleNamespace(url=url)
        assert [greedy(served, p)["message"]["content"] for p in PROMPTS[:2]] == expected
    finally:
        job.send_signal(signal.SIGTERM)  # mpirun forwards it to both ranks
        try:
            job.wait(timeout=30)
        except subprocess.TimeoutExpired:
            job.kill()
            job.wait()
