#!/bin/bash
# Build what a device call carries (ignored folders of the checkout, 64 MiB in all):
#
#   .whl/      the wheels the device image lacks (it has jax + CUDA, flax, optax and
#              hades_zoo's other needs: docs/SCALING.md, "Measured since, on one NVIDIA
#              H200"): brax, gymnax, evosax and their pure-Python needs at the
#              versions installed together here (pyproject's ranges), for PYVER
#              (default 3.12, the device image's Python), no dependencies resolved;
#   .imgdata/  Fashion-MNIST and MNIST IDX files from DATA (default ../shared/data),
#              the training files cut to their first TRAIN_LIMIT images (default
#              10,000: the pending image recipes' image.fitness_limit) to fit the carry.
#
# Then: scripts/device_issue21.sh on the device (carry .whl and .imgdata).
#   usage: [PYVER=3.12] [DATA=dir] [TRAIN_LIMIT=10000] bash scripts/device_prepare.sh
set -eu
PYVER=${PYVER:-3.12}; DATA=${DATA:-../shared/data}; TRAIN_LIMIT=${TRAIN_LIMIT:-10000}
PY=${PYTHON:-python3}
for folder in fashion-mnist mnist; do
  [ -d "$DATA/$folder" ] || { echo "no $DATA/$folder: set DATA to the folder holding fashion-mnist/ and mnist/" >&2; exit 2; }
done
tmp=$(mktemp -d)  # built aside: the old carry stays until the new one is complete
trap 'rm -rf "$tmp"' EXIT
$PY -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$tmp/.whl" \
  brax==0.14.2 gymnax==1.0.1 evosax==0.3.2 mujoco==4.0.0 mujoco-core==4.0.0 \
  mujoco-studio==4.0.0 mujoco-mjx==3.17.0 trimesh==5.2.0 ml_collections==1.1.0 \
  dotmap==1.3.30 jaxopt==0.8.5 tensorboardX==2.6.5 gymnasium==1.3.0 glfw==2.11.0 \
  PyOpenGL==3.1.10 flask==3.1.3 flask-cors==6.0.5 six==1.17.0
$PY - "$DATA" "$tmp/.imgdata" "$TRAIN_LIMIT" <<'EOF'
"""Copy the data files (MNIST has no training images here: its recipe uses mnist_5k.csv.gz,
the train5k split), the IDX training files cut to their first N items."""
import gzip
import shutil
import struct
import sys
from pathlib import Path

src, dst, limit = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
for folder in ("fashion-mnist", "mnist"):
    (dst / folder).mkdir(parents=True)
    files = sorted((src / folder).glob("*.gz"))
    if not files:
        raise SystemExit(f"no .gz data files in {src / folder}")
    for f in files:
        out = dst / folder / f.name
        if not (f.name.startswith("train") and f.name.endswith("-ubyte.gz")):
            shutil.copyfile(f, out)
            continue
        raw = gzip.decompress(f.read_bytes())
        magic, n = struct.unpack(">II", raw[:8])
        dims = magic & 0xFF  # IDX: the last byte of the magic is the number of dims
        shape = struct.unpack(">" + "I" * (dims - 1), raw[8:4 * (dims + 1)])
        item = 1
        for d in shape:
            item *= d
        keep = min(n, limit)
        head = struct.pack(">II", magic, keep) + raw[8:4 * (dims + 1)]
        body = raw[4 * (dims + 1):4 * (dims + 1) + keep * item]
        out.write_bytes(gzip.compress(head + body, compresslevel=9))
EOF
du -sc "$tmp/.whl" "$tmp/.imgdata" | tail -n 1 \
  | awk '{ if ($1 > 64 * 1024) { print "over the 64 MiB carry"; exit 1 } }'
rm -rf .whl .imgdata && mv "$tmp/.whl" "$tmp/.imgdata" .
du -sh .whl .imgdata
