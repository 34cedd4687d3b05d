#!/usr/bin/env python3
"""Checks that a file parses as GGUF (standard library only, no gguf-py or numpy) and prints a one-line summary.

Walks the header, every key/value record and every tensor-info record (shared/notes/GGUF-FACTS.md §1), then checks
that each tensor's data lies inside the file at the offset the C reader requires (contiguous in info order, each
padded to the alignment) and that the last one ends at the end of the file. A truncated or misordered concatenation
of chunks fails here. Exit status 1 with the reason on stderr when the file does not parse.

    tools/gguf-check.py FILE.gguf        # e.g.  qwen2 290 tensors: q4_K 168, q5_0 24, q8_0 1, f32 121 (file type 15)
"""
import struct
import sys

# ggml type id -> (name, weights per block, bytes per block), from ggml/src/ggml.c's type traits.
TYPES = {0: ("f32", 1, 4), 1: ("f16", 1, 2), 2: ("q4_0", 32, 18), 3: ("q4_1", 32, 20), 6: ("q5_0", 32, 22),
         7: ("q5_1", 32, 24), 8: ("q8_0", 32, 34), 9: ("q8_1", 32, 36), 10: ("q2_K", 256, 84),
         11: ("q3_K", 256, 110), 12: ("q4_K", 256, 144), 13: ("q5_K", 256, 176), 14: ("q6_K", 256, 210),
         15: ("q8_K", 256, 292), 16: ("iq2_xxs", 256, 66), 17: ("iq2_xs", 256, 74), 18: ("iq3_xxs", 256, 98),
         19: ("iq1_s", 256, 50), 20: ("iq4_nl", 32, 18), 21: ("iq3_s", 256, 110), 22: ("iq2_s", 256, 82),
         23: ("iq4_xs", 256, 136), 24: ("i8", 1, 1), 25: ("i16", 1, 2), 26: ("i32", 1, 4), 27: ("i64", 1, 8),
         28: ("f64", 1, 8), 29: ("iq1_m", 256, 56), 30: ("bf16", 1, 2), 34: ("tq1_0", 256, 54),
         35: ("tq2_0", 256, 66), 39: ("mxfp4", 32, 17)}
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class Reader:
    def __init__(self, f):
        self.f = f

    def take(self, fmt):
        size = struct.calcsize(fmt)
        data = self.f.read(size)
        if len(data) != size:
            raise ValueError("file ends inside the header")
        return struct.unpack(fmt, data)[0]

    def string(self):
        n = self.take("<Q")
        if n > 1 << 30:
            raise ValueError(f"string of {n} bytes")
        data = self.f.read(n)
        if len(data) != n:
            raise ValueError("file ends inside a string")
        return data.decode("utf-8", "replace")

    def value(self, kind):
        if kind in SCALARS:
            return self.take(SCALARS[kind])
        if kind == 8:
            return self.string()
        if kind == 9:
            element, count = self.take("<I"), self.take("<Q")
            if element == 9:
                raise ValueError("nested array")
            return [self.value(element) for _ in range(count)]
        raise ValueError(f"unknown value type {kind}")


def check(path):
    with open(path, "rb") as f:
        f.seek(0, 2)
        file_size = f.tell()
        f.seek(0)
        r = Reader(f)
        if f.read(4) != b"GGUF":
            raise ValueError("no GGUF magic")
        version = r.take("<I")
        if version not in (2, 3):
            raise ValueError(f"version {version}")
        n_tensors, n_kv = r.take("<q"), r.take("<q")
        meta = {}
        for _ in range(n_kv):
            key = r.string()
            meta[key] = r.value(r.take("<I"))
        tensors = []
        for _ in range(n_tensors):
            name = r.string()
            dims = [r.take("<Q") for _ in range(r.take("<I"))]
            kind, offset = r.take("<I"), r.take("<Q")
            if kind not in TYPES:
                raise ValueError(f"{name}: unknown type {kind}")
            tensors.append((name, dims, kind, offset))
        alignment = meta.get("general.alignment", 32)
        data_start = (f.tell() + alignment - 1) // alignment * alignment
    expected, counts = 0, {}
    for name, dims, kind, offset in tensors:
        type_name, block, block_bytes = TYPES[kind]
        if dims[0] % block:
            raise ValueError(f"{name}: row of {dims[0]} is not a multiple of {block}")
        size = dims[0] // block * block_bytes
        for d in dims[1:]:
            size *= d
        if offset != expected:
            raise ValueError(f"{name}: offset {offset}, expected {expected}")
        expected = offset + (size + alignment - 1) // alignment * alignment
        if data_start + offset + size > file_size:
            raise ValueError(f"{name}: data runs past the end of the file ({file_size} bytes)")
        counts[type_name] = counts.get(type_name, 0) + 1
        last_end = data_start + offset + size
    if tensors and file_size - last_end >= alignment:
        raise ValueError(f"{file_size - last_end} bytes after the last tensor")
    listing = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"{meta.get('general.architecture')} {n_tensors} tensors: {listing} (file type {meta.get('general.file_type')})"


if __name__ == "__main__":
    try:
        print(check(sys.argv[1]))
    except (OSError, ValueError, struct.error) as error:
        print(f"{sys.argv[1]}: not a valid GGUF file: {error}", file=sys.stderr)
        sys.exit(1)
