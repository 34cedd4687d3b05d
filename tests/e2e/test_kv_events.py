"""KV-cache events (`--kv-events-config`) as vLLM publishes them, read by a pyzmq SUB socket and decoded with msgspec
into vLLM's own structs (vllm/distributed/kv_events.py as of v0.28: the batch array-like, events maps tagged by
`type`): the stored blocks carry the prompt's tokens, chain through their parents, and evicted blocks are reported
removed. Then vllm-router's kv_aware policy routes on them."""
import json
import subprocess
from typing import Any

import msgspec
import requests
import zmq

from conftest import BINARY, MODEL, Server, free_port


class EventBatch(msgspec.Struct, array_like=True, omit_defaults=True, gc=False):
    ts: float
    events: list[Any]


class KVCacheEvent(msgspec.Struct, omit_defaults=True, gc=False, tag=True):
    pass


class BlockStored(KVCacheEvent):
    block_hashes: list[int]
    parent_block_hash: int | None
    token_ids: list[int]
    block_size: int
    lora_id: int | None
    medium: str | None
    lora_name: str | None
    extra_keys: list | None = None
    group_idx: int | None = None


class BlockRemoved(KVCacheEvent):
    block_hashes: list[int]
    medium: str | None
    group_idx: int | None = None


class AllBlocksCleared(KVCacheEvent):
    pass


class KVEventBatch(EventBatch):
    events: list[BlockStored | BlockRemoved | AllBlocksCleared]


def receive(sub, decoder, seconds=5.0):
    """Every batch that arrives within `seconds` of the last one (sequence numbers checked)."""
    batches = []
    while sub.poll(int(seconds * 1000)):
        topic, seq, payload = sub.recv_multipart()
        assert topic == b"kv"
        batches.append((int.from_bytes(seq, "big"), decoder.decode(payload)))
        seconds = 0.5
    return batches


def test_kv_events_describe_the_prefix_cache():
    port = free_port()
    config = {"enable_kv_cache_events": True, "publisher": "zmq", "endpoint": f"tcp://127.0.0.1:{port}", "topic": "kv"}
    # A small cache (about 29 blocks of 16 tokens) so that later prompts evict earlier ones.
    server = Server("--kv-events-config", json.dumps(config), "--kv-cache-space", "0.01", "--max-model-len", "256")
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    try:
        sub.connect(f"tcp://127.0.0.1:{port}")
        sub.setsockopt(zmq.SUBSCRIBE, b"kv")
        decoder = msgspec.msgpack.Decoder(type=KVEventBatch)
        prompt = "The quick brown fox jumps over the lazy dog near the river bank while the sun sets slowly. " * 3
        ids = requests.post(server.url + "/tokenize", json={"model": "smollm2", "prompt": prompt}).json()["tokens"]
        # The subscription reaches the publisher asynchronously: repeat the first request until events flow.
        batches = []
        for _ in range(20):
            requests.post(server.url + "/v1/completions", json={"model": "smollm2", "prompt": prompt, "max_tokens": 1})
            batches = receive(sub, decoder, 1.0)
            if batches:
                break
        assert batches, "no KV events arrived"
        stored = [e for _, b in batches for e in b.events if isinstance(e, BlockStored)]
        assert stored and all(e.block_size == 16 and len(e.token_ids) == 16 * len(e.block_hashes) for e in stored)
        first = stored[0]
        assert first.parent_block_hash is None and first.token_ids == ids[:len(first.token_ids)], "the prompt's own tokens"
        assert first.medium == "GPU" and first.lora_id is None
        assert len(ids) // 16 == sum(len(e.block_hashes) for e in stored), "every full block of the prompt, once"
        # A longer prompt sharing the prefix stores only its new blocks, chained to the last shared one.
        requests.post(server.url + "/v1/completions", json={"model": "smollm2", "prompt": prompt * 2, "max_tokens": 1})
        more = [e for _, b in receive(sub, decoder) for e in b.events if isinstance(e, BlockStored)]
        assert more and more[0].parent_block_hash == stored[-1].block_hashes[-1]
        # Different prompts fill the small cache: earlier blocks are reported removed, never unknown ones.
        known = {h for e in stored + more for h in e.block_hashes}
        removed = set()
        sequence = [s for s, _ in batches]
        for i in range(8):
            requests.post(server.url + "/v1/completions", json={"model": "smollm2", "max_tokens": 1,
                                                                 "prompt": f"Story {i}: " + "a long and winding tale " * 12})
            for s, batch in receive(sub, decoder, 2.0):
                sequence.append(s)
                for e in batch.events:
                    if isinstance(e, BlockStored):
                        known.update(e.block_hashes)
                    elif isinstance(e, BlockRemoved):
                        assert set(e.block_hashes) <= known
                        removed.update(e.block_hashes)
                        known.difference_update(e.block_hashes)
        assert removed, "evictions are published"
        assert sequence == sorted(sequence) and len(set(sequence)) == len(sequence)
    finally:
        sub.close(0)
        context.term()
        server.stop()


def test_bad_kv_events_configs_fail_at_start():
    for config, fragment in [('{"enable_kv_cache_events": true, "replay_endpoint": "tcp://*:5558"}', "replay_endpoint"),
                             ('{"enable_kv_cache_events": true, "endpoint": "ipc:///tmp/x"}', "tcp://HOST:PORT"),
                             ('{"enable_kv_cache_events": true, "colour": 1}', "colour"),
                             ('{"enable_kv_cache_events": true, "buffer_steps": 100}', "buffer_steps"),
                             ('{"enable_kv_cache_events": true}', "--enable-prefix-caching")]:
        extra = ["--no-enable-prefix-caching"] if "prefix" in fragment else []
        run = subprocess.run([BINARY, "serve", MODEL, "--port", str(free_port()), "--kv-events-config", config, *extra],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode != 0 and fragment in run.stderr, (config, run.stderr[-500:])
