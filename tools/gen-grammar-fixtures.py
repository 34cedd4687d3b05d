#!/usr/bin/env python3
"""Reference allowed-token sets for the grammar engine, computed by xgrammar on the Qwen2.5 vocabulary.

Run through tools/gen-grammar-fixtures.sh (it makes the venv). Writes Tests/VLLMGrammarTests/Fixtures/walks.json:
per grammar its constraint and random walks; per walk the token ids taken and, per step, the number of allowed ids
and a 48-bit hash of the allowed ids (the sum of splitmix64(id), top 48 bits), so the Swift tests can replay
every walk and compare each step's mask; and thousands more "seeded" walks whose tokens both sides derive from the
allowed sets themselves, stored as one digest each (see seeded_walk). With --bench it also times xgrammar (compile, per-step mask) on the same
vocabulary and schemas as `vllm bench grammar`.
"""
import argparse, json, os, random, statistics, sys, time

import numpy as np
import gguf
import xgrammar as xgr
from importlib.metadata import version

XGR_VERSION = version("xgrammar")

CACHE = os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm"))
VOCAB = CACHE + "/llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-qwen2.gguf"
VOCAB_SIZE = 151936  # Qwen2.5's logits width (the tokenizer has fewer tokens; the rest are padding)


def byte_decoder():
    """GPT-2 byte-level BPE: printable character -> byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def load_vocab():
    """Raw bytes per token: control and unknown tokens are empty (never allowed), user-defined ones are their text."""
    reader = gguf.GGUFReader(VOCAB)
    f = reader.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    t = reader.fields["tokenizer.ggml.token_type"]
    types = [int(t.parts[i][0]) for i in t.data]
    dec = byte_decoder()
    out = []
    for text, kind in zip(tokens, types):
        if kind in (2, 3):
            out.append(b"")
        elif kind == 4:
            out.append(text.encode("utf-8"))
        else:
            out.append(bytes(dec[c] for c in text))
    eos = int(reader.fields["tokenizer.ggml.eos_token_id"].parts[-1][0])
    return out, eos


def lark_to_ebnf(src):
    """vLLM's Lark → EBNF rewrite, line based: `name: def` becomes `name ::= def`, `|` lines join the rule above,
    single quotes become double quotes, `start` (or the first rule) is the root."""
    import re
    lines = [re.sub(r"(#|//).*$", "", l).strip() for l in src.split("\n")]
    first = None
    for l in lines:
        if l and not l.startswith("|") and ":" in l:
            name = l.split(":", 1)[0].strip().strip("?")
            if first is None or name == "start":
                first = name
    out, cur, defs = [f"root ::= {first}"], None, []
    for l in lines:
        if not l:
            continue
        if ":" in l and not l.startswith("|"):
            if cur:
                out.append(f"{cur} ::= {' | '.join(defs)}")
            name, d = l.split(":", 1)
            cur = name.strip().strip("?")
            defs = [re.sub(r"'([^']*)'", r'"\1"', d).strip()]
        elif l.startswith("|"):
            defs.append(re.sub(r"'([^']*)'", r'"\1"', l[1:].strip()))
    if cur:
        out.append(f"{cur} ::= {' | '.join(defs)}")
    return "\n".join(out)


PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 12},
        "age": {"type": "integer"},
        "email": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 3},
        "active": {"type": "boolean"},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}

GRAMMARS = [
    ("schema_person", "json", PERSON),
    ("schema_open_object", "json", {"type": "object", "properties": {"id": {"type": "integer"}, "ok": {"type": "boolean"}}}),
    ("schema_enum_const", "json", {
        "type": "object",
        "properties": {
            "kind": {"const": "point"},
            "color": {"enum": ["red", "green", 7, None, True]},
            "coords": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": False},
            "levels": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
        },
        "required": ["kind", "color", "coords", "levels"],
        "additionalProperties": False,
    }),
    ("schema_recursive_ref", "json", {
        "$ref": "#/$defs/node",
        "$defs": {"node": {
            "type": "object",
            "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            "required": ["value", "children"],
            "additionalProperties": False,
        }},
    }),
    ("schema_anyof", "json", {
        "type": "object",
        "properties": {
            "id": {"anyOf": [{"type": "string", "pattern": "^[a-z]{1,4}$"}, {"type": "integer"}]},
            "score": {"type": ["number", "null"]},
            "extra": {"oneOf": [{"type": "boolean"}, {"type": "array", "items": {"type": "null"}}]},
        },
        "required": ["id", "score"],
        "additionalProperties": False,
    }),
    ("schema_integer_ranges", "json", {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "minimum": -15, "maximum": 230},
            "b": {"type": "integer", "minimum": 7},
            "c": {"type": "integer", "exclusiveMaximum": -3},
            "d": {"type": "array", "items": {"type": "integer", "minimum": 1000, "maximum": 1099}},
        },
        "required": ["a", "b", "c", "d"],
        "additionalProperties": False,
    }),
    ("schema_any", "json", {}),
    ("json_object", "json_object", None),
    ("regex_code", "regex", r"[a-z]{2,5}-\d{3}"),
    ("regex_phone", "regex", r"(\+1 )?\(\d{3}\) \d{3}-\d{4}"),
    ("regex_words", "regex", r"(cat|dog|bird)s?( and (cat|dog|bird)s?)*\.|[A-Z][^\n]{0,8}!"),
    ("choice", "choice", ["yes", "no", "maybe so", "né \"quoted\"", "no way"]),
    ("gbnf_arith", "grammar", 'root ::= expr\nexpr ::= term (("+" | "-") term)*\nterm ::= factor (("*" | "/") factor)*\n'
                              'factor ::= [0-9]+ | "(" expr ")" | "-" factor\n'),
    ("gbnf_tags", "grammar", '# a tag with text\nroot ::= "<" name ">" text "</" name ">" "\\n"?\n'
                             'name ::= [a-zA-Z_] [a-zA-Z0-9_]{0,5}\ntext ::= [^<>\\n\\t]*\n'),
    ("lark_greeting", "grammar", '?start: greeting " " name "!"\ngreeting: "hello" | \'hi\'\nname: "Bob"\n    | "Alice"\n'
                                 '    | "Zoë"\n'),
]


def compile_one(compiler, kind, src):
    if kind == "json":
        return compiler.compile_json_schema(json.dumps(src), any_whitespace=True)
    if kind == "json_object":
        return compiler.compile_json_schema('{"type": "object"}', any_whitespace=True)
    if kind == "regex":
        return compiler.compile_regex(src)
    if kind == "choice":
        esc = [c.replace("\\", "\\\\").replace('"', '\\"') for c in src]
        return compiler.compile_grammar("root ::= " + " | ".join(f'"{c}"' for c in esc))
    if kind == "grammar":
        g = src if "::=" in src else lark_to_ebnf(src)
        return compiler.compile_grammar(g)
    raise ValueError(kind)


def allowed_ids(bitmask):
    bits = np.unpackbits(bitmask[0].numpy().view(np.uint8), bitorder="little")[:VOCAB_SIZE]
    return np.nonzero(bits)[0]


def set_hash(ids):
    """Order-independent 48-bit hash of a set of ids: the wrapping sum of splitmix64(id), top 48 bits."""
    with np.errstate(over="ignore"):
        z = np.asarray(ids, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        return int(z.sum(dtype=np.uint64)) >> 16


def walk(compiled, eos, rng, max_steps):
    m = xgr.GrammarMatcher(compiled)
    bm = xgr.allocate_token_bitmask(1, VOCAB_SIZE)
    tokens, steps = [], []
    for _ in range(max_steps):
        xgr.reset_token_bitmask(bm)
        m.fill_next_token_bitmask(bm)
        ids = allowed_ids(bm)
        steps.append(f"{len(ids)}:{set_hash(ids):012x}")
        if len(ids) == 0:
            break
        others = ids[ids != eos]
        if len(others) == 0 or rng.random() < 0.04:
            t = int(eos) if eos in ids else int(rng.choice(others))
        else:
            t = int(rng.choice(others))
        assert m.accept_token(t), (t,)
        tokens.append(t)
        if t == eos:
            break
    return {"tokens": tokens, "steps": steps}


MASK64 = (1 << 64) - 1


def splitmix(x):
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def seeded_walk(compiled, eos, seed, max_steps, memo):
    """A walk whose tokens both sides derive from the allowed set itself: at step i, r = splitmix(seed * 1000003 + i);
    end-of-generation when nothing else is allowed or, if allowed, when r % 25 == 0; else the ((r >> 8) % n)-th of the
    n other allowed ids in increasing order. Only a digest of the steps is stored (a mismatch at any step changes it):
    d = splitmix(d ^ (count << 48 | hash)) over the steps' (allowed count, 48-bit set hash)."""
    m = xgr.GrammarMatcher(compiled)
    bm = xgr.allocate_token_bitmask(1, VOCAB_SIZE)
    digest, steps = 0, 0
    for i in range(max_steps):
        xgr.reset_token_bitmask(bm)
        m.fill_next_token_bitmask(bm)
        key = bm[0].numpy().tobytes()
        if key not in memo:
            ids = allowed_ids(bm)
            memo[key] = (ids, set_hash(ids))
        ids, h = memo[key]
        digest = splitmix(digest ^ ((len(ids) << 48) | h))
        steps += 1
        if len(ids) == 0:
            break
        r = splitmix(seed * 1000003 + i)
        others = ids[ids != eos] if eos in ids else ids
        if len(others) == 0 or (r % 25 == 0 and len(others) < len(ids)):
            t = eos
        else:
            t = int(others[(r >> 8) % len(others)])
        assert m.accept_token(t), (t,)
        if t == eos:
            break
    return f"{digest:016x}:{steps}"


