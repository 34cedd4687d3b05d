"""`vllm generate --model ORG/NAME` downloads from the Hub (a loopback stand-in: no network here) into the
`huggingface_hub` cache layout, so the real `huggingface_hub` client finds our files and we find its; resumes a
partial download, checks sizes and hashes, takes GGUF repos as ORG/NAME:QUANT, and says clearly what is wrong."""
import json
import os
import shutil
import subprocess
import sys
import time

import requests

from conftest import BINARY, MODEL, ROOT, free_port

TINY = os.path.join(ROOT, "Tests/VLLMModelsTests/Fixtures/hf-tiny/llama")
STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hub_standin.py")


def tiny_folder(path):
    """The tiny random Llama with a tokenizer whose first tokens are the characters t and 0-9 (no merges)."""
    os.makedirs(path)
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        shutil.copy(os.path.join(TINY, name), path)
    vocab = {c: i for i, c in enumerate("t0123456789")}
    vocab.update({f"x{i}": i for i in range(len(vocab), 320)})
    tokenizer = {"model": {"type": "BPE", "vocab": vocab, "merges": []},
                 "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never"}}
    with open(os.path.join(path, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)
    open(os.path.join(path, "pytorch_model.bin"), "wb").write(b"not downloaded")


def start_hub(tmp_path):
    tiny = str(tmp_path / "tiny")
    tiny_folder(tiny)
    gguf = str(tmp_path / "gguf")
    os.makedirs(gguf)
    os.symlink(MODEL, os.path.join(gguf, "SmolLM2-135M-Instruct.Q4_1.gguf"))
    open(os.path.join(gguf, "README.md"), "w").write("a GGUF repo")
    port = free_port()
    process = subprocess.Popen([sys.executable, STANDIN, str(port), f"org/tiny={tiny}", f"org/smol-gguf={gguf}",
                                f"gated/tiny={tiny}"])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(url + "/api/models/org/tiny", timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("stand-in did not start")


def run(*args, env):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=300, env={**os.environ, **env})


def test_downloads_land_in_the_huggingface_hub_cache(tmp_path):
    hub, url = start_hub(tmp_path)
    cache = str(tmp_path / "cache")
    env = {"HF_ENDPOINT": url, "HF_HUB_CACHE": cache, "HF_TOKEN": ""}
    try:
        r = run("generate", "--model", "org/tiny", "--prompt", "t1 t2 t3", "--max-tokens", "3", "--temperature", "0", env=env)
        assert r.returncode == 0, r.stderr
        snapshot = os.path.join(cache, "models--org--tiny", "snapshots")
        [commit] = os.listdir(snapshot)
        assert open(os.path.join(cache, "models--org--tiny", "refs", "main")).read() == commit
        files = sorted(os.listdir(os.path.join(snapshot, commit)))
        assert files == ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json"], files
        assert all(os.path.islink(os.path.join(snapshot, commit, f)) for f in files)
        # The real client finds every file we fetched, offline.
        from huggingface_hub import hf_hub_download, snapshot_download
        assert snapshot_download("org/tiny", cache_dir=cache, local_files_only=True) == os.path.join(snapshot, commit)
        config = hf_hub_download("org/tiny", "config.json", cache_dir=cache, local_files_only=True)
        assert json.load(open(config))["model_type"] == "llama"
        # Offline, the cache alone serves the same model.
        again = run("generate", "--model", "org/tiny", "--prompt", "t1 t2 t3", "--max-tokens", "3", "--temperature", "0",
                    env={**env, "HF_HUB_OFFLINE": "1"})
        assert again.returncode == 0 and again.stdout == r.stdout, again.stderr
    finally:
        hub.kill()


def test_gguf_repos_resume_and_verify(tmp_path):
    hub, url = start_hub(tmp_path)
    cache = str(tmp_path / "cache")
    env = {"HF_ENDPOINT": url, "HF_HUB_CACHE": cache, "HF_TOKEN": ""}
    try:
        # A partial download of the GGUF (the first 5 MB), as an interrupted run leaves it.
        import hashlib
        sha = hashlib.sha256(open(MODEL, "rb").read()).hexdigest()
        blobs = os.path.join(cache, "models--org--smol-gguf", "blobs")
        os.makedirs(blobs)
        with open(os.path.join(blobs, sha + ".incomplete"), "wb") as f:
            f.write(open(MODEL, "rb").read(5_000_000))
        r = run("generate", "--model", "org/smol-gguf:q4_1", "--prompt", "The capital of France is", "--max-tokens", "4",
                "--temperature", "0", env=env)
        assert r.returncode == 0, r.stderr
        assert "resuming at 5.0 MB" in r.stderr and "MB/s" in r.stderr, r.stderr
        assert "Paris" in r.stdout
        assert os.path.getsize(os.path.join(blobs, sha)) == os.path.getsize(MODEL)
        assert not os.path.exists(os.path.join(blobs, sha + ".incomplete"))
        # A corrupt blob is caught by its sha256 when it is fetched again.
        os.remove(os.path.join(blobs, sha))
        with open(os.path.join(blobs, sha + ".incomplete"), "wb") as f:
            f.write(b"\0" * 5_000_000)
        r = run("generate", "--model", "org/smol-gguf", "--gguf-file", "SmolLM2-135M-Instruct.Q4_1.gguf", "--prompt", "Hi",
                "--max-tokens", "1", env=env)
        assert r.returncode != 0 and "failed its checksum" in r.stderr, r.stderr
    finally:
        hub.kill()


def test_clear_errors(tmp_path):
    hub, url = start_hub(tmp_path)
    cache = str(tmp_path / "cache")
    env = {"HF_ENDPOINT": url, "HF_HUB_CACHE": cache, "HF_TOKEN": ""}
    try:
        cases = [("org/missing", env, "repository 'org/missing' not found"),
                 ("gated/tiny", env, "set HF_TOKEN"),
                 ("org/smol-gguf:Q9_9", env, "no GGUF file for 'Q9_9'"),
                 ("org/tiny", {**env, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty")}, "HF_HUB_OFFLINE=1"),
                 ("org/tiny", {**env, "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}, "cannot reach")]
        for model, environment, expected in cases:
            r = run("generate", "--model", model, "--prompt", "Hi", "--max-tokens", "1", env=environment)
            assert r.returncode != 0 and expected in r.stderr, (model, r.stderr)
        r = run("generate", "--model", "gated/tiny", "--prompt", "t1", "--max-tokens", "1", env={**env, "HF_TOKEN": "hf_test"})
        assert r.returncode == 0, r.stderr
    finally:
        hub.kill()


def test_files_downloaded_by_huggingface_hub_are_found(tmp_path):
    hub, url = start_hub(tmp_path)
    cache = str(tmp_path / "cache")
    try:
        code = (f"from huggingface_hub import snapshot_download; print(snapshot_download('org/tiny', cache_dir={cache!r}, "
                f"allow_patterns=['*.json', '*.safetensors']))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "HF_ENDPOINT": url, "HF_HUB_DISABLE_PROGRESS_BARS": "1"})
        assert done.returncode == 0, done.stderr
        r = run("generate", "--model", "org/tiny", "--prompt", "t5", "--max-tokens", "2",
                env={"HF_HUB_CACHE": cache, "HF_HUB_OFFLINE": "1"})
        assert r.returncode == 0, r.stderr
    finally:
        hub.kill()
