"""deploy/: every Kubernetes manifest validates (strictly: no unknown field) against the schemas of
`kubernetes-validate`, and the manifests agree with the server's flags and endpoints."""
import glob
import os
import subprocess
import sys

from conftest import BINARY, ROOT

DEPLOY = os.path.join(ROOT, "deploy")


def test_every_manifest_validates_strictly():
    manifests = sorted(glob.glob(os.path.join(DEPLOY, "*.yaml")))
    assert len(manifests) >= 4
    tool = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
    r = subprocess.run([tool, "--strict", *manifests], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "failed" not in (r.stdout + r.stderr).lower()


def test_the_manifests_use_flags_and_endpoints_the_server_has():
    deployment = open(os.path.join(DEPLOY, "vllm-deployment.yaml")).read()
    assert "path: /health" in deployment and "prometheus.io/path: /metrics" in deployment
    help_text = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True).stdout
    for flag in ("--served-model-name", "--shutdown-timeout", "--kv-cache-space"):
        assert flag in deployment and flag in help_text, flag
    dockerfile = open(os.path.join(DEPLOY, "Dockerfile")).read()
    assert "--product vllm" in dockerfile and "FROM debian:bookworm-slim" in dockerfile
