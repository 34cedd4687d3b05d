#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora to OUT/<harness>/ from small real files: the repository's test fixtures, the
llama.cpp source's chat templates and vocab GGUFs, the cached tokenizer.json files (cut down to a few hundred tokens
so each run stays fast), and hand-written request bodies. Usage: fuzz-seeds.py OUT [CACHE]."""
import glob, json, os, struct, sys

out = sys.argv[1]
cache = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser("~/.cache/swift-vllm")
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
llama_cpp = os.path.join(cache, "llama_cpp_python-0.3.36/vendor/llama.cpp")
MAX_SEED = 64 << 10


def put(harness, name, data):
    os.makedirs(os.path.join(out, harness), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(out, harness, name), "wb") as f:
        f.write(data[:MAX_SEED] if harness != "safetensors-index" else data)


# GGUF: small files written here (every metadata type, a tokenizer, two tensors), plus real vocab files' heads.
def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_value(v):
    kind, value = v
    if kind == "u32": return struct.pack("<II", 4, value)
    if kind == "i32": return struct.pack("<Ii", 5, value)
    if kind == "f32": return struct.pack("<If", 6, value)
    if kind == "bool": return struct.pack("<I?", 7, value)
    if kind == "str": return struct.pack("<I", 8) + gguf_string(value)
    if kind == "u64": return struct.pack("<IQ", 10, value)
    if kind == "astr": return struct.pack("<IIQ", 9, 8, len(value)) + b"".join(gguf_string(s) for s in value)
    if kind == "ai32": return struct.pack("<IIQ", 9, 5, len(value)) + b"".join(struct.pack("<i", x) for x in value)
    if kind == "af32": return struct.pack("<IIQ", 9, 6, len(value)) + b"".join(struct.pack("<f", x) for x in value)
    raise ValueError(kind)


def gguf(kv, tensors):
    """tensors: (name, dims, ggml type, data bytes); data aligned to 32."""
    body = b"".join(gguf_string(k) + gguf_value(v) for k, v in kv.items())
    offset, infos, blob = 0, b"", b""
    for name, dims, kind, data in tensors:
        infos += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", kind, offset)
        pad = (-len(data)) % 32
        blob += data + b"\0" * pad
        offset += len(data) + pad
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)) + body + infos
    return head + b"\0" * ((-len(head)) % 32) + blob


tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(16)] + list("abcdefghij") + ["ab", "abc", "▁a", "Ġa"]
base = {"general.architecture": ("str", "llama"), "general.name": ("str", "fuzz"),
        "llama.context_length": ("u32", 128), "llama.embedding_length": ("u32", 8), "llama.block_count": ("u32", 1),
        "llama.feed_forward_length": ("u32", 16), "llama.attention.head_count": ("u32", 2),
        "llama.attention.head_count_kv": ("u32", 1), "llama.rope.freq_base": ("f32", 10000.0),
        "llama.attention.layer_norm_rms_epsilon": ("f32", 1e-5), "general.alignment": ("u32", 32),
        "tokenizer.ggml.tokens": ("astr", tokens), "tokenizer.ggml.scores": ("af32", [float(-i) for i in range(len(tokens))]),
        "tokenizer.ggml.token_type": ("ai32", [2, 3, 3] + [6] * 16 + [1] * (len(tokens) - 19)),
        "tokenizer.ggml.bos_token_id": ("u32", 1), "tokenizer.ggml.eos_token_id": ("u32", 2),
        "tokenizer.chat_template": ("str", "{% for m in messages %}{{ m.content }}{% endfor %}")}
f32 = lambda n: struct.pack(f"<{n}f", *[0.5] * n)
tensors = [("token_embd.weight", [8, len(tokens)], 0, f32(8 * len(tokens))), ("output_norm.weight", [8], 0, f32(8)),
           ("blk.0.attn_q.weight", [8, 8], 1, b"\0\x3c" * 64)]
put("gguf", "spm.gguf", gguf(dict(base, **{"tokenizer.ggml.model": ("str", "llama")}), tensors))
put("gguf", "bpe.gguf", gguf(dict(base, **{"tokenizer.ggml.model": ("str", "gpt2"), "tokenizer.ggml.pre": ("str", "llama-bpe"),
                                            "tokenizer.ggml.merges": ("astr", ["a b", "ab c"])}), tensors))
put("gguf", "empty.gguf", gguf({}, []))
for name in ["llama-spm", "phi-3", "bert-bge"]:
    path = f"{llama_cpp}/models/ggml-vocab-{name}.gguf"
    if os.path.exists(path):
        put("gguf", f"vocab-{name}-head.gguf", open(path, "rb").read(MAX_SEED))

# safetensors and its index, config.json: the tiny Hugging Face fixtures.
tiny = os.path.join(root, "Tests/VLLMModelsTests/Fixtures/hf-tiny")
for directory in sorted(glob.glob(f"{tiny}/*")):
    name = os.path.basename(directory)
    put("config", f"{name}.json", open(f"{directory}/config.json", "rb").read())
    for shard in sorted(glob.glob(f"{directory}/*.safetensors"))[:1]:
        data = open(shard, "rb").read()
        (n,) = struct.unpack("<Q", data[:8])
        put("safetensors", f"{name}.safetensors", data[:8 + n] + data[8 + n:8 + n + 4096])
    index = f"{directory}/model.safetensors.index.json"
    if os.path.exists(index):
        put("safetensors-index", f"{name}.json", open(index, "rb").read())
for cfg in glob.glob(f"{cache}/hf/*/config.json"):
    put("config", "cached-" + os.path.basename(os.path.dirname(cfg)) + ".json", open(cfg, "rb").read())
header = json.dumps({"__metadata__": {"format": "pt"}, "w": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}}).encode()
header += b" " * ((-len(header)) % 8)
put("safetensors", "small.safetensors", struct.pack("<Q", len(header)) + header + b"\0" * 8)
put("safetensors-index", "two-shards.json", json.dumps({"metadata": {"total_size": 32}, "weight_map": {
    "model.embed_tokens.weight": "model-00001-of-00002.safetensors", "lm_head.weight": "model-00002-of-00002.safetensors"}}))

# tokenizer.json: the cached ones, vocabularies cut to 300 tokens (and the merges that stay inside them).
for path in sorted(glob.glob(f"{cache}/hf-tokenizers/*/tokenizer.json")) + sorted(glob.glob(f"{cache}/hf/*/tokenizer.json")):
    j = json.load(open(path))
    model = j.get("model", {})
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        keep = {t: i for t, i in vocab.items() if i < 300}
        model["vocab"] = keep
        if "merges" in model:
            def parts(m): return m.split(" ", 1) if isinstance(m, str) else m
            model["merges"] = [m for m in model["merges"] if all(p in keep for p in parts(m)) and "".join(parts(m)) in keep]
    j["added_tokens"] = [t for t in j.get("added_tokens", [])][:20]
    put("tokenizer", os.path.basename(os.path.dirname(path)) + ".json", json.dumps(j, ensure_ascii=False))

# Chat templates: llama.cpp's collection of real models' templates.
# The smallest 24: a render under AddressSanitizer takes up to a second for the big ones, which would spend a short
# run's whole budget on its first pass over the seeds.
for path in sorted(glob.glob(f"{llama_cpp}/models/templates/*.jinja"), key=os.path.getsize)[:24]:
    put("template", os.path.basename(path), open(path, "rb").read())

# Request bodies.
requests = [
    {"model": "m", "prompt": "Hello", "max_tokens": 5, "temperature": 0},
    {"prompt": ["a", "b"], "n": 2, "stop": ["\n", "."], "seed": 7, "logprobs": 2, "echo": True},
    {"prompt": [[1, 2, 3], [4]], "logit_bias": {"5": -100, "6": 3.5}, "allowed_token_ids": [1, 2, 3]},
    {"prompt": [1, 2, 3], "top_k": 3, "top_p": 0.9, "min_p": 0.1, "repetition_penalty": 1.2, "stream": True,
     "stream_options": {"include_usage": True}, "truncate_prompt_tokens": 10, "ignore_eos": True, "min_tokens": 2},
    {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
     "max_completion_tokens": 8, "logprobs": True, "top_logprobs": 3, "chat_template_kwargs": {"enable_thinking": False},
     "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
    {"messages": [{"role": "assistant", "content": None, "tool_calls": []}], "stop_token_ids": [2], "priority": -1},
]
for i, r in enumerate(requests):
    put("request", f"request-{i}.json", json.dumps(r))
put("request", "escapes.json", '{"prompt": "\\ud83d\\ude00 \\u0000 \\n", "max_tokens": 1e2, "temperature": -0.0}')
