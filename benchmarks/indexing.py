"""Indexing throughput, and the cost of an update after one article changed.

    .venv/bin/python benchmarks/indexing.py                   # generated corpus of 100 articles
    .venv/bin/python benchmarks/indexing.py --articles 1000 --repeat 1   # the full-size run

A corpus is generated in a temporary folder by recombining the sentences of corpus/ and of the
dev evaluation corpus (../shared/eval/dev/corpus, when present), with distinct titles and figures.

1. Full build, `Pipeline.update_index(rebuild=True)`, in passages/second, against bare
   `Embedder.encode_passages` (vectors only; the build also takes each passage's token vectors from
   the same pass, for the re-ranking) over exactly the texts the build embedded (captured from the build:
   passages, plus their translations when the indexer embeds those), in the same run, alternating
   which goes first, --repeat times (median of the per-pair ratios). Target: build/bare >= 0.9.
2. Updates: one article changed, then nothing changed, with `update_index()`: time and passages
   embedded, against the full build and against bare-encoding that one article's passages.
Each build is broken down into its phases by timing the functions the indexer calls.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from contextlib import contextmanager

import _common as C

TARGET_RATIO = 0.9


class Phases:
    """Accumulated time of the functions the build calls, wrapped for the duration of a build."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.embedded: list[str] = []

    def wrap(self, name: str, fn):
        def timed(*a, **k):
            if name.startswith("embed passages") and a:
                self.embedded.extend(a[0])  # the texts the build embeds, for the bare baseline
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - t) * 1000
                self.calls[name] = self.calls.get(name, 0) + 1

        return timed


@contextmanager
def instrumented(pipeline):
    """Wrap (for this process only) the pieces of the build, by name; missing names are skipped."""
    from bot.core.index import build as indexer
    from bot.core.index import store

    ph = Phases()
    patches = []

    def patch(obj, attr, label, static=False):
        if not hasattr(obj, attr):
            return
        orig = getattr(obj, attr)
        wrapped = ph.wrap(label, orig)
        patches.append((obj, attr, obj.__dict__.get(attr, orig) if isinstance(obj, type) else orig))
        setattr(obj, attr, staticmethod(wrapped) if static else wrapped)

    patch(indexer, "load_corpus", "read + parse articles (load_corpus)")
    patch(indexer, "split_article", "split into passages (pysbd)")
    patch(indexer, "passage_tokens", "BM25 tokens (stem, fold)")
    patch(indexer.LexicalIndex, "build", "BM25 index (bm25s)", static=True)
    patch(indexer, "_translate", "translate passages (Apertium)")
    # The build embeds through encode_passages_with_tokens (the vectors and, from the same pass, the
    # token vectors the re-ranking reads); the floor stays the bare encode_passages.
    patch(pipeline.embedder, "encode_passages_with_tokens", "embed passages (model, token vectors)")
    patch(indexer.IndexStore, "load_embeddings", "load previous vectors (+sha256)")
    patch(indexer.IndexStore, "load_reusable", "load previous vectors (+sha256)")
    patch(store, "make_faiss_index", "  write: FAISS index build")
    patch(store, "_write_sqlite", "  write: passages SQLite")
    patch(store.TokenIndex, "save", "  write: token vectors")
    patch(store, "sha256_file", "  write/load: sha256 of files")
    patch(store, "_fsync_tree", "  write: fsync")
    patch(indexer.IndexStore, "write", "write generation (all files)")
    patch(pipeline, "reload", "reload the new generation")
    try:
        yield ph
    finally:
        for obj, attr, orig in reversed(patches):
            if obj is pipeline or obj is pipeline.embedder:
                delattr(obj, attr)
            else:
                setattr(obj, attr, orig)


def timed_update(pipeline, rebuild: bool):
    with instrumented(pipeline) as ph:
        t = time.perf_counter()
        report = pipeline.update_index(rebuild=rebuild)
        total = (time.perf_counter() - t) * 1000
    return report, total, ph


