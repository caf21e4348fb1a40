"""Cold start: from process start to the first answer of `python -m bot ask "..."`, and where it goes.

    .venv/bin/python benchmarks/cold_start.py            # 5 runs of each measurement
    .venv/bin/python benchmarks/cold_start.py --runs 11
    .venv/bin/python benchmarks/cold_start.py --compare-model none   # the default model only

The index is built once in a temporary folder first (not timed), so every run starts with a
built, up-to-date index, as a restarted bot does. Measured, each in fresh processes, medians:
  1. `python -m bot ask "..."`: time to the first line of the answer on stdout, and to exit;
     baselines in the same run: `python -c pass` (the interpreter), the floor (a fresh process
     that only imports the retrieval libraries - torch + sentence-transformers, FAISS, bm25s -, loads
     the model folder, reads the index files with those libraries and encodes one question: no
     project code) and the same CLI with the previous default model (--compare-model, MiniLM).
     Targets: first answer <= 1.3x the floor, and no slower than with the compared model.
  2. the steps one by one in a fresh process: import bot.cli, import bot.core.pipeline, import
     sentence_transformers, model load, staleness check, index load, first ask (with its lazy
     initialisations timed separately), second ask.
  3. `python -X importtime` of the imports the CLI pays, largest first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _common as C

QUESTION = "Combien de gigawatts seront livrés lors de la première phase ?"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(OMP_NUM_THREADS=str(C.THREADS), MKL_NUM_THREADS=str(C.THREADS), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", TQDM_DISABLE="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
               PYTHONPATH=str(C.ROOT))
    return env


def _marker(out: dict[str, float]):
    """`t = mark(name, since)` records the milliseconds since `since` under `name`, returns now."""

    def mark(name: str, since: float) -> float:
        now = time.perf_counter()
        out[name] = (now - since) * 1000
        return now

    return mark


def child(index: Path, corpus: Path, model: str) -> None:
    """The steps of the CLI's start-up one by one, timed; prints one JSON object."""
    t0 = time.perf_counter()
    out: dict[str, float] = {}
    mark = _marker(out)

    t = t0
    import bot.cli  # noqa: F401

    t = mark("import bot.cli", t)
    import bot.core.pipeline  # noqa: F401

    t = mark("import bot.core.pipeline", t)
    import torch

    t = mark("import torch", t)
    torch.set_num_threads(C.THREADS)
    import sentence_transformers  # noqa: F401

    t = mark("import sentence_transformers (after torch)", t)
    import faiss

    faiss.omp_set_num_threads(C.THREADS)
    t = mark("import faiss", t)
    from bot.core.index.build import is_stale
    from bot.core.index.embedder import Embedder
    from bot.core.index.store import IndexStore

    settings = C.retrieval_settings(corpus, index, model=model)
    embedder = Embedder(settings.model)
    embedder.load()
    t = mark("model load (SentenceTransformer)", t)
    stale = is_stale(IndexStore(settings.index_dir), settings)
    t = mark("staleness check (corpus checksums)", t)
    store = IndexStore(settings.index_dir)
    manifest = store.read_manifest()
    store.verify(store.current_path(), manifest)
    t = mark("  index checksums (sha256 of all files)", t)
    store.load(settings.model)
    t = mark("index load (IndexStore.load, incl. checksums)", t)
    embedder.encode_queries([QUESTION])
    t = mark("first query encoding (torch warm-up)", t)
    # The lazy initialisations the first ask would pay, one by one (each is cached afterwards).
    lazy = [
        ("  lazy: language identifier (py3langid)", "bot.core.text", "_identifier", ()),
        ("  lazy: sentence segmenter (pysbd fr)", "bot.core.text", "_segmenter", ("fr",)),
        ("  lazy: FreeDict dictionaries (crosslingual)", "bot.core.search.crosslingual", "_tables", ()),
        ("  lazy: stemmers + stop words", "bot.core.index.lexical", "stopwords", ("fr",)),
    ]
    import importlib

    for name, module, func, fargs in lazy:
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError):
            continue
        fn(*fargs)
        t = mark(name, t)
    from bot.core.pipeline import Pipeline

    pipeline = Pipeline(settings, embedder=embedder)
    pipeline.warm_up(build_if_needed=False)
    t = mark("Pipeline.warm_up (model already loaded: index load again)", t)
    pipeline.ask(QUESTION)
    t = mark("first ask (after the lazy parts above)", t)
    pipeline.ask(QUESTION)
    t = mark("second ask", t)
    out["total"] = (t - t0) * 1000
    # Does a question cost more the first time (new input length for torch, caches)?
    # Each question is asked twice in a row, so that both see the same machine noise.
    firsts, seconds = [], []
    for q in C.QUESTIONS:
        for bucket in (firsts, seconds):
            t1 = time.perf_counter()
            pipeline.ask(q)
            bucket.append((time.perf_counter() - t1) * 1000)
    out["30 new questions, 1st time asked: p50"] = C.percentile(firsts, 50)
    out["30 new questions, 1st time asked: p95"] = C.percentile(firsts, 95)
    out["same question right after, 2nd time: p50"] = C.percentile(seconds, 50)
    out["same question right after, 2nd time: p95"] = C.percentile(seconds, 95)
    out["median per-question ratio 1st/2nd"] = C.percentile([a / b for a, b in zip(firsts, seconds, strict=True)], 50)
    out["stale"] = float(stale)
    out["vector"] = [float(x) for x in embedder.encode_queries([QUESTION])[0]]
    print(json.dumps(out))


