"""Answer quality on an evaluation set: the bot against BM25-only and dense-only over the same passages.

    .venv/bin/python benchmarks/quality.py [SET_DIR]      (default: ../shared/eval/dev)

Builds the index of SET_DIR/corpus in a temporary folder, answers SET_DIR/questions.jsonl three
ways and prints one table, with the bot's ratio to each baseline. The baselines cite their top 3
passages as the bot does (whole paragraphs) and answer with the first passage's text, never
abstaining (as the tutorials do).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import RetrievalSettings  # noqa: E402
from bot.core.pipeline import Pipeline  # noqa: E402
from bot.evaluation import answer_all, read_questions, score  # noqa: E402
from bot.models import Citation  # noqa: E402

METRICS = ("hit1", "hit3", "answer_hit", "answer_chars_p50", "oos_abstain", "false_abstain", "p50_ms")


def baseline_answers(questions: list[dict], gen, rank) -> dict[str, dict]:
    """Answer each question with the top passages of `rank(question) -> list[(row, score)]`, cited
    as the bot cites them (the whole paragraph, each paragraph once), so only the ranking differs."""
    out = {}
    for q in questions:
        started = time.perf_counter()
        ranked, seen = [], set()
        for row, s in rank(q["question"]):
            key = (gen.passages[row].article_id, gen.passages[row].paragraph)
            if key not in seen:
                seen.add(key)
                ranked.append((row, s))
            if len(ranked) == 3:
                break
        citations = [
            Citation(i + 1, gen.passages[row], s, tuple(gen.paragraph(row)))
            for i, (row, s) in enumerate(ranked)
        ]
        out[q["id"]] = {
            "id": q["id"],
            "answer": citations[0].passage.text if citations else "",
            "abstained": False,
            "citations": [c.to_json() for c in citations],
            "latency_ms": (time.perf_counter() - started) * 1000,
        }
    return out


def main() -> int:
    """Run the three systems and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("set_dir", nargs="?", type=Path, default=ROOT.parent / "shared" / "eval" / "dev")
    args = parser.parse_args()
    questions = read_questions(args.set_dir / "questions.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        settings = RetrievalSettings(corpus_dir=args.set_dir / "corpus", index_dir=Path(tmp) / "index")
        pipeline = Pipeline(settings)
        pipeline.warm_up()
        gen = pipeline.generation
        passages = gen.passages

        # Dense only: the original passages' vectors (no translations), cosine, top 3.
        vectors = np.load(gen.path / "embeddings.npy")
        first_rows = [int(np.argmax(gen.row_map == i)) for i in range(len(passages))]
        own = vectors[first_rows]

        def dense(q: str):
            v = pipeline.embedder.encode_queries([q])[0]
            s = own @ v
            return [(int(i), float(s[i])) for i in np.argsort(-s)]

        # BM25 only: bm25s with the French stemmer and stop words over the passage texts.
        import bm25s
        import Stemmer

        stemmer = Stemmer.Stemmer("french")
        bm25 = bm25s.BM25()
        bm25.index(
            bm25s.tokenize([p.text for p in passages], stopwords="fr", stemmer=stemmer, show_progress=False),
            show_progress=False,
        )

        def lexical(q: str):
            docs, scores = bm25.retrieve(
                bm25s.tokenize([q], stopwords="fr", stemmer=stemmer, show_progress=False),
                k=min(30, len(passages)),
                show_progress=False,
            )
            return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True)]

        rows = {
            "bot (hybrid)": score(questions, answer_all(pipeline, questions))["total"],
            "BM25 only": score(questions, baseline_answers(questions, gen, lexical))["total"],
            "dense only": score(questions, baseline_answers(questions, gen, dense))["total"],
        }
    print(f"{len(questions)} questions, {len(passages)} passages ({args.set_dir})")
    print(f"{'system':<14}" + "".join(f"{m:>18}" for m in METRICS))
    for name, t in rows.items():
        print(f"{name:<14}" + "".join(f"{'n/a' if t[m] is None else round(t[m], 2):>18}" for m in METRICS))
    bot = rows["bot (hybrid)"]
    for name in ("BM25 only", "dense only"):
        ratios = []
        for m in ("hit1", "hit3", "answer_hit"):
            base = rows[name][m]
            ratios.append(f"{m} x{bot[m] / base:.2f}" if base else f"{m} n/a (baseline 0)")
        print(f"bot / {name}: " + ", ".join(ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
