#!/usr/bin/env python3
"""Creates tiny random-weight Hugging Face checkpoints of Phi-3 and of the mixture-of-experts architectures (Qwen3-MoE,
Qwen2-MoE with its shared expert, Mixtral), and of Phi-3, Mixtral and Mistral with sliding-window attention, and records transformers' float32 logits at every position of two prompts
and its greedy continuation of the first, as fixtures for Tests/VLLMModelsTests (Fixtures/hf-tiny/<name>/), beside
those of tools/gen-hf-tiny-fixtures.py (same prompts, same layout of expected.json, plus "greedy").

The experts are small (32 wide) and many tokens route to each, so the grouping of tokens by expert is exercised.

Rerun:  ~/.cache/swift-vllm/venv-ref/bin/pip install torch==2.13.0+cpu transformers safetensors
        OMP_NUM_THREADS=1 ~/.cache/swift-vllm/venv-ref/bin/python tools/gen-hf-tiny-moe-fixtures.py
Then tools/gen-gguf-tiny-fixtures.py converts them to GGUF and records llama.cpp's logits.
"""
import json
import os
import shutil

import torch
import transformers
from transformers import (MistralConfig, MistralForCausalLM, MixtralConfig, MixtralForCausalLM, Phi3Config, Phi3ForCausalLM,
                          Qwen2MoeConfig, Qwen2MoeForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/VLLMModelsTests/Fixtures/hf-tiny")
PROMPTS = [[1, 17, 42, 99, 5, 311, 7, 64, 128, 200, 3, 9], [5, 6, 7]]
GREEDY_TOKENS = 8
LONG_PROMPT = [(i * 37 + 11) % 320 for i in range(300)]
# The *-window models slide every layer's attention over the last 5 positions (the prompts are longer).
NAMES = ["phi3", "phi3-longrope", "qwen3moe", "qwen2moe", "mixtral", "phi3-window", "mixtral-window", "mistral-window"]
COMMON = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
              vocab_size=320, rms_norm_eps=1e-5, attn_implementation="eager", tie_word_embeddings=False)
MOE = dict(num_experts_per_tok=2, moe_intermediate_size=32)


def build(name):
    if name == "phi3":
        return Phi3ForCausalLM(Phi3Config(**COMMON, max_position_embeddings=256, original_max_position_embeddings=256,
                                          sliding_window=None, bos_token_id=1, eos_token_id=2, pad_token_id=0))
    if name == "phi3-longrope":
        # Phi-3-*-128k's scaling: per-pair factors for contexts within the original window (short) and beyond (long),
        # and an attention factor from the context ratio. Sequences here stay within the original window (256: llama.cpp
        # pads its context to a multiple of 256 and picks the long factors beyond the original).
        half = 8
        scaling = {"rope_type": "longrope", "short_factor": [1.0 + 0.25 * i for i in range(half)],
                   "long_factor": [2.0 + 0.5 * i for i in range(half)]}
        return Phi3ForCausalLM(Phi3Config(**COMMON, max_position_embeddings=4096, original_max_position_embeddings=256,
                                          rope_scaling=scaling, sliding_window=None, bos_token_id=1, eos_token_id=2,
                                          pad_token_id=0))
    if name == "qwen3moe":
        return Qwen3MoeForCausalLM(Qwen3MoeConfig(**COMMON, **MOE, head_dim=16, num_experts=8, norm_topk_prob=True,
                                                  max_position_embeddings=256))
    if name == "qwen2moe":
        return Qwen2MoeForCausalLM(Qwen2MoeConfig(**COMMON, **MOE, num_experts=8, shared_expert_intermediate_size=96,
                                                  norm_topk_prob=False, max_position_embeddings=256))
    if name == "mixtral":
        return MixtralForCausalLM(MixtralConfig(**{**COMMON, "intermediate_size": 32}, num_local_experts=4,
                                                num_experts_per_tok=2, max_position_embeddings=256, sliding_window=None))
    if name == "phi3-window":
        return Phi3ForCausalLM(Phi3Config(**COMMON, max_position_embeddings=256, original_max_position_embeddings=256,
                                          sliding_window=5, bos_token_id=1, eos_token_id=2, pad_token_id=0))
    if name == "mixtral-window":
        return MixtralForCausalLM(MixtralConfig(**{**COMMON, "intermediate_size": 32}, num_local_experts=4,
                                                num_experts_per_tok=2, max_position_embeddings=256, sliding_window=5))
    if name == "mistral-window":
        return MistralForCausalLM(MistralConfig(**COMMON, max_position_embeddings=256, sliding_window=5))
    raise ValueError(name)


def logits(model):
    with torch.no_grad():
        return [model(torch.tensor([p])).logits[0].float().tolist() for p in PROMPTS]


def greedy(model, prompt):
    tokens = list(prompt)
    with torch.no_grad():
        for _ in range(GREEDY_TOKENS):
            tokens.append(int(model(torch.tensor([tokens])).logits[0, -1].argmax()))
    return tokens[len(prompt):]


def main():
    torch.manual_seed(23)
    for name in NAMES:
        model = build(name).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.1) if p.dim() > 1 else p.copy_(1.0 + 0.1 * torch.randn_like(p))
            for mod in model.modules():
                if getattr(mod, "bias", None) is not None:
                    mod.bias.normal_(0.0, 0.1)
            for n, p in model.named_parameters():
                if n.endswith("mlp.gate.weight") or n.endswith("block_sparse_moe.gate.weight"):
                    p.normal_(0.0, 0.5)  # routers: clear winners, so the top-k is not a near-tie
        path = os.path.join(OUT, name)
        shutil.rmtree(path, ignore_errors=True)
        model.save_pretrained(path, safe_serialization=True)
        expected = {"prompts": PROMPTS, "logits": [[[float(f"{v:.6g}") for v in row] for row in p] for p in logits(model)],
                    "greedy": greedy(model, PROMPTS[0]), "transformers": transformers.__version__, "torch": torch.__version__}
        if name == "phi3-longrope":
            # Past the original context (256) transformers takes the long factors for the whole sequence: the last
            # positions' logits of a 300-token prompt and its greedy continuation (each step a full forward).
            with torch.no_grad():
                rows = model(torch.tensor([LONG_PROMPT])).logits[0, -4:].float().tolist()
            expected["long"] = {"prompt": LONG_PROMPT, "lastLogits": [[float(f"{v:.6g}") for v in row] for row in rows],
                                "greedy": greedy(model, LONG_PROMPT)[:4]}
        with open(os.path.join(path, "expected.json"), "w") as f:
            json.dump(expected, f, separators=(",", ":"))
        print(name, expected["greedy"])


if __name__ == "__main__":
    main()
