"""Scoring answers against a question set, with the definitions of shared/eval/score.py."""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from pathlib import Path

from bot.models import Answer, Conversation


def norm(text: str) -> str:
    """Lowercase, no accents, plain apostrophes and spaces (as score.py compares)."""
    text = (text or "").replace("\u2019", "'").replace("\u00a0", " ").replace("\u202f", " ").lower()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text)


def holds(text: str, answers: list[str]) -> bool:
    """Whether the text contains one of the answers."""
    t = norm(text)
    return any(norm(a) in t for a in answers)


def cited_hit(question: dict, answer: dict, k: int) -> bool:
    """One of the first k citations comes from a listed source and holds an answer."""
    for c in (answer.get("citations") or [])[:k]:
        if c.get("source") in question["sources"] and holds(c.get("text", ""), question["answers"]):
            return True
    return False


def score(questions: list[dict], answers: dict[str, dict]) -> dict:
    """Scores per kind and in total: hit@1, hit@3, answer_hit, abstentions, answer length, latency."""
    rows: dict[str, dict] = {}
    lat: list[float] = []
    lengths: list[int] = []
    missing: list[str] = []
    for q in questions:
        a = answers.get(q["id"])
        if a is None:
            missing.append(q["id"])
            a = {"citations": [], "abstained": False, "answer": ""}
        if isinstance(a.get("latency_ms"), (int, float)):
            lat.append(a["latency_ms"])
        r = rows.setdefault(q["kind"], {"n": 0, "hit1": 0, "hit3": 0, "ans": 0, "abst": 0})
        r["n"] += 1
        abstained = bool(a.get("abstained"))
        r["abst"] += abstained
        if q["kind"] == "outofscope" or abstained:
            continue
        lengths.append(len(a.get("answer") or ""))
        r["hit1"] += cited_hit(q, a, 1)
        r["hit3"] += cited_hit(q, a, 3)
        r["ans"] += holds(a.get("answer", ""), q["answers"])
    inscope = [r for k, r in rows.items() if k != "outofscope"]
    n_in = sum(r["n"] for r in inscope) or 1
    oos = rows.get("outofscope", {"n": 0, "abst": 0})
    total = {
        "hit1": sum(r["hit1"] for r in inscope) / n_in,
        "hit3": sum(r["hit3"] for r in inscope) / n_in,
        "answer_hit": sum(r["ans"] for r in inscope) / n_in,
        "false_abstain": sum(r["abst"] for r in inscope) / n_in,
        "oos_abstain": (oos["abst"] / oos["n"]) if oos["n"] else None,
        "answer_chars_p50": statistics.median(lengths) if lengths else None,
        "p50_ms": statistics.median(lat) if lat else None,
        "p95_ms": sorted(lat)[max(0, int(round(0.95 * len(lat))) - 1)] if lat else None,
        "missing": len(missing),
    }
    return {"total": total, "by_kind": rows, "missing_ids": missing}


def read_questions(path: Path) -> list[dict]:
    """The questions of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def answer_all(pipeline, questions: list[dict]) -> dict[str, dict]:
    """Answer every question in file order, conversations kept per `conversation` key."""
    conversations: dict[str, Conversation] = {}
    out: dict[str, dict] = {}
    for q in questions:
        conv = conversations.setdefault(q["conversation"], Conversation()) if q.get("conversation") else None
        answer: Answer = pipeline.ask(q["question"], conv)
        if conv is not None:
            conv.add(answer.question, answer)
        out[q["id"]] = answer.to_json(q["id"])
    return out


def evaluate(pipeline, path: Path) -> dict:
    """Answer a question file with the pipeline and score it."""
    questions = read_questions(path)
    return score(questions, answer_all(pipeline, questions))


def format_scores(scores: dict) -> str:
    """The score table as score.py prints it."""
    lines = [f"{'kind':<13}{'n':>4}{'hit@1':>8}{'hit@3':>8}{'answer':>8}{'abstain':>9}"]
    for kind, r in sorted(scores["by_kind"].items()):
        n = r["n"] or 1
        if kind == "outofscope":
            lines.append(f"{kind:<13}{r['n']:>4}{'':>8}{'':>8}{'':>8}{r['abst'] / n:>9.2f}")
        else:
            lines.append(
                f"{kind:<13}{r['n']:>4}{r['hit1'] / n:>8.2f}{r['hit3'] / n:>8.2f}{r['ans'] / n:>8.2f}{r['abst'] / n:>9.2f}"
            )
    if scores["missing_ids"]:
        lines.append("no answer for: " + ", ".join(scores["missing_ids"]))

    def fmt(k: str, v) -> str:
        return str(v) if k == "missing" else ("n/a" if v is None else f"{v:.2f}")

    lines.append(" ".join(f"{k}={fmt(k, v)}" for k, v in scores["total"].items()))
    return "\n".join(lines)