def bench(compiler_info, out):
    """xgrammar's compile time (cache cleared each time) and per-step mask time on walks."""
    for name, kind, src in [g for g in GRAMMARS if g[0] in ("schema_person", "schema_recursive_ref", "json_object")]:
        comp_ms = []
        for _ in range(5):
            c = xgr.GrammarCompiler(compiler_info, max_threads=1, cache_enabled=False)
            t0 = time.perf_counter()
            compiled = compile_one(c, kind, src)
            comp_ms.append((time.perf_counter() - t0) * 1e3)
        rng = random.Random(7)
        times = []
        bm = xgr.allocate_token_bitmask(1, VOCAB_SIZE)
        for _ in range(40):
            m = xgr.GrammarMatcher(compiled)
            for _ in range(40):
                t0 = time.perf_counter()
                m.fill_next_token_bitmask(bm)
                times.append((time.perf_counter() - t0) * 1e6)
                ids = allowed_ids(bm)
                others = ids[~np.isin(ids, compiler_info.stop_token_ids)]
                if len(others) == 0:
                    break
                m.accept_token(int(others[rng.randrange(len(others))]))
        times.sort()
        out.write(f"xgrammar {XGR_VERSION} {name}: compile {statistics.median(comp_ms):.1f} ms (1 thread), "
                  f"mask median {statistics.median(times):.1f} us p99 {times[int(len(times) * 0.99)]:.1f} us "
                  f"over {len(times)} steps\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="Tests/VLLMGrammarTests/Fixtures/walks.json")
    ap.add_argument("--walks", type=int, default=150)
    ap.add_argument("--max-steps", type=int, default=28)
    ap.add_argument("--seeded-walks", type=int, default=2000)
    ap.add_argument("--seeded-max-steps", type=int, default=16)
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--dump-ebnf", default="")
    args = ap.parse_args()
    vocab, eos = load_vocab()
    info = xgr.TokenizerInfo(vocab, vocab_type=xgr.VocabType.RAW, vocab_size=VOCAB_SIZE, stop_token_ids=[eos])
    if args.bench:
        bench(info, sys.stdout)
        return
    compiler = xgr.GrammarCompiler(info)
    result = {"reference": f"xgrammar {XGR_VERSION}", "vocabulary": os.path.basename(VOCAB),
              "vocabularySize": VOCAB_SIZE, "endOfGeneration": [eos], "grammars": []}
    dump = []
    for gi, (name, kind, src) in enumerate(GRAMMARS):
        compiled = compile_one(compiler, kind, src)
        dump.append(f"## {name}\n{compiled.grammar}\n")
        rng = np.random.default_rng(1000 + gi)
        walks = [walk(compiled, eos, rng, args.max_steps) for _ in range(args.walks)]
        source = json.dumps(src, ensure_ascii=False) if kind == "json" else src
        memo = {}
        seeded = [seeded_walk(compiled, eos, seed, args.seeded_max_steps, memo) for seed in range(args.seeded_walks)]
        result["grammars"].append({"name": name, "kind": kind, "source": source, "walks": walks,
                                   "seededWalks": {"maxSteps": args.seeded_max_steps, "digests": seeded}})
        print(name, "steps", sum(len(w["steps"]) for w in walks), "seeded steps",
              sum(int(d.split(":")[1]) for d in seeded), file=sys.stderr)
    if args.dump_ebnf:
        open(args.dump_ebnf, "w").write("\n".join(dump))
    with open(args.out, "w") as f:
        json.dump(result, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