def child_floor(model_path: str, gen_path: Path, query_prefix: str) -> None:
    """The floor of a cold `ask`: import the retrieval libraries, load the model folder and the
    index files with them, encode one question; no project code. Prints one JSON object."""
    t0 = time.perf_counter()
    out: dict[str, float] = {}
    mark = _marker(out)

    import torch

    torch.set_num_threads(C.THREADS)
    from sentence_transformers import SentenceTransformer

    t = mark("import torch + sentence_transformers", t0)
    import faiss

    faiss.omp_set_num_threads(C.THREADS)
    import bm25s

    t = mark("import faiss + bm25s", t)
    model = SentenceTransformer(model_path, device="cpu")
    t = mark("model load", t)
    import sqlite3

    faiss.read_index(str(gen_path / "vectors.faiss"))
    bm25s.BM25.load(str(gen_path / "bm25"), allow_pickle=False, mmap=False)
    con = sqlite3.connect(f"file:{gen_path / 'passages.sqlite'}?mode=ro&immutable=1", uri=True)
    con.execute("SELECT * FROM passages").fetchall()
    con.close()
    t = mark("index load (FAISS, bm25s, passages rows)", t)
    model.encode([query_prefix + QUESTION], normalize_embeddings=True, convert_to_numpy=True)
    t = mark("one query encoding", t)
    out["total"] = (t - t0) * 1000
    print(json.dumps(out))


def child_hf(path: str, query_prefix: str) -> None:
    """The same vectors without sentence-transformers: transformers' AutoModel + mean pooling +
    L2 normalisation (what the bundled model's modules.json describes). Prints one JSON object."""
    t0 = time.perf_counter()
    out: dict = {}
    import torch

    torch.set_num_threads(C.THREADS)
    t1 = time.perf_counter()
    out["import torch"] = (t1 - t0) * 1000
    from transformers import AutoModel, AutoTokenizer

    t2 = time.perf_counter()
    out["import transformers (AutoModel, AutoTokenizer)"] = (t2 - t1) * 1000
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    t3 = time.perf_counter()
    out["model load"] = (t3 - t2) * 1000

    def encode(texts):
        batch = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()

    vec = encode([query_prefix + QUESTION])[0]
    t4 = time.perf_counter()
    out["first query encoding"] = (t4 - t3) * 1000
    out["total"] = (t4 - t0) * 1000
    out["vector"] = [float(x) for x in vec]
    print(json.dumps(out))


