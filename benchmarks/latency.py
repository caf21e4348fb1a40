"""Latency of `Pipeline.ask` in-process, against the floor: bare query encoding + FAISS flat search.

    .venv/bin/python benchmarks/latency.py                 # bundled corpus, 200 calls
    .venv/bin/python benchmarks/latency.py --calls 600      # more calls
    .venv/bin/python benchmarks/latency.py --articles 1000  # a generated corpus of 1,000 articles
    .venv/bin/python benchmarks/latency.py --articles 13500 --random-vectors   # ~100k passages

The index is built in a temporary folder. Each call of `ask` is measured next to a call of the floor
on the same question (alternating which goes first), so both see the same machine noise. Target:
ask's p95 within 1.5x of the floor's p95. Then ask's time is broken down by calling its pieces
(the steps of `Pipeline.ask`), and cProfile lists the functions that take the time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import statistics
import sys
import time
from pathlib import Path

import _common as C

TARGET_RATIO = 1.5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200, help="measured calls of each (default 200)")
    ap.add_argument("--corpus", type=Path, default=C.BUNDLED_CORPUS, help="articles folder (default corpus/)")
    ap.add_argument("--articles", type=int, default=0, help="use a generated corpus of N articles instead")
    ap.add_argument("--random-vectors", action="store_true",
                    help="with --articles: index with random vectors instead of the model (for big sizes: "
                         "timing of BM25/fusion/FAISS at scale; answers are meaningless)")
    ap.add_argument("--k", type=int, default=10, help="neighbours asked of the floor's flat search")
    ap.add_argument("--profile-calls", type=int, default=120, help="ask calls under cProfile")
    ap.add_argument("--top", type=int, default=18, help="cProfile entries to print")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    C.limit_threads()
    C.quiet_logs()
    import faiss

    from bot.core.search.question import analyse

    work = C.make_tempdir("latency")
    try:
        corpus = args.corpus
        if args.articles:
            corpus = work / "corpus"
            C.generate_corpus(corpus, args.articles)
        t0 = time.perf_counter()
        if args.random_vectors:
            # Big corpora: index with random vectors (fast), then answer with the real model. The
            # answers are meaningless but BM25, fusion and FAISS work on an index of the real size.
            _, settings = C.build_with_random_vectors(corpus, work)
            from bot.core.pipeline import Pipeline

            pipeline = Pipeline(settings)
            pipeline.warm_up(build_if_needed=False)
        else:
            pipeline = C.warmed_pipeline(corpus, work)
        build_s = time.perf_counter() - t0
        gen = pipeline.generation
        C.header("latency: Pipeline.ask vs encode_queries + IndexFlatIP")
        print(f"corpus {corpus} : {len(gen.articles)} articles, {len(gen)} passages "
              f"(index built and loaded in {build_s:.1f} s, FAISS '{gen.manifest.get('faiss_index')}')")

        # The floor: the same vectors in a bare IndexFlatIP.
        vectors = _vectors(gen, pipeline)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        k = min(args.k, flat.ntotal)
        embedder = pipeline.embedder

        def floor(q: str) -> None:
            v = embedder.encode_queries([q])
            flat.search(v, k)

        questions = C.QUESTIONS
        # First calls pay lazy initialisation (language model, stemmers, dictionaries): shown, not counted.
        t = time.perf_counter()
        pipeline.ask(questions[1])
        first_ask = (time.perf_counter() - t) * 1000
        for q in questions:  # warm-up round, not counted
            floor(q)
            pipeline.ask(q)

        ask_ms, floor_ms, abstained = [], [], 0
        for i in range(args.calls):
            q = questions[i % len(questions)]
            order = (0, 1) if i % 2 == 0 else (1, 0)
            for which in order:
                t = time.perf_counter()
                if which == 0:
                    a = pipeline.ask(q)
                else:
                    floor(q)
                dt = (time.perf_counter() - t) * 1000
                if which == 0:
                    ask_ms.append(dt)
                    abstained += a.abstained
                else:
                    floor_ms.append(dt)
        sa, sf = C.summary(ask_ms), C.summary(floor_ms)
        print(f"\n{args.calls} calls each, {len(questions)} questions (FR/EN) cycled, "
              f"{abstained} answers abstained; first ask of the process: {first_ask:.0f} ms")
        print(f"{'':22}{'p50':>10}{'p95':>10}{'mean':>10}{'max':>10}")
        for name, s in (("Pipeline.ask", sa), ("floor (encode+flat)", sf)):
            print(f"{name:22}{s['p50']:10.2f}{s['p95']:10.2f}{s['mean']:10.2f}{s['max']:10.2f}   ms")
        r50, r95 = sa["p50"] / sf["p50"], sa["p95"] / sf["p95"]
        print(f"{'ratio ask/floor':22}{r50:10.2f}{r95:10.2f}")
        print(f"target: ask p95 <= {TARGET_RATIO}x floor p95 -> {r95:.2f}x {C.verdict(r95 <= TARGET_RATIO)}")

        _batching(embedder, questions)
        _breakdown(pipeline, gen, questions, analyse)
        _profile(pipeline, questions, args.profile_calls, args.top)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _vectors(gen, pipeline):
    """The generation's passage vectors (from FAISS, else from embeddings.npy, else encoded again)."""
    import numpy as np

    try:
        index = gen.faiss_index
        return np.ascontiguousarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)
    except Exception:
        pass
    try:
        return np.load(gen.path / "embeddings.npy", allow_pickle=False)
    except Exception:
        from bot.core.index.build import embed_text

        return pipeline.embedder.encode_passages([embed_text(p) for p in gen.passages])


