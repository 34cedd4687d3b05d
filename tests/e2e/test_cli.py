"""The command line: tokenize, template and chat, as a user runs them."""
import json
import os
import struct
import subprocess

import requests

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


CHATML = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"


def llama_cpp_prompt_ids(text):
    """llama.cpp's ids for `text` (special tokens parsed), from the model tests' fixture."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "Tests", "VLLMModelsTests", "Fixtures", "smollm2-llamacpp.json")) as f:
        return next(c["prompt_ids"] for c in json.load(f)["cases"] if c["text"] == text)


def test_generate_reads_special_tokens_in_the_prompt_as_the_server_does(server, tmp_path):
    """`vllm generate --prompt` and `--input` tokenize a hand-written ChatML prompt as /v1/completions does
    (`<|im_start|>` is one special token, as llama.cpp reads it), so all three answer the same."""
    reference = llama_cpp_prompt_ids(CHATML)
    served = requests.post(server.url + "/v1/completions", json={
        "model": "smollm2", "prompt": CHATML, "temperature": 0, "max_tokens": 8}).json()
    text = served["choices"][0]["text"]
    assert served["usage"]["prompt_tokens"] == len(reference)
    assert "4" in text and "<|im" not in text, text
    r = run("generate", "--model", MODEL, "--prompt", CHATML, "--temperature", "0", "--max-tokens", "8")
    assert r.returncode == 0, r.stderr
    assert r.stdout == text
    assert f"{len(reference)} prompt + " in r.stderr
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"prompt": CHATML, "temperature": 0, "max_tokens": 8}) + "\n")
    r = run("generate", "--model", MODEL, "--input", str(prompts))
    assert r.returncode == 0, r.stderr
    line = json.loads(r.stdout)
    assert line["prompt_token_ids"] == reference
    assert line["outputs"][0]["text"] == text
    r = run("tokenize", "--model", MODEL, stdin=CHATML)
    assert json.loads(r.stdout) == reference


def test_generate_input_lines_are_decoded_as_the_server_decodes_requests(server, tmp_path):
    """`vllm generate --input` lines go through the server's one decoder of sampling fields: a bad field fails the
    line with the message /v1/completions answers in its 400, and an unknown field is named in a warning."""
    prompts = tmp_path / "prompts.jsonl"
    for bad in ({"logit_bias": {"abc": 1}}, {"temperature": "hot"}, {"best_of": 3}, {"n": 0}):
        served = requests.post(server.url + "/v1/completions", json={"model": "smollm2", "prompt": "Hi", **bad})
        assert served.status_code == 400, bad
        prompts.write_text(json.dumps({"prompt": "Hi", **bad}) + "\n")
        r = run("generate", "--model", MODEL, "--input", str(prompts))
        assert r.returncode != 0, bad
        assert served.json()["error"]["message"] in r.stderr, (bad, r.stderr)
    prompts.write_text(json.dumps({"prompt": "Hi", "max_tokens": 2, "colour": "blue"}) + "\n")
    r = run("generate", "--model", MODEL, "--input", str(prompts))
    assert r.returncode == 0, r.stderr
    assert "'colour'" in r.stderr


def test_vllm_habits_are_accepted_or_refused_by_name(server):
    """Flags people bring from vLLM: GPU-only or foreign ones fail in one line saying what to use instead;
    `vllm chat --url .../v1` (vLLM's documented form) talks to the server."""
    for args, expected in [(("--batch-size", "8"), "--max-num-seqs"), (("--max-connections", "8"), "--limit-concurrency"),
                           (("--device", "cuda"), "CPUs only"), (("--pipeline-parallel-size", "2"), "--tensor-parallel-size"),
                           (("--tensor-parallel-size", "2", "--distributed-executor-backend", "ray"), "use mp"),
                           (("--data-parallel-size", "2"), "vllm-router"), (("--model", "other.gguf"), "given twice"),
                           (("--gpu-memory-utilization", "1.5"), "(0, 1]"),
                           (("--gpu-memory-utilization", "0.5", "--kv-cache-space", "1"), "not both")]:
        r = run("serve", MODEL, "--port", "1", *args)
        assert r.returncode != 0, args
        assert expected in r.stderr, (args, r.stderr)
    r = run("chat", "--url", server.url + "/v1", "--max-tokens", "4", "--temperature", "0", stdin="Hi\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip(), r.stderr
    r = run("generate", "--model", MODEL, "--prompt", "Hi", "--max-tokens", "2", "--gpu-memory-utilization", "0.5")
    assert r.returncode == 0, r.stderr


def write_gguf(path, tensors):
    """A GGUF v3 file with no metadata and `tensors` as (name, ggml type id, shape in ggml order, data bytes)."""
    info, offset = b"", 0
    for name, type_id, shape, size in tensors:
        info += struct.pack("<Q", len(name)) + name.encode() + struct.pack("<I", len(shape))
        info += b"".join(struct.pack("<Q", d) for d in shape) + struct.pack("<IQ", type_id, offset)
        offset += (size + 31) // 32 * 32
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), 0) + info
    path.write_bytes(header + b"\0" * (-len(header) % 32) + b"\0" * offset)


