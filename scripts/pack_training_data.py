#!/usr/bin/env python3
# Packs the training photos into tar bundles small enough to carry to the GPU machine (64 MiB per call).
# Usage: scripts/pack_training_data.py [DATA_DIR] [OUT_DIR] [BUNDLE_MIB]; defaults ../shared/data/train .carry 54
import os
import sys
import tarfile

data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/train"
out = sys.argv[2] if len(sys.argv) > 2 else ".carry"
limit = int(sys.argv[3] if len(sys.argv) > 3 else 54) << 20

files = sorted(os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs if not f.endswith(".md"))
total = sum(os.path.getsize(f) for f in files)
count = -(-total // limit)
bundles, sizes = [[] for _ in range(count)], [0] * count
# Largest first into the emptiest bundle keeps the bundles within a few bytes of each other.
for f in sorted(files, key=os.path.getsize, reverse=True):
    i = sizes.index(min(sizes))
    bundles[i].append(f)
    sizes[i] += os.path.getsize(f)
for i, bundle in enumerate(bundles):
    folder = os.path.join(out, f"data{i}")
    os.makedirs(folder, exist_ok=True)
    with tarfile.open(os.path.join(folder, f"train{i}.tar"), "w") as tar:
        for f in bundle:
            tar.add(f, arcname=os.path.relpath(f, data))
    print(f"{folder}/train{i}.tar: {len(bundle)} files, {sizes[i] / 2**20:.1f} MiB")
