"""Resident memory of a warmed-up pipeline (the running bot's main cost), and its growth with the index.

    .venv/bin/python benchmarks/memory.py                      # bundled corpus, and a 100k-passage index
    .venv/bin/python benchmarks/memory.py --passages 20000     # a smaller generated index (faster)
    .venv/bin/python benchmarks/memory.py --passages 0         # bundled corpus only
    .venv/bin/python benchmarks/memory.py --passages 0 --model bundled:all-MiniLM-L6-v2   # another model

Every figure is read from /proc/self/status (VmRSS, RssAnon, RssFile, VmHWM) in a fresh process:
  1. the pipeline on the bundled corpus: after the imports, the model load, warm_up, 30 asks;
  2. the same on a generated index of --passages passages. The index is built through the
     project's own `Pipeline.update_index` from a generated corpus (recombined sentences), with an
     embedder stand-in that returns random unit vectors instead of running MiniLM (embedding 100k
     passages would take ~30 min here; the vectors' values do not change the memory), and with
     machine translation off when the setting exists (Apertium on 100k passages takes as long);
     the child then loads it with the real model, as the bot does.
  3. the increment per 100k passages, and what it is made of (FAISS vectors, passages, BM25);
     and the same index loaded with IndexStore.load(mmap=True) and with FAISS's IO_FLAG_MMAP_IFC,
     where the vectors are file-backed pages (shared between processes that map the same file)
     instead of private memory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _common as C

PER_ARTICLE = 7.5  # passages per generated article, about


def child(index: Path, corpus: Path, mode: str, model: str) -> None:
    """Load and use the index as the bot does; print the memory after each stage as JSON."""
    stages: list[tuple[str, dict]] = [("python started", C.memory_status())]
    C.limit_threads()
    C.quiet_logs()
    import faiss  # noqa: F401
    import sentence_transformers  # noqa: F401

    import bot.core.pipeline  # noqa: F401

    stages.append(("imports (torch, sentence-transformers, faiss, bot)", C.memory_status()))
    from bot.core.pipeline import Pipeline

    settings = C.retrieval_settings(corpus, index, model=model)
    pipeline = Pipeline(settings)
    pipeline.embedder.load()
    stages.append(("model loaded", C.memory_status()))
    extra = {}
    if mode == "pipeline":
        pipeline.warm_up(build_if_needed=False)
        stages.append(("index loaded (warm_up)", C.memory_status()))
        pipeline.ask(C.QUESTIONS[0])
        stages.append(("first ask (lazy: language id, dictionaries...)", C.memory_status()))
        for q in C.QUESTIONS:
            pipeline.ask(q)
        stages.append(("after 30 more asks", C.memory_status()))
        gen = pipeline.generation
        extra = _sizes(gen)
    else:
        # The live generation loaded by IndexStore, in RAM or memory-mapped, then every vector touched
        # by a search (a flat index reads them all), as a serving process would.
        import numpy as np

        if mode == "mmap_ifc":
            # The change proposed for bot/core/index/store.py, simulated here: FAISS's IO_FLAG_MMAP_IFC
            # (zero-copy mapping of flat/HNSW vectors) instead of IO_FLAG_MMAP, which still copies.
            import faiss

            original = faiss.read_index
            faiss.read_index = lambda path, flags=0: original(path, flags | faiss.IO_FLAG_MMAP_IFC)
        gen = pipeline.store.load(settings.model, mmap=(mode == "mmap"))
        stages.append((f"IndexStore.load ({mode})", C.memory_status()))
        q = pipeline.embedder.encode_queries(["Combien de gigawatts ?"])
        for _ in range(3):
            gen.search_dense(np.repeat(q, 1, axis=0), 10)
        stages.append(("after searches (all vectors read)", C.memory_status()))
        extra = _sizes(gen)
    print(json.dumps({"stages": stages, "extra": extra}))


def _sizes(gen) -> dict:
    """Approximate sizes of the parts of a loaded generation, in MiB."""
    out = {"passages": len(gen.passages), "rows": int(gen.faiss_index.ntotal), "dim": int(gen.faiss_index.d)}
    out["faiss_vectors_mb"] = out["rows"] * out["dim"] * 4 / 2**20
    seen = 0
    for p in gen.passages:
        seen += sys.getsizeof(p) + sum(sys.getsizeof(v) for v in vars(p).values() if isinstance(v, str))
    out["passage_objects_mb"] = seen / 2**20
    folder = gen.path
    out["files_mb"] = {
        name: sum(f.stat().st_size for f in (folder / name).rglob("*")) / 2**20
        if (folder / name).is_dir() else (folder / name).stat().st_size / 2**20
        for name in sorted(os.listdir(folder))
    }
    return out


def run_child(index: Path, corpus: Path, mode: str, model: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(index), str(corpus), mode, model]
    r = subprocess.run(cmd, cwd=C.ROOT, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"child failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def build_generated(work: Path, passages: int, model: str) -> tuple[Path, Path, int]:
    """A generated corpus of about `passages` passages, indexed with random vectors."""
    corpus = work / "corpus-big"
    C.generate_corpus(corpus, max(1, int(passages / PER_ARTICLE)), seed=3)
    report, _ = C.build_with_random_vectors(corpus, work / "big", model=model)
    return corpus, work / "big" / "index", report.passages_total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passages", type=int, default=100_000, help="size of the generated index (0: skip)")
    ap.add_argument("--corpus", type=Path, default=C.BUNDLED_CORPUS)
    ap.add_argument("--model", default=None, help="model loaded (default: the project's default)")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.child[2], args.child[3])
        return 0
    from bot.config import RetrievalSettings

    model = args.model or RetrievalSettings.model_fields["model"].default

    work = C.make_tempdir("memory")
    try:
        py = sys.executable
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
        corpus = args.corpus.resolve()
        subprocess.run([py, "-m", "bot", "index", "--corpus", str(corpus), "--index", str(work / "index"),
                        "--model", model],
                       cwd=C.ROOT, env=env, check=True, capture_output=True)
        C.header("memory: RSS of a warmed-up pipeline")
        print(f"model {model}")
        small = run_child(work / "index", corpus, "pipeline", model)
        _print_stages(f"1. bundled corpus ({small['extra']['passages']} passages)", small)
        if args.passages <= 0:
            return 0

        t = time.perf_counter()
        C.limit_threads()
        C.quiet_logs()
        big_corpus, big_index, n = build_generated(work, args.passages, model)
        print(f"\n(generated index of {n:,} passages built in {time.perf_counter() - t:.0f} s "
              f"with random vectors)")
        big = run_child(big_index, big_corpus, "pipeline", model)
        _print_stages(f"2. generated index ({n:,} passages, {big['extra']['rows']:,} vectors)", big)

        def last(d, key="VmRSS"):
            return d["stages"][-1][1][key]

        inc = last(big) - last(small)
        rows = big["extra"]["rows"] - small["extra"]["rows"]
        per100k = inc / rows * 100_000 if rows else float("nan")
        ex = big["extra"]
        scale100k = 100_000 / rows if rows else float("nan")
        print(f"\n3. increment: {inc:.0f} MiB for {rows:,} more vectors -> {per100k:.0f} MiB "
              f"per 100k passages "
              f"(baseline: bundled-corpus bot {last(small):.0f} MiB)")
        print("   made of, per 100k passages (approximate):")
        faiss_mb, objects_mb = ex["faiss_vectors_mb"] * scale100k, ex["passage_objects_mb"] * scale100k
        print(f"     FAISS vectors (rows x {ex['dim']} x 4 bytes)      {faiss_mb:8.0f} MiB")
        print(f"     Passage objects (Python, with their strings) {objects_mb:8.0f} MiB")
        rest = per100k - (ex["faiss_vectors_mb"] + ex["passage_objects_mb"]) * scale100k
        print(f"     the rest (BM25 matrix and vocabulary, allocator) {rest:6.0f} MiB")
        files = ", ".join(f"{k} {v:.0f} MiB" for k, v in ex["files_mb"].items())
        print(f"   files of the generation on disk: {files}")

        ram = run_child(big_index, big_corpus, "ram", model)
        mm = run_child(big_index, big_corpus, "mmap", model)
        ifc = run_child(big_index, big_corpus, "mmap_ifc", model)
        print("\n4. the same index through IndexStore.load, in RAM vs memory-mapped "
              "(after searches that read every vector)")
        print(f"   {'':58}{'VmRSS':>9}{'RssAnon':>9}{'RssFile':>9}  MiB")
        for label, d in (("mmap=False (what Pipeline.reload uses)", ram),
                         ("mmap=True (IO_FLAG_MMAP | IO_FLAG_READ_ONLY, as in store.py)", mm),
                         ("IO_FLAG_MMAP_IFC (proposed change, simulated)", ifc)):
            s = d["stages"][-1][1]
            print(f"   {label:58}{s['VmRSS']:9.0f}{s['RssAnon']:9.0f}{s['RssFile']:9.0f}")
        base = ram["stages"][-1][1]["RssAnon"]
        for label, d in (("IO_FLAG_MMAP", mm), ("IO_FLAG_MMAP_IFC", ifc)):
            saved = base - d["stages"][-1][1]["RssAnon"]
            print(f"   private memory saved by {label}: {saved:.0f} MiB ({saved / base:.0%})")
        print("   file-backed pages are shared by every process that maps the same generation file "
              "(replicas, shards, a restart), and the kernel can drop them under pressure")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _print_stages(title: str, d: dict) -> None:
    print(f"\n{title}")
    print(f"   {'stage':52}{'VmRSS':>9}{'RssAnon':>9}{'RssFile':>9}{'peak':>9}  MiB")
    for name, s in d["stages"]:
        print(f"   {name:52}{s['VmRSS']:9.0f}{s['RssAnon']:9.0f}{s['RssFile']:9.0f}{s['VmHWM']:9.0f}")


if __name__ == "__main__":
    sys.exit(main())
