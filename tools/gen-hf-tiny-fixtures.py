#!/usr/bin/env python3
"""Creates tiny random-weight Hugging Face checkpoints of every architecture we support (the Llama family, Gemma 3)
and records transformers' logits for two prompts, as fixtures for Tests/VLLMModelsTests (Fixtures/hf-tiny/<name>/).

Rerun:  ~/.cache/swift-vllm/venv-ref/bin/pip install torch==2.13.0+cpu transformers safetensors
        OMP_NUM_THREADS=1 ~/.cache/swift-vllm/venv-ref/bin/python tools/gen-hf-tiny-fixtures.py [NAME ...]
(NAME: llama ... qwen3 and their variants, or gemma3; default all. Gemma 3 has its own seed, so it alone is the same.)
"""
import json
import os
import shutil

import torch
import transformers
import sys

from transformers import (Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/VLLMModelsTests/Fixtures/hf-tiny")
PROMPTS = [[1, 17, 42, 99, 5, 311, 7, 64, 128, 200, 3, 9], [5, 6, 7]]
COMMON = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
              vocab_size=320, max_position_embeddings=256, rms_norm_eps=1e-5, attn_implementation="eager")


def build(name):
    if name == "llama":
        return LlamaForCausalLM(LlamaConfig(**COMMON, rope_theta=10000.0, tie_word_embeddings=False))
    if name == "llama3-rope":
        scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 32}
        return LlamaForCausalLM(LlamaConfig(**COMMON, rope_theta=500000.0, rope_scaling=scaling, tie_word_embeddings=True))
    if name == "mistral":
        return MistralForCausalLM(MistralConfig(**COMMON, sliding_window=None, tie_word_embeddings=False))
    if name == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(**COMMON, tie_word_embeddings=True))
    if name == "qwen3":
        return Qwen3ForCausalLM(Qwen3Config(**COMMON, head_dim=16, tie_word_embeddings=False))
    if name == "gemma3":
        # Three layers, the last one global; a 4-key window, so the 12-token prompt runs past it; a query scalar
        # other than head_dim; linear RoPE scaling on the global layer; and the final soft-capping, all exercised.
        return Gemma3ForCausalLM(Gemma3TextConfig(
            hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
            head_dim=16, vocab_size=320, max_position_embeddings=256, rms_norm_eps=1e-6, sliding_window=4,
            layer_types=["sliding_attention", "sliding_attention", "full_attention"], query_pre_attn_scalar=24,
            rope_parameters={"full_attention": {"rope_type": "linear", "rope_theta": 1000000.0, "factor": 8.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
            final_logit_softcapping=5.0, attn_implementation="eager", tie_word_embeddings=True))
    raise ValueError(name)


def logits(model):
    with torch.no_grad():
        return [model(torch.tensor([p])).logits[0].float().tolist() for p in PROMPTS]


def save(model, name, **kwargs):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    model.save_pretrained(path, safe_serialization=True, **kwargs)
    reference = model
    if model.dtype != torch.float32:
        # Reload so buffers such as rotary inv_freq are recomputed in float32 (only the weights stay bf16-rounded).
        reference = type(model).from_pretrained(path, dtype=torch.float32).eval()
    expected = {"prompts": PROMPTS, "logits": [[[float(f"{v:.6g}") for v in row] for row in p] for p in logits(reference)],
                "transformers": transformers.__version__, "torch": torch.__version__}
    with open(os.path.join(path, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))


def main():
    only = sys.argv[1:]
    torch.manual_seed(0)
    for name in ["llama", "llama3-rope", "mistral", "qwen2", "qwen3"]:
        if only and name not in only:
            continue
        model = build(name).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.1) if p.dim() > 1 else p.copy_(1.0 + 0.1 * torch.randn_like(p))
            for mod in model.modules():
                if getattr(mod, "bias", None) is not None:
                    mod.bias.normal_(0.0, 0.1)
        save(model, name)
        if name == "llama":
            bf16 = model.to(torch.bfloat16)
            save(bf16, "llama-bf16")
        if name == "qwen2":
            save(model, "qwen2-sharded", max_shard_size="60KB")
    if not only or "gemma3" in only:
        torch.manual_seed(3)
        model = build("gemma3").eval()
        with torch.no_grad():
            for n, p in model.named_parameters():
                # Gemma's norms multiply by 1 + weight: weights around 0.
                p.normal_(0.0, 0.1) if p.dim() > 1 else p.copy_(0.1 * torch.randn_like(p))
        save(model, "gemma3")
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