def median(xs):
    return C.percentile(list(xs), 50)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per measurement (default 5)")
    ap.add_argument("--corpus", type=Path, default=C.BUNDLED_CORPUS)
    ap.add_argument("--top", type=int, default=15, help="import-time entries to print")
    ap.add_argument("--model", default=None, help="model measured (default: the project's default)")
    ap.add_argument("--compare-model", default="bundled:all-MiniLM-L6-v2",
                    help="the CLI's cold start with this model too, interleaved ('none': skip)")
    ap.add_argument("--hf", action="store_true",
                    help="also time a transformers-only loader (AutoModel + mean pooling) of the model")
    ap.add_argument("--child", nargs=3, metavar=("INDEX", "CORPUS", "MODEL"), help=argparse.SUPPRESS)
    ap.add_argument("--child-floor", nargs=3, metavar=("MODEL_PATH", "GENERATION", "PREFIX"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--child-hf", nargs=2, metavar=("MODEL_PATH", "PREFIX"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_hf:
        child_hf(*args.child_hf)
        return 0
    if args.child_floor:
        child_floor(args.child_floor[0], Path(args.child_floor[1]), args.child_floor[2])
        return 0
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.child[2])
        return 0

    py = sys.executable
    env = _env()
    work = C.make_tempdir("cold")
    index = work / "index"
    corpus = args.corpus.resolve()
    from bot.config import MODEL_DEFAULTS, RetrievalSettings
    from bot.core.index.embedder import resolve_model

    model = args.model or RetrievalSettings.model_fields["model"].default
    other = None if args.compare_model == "none" else args.compare_model
    prefix = MODEL_DEFAULTS[model].query_prefix if model in MODEL_DEFAULTS else ""
    model_path = resolve_model(model)
    me = str(Path(__file__).resolve())
    try:
        def build(idx: Path, name: str) -> None:
            subprocess.run([py, "-m", "bot", "index", "--corpus", str(corpus), "--index", str(idx),
                            "--model", name], cwd=C.ROOT, env=env, check=True, capture_output=True)

        build(index, model)
        gen_path = index / "generations" / (index / "CURRENT").read_text().strip()
        if not gen_path.is_dir():  # CURRENT may hold a path relative to the index folder
            gen_path = index / (index / "CURRENT").read_text().strip()
        if other:
            build(work / "index-other", other)
        C.header("cold_start: python -m bot ask, from process start to the first answer")
        print(f"model {model} ({model_path}); compared with {other or '-'}")

        def cli(idx: Path, name: str) -> list[str]:
            return [py, "-m", "bot", "ask", QUESTION, "--corpus", str(corpus), "--index", str(idx),
                    "--model", name]

        cmd = cli(index, model)
        print("command: " + " ".join(cmd[1:3]) + f' ask "{QUESTION}" --corpus ... --index <built index> '
              f"--model {model}")

        first_line, exit_ms, pass_ms, steps, hf, floors, other_fl = [], [], [], [], [], [], []
        for i in range(args.runs):
            # Interleaved, the order rotated each run: the interpreter floor, the CLI, the floor, the
            # CLI with the compared model, the step-by-step child.
            jobs = ["cli", "floor"] + (["other"] if other else [])
            jobs = jobs[i % len(jobs):] + jobs[: i % len(jobs)]
            t = time.perf_counter()
            subprocess.run([py, "-c", "pass"], env=env, check=True)
            pass_ms.append((time.perf_counter() - t) * 1000)
            for job in jobs:
                if job == "cli":
                    fl, ex, text = _time_cli(cmd, env)
                    first_line.append(fl)
                    exit_ms.append(ex)
                elif job == "other":
                    other_fl.append(_time_cli(cli(work / "index-other", other), env)[0])
                else:
                    r = subprocess.run([py, me, "--child-floor", model_path, str(gen_path), prefix],
                                       cwd=C.ROOT, env=env, check=True, capture_output=True, text=True)
                    floors.append(json.loads(r.stdout.strip().splitlines()[-1]))
            r = subprocess.run([py, me, "--child", str(index), str(corpus), model],
                               cwd=C.ROOT, env=env, check=True, capture_output=True, text=True)
            steps.append(json.loads(r.stdout.strip().splitlines()[-1]))
            if args.hf:
                r = subprocess.run([py, me, "--child-hf", model_path, prefix],
                                   cwd=C.ROOT, env=env, check=True, capture_output=True, text=True)
                hf.append(json.loads(r.stdout.strip().splitlines()[-1]))
        print(f"answer: {text.splitlines()[0][:100]}")
        s = {k: median(d[k] for d in steps) for k in steps[0] if k != "vector"}
        f = {k: median(d[k] for d in floors) for k in floors[0]}
        project_steps = (s["import bot.core.pipeline"] + s["import bot.cli"] + s["import torch"]
                         + s["import sentence_transformers (after torch)"] + s["import faiss"]
                         + s["model load (SentenceTransformer)"]
                         + s["index load (IndexStore.load, incl. checksums)"]
                         + s["first query encoding (torch warm-up)"])
        fl_med = median(first_line)
        needed = f["total"]
        print(f"\n1. wall time, median of {args.runs} fresh processes each")
        print(f"  python -m bot ask: first answer line    {fl_med:8.0f} ms   (runs: "
              + ", ".join(f"{x:.0f}" for x in first_line) + ")")
        print(f"  python -m bot ask: process exit         {median(exit_ms):8.0f} ms")
        print(f"  python -c pass (interpreter floor)      {median(pass_ms):8.0f} ms")
        print(f"  floor: libraries + model + index + 1 encode {needed:6.0f} ms   (runs: "
              + ", ".join(f"{d['total']:.0f}" for d in floors) + ")")
        for k, v in f.items():
            if k != "total":
                print(f"    {k:44}{v:8.0f} ms")
        ratio = fl_med / needed
        print(f"  ratio first answer / floor              {ratio:8.2f}   target <= 1.3: {C.verdict(ratio <= 1.3)}")
        print(f"  paid beyond the floor                   {fl_med - needed:8.0f} ms")
        print(f"  the project's own steps, summed (below) {project_steps:8.0f} ms")
        exiting = median(e - fl for e, fl in zip(exit_ms, first_line, strict=True))
        print(f"  after the answer, exiting takes         {exiting:8.0f} ms")
        if other:
            o = median(other_fl)
            print(f"  same CLI with {other}: first answer line {o:8.0f} ms   (runs: "
                  + ", ".join(f"{x:.0f}" for x in other_fl) + ")")
            print(f"  ratio {model} / {other}   {fl_med / o:8.2f}   target <= 1.0: {C.verdict(fl_med <= o)}")

        print(f"\n2. the steps in one fresh process, median of {args.runs} (ms)")
        for k, v in s.items():
            if k not in ("total", "stale") and not k.startswith(("30 new", "same question", "median per")):
                print(f"  {k:58}{v:8.1f}")
        print(f"  {'total of the child':58}{s['total']:8.1f}")
        print("  first asks of a fresh process, each question asked twice in a row:")
        for k, v in s.items():
            if k.startswith(("30 new", "same question", "median per")):
                print(f"    {k:56}{v:8.1f}")

        if hf:
            import numpy as np

            h = {k: median(d[k] for d in hf) for k in hf[0] if k != "vector"}
            diff = float(np.max(np.abs(np.array(hf[0]["vector"]) - np.array(steps[0]["vector"]))))
            st_path = (s["import torch"] + s["import sentence_transformers (after torch)"]
                       + s["model load (SentenceTransformer)"] + s["first query encoding (torch warm-up)"])
            print(f"\n  alternative without sentence-transformers (transformers AutoModel + mean pooling + "
                  f"normalise), fresh process, median of {args.runs}:")
            for k, v in h.items():
                print(f"    {k:56}{v:8.1f}")
            print(f"    same path through sentence-transformers (steps above)  {st_path:8.1f}")
            print(f"    ratio transformers-only / sentence-transformers        {h['total'] / st_path:8.2f}")
            print(f"    max |difference| between the two query vectors          {diff:.2e}")

        _importtime(py, env, args.top)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _time_cli(cmd, env) -> tuple[float, float, str]:
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=C.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    first = (time.perf_counter() - t) * 1000
    rest = proc.stdout.read()
    proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with {proc.returncode}")
    return first, (time.perf_counter() - t) * 1000, line + rest


def _importtime(py, env, top: int) -> None:
    """Import costs of what the CLI loads before answering, from `python -X importtime`."""
    for _label, code in (
        ("import bot.cli", "import bot.cli"),
        ("everything `ask` imports", "import bot.cli, bot.core.pipeline, sentence_transformers, faiss, "
         "py3langid, pysbd, bm25s, Stemmer, frontmatter"),
    ):
        r = subprocess.run([py, "-X", "importtime", "-c", code], cwd=C.ROOT, env=env, capture_output=True,
                           text=True, check=True)
        rows = []
        for line in r.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S.*)$", line)
            if m:
                rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4)))
        total = sum(r[0] for r in rows) / 1000
        print(f"\n3. python -X importtime -c \"{code[:60]}{'...' if len(code) > 60 else ''}\": "
              f"{total:.0f} ms of imports ({len(rows)} modules)")
        # Top-level packages by cumulative time (the nesting level is 0 for direct imports of packages).
        pkgs: dict[str, float] = {}
        for self_us, _cum, _lvl, name in rows:
            pkgs[name.split(".")[0]] = pkgs.get(name.split(".")[0], 0) + self_us / 1000
        print("  by top-level package (self time summed):")
        for name, ms in sorted(pkgs.items(), key=lambda x: -x[1])[:top]:
            print(f"    {name:32}{ms:8.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
