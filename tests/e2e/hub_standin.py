"""A stand-in for the Hugging Face Hub's file API on loopback, for the download tests (no network here):
    python3 hub_standin.py PORT ORG/NAME=FOLDER [ORG/NAME=FOLDER ...]
answers the calls `huggingface_hub` and `vllm serve ORG/NAME` make, as the Hub does:
  GET  /api/models/REPO[/revision/REV]    {"id", "sha", "siblings": [{"rfilename"}]}
  GET  /api/models/REPO/tree/REV          [{"type": "file", "path", "size", "oid", "lfs"?}]
  HEAD|GET /REPO/resolve/REV/PATH         X-Repo-Commit, ETag (the sha256 for files over 10 MB, which the Hub stores in
                                          LFS, with X-Linked-Etag and X-Linked-Size; the git blob sha1 otherwise),
                                          Range requests (206)
Unknown repos and files answer 404 with X-Error-Code RepoNotFound or EntryNotFound; repos under `gated/` answer 401
without `Authorization: Bearer hf_test`."""
import hashlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPOS = {}
for spec in sys.argv[2:]:
    repo, folder = spec.split("=", 1)
    files = {}
    for directory, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(directory, name)
            data = open(path, "rb").read()
            lfs = len(data) > 10_000_000
            oid = hashlib.sha256(data).hexdigest() if lfs else hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            files[os.path.relpath(path, folder)] = (path, len(data), oid, lfs)
    REPOS[repo] = (hashlib.sha1(repo.encode()).hexdigest(), files)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, headers=(), body=b""):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?")[0]
        api = path.startswith("/api/models/")
        rest = path[len("/api/models/"):] if api else path[1:]
        repo = next((r for r in REPOS if rest == r or rest.startswith(r + "/")), None)
        if repo is None:
            return self.reply(404, [("X-Error-Code", "RepoNotFound")], b'{"error": "Repository not found"}')
        if repo.startswith("gated/") and self.headers.get("Authorization") != "Bearer hf_test":
            return self.reply(401, [("X-Error-Code", "GatedRepo")], b'{"error": "Access to model is restricted"}')
        commit, files = REPOS[repo]
        tail = rest[len(repo):]
        if api:
            if tail.startswith("/tree/"):
                listing = [dict({"type": "file", "path": f, "size": s, "oid": o}, **({"lfs": {"oid": o, "size": s}} if lfs else {}))
                           for f, (_, s, o, lfs) in sorted(files.items())]
            else:
                listing = {"id": repo, "modelId": repo, "sha": commit, "siblings": [{"rfilename": f} for f in sorted(files)]}
            return self.reply(200, [("Content-Type", "application/json")], json.dumps(listing).encode())
        if not tail.startswith("/resolve/"):
            return self.reply(404, [("X-Error-Code", "EntryNotFound")])
        _, _, name = tail[len("/resolve/"):].partition("/")
        if name not in files:
            return self.reply(404, [("X-Error-Code", "EntryNotFound")], b'{"error": "Entry not found"}')
        local, size, oid, lfs = files[name]
        headers = [("X-Repo-Commit", commit), ("ETag", f'"{oid}"'), ("Accept-Ranges", "bytes")]
        if lfs:
            headers += [("X-Linked-Etag", f'"{oid}"'), ("X-Linked-Size", str(size))]
        start, end, status = 0, size - 1, 200
        requested = self.headers.get("Range")
        if requested and requested.startswith("bytes="):
            first, _, last = requested[6:].partition("-")
            start, end, status = int(first or 0), min(int(last) if last else size - 1, size - 1), 206
            headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        with open(local, "rb") as f:
            f.seek(start)
            body = f.read(end - start + 1) if self.command == "GET" else b""
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
