"""Answer quality on the evaluation sets, scored as ../shared/eval/score.py scores them.

`benchmarks/heldout` lives in the repository and always runs; the two development sets
(../shared/eval/dev and dev2) are ours, not the product's, and their tests skip without them.
Floors sit a little under what was measured (README, "Answer quality"), to catch regressions
rather than noise. The answer-quality issue's dev2 thresholds are not reached yet: that test is an
expected failure, strict, so it is noticed the day they are.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.evaluation import answer_all, read_questions, score
from tests.conftest import EVAL_DIR

HELDOUT = Path(__file__).resolve().parents[1] / "benchmarks" / "heldout"
DEV2 = EVAL_DIR / "dev2"


def _scores(
    pipeline, settings, tmp_path: Path, folder: Path, corpus: Path | None = None
) -> tuple[list[dict], dict, dict]:
    """The set's questions answered over a copy of its corpus (or over `corpus`, already a copy)."""
    if not (folder / "questions.jsonl").is_file():
        pytest.skip(f"the evaluation set is absent (looked for {folder})")
    if corpus is None:
        corpus = tmp_path / f"{folder.name}-corpus"
        shutil.copytree(folder / "corpus", corpus)
    p = pipeline(settings(corpus_dir=corpus, index_dir=tmp_path / f"{folder.name}-index"))
    p.warm_up()
    questions = read_questions(folder / "questions.jsonl")
    answers = answer_all(p, questions)
    return questions, answers, score(questions, answers)


@pytest.fixture
def dev2(pipeline, settings, tmp_path):
    return _scores(pipeline, settings, tmp_path, DEV2)


def _hit1(scores: dict, kind: str) -> float:
    row = scores["by_kind"][kind]
    return row["hit1"] / row["n"]


def test_dev2_stays_above_its_measured_floors(dev2):
    # Measured 2026-12-03 (centred vectors, the best ten paragraphs re-read token by token): hit@1
    # 0.81, hit@3 0.91, answer 0.77 (median 244 chars), paraphrase 0.57, follow-up 0.69,
    # cross-language 0.88, out-of-scope declined 6/12, false abstentions 0.01. Without the
    # re-reading: 0.77, 0.92, 0.73, 0.50, 0.69, 0.75.
    _, _, s = dev2
    t = s["total"]
    assert t["missing"] == 0
    assert t["hit1"] >= 0.78, t
    assert t["hit3"] >= 0.87, t
    assert t["answer_hit"] >= 0.73, t
    assert t["answer_chars_p50"] <= 300, t
    assert _hit1(s, "paraphrase") >= 0.50 and _hit1(s, "followup") >= 0.62, s["by_kind"]
    assert _hit1(s, "crosslingual") >= 0.81, s["by_kind"]
    assert s["by_kind"]["outofscope"]["abst"] >= 5, s["by_kind"]
    assert t["false_abstain"] <= 0.05, t


@pytest.mark.xfail(strict=True, reason="the issue's dev2 thresholds are not reached (README, Answer quality)")
def test_dev2_meets_the_answer_quality_issue_thresholds(dev2):
    _, _, s = dev2
    t = s["total"]
    assert t["hit1"] >= 0.82 and t["hit3"] >= 0.93 and t["answer_hit"] >= 0.78, t
    assert _hit1(s, "paraphrase") >= 0.65 and _hit1(s, "followup") >= 0.75, s["by_kind"]
    assert _hit1(s, "crosslingual") >= 0.80, s["by_kind"]
    assert s["by_kind"]["outofscope"]["abst"] >= 10 and t["false_abstain"] <= 0.05, s["by_kind"]


def test_general_out_of_scope_questions_are_declined_in_their_language(dev2):
    questions, answers, _ = dev2
    # v2-oos01-06 ask what no news article here touches (a recipe, the weather, rugby...).
    general = [q for q in questions if q["kind"] == "outofscope" and q["id"] <= "v2-oos06"]
    assert len(general) == 6
    for q in general:
        a = answers[q["id"]]
        assert a["abstained"] and a["citations"] == [], q["question"]
        expected = "Les articles ne répondent pas" if q["lang"] == "fr" else "The articles don't answer"
        assert a["answer"].startswith(expected)


def test_dev_set_stays_above_its_measured_floors(pipeline, settings, tmp_path):
    # Measured 2026-12-03: hit@1 0.83, hit@3 0.96, answer 0.83, out-of-scope 3/3, no false abstention
    # (0.70, 0.91, 0.70 without the re-reading).
    t = _scores(pipeline, settings, tmp_path, EVAL_DIR / "dev")[2]["total"]
    assert t["missing"] == 0
    assert t["hit1"] >= 0.78 and t["hit3"] >= 0.91 and t["answer_hit"] >= 0.78, t
    assert t["oos_abstain"] == 1.0 and t["false_abstain"] <= 0.05, t


def test_held_out_set_stays_above_its_measured_floors(pipeline, settings, tmp_path):
    # Measured 2026-12-03: hit@1 0.74, hit@3 0.92, answer 0.72, out-of-scope declined 3/6, false
    # abstentions 0.05 (README).
    t = _scores(pipeline, settings, tmp_path, HELDOUT)[2]["total"]
    assert t["missing"] == 0
    assert t["hit1"] >= 0.70, t
    assert t["hit3"] >= 0.85, t
    assert t["answer_hit"] >= 0.66, t
    assert t["answer_chars_p50"] <= 300, t
    assert t["oos_abstain"] >= 0.33, t
    assert t["false_abstain"] <= 0.08, t


def test_held_out_questions_over_a_larger_corpus(pipeline, settings, tmp_path):
    # The held-out questions over their 7 articles plus dev's and dev2's 16 (23 in all): more articles
    # of the question's language stand in front of a cross-language answer. Measured 2026-12-03:
    # hit@1 0.72, cross-language 7 of 10; without the per-language centring of the vectors 0.67 and
    # 5 of 10; with the re-reading added, 0.74 and 6 of 10.
    if not (DEV2 / "corpus").is_dir() or not (EVAL_DIR / "dev" / "corpus").is_dir():
        pytest.skip(f"the development sets are absent (looked in {EVAL_DIR})")
    corpus = tmp_path / "grown-corpus"
    shutil.copytree(HELDOUT / "corpus", corpus)
    for folder in (EVAL_DIR / "dev", DEV2):
        for f in sorted((folder / "corpus").iterdir()):
            target = corpus / f.name
            if target.exists():
                target = corpus / f"{folder.name}_{f.name}"
            (shutil.copytree if f.is_dir() else shutil.copy)(f, target)
    s = _scores(pipeline, settings, tmp_path, HELDOUT, corpus)[2]
    assert s["total"]["missing"] == 0
    assert s["total"]["hit1"] >= 0.70, s["total"]
    assert _hit1(s, "crosslingual") >= 0.60, s["by_kind"]
    assert s["total"]["false_abstain"] <= 0.08, s["total"]
