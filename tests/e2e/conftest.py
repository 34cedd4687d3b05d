"""Starts the real `vllm serve` (release build) on the default model on free loopback ports for the e2e tests."""
import os
import socket
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# SWIFT_VLLM_BINARY points the tests at another build (e.g. `--scratch-path .build-bin`: .build-bin/release/vllm).
BINARY = os.environ.get("SWIFT_VLLM_BINARY", os.path.join(ROOT, ".build", "release", "vllm"))
MODEL = os.path.join(os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm")),
                     "models", "SmolLM2-135M-Instruct.Q4_1.gguf")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MINILM = os.path.join(os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm")), "models", "all-MiniLM-L6-v2")


class Server:
    def __init__(self, *extra, env=None, model=MODEL, name="smollm2"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The log goes to a file (a pipe nobody reads would block the server once full).
        self.log_file = tempfile.TemporaryFile()
        started = time.monotonic()
        self.process = subprocess.Popen([BINARY, "serve", model, "--host", "127.0.0.1", "--port", str(self.port),
                                         "--served-model-name", name, *extra],
                                        stdout=subprocess.DEVNULL, stderr=self.log_file, env={**os.environ, **(env or {})})
        deadline = started + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("vllm serve did not become healthy")

    def log(self):
        """Everything the server has logged so far."""
        self.log_file.seek(0)
        return self.log_file.read().decode("utf-8", "replace")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()
    assert s.process.returncode == 0, "SIGTERM must stop the server cleanly"


@pytest.fixture(scope="session")
def embedding_server():
    """all-MiniLM-L6-v2 (tools/fetch-minilm.sh) as a pooling model; the tests that use it skip when it is absent."""
    if not os.path.exists(os.path.join(MINILM, "model.safetensors")):
        pytest.skip("all-MiniLM-L6-v2 is not fetched (tools/fetch-minilm.sh)")
    s = Server(model=MINILM, name="minilm")
    yield s
    s.stop()
    assert s.process.returncode == 0, "SIGTERM must stop the server cleanly"


@pytest.fixture(scope="session")
def keyed_server():
    s = Server("--api-key", "sk-test")
    yield s
    s.stop()