def test_unsupported_tensor_types_are_refused_in_one_line(tmp_path):
    """A tensor type the kernels cannot compute with (IQ2_XXS, ggml id 16: 66 bytes a block of 256) stops
    `vllm generate` and `vllm serve` at load with one line naming the tensor, the type and what is supported."""
    model = tmp_path / "iq2.gguf"
    write_gguf(model, [("token_embd.weight", 0, [8, 4], 128), ("blk.0.attn_q.weight", 16, [256, 4], 4 * 66)])
    for args in (("generate", "--model", str(model), "--prompt", "Hi"), ("serve", str(model), "--port", "1")):
        r = run(*args)
        assert r.returncode != 0, args
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert "tensor 'blk.0.attn_q.weight'" in lines[0] and "has type IQ2_XXS" in lines[0], lines[0]
        assert "supported tensor types: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0" in lines[0], lines[0]
        assert all(t in lines[0] for t in ("Q4_K", "Q5_K", "Q6_K", "BF16")), lines[0]


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


def test_bench_serve_writes_its_figures_and_configuration(server, tmp_path):
    out = tmp_path / "bench.json"
    args = ("bench", "serve", "--base-url", server.url, "--num-prompts", "3", "--max-concurrency", "2",
            "--random-input-len", "12", "--random-output-len", "5", "--seed", "7", "--output-json", str(out))
    r = run(*args)
    assert r.returncode == 0 and "Successful requests:" in r.stdout
    result = json.loads(out.read_text())
    assert result["completed"] == 3 and result["failed"] == 0
    assert result["total_output_tokens"] == 15, "ignore_eos: every request yields max_tokens"
    assert result["model"] == "smollm2" and result["seed"] == 7 and result["max_concurrency"] == 2
    assert result["random_input_len"] == 12 and result["random_output_len"] == 5 and result["num_prompts"] == 3
    assert result["median_ttft_ms"] > 0 and result["median_itl_ms"] > 0
    first = result["total_input_tokens"]
    run(*args)  # the same seed sends the same prompts
    assert json.loads(out.read_text())["total_input_tokens"] == first


def test_vllm_spelling_of_the_scheduler_switches():
    """`--no-enable-prefix-caching` and `--no-enable-chunked-prefill`, as vLLM spells them; a greedy completion is
    the same with both off as with the defaults (the switches change what is reused and how prompts are split,
    never a result)."""
    from conftest import Server
    import requests

    assert run("serve", "--enable-enable-prefix-caching", MODEL).returncode != 0
    body = {"model": "smollm2", "prompt": "The capital of France is", "max_tokens": 8, "temperature": 0}
    texts = []
    for flags in [(), ("--no-enable-prefix-caching", "--no-enable-chunked-prefill", "--kv-cache-space", "0.1", "--max-model-len", "4096")]:
        s = Server(*flags)
        try:
            r = requests.post(s.url + "/v1/completions", json=body, timeout=60)
            assert r.status_code == 200
            texts.append(r.json()["choices"][0]["text"])
        finally:
            s.stop()
    assert texts[0] == texts[1] and texts[0]


def test_serve_refuses_a_kv_cache_smaller_than_one_max_length_sequence():
    """vLLM refuses to start when one sequence of the max model length cannot fit in the KV cache; so does
    `vllm serve`, in one line naming the flags to change (before, 0.01 GiB started with 464 tokens of cache under a
    max model len of 8192, and the first long request wedged the scheduler while /health said 200)."""
    r = run("serve", MODEL, "--kv-cache-space", "0.01")
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert "max seq len (8192)" in lines[0] and "estimated maximum model length is 464." in lines[0], lines[0]
    assert "--kv-cache-space" in lines[0] and "--max-model-len" in lines[0], lines[0]
