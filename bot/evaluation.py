"""Scoring answers against a question set, with the definitions of shared/eval/score.py."""

from __future__ import annotations

import json
import re
import statistics
import sys
import unicodedata
from pathlib import Path

from bot.errors import InputFileError, QuestionError
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


def read_jsonl(path: Path) -> list[tuple[int, dict | None, str | None]]:
    """(line number, object or None, error or None) for each non-empty line; "-" reads stdin."""
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"Cannot read {path}: {exc.__class__.__name__}: {exc}") from exc
    out: list[tuple[int, dict | None, str | None]] = []
    # Split the bytes on "\n" only: str.splitlines also splits on \u2028, \x85 and others, which JSON
    # allows inside strings, so a valid line would be cut in two and later line numbers would drift.
    # Each line is decoded on its own: one invalid byte fails its line, not the whole file.
    for n, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.removesuffix(b"\r")
        if n == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM, as some editors write
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            out.append((n, None, f"line {n}: not UTF-8 text (invalid byte at column {exc.start + 1})"))
            continue
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            out.append((n, None, f"line {n}: not JSON ({exc})"))
            continue
        except RecursionError:  # deeply nested arrays/objects: this line fails, the others are answered
            out.append((n, None, f"line {n}: JSON nested too deeply"))
            continue
        if isinstance(item, dict):
            out.append((n, item, None))
        else:
            out.append((n, None, f"line {n}: not a JSON object"))
    return out


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def read_questions(path: Path) -> list[dict]:
    """The questions of an evaluation file; InputFileError names the first bad line."""
    questions = []
    for n, item, error in read_jsonl(path):
        if item is None:
            raise InputFileError(f"{path}: {error}")
        missing = [k for k in ("id", "question", "kind", "sources", "answers") if k not in item]
        if missing:
            raise InputFileError(f"{path}: line {n} lacks {', '.join(missing)}")
        # Checked here, not met as a TypeError deep in score(): a list as "kind" cannot be a key.
        wrong = [k for k in ("id", "question", "kind") if not isinstance(item[k], str)] + [
            k for k in ("sources", "answers") if not _strings(item[k])
        ]
        if wrong:
            raise InputFileError(f"{path}: line {n} has fields of the wrong type: {', '.join(wrong)}")
        questions.append(item)
    return questions


def error_line(qid: object, message: str) -> dict:
    """The batch output line of a question that could not be asked."""
    return {"id": qid, "answer": "", "abstained": True, "citations": [], "latency_ms": 0.0, "error": message}


def answer_item(pipeline, item: dict, conversations: dict[str, Conversation], qid: object) -> dict:
    """One batch line's answer (or error line); turns sharing a `conversation` are kept in order."""
    question = item.get("question")
    if not isinstance(question, str):
        # str(123) or str(["..."]) would be answered as if it were the question.
        return error_line(qid, '"question" must be a string')
    key = item.get("conversation")
    if key is not None and (isinstance(key, bool) or not isinstance(key, (str, int))):
        return error_line(qid, '"conversation" must be a string or a number')
    conversation = conversations.setdefault(str(key), Conversation()) if key not in (None, "") else None
    try:
        answer: Answer = pipeline.ask(question, conversation)
    except QuestionError as exc:
        return error_line(qid, exc.user_message)
    if conversation is not None:
        conversation.add(answer.question, answer)
    return answer.to_json(qid)


def answer_all(pipeline, questions: list[dict]) -> dict[str, dict]:
    """Answer every question in file order, conversations kept per `conversation` key."""
    conversations: dict[str, Conversation] = {}
    return {q["id"]: answer_item(pipeline, q, conversations, q["id"]) for q in questions}


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
