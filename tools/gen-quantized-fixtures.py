#!/usr/bin/env python3
"""Writes AWQ, GPTQ and compressed-tensors versions of the tiny random Llama fixture (Fixtures/hf-tiny/llama) for
Tests/VLLMModelsTests (Fixtures/hf-quantized/<name>/), with transformers' float32 logits on the dequantized weights.

Each linear layer is quantized round-to-nearest with groups of 32 input columns (the tiny model is 64 wide) and
written in the checkpoint format's exact tensor layout:
  - AWQ (AutoAWQ GEMM): qweight int32 [in, out/8] packed along the output in the nibble order 0 2 4 6 1 3 5 7,
    qzeros int32 [in/g, out/8] the same way, scales f16 [in/g, out]; w = (q - z) * s, 4-bit with zero points;
  - GPTQ (AutoGPTQ, checkpoint_format gptq): qweight int32 [in*bits/32, out] packed along the input in order,
    qzeros int32 [in/g, out*bits/32] packed along the output and stored minus one, scales f16 [in/g, out],
    g_idx int32 [in]; symmetric 4-bit, 8-bit, and asymmetric 4-bit act-order (a shuffled g_idx);
  - compressed-tensors pack-quantized (llm-compressor's W4A16 and W8A16): packed by the compressed-tensors
    library's own `pack_to_int32`, weight_scale [out, in/g] (or [out, 1] per channel), weight_shape.
The reference logits come from transformers on the dequantized float32 weights; for compressed-tensors the script
also loads the written folder with transformers (which decompresses it through the compressed-tensors library)
and checks that both give the same logits, so the layout is the library's, not only ours.

Rerun:  ~/.cache/swift-vllm/venv-ref/bin/pip install torch==2.13.0+cpu transformers safetensors compressed-tensors
        OMP_NUM_THREADS=1 ~/.cache/swift-vllm/venv-ref/bin/python tools/gen-quantized-fixtures.py
A real checkpoint for benchmarks (no reference logits), e.g. SmolLM2's bf16 folder as AWQ with groups of 64 (its
576-wide layers are not a multiple of 128):
        ~/.cache/swift-vllm/venv-ref/bin/python tools/gen-quantized-fixtures.py --source DIR --out DIR --group 64 --variant llama-awq
"""
import argparse
import json
import os
import shutil

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import LlamaForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "Tests/VLLMModelsTests/Fixtures/hf-tiny/llama")
OUT = os.path.join(ROOT, "Tests/VLLMModelsTests/Fixtures/hf-quantized")
PROMPTS = [[1, 17, 42, 99, 5, 311, 7, 64, 128, 200, 3, 9], [5, 6, 7]]
GROUP = 32
LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
           "mlp.up_proj", "mlp.down_proj"]