def print_phases(title: str, total: float, ph: Phases) -> None:
    print(f"  {title}: {total / 1000:.2f} s")
    order = [
        "read + parse articles (load_corpus)",
        "split into passages (pysbd)",
        "translate passages (Apertium)",  # runs in a thread while the passages are embedded
        "load previous vectors (+sha256)",
        "embed passages (model, token vectors)",
        "BM25 tokens (stem, fold)",
        "BM25 index (bm25s)",
        "write generation (all files)",
        "  write: FAISS index build",
        "  write: passages SQLite",
        "  write: token vectors",
        "  write/load: sha256 of files",
        "  write: fsync",
        "reload the new generation",
    ]
    accounted = 0.0
    for name in order:
        if name in ph.ms:
            v = ph.ms[name]
            # Translation overlaps embedding (core/index/build.py): counting both would count it twice.
            if not name.startswith("  ") and name != "translate passages (Apertium)":
                accounted += v
            note = "  (in parallel with embedding)" if name == "translate passages (Apertium)" else ""
            print(f"    {name:40}{v / 1000:8.2f} s {100 * v / total:5.1f}%{note}")
    print(f"    {'other (checksums, keys, locks...)':40}{(total - accounted) / 1000:8.2f} s "
          f"{100 * (total - accounted) / total:5.1f}%")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=100, help="generated articles (default 100)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3,
                    help="full build + bare pairs, alternating order (median; default 3)")
    ap.add_argument("--translate", choices=("default", "auto", "off"), default="default",
                    help="machine translation setting for the build, when the project has it "
                         "(default: the project's default)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    C.limit_threads()
    C.quiet_logs()
    from bot.core.index.build import embed_text
    from bot.core.ingest.corpus import load_corpus
    from bot.core.ingest.passages import split_article

    work = C.make_tempdir("indexing")
    try:
        corpus = work / "corpus"
        C.generate_corpus(corpus, args.articles, seed=args.seed)
        from bot.config import RetrievalSettings

        overrides = {}
        if args.translate != "default" and "translate" in RetrievalSettings.model_fields:
            overrides["translate"] = args.translate
        settings = C.retrieval_settings(corpus, work / "index", **overrides)
        from bot.core.pipeline import Pipeline

        pipeline = Pipeline(settings)
        pipeline.embedder.load()
        articles, _ = load_corpus(corpus)
        passages = [p for a in articles for p in split_article(a)]
        texts = [embed_text(p) for p in passages]
        n = len(texts)
        C.header("indexing: full build and one-article update")
        print(f"generated corpus: {len(articles)} articles, {n} passages, "
              f"{sum(len(t) for t in texts) / n:.0f} characters per passage on average; "
              f"translate={getattr(settings, 'translate', 'n/a')}")
        pipeline.embedder.encode_passages(texts[:64])  # warm-up, not counted

        # 1. full builds and bare encodings of exactly the texts a build embeds (passages, and whatever
        # else the indexer embeds, e.g. translations), alternating which goes first; medians.
        builds, bares, cpu_b, cpu_e, embedded = [], [], [], [], None
        for r in range(args.repeat):
            order = ("build", "bare") if r % 2 == 0 or embedded is None else ("bare", "build")
            for which in order:
                c = time.process_time()
                if which == "build":
                    report, build_ms, ph_build = timed_update(pipeline, rebuild=True)
                    embedded = list(ph_build.embedded)
                    builds.append(build_ms / 1000)
                    cpu_b.append(time.process_time() - c)
                else:
                    t = time.perf_counter()
                    pipeline.embedder.encode_passages(embedded)
                    bares.append(time.perf_counter() - t)
                    cpu_e.append(time.process_time() - c)
        build_s, bare = C.percentile(builds, 50), C.percentile(bares, 50)
        n_texts = len(embedded)
        ratio = C.percentile([e / b for e, b in zip(bares, builds, strict=True)], 50)
        cpu_ratio = C.percentile([e / b for e, b in zip(cpu_e, cpu_b, strict=True)], 50)
        print(f"\n1. full build (update_index(rebuild=True)), median of {args.repeat}: "
              f"{report.passages_total} passages, {n_texts} texts embedded "
              f"({report.passages_embedded} reported as embedded)")
        print(f"  {'':36}{'passages/s':>12}{'texts/s':>10}{'wall':>9}{'CPU':>9}")
        print(f"  {'bare encode_passages, same texts':36}{report.passages_total / bare:12.1f}"
              f"{n_texts / bare:10.1f}{bare:8.1f}s{C.percentile(cpu_e, 50):8.1f}s")
        print(f"  {'full build':36}{report.passages_total / build_s:12.1f}{n_texts / build_s:10.1f}"
              f"{build_s:8.1f}s{C.percentile(cpu_b, 50):8.1f}s")
        pairs = ", ".join(f"{b:.1f}/{e:.1f}" for b, e in zip(builds, bares, strict=True))
        print(f"  each run (build/bare wall s): {pairs}")
        print(f"  ratio build / bare throughput        {ratio:8.2f}   (CPU time: {cpu_ratio:.2f})   "
              f"target >= {TARGET_RATIO}: {C.verdict(ratio >= TARGET_RATIO)}")
        print_phases("full build", build_ms, ph_build)

        # 2. one article changed: a sentence added to one paragraph and a figure changed.
        victim = sorted(corpus.glob("*.md"))[len(articles) // 2]
        art = next(a for a in articles if a.id == victim.name)
        art_passages = len(split_article(art))
        text = victim.read_text(encoding="utf-8")
        victim.write_text(text.rstrip() + "\n\nUne phrase ajoutée pour le test de mise à jour, avec le "
                          "chiffre 424242.\n", encoding="utf-8")
        new_art = next(a for a in load_corpus(corpus)[0] if a.id == victim.name)
        new_passages = split_article(new_art)
        rep_one, one_ms, ph_one = timed_update(pipeline, rebuild=False)
        t = time.perf_counter()
        pipeline.embedder.encode_passages(list(ph_one.embedded))
        bare_one = (time.perf_counter() - t) * 1000
        rep_none, none_ms, ph_none = timed_update(pipeline, rebuild=False)
        print(f"\n2. updates (update_index()), corpus of {len(articles)} articles / "
              f"{report.passages_total} passages")
        print(f"  {'':34}{'time':>10}{'embedded':>10}{'vs full build':>15}")
        print(f"  {'full build (above)':34}{build_ms / 1000:9.2f}s{report.passages_embedded:10d}{1.0:14.3f}x")
        print(f"  {'one article changed':34}{one_ms / 1000:9.2f}s{rep_one.passages_embedded:10d}"
              f"{one_ms / build_ms:14.3f}x   (changed: {', '.join(rep_one.changed) or '-'})")
        print(f"  {'nothing changed':34}{none_ms / 1000:9.2f}s{rep_none.passages_embedded:10d}"
              f"{none_ms / build_ms:14.3f}x")
        print(f"  the changed article has {art_passages} passages before, {len(new_passages)} after; "
              f"the update "
              f"embedded {len(ph_one.embedded)} texts (of {n_texts} in a full build); bare-encoding those "
              f"takes {bare_one:.0f} ms")
        print(f"  texts embedded by the update / full build: {len(ph_one.embedded)}/{n_texts} = "
              f"{len(ph_one.embedded) / n_texts:.4f} "
              f"(one article of {len(articles)} = {1 / len(articles):.4f})")
        print(f"  update time / bare time of that article's passages: {one_ms / bare_one:.1f}x "
              f"(the rest is the fixed cost of a generation, paid by any update)")
        print_phases("one article changed", one_ms, ph_one)
        print_phases("nothing changed", none_ms, ph_none)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