def _batching(embedder, questions) -> None:
    """What encoding concurrent questions together (micro-batching) would save, per question."""
    single, batch = [], []
    for _ in range(7):
        t = time.perf_counter()
        for q in questions:
            embedder.encode_queries([q])
        single.append((time.perf_counter() - t) * 1000 / len(questions))
        t = time.perf_counter()
        embedder.encode_queries(list(questions))
        batch.append((time.perf_counter() - t) * 1000 / len(questions))
    a, b = statistics.median(single), statistics.median(batch)
    print(f"\nquery encoding, per question: one at a time {a:.2f} ms, "
          f"{len(questions)} in one batch {b:.2f} ms "
          f"-> batching is {a / b:.1f}x cheaper (what a micro-batching queue in front of ask would gain "
          f"under concurrent load)")


def _breakdown(pipeline, gen, questions, analyse) -> None:
    """Median time of each step of `Pipeline.ask`, by calling the pieces as ask does."""
    from bot.core.search import retriever as R

    steps: dict[str, list[float]] = {}

    def timed(name, fn, *a):
        t = time.perf_counter()
        out = fn(*a)
        steps.setdefault(name, []).append((time.perf_counter() - t) * 1000)
        return out

    candidates = getattr(R, "CANDIDATES", 100)
    retr = pipeline.retriever
    residual: list[float] = []
    pieces = ("encode query", "FAISS search (index of gen)", "BM25 scores (all passages)")
    try:
        for _ in range(5):
            for q in questions:
                total = time.perf_counter()
                question = timed("check + analyse (lang, terms)", lambda q: analyse(pipeline.check_question(q)), q)
                vec, _ = timed("encode query", pipeline.embedder.encode_queries_with_tokens,
                               [t for t, _ in question.forms])
                timed("FAISS search (index of gen)", gen.search_dense, vec, candidates)
                timed("BM25 scores (all passages)", gen.lexical.scores, question.terms, len(gen))
                k = max(pipeline.settings.citations, 3)
                ranking = timed("retrieve() total", retr.retrieve, gen, question, k)
                # What retrieve() spends beyond the pieces timed just before (fusion, sorting), per call.
                residual.append(steps["retrieve() total"][-1] - sum(steps[p][-1] for p in pieces))
                timed("answerer.answer", pipeline.answerer.answer, gen, q, question.lang, ranking,
                      pipeline.settings.citations)
                steps.setdefault("sum of the pieces", []).append((time.perf_counter() - total) * 1000)
    except Exception as exc:  # the internals may change; the cProfile listing below still applies
        print(f"\n(step breakdown unavailable with the current internals: {exc.__class__.__name__}: {exc})")
        return
    med = {k: statistics.median(v) for k, v in steps.items()}
    # retrieve() repeats encode+search+BM25; what is left is fusion and sorting (median of the
    # per-call differences, which can come out slightly negative from noise: clipped at 0).
    med["  of which fusion/sort"] = max(0.0, statistics.median(residual))
    ask_total = med["check + analyse (lang, terms)"] + med["retrieve() total"] + med["answerer.answer"]
    print(f"\nwhere ask's time goes (median per call over {len(steps['retrieve() total'])} calls; "
          f"ask ~= analyse + retrieve + answer = {ask_total:.2f} ms)")
    order = ["check + analyse (lang, terms)", "retrieve() total", *pieces, "  of which fusion/sort",
             "answerer.answer"]
    for name in order:
        indent = "  " if name in order[2:6] else ""
        share = 100 * med[name] / ask_total if ask_total else 0
        print(f"  {indent}{name:34}{med[name]:8.2f} ms  {share:5.1f}%")


def _profile(pipeline, questions, calls: int, top: int) -> None:
    prof = cProfile.Profile()
    prof.enable()
    for i in range(calls):
        pipeline.ask(questions[i % len(questions)])
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    print(f"\ncProfile of {calls} ask calls, top {top} by own time (tottime):")
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    for line in lines[start:]:
        if line.strip():
            print("  " + line.replace(str(C.ROOT) + "/", "")[:150])
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(r"bot/core", top)
    print("\ncProfile, bot/core functions by cumulative time:")
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    for line in lines[start:]:
        if line.strip():
            print("  " + line.replace(str(C.ROOT) + "/", "")[:150])


if __name__ == "__main__":
    sys.exit(main())
