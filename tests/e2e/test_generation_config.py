"""`--generation-config`: a Hugging Face folder's generation_config.json gives requests their defaults, as vLLM's
`--generation-config auto` does (temperature, top_p, top_k, min_p, repetition_penalty; max_new_tokens caps
max_tokens); `vllm` keeps vLLM's own; fields a request sends win. Checked with the official `openai` client and
`vllm generate` on the tiny random Llama folder, whose generation config is rewritten in a copy."""
import json
import subprocess

import openai

from conftest import BINARY, Server
from test_hub import tiny_folder


def tiny_with(tmp_path, config):
    folder = tmp_path / "tiny"
    tiny_folder(str(folder))
    (folder / "generation_config.json").write_text(json.dumps({"bos_token_id": 1, "eos_token_id": 2, **config}))
    return str(folder)


def generate(*args):
    r = subprocess.run([BINARY, "generate", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r


def test_the_servers_defaults_come_from_the_models_generation_config(tmp_path):
    # Greedy and 3 tokens by the model's config: a request that sets neither gets exactly that.
    folder = tiny_with(tmp_path, {"temperature": 0.0, "max_new_tokens": 3, "top_k": 5})
    server = Server("--max-model-len", "128", model=folder, name="tiny")
    try:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="none")
        a = client.completions.create(model="tiny", prompt="t01 23", extra_body={"ignore_eos": True})
        b = client.completions.create(model="tiny", prompt="t01 23", extra_body={"ignore_eos": True})
        assert a.usage.completion_tokens == 3 and a.choices[0].finish_reason == "length"
        assert a.choices[0].text == b.choices[0].text, "temperature 0 from the config: greedy, so repeatable"
        # max_new_tokens caps a larger max_tokens (vLLM's get_max_tokens); a smaller one stands.
        assert client.completions.create(model="tiny", prompt="t0", max_tokens=50, extra_body={"ignore_eos": True}).usage.completion_tokens == 3
        assert client.completions.create(model="tiny", prompt="t0", max_tokens=2, extra_body={"ignore_eos": True}).usage.completion_tokens == 2
        assert "overridden by the model's generation config" in server.log()
        assert "'temperature': 0.0" in server.log() and "'top_k': 5" in server.log()
    finally:
        server.stop()


def test_vllm_keeps_vllms_defaults_and_a_bad_setting_fails_by_name(tmp_path):
    folder = tiny_with(tmp_path, {"max_new_tokens": 3})
    r = generate("--model", folder, "--prompt", "t0", "--generation-config", "vllm", "--ignore-eos", "--temperature", "0")
    assert " + 16 generated tokens" in r.stderr, r.stderr
    r = generate("--model", folder, "--prompt", "t0", "--ignore-eos", "--temperature", "0")
    assert " + 3 generated tokens" in r.stderr, r.stderr
    assert "sampling defaults from the model's generation config: {'max_tokens': 3}" in r.stderr
    r = generate("--model", folder, "--prompt", "t0", "--ignore-eos", "--temperature", "0",
                 "--override-generation-config", '{"max_new_tokens": 5}')
    assert " + 5 generated tokens" in r.stderr, r.stderr
    for bad, message in [(["--generation-config", str(tmp_path / "nowhere")], "is not a folder"),
                         (["--override-generation-config", '{"do_sample": true}'], "unknown key 'do_sample'")]:
        r = subprocess.run([BINARY, "generate", "--model", folder, "--prompt", "t0", *bad],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and message in r.stderr, r.stderr