def quantize(w, bits, symmetric, group=None):
    """Round-to-nearest per (row, group): unsigned stored values q [out, in], zeros z and f16 scales s [out, groups]."""
    group = group or GROUP
    out, cols = w.shape
    g = w.reshape(out, cols // group, group)
    top = (1 << bits) - 1
    if symmetric:
        s = (g.abs().amax(dim=2) / ((1 << (bits - 1)) - 1)).clamp(min=1e-8).half().float()
        z = torch.full_like(s, 1 << (bits - 1))
    else:
        lo, hi = g.amin(dim=2).clamp(max=0), g.amax(dim=2).clamp(min=0)
        s = ((hi - lo) / top).clamp(min=1e-8).half().float()
        z = torch.round(-lo / s).clamp(0, top)
    q = torch.clamp(torch.round(g / s[:, :, None]) + z[:, :, None], 0, top)
    return q.reshape(out, cols).to(torch.int64), z.to(torch.int64), s


def dequantize(q, z, s, g_idx):
    return (q - z[:, g_idx]).float() * s[:, g_idx]


def pack(values, bits, order=None):
    """Packs the last dimension of an integer tensor into int32 words, element k of a word at bit bits * k (or, with
    `order`, element order[k])."""
    per = 32 // bits
    v = values.reshape(*values.shape[:-1], values.shape[-1] // per, per)
    if order is not None:
        v = v[..., order]
    word = torch.zeros(v.shape[:-1], dtype=torch.int64)
    for k in range(per):
        word |= (v[..., k] & ((1 << bits) - 1)) << (bits * k)
    return (word - ((word >> 31) & 1) * (1 << 32)).to(torch.int32)  # the same 32 bits, as int32


def awq(w):
    q, z, s = quantize(w, 4, symmetric=False)
    order = [0, 2, 4, 6, 1, 3, 5, 7]
    tensors = {"qweight": pack(q.t().contiguous(), 4, order), "qzeros": pack(z.t().contiguous(), 4, order),
               "scales": s.t().contiguous().half()}
    return tensors, dequantize(q, z, s, torch.arange(w.shape[1]) // GROUP)


def gptq(w, bits, symmetric, act_order=False, seed=0):
    out, cols = w.shape
    g_idx = torch.arange(cols) // GROUP
    if act_order:
        g_idx = g_idx[torch.randperm(cols, generator=torch.Generator().manual_seed(seed))]
        # Quantize each group over its own (scattered) columns.
        order = torch.argsort(g_idx, stable=True)
        q_sorted, z, s = quantize(w[:, order], bits, symmetric)
        q = torch.empty_like(q_sorted)
        q[:, order] = q_sorted
    else:
        q, z, s = quantize(w, bits, symmetric)
    per = 32 // bits
    # Word (r, o) holds inputs r * per ... r * per + per - 1 of output o.
    tensors = {"qweight": pack(q.t().contiguous().reshape(cols // per, per, out).permute(0, 2, 1).reshape(cols // per, out * per), bits),
               "qzeros": pack(z.t().contiguous() - 1, bits), "scales": s.t().contiguous().half(),
               "g_idx": g_idx.to(torch.int32)}
    return tensors, dequantize(q, z, s, g_idx)


def compressed(w, bits, strategy):
    from compressed_tensors.compressors.pack_quantized.helpers import pack_to_int32
    group = GROUP if strategy == "group" else w.shape[1]
    q, z, s = quantize(w, bits, symmetric=True, group=group)
    signed = (q - (1 << (bits - 1))).to(torch.int8)
    tensors = {"weight_packed": pack_to_int32(signed, bits), "weight_scale": s.half(),
               "weight_shape": torch.tensor(list(w.shape), dtype=torch.int64)}
    return tensors, dequantize(q, z, s, torch.arange(w.shape[1]) // group)


VARIANTS = {
    "llama-awq": ({"quant_method": "awq", "bits": 4, "group_size": GROUP, "zero_point": True, "version": "gemm"}, awq),
    "llama-gptq": ({"quant_method": "gptq", "bits": 4, "group_size": GROUP, "sym": True, "desc_act": False,
                    "checkpoint_format": "gptq"}, lambda w: gptq(w, 4, True)),
    "llama-gptq-8bit": ({"quant_method": "gptq", "bits": 8, "group_size": GROUP, "sym": True, "desc_act": False},
                        lambda w: gptq(w, 8, True)),
    "llama-gptq-actorder": ({"quant_method": "gptq", "bits": 4, "group_size": GROUP, "sym": False, "desc_act": True},
                            lambda w: gptq(w, 4, False, act_order=True)),
    "llama-ct-w4a16": ({"quant_method": "compressed-tensors", "format": "pack-quantized", "config_groups": {"group_0": {
        "targets": ["Linear"], "input_activations": None, "output_activations": None, "weights": {
            "num_bits": 4, "type": "int", "symmetric": True, "strategy": "group", "group_size": GROUP, "dynamic": False,
            "actorder": None, "observer": "minmax"}}}, "ignore": ["lm_head"], "quantization_status": "compressed"},
                       lambda w: compressed(w, 4, "group")),
    "llama-ct-w8a16": ({"quant_method": "compressed-tensors", "format": "pack-quantized", "config_groups": {"group_0": {
        "targets": ["Linear"], "input_activations": None, "output_activations": None, "weights": {
            "num_bits": 8, "type": "int", "symmetric": True, "strategy": "channel", "group_size": None, "dynamic": False,
            "actorder": None, "observer": "minmax"}}}, "ignore": ["lm_head"], "quantization_status": "compressed"},
                       lambda w: compressed(w, 8, "channel")),
}


def logits(model):
    with torch.no_grad():
        return [model(torch.tensor([p])).logits[0].float() for p in PROMPTS]


def convert(source, out, variant):
    """Writes one variant of the checkpoint in `source` (every file but the weights copied) to `out`."""
    quantization, method = VARIANTS[variant]
    quantization = {**quantization, "group_size": GROUP} if "group_size" in quantization else quantization
    weights = {}
    for file in sorted(f for f in os.listdir(source) if f.endswith(".safetensors")):
        weights.update(load_file(os.path.join(source, file)))
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for file in os.listdir(source):
        if not file.endswith(".safetensors") and not file.endswith(".index.json") and file != "config.json":
            shutil.copy(os.path.join(source, file), out)
    tensors = {}
    for key, w in weights.items():
        prefix = key[: -len(".weight")]
        if not any(prefix.endswith(l) for l in LINEARS):
            tensors[key] = w.contiguous()
            continue
        for suffix, t in method(w.float())[0].items():
            tensors[f"{prefix}.{suffix}"] = t.contiguous()
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(source, "config.json")) as f:
        config = json.load(f)
    if variant.startswith("llama-ct"):
        quantization["config_groups"]["group_0"]["weights"]["group_size"] = GROUP if "w4" in variant else None
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({**config, "quantization_config": quantization}, f, indent=2)
    print(f"wrote {out}")


def main():
    global GROUP
    parser = argparse.ArgumentParser()
    parser.add_argument("--source")
    parser.add_argument("--out")
    parser.add_argument("--group", type=int, default=GROUP)
    parser.add_argument("--variant", choices=list(VARIANTS), default="llama-awq")
    args = parser.parse_args()
    if args.source:
        GROUP = args.group
        return convert(args.source, args.out, args.variant)
    torch.manual_seed(0)
    base = load_file(os.path.join(SOURCE, "model.safetensors"))
    with open(os.path.join(SOURCE, "config.json")) as f:
        config = json.load(f)
    os.makedirs(OUT, exist_ok=True)
    for name, (quantization, method) in VARIANTS.items():
        path = os.path.join(OUT, name)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        tensors, dequantized = {}, dict(base)
        for key, w in base.items():
            prefix = key[: -len(".weight")]
            if not any(prefix.endswith(l) for l in LINEARS):
                tensors[key] = w.contiguous()
                continue
            packed, dq = method(w.float())
            for suffix, t in packed.items():
                tensors[f"{prefix}.{suffix}"] = t.contiguous()
            dequantized[key] = dq
        save_file(tensors, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump({**config, "quantization_config": quantization}, f, indent=2)
        shutil.copy(os.path.join(SOURCE, "generation_config.json"), path)
        reference = LlamaForCausalLM.from_pretrained(SOURCE, dtype=torch.float32).eval()
        reference.load_state_dict(dequantized)
        expected = logits(reference)
        if quantization["quant_method"] == "compressed-tensors":
            loaded = LlamaForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
            for a, b in zip(expected, logits(loaded)):
                assert torch.allclose(a, b, atol=2e-3), f"{name}: transformers' decompression differs by {(a - b).abs().max()}"
        # One layer's dequantized weights (4 groups a row), [out * in] row-major, to check the unpacking itself.
        checked = {m: [float(f"{v:.8g}") for v in dequantized[m + ".weight"].flatten().tolist()]
                   for m in ["model.layers.1.mlp.down_proj"]}
        out = {"prompts": PROMPTS, "logits": [[[float(f"{v:.6g}") for v in row] for row in p.tolist()] for p in expected],
               "weights": checked,
               "transformers": transformers.__version__, "torch": torch.__version__}
        with open(os.path.join(path, "expected.json"), "w") as f:
            json.dump(out, f, separators=(",", ":"))
        print(name, sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)), "bytes")


if __name__ == "__main__":
    main()
