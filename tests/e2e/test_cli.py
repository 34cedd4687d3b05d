"""The command line: tokenize, template and chat, as a user runs them."""
import json
import subprocess

from conftest import BINARY, MODEL


def run(*args, stdin=""):
    return subprocess.run([BINARY, *args], input=stdin, capture_output=True, text=True, timeout=120)


def test_tokenize_and_decode():
    r = run("tokenize", "--model", MODEL, stdin="12345 apples")
    assert r.returncode == 0 and json.loads(r.stdout) == [33, 34, 35, 36, 37, 13855]
    r = run("tokenize", "--model", MODEL, "--decode", stdin="[19556, 216, 905]")
    assert r.stdout == "Hello  world"
    r = run("tokenize", "--model", MODEL, "--decode", stdin="not json")
    assert r.returncode != 0 and "JSON array" in r.stderr


def test_template_prints_the_prompt_exactly(tmp_path):
    messages = tmp_path / "messages.json"
    messages.write_text(json.dumps([{"role": "user", "content": "Hi"}]))
    r = run("template", "--model", MODEL, "--messages", str(messages))
    assert r.returncode == 0
    assert r.stdout == ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    r = run("template", "--model", MODEL, "--messages", str(messages), "--no-generation-prompt")
    assert r.stdout.endswith("<|im_start|>user\nHi<|im_end|>\n")


def test_chat_against_the_server(server):
    r = run("chat", "--url", server.url, "--temperature", "0", "--max-tokens", "24", stdin="What is 2+2?\n")
    assert r.returncode == 0 and "4" in r.stdout
