"""A short run of tools/soak.py (issue 26's soak, 10 minutes in BENCHMARKS.md): mixed streams, drops, aborts and bad
requests against the real server, then no crash, flat memory, every block free, every stream equal to its twin."""
import json
import os
import subprocess
import sys
import tempfile

from conftest import BINARY, MODEL, ROOT


def test_a_short_soak_leaves_the_server_healthy_and_idle():
    out = os.path.join(tempfile.mkdtemp(), "soak.json")
    run = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "soak.py"), "--duration", "45", "--binary", BINARY,
                          "--model", MODEL, "--json", out], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    summary = json.load(open(out))
    assert summary["failures"] == []
    assert summary["idle_at_end"]["kv_cache_usage_perc"] == 0
    counts = summary["counts"]
    for kind in ("stream pairs", "dropped streams", "dropped requests", "aborted streams", "bad requests"):
        assert counts.get(kind, 0) > 0, f"no {kind} in {counts}"
