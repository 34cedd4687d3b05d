#!/usr/bin/env python3
"""Dequantization references from gguf-py (the `gguf` package's numpy implementation of ggml's block formats),
written to Tests/VLLMKernelsTests/Fixtures/dequant-gguf-py.json.

For every quantized weight type the kernels read: random blocks (every scale field a finite f16 of moderate size,
the rest random bytes), and the f32 bit patterns gguf-py dequantizes them to. The kernel tests check that
vk_dequantize_row and the packed panels' row gather give exactly these bits.

Rerun:  python3 -m venv /tmp/gguf-venv && /tmp/gguf-venv/bin/pip install gguf numpy
        /tmp/gguf-venv/bin/python tools/gen-dequant-fixtures.py
"""
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/VLLMKernelsTests/Fixtures/dequant-gguf-py.json")

# type: (block bytes, offsets of f16 scale fields in a block)
TYPES = {
    T.Q4_0: (18, [0]), T.Q4_1: (20, [0, 2]), T.Q5_0: (22, [0]), T.Q5_1: (24, [0, 2]), T.Q8_0: (34, [0]),
    T.Q2_K: (84, [80, 82]), T.Q3_K: (110, [108]), T.Q4_K: (144, [0, 2]), T.Q5_K: (176, [0, 2]),
    T.Q6_K: (210, [208]), T.IQ4_NL: (18, [0]), T.IQ4_XS: (136, [0]),
}


def main():
    rng = np.random.default_rng(20261206)
    cases = []
    for qtype, (block_bytes, scale_offsets) in TYPES.items():
        blocks = 16 if block_bytes in (18, 20, 22, 24, 34) else 3
        data = rng.integers(0, 256, size=blocks * block_bytes, dtype=np.uint8)
        for b in range(blocks):
            for off in scale_offsets:
                scale = np.float16(rng.uniform(-0.05, 0.05))
                data[b * block_bytes + off: b * block_bytes + off + 2] = np.frombuffer(scale.tobytes(), dtype=np.uint8)
        values = dequantize(data.reshape(1, -1), qtype).astype(np.float32).reshape(-1)
        cases.append({
            "type": int(qtype), "name": qtype.name, "elements": int(values.size),
            "blocks": data.tobytes().hex(), "f32": values.tobytes().hex(),
        })
    with open(OUT, "w") as f:
        json.dump({"generator": "gguf-py dequantize", "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}: {len(cases)} types")


if __name__ == "__main__":
    main()
