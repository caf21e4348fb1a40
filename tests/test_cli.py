"""The command line: `index`, `ask --batch` (the evaluation's output format), `ask --json`, `ask ""`, `eval`.

Three real `python -m bot` subprocesses (each pays the imports and the model load); the rest runs
`bot.cli.main` in-process with the session's model.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.index.store import IndexStore

REPO_ROOT = Path(__file__).resolve().parents[1]
ANSWER_KEYS = {"id", "answer", "abstained", "citations", "latency_ms"}
CITATION_KEYS = {"source", "title", "passage_id", "text", "quote", "score"}
BAD_JSON_LINE = "this line is not JSON"
EMPTY_QUESTION = {"id": "empty-question", "question": "   "}


def run_bot(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,  # a folder without .env, so that a developer's settings cannot leak in
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, copy_corpus, dev_questions):
    """`python -m bot index` then `python -m bot ask --batch` on the test questions (plus two bad lines)."""
    root = tmp_path_factory.mktemp("cli")
    corpus = copy_corpus(root / "corpus")
    index = root / "index"
    text = dev_questions.read_text(encoding="utf-8")
    questions = [json.loads(line) for line in text.splitlines() if line.strip()]
    lines: list[str] = []
    expected_ids: list[str] = []
    for i, q in enumerate(questions):
        item = {"id": q["id"], "question": q["question"]}
        if q.get("conversation"):
            item["conversation"] = q["conversation"]
        lines.append(json.dumps(item, ensure_ascii=False))
        expected_ids.append(q["id"])
        if i == 2:
            lines.append(BAD_JSON_LINE)
            # Numbered from 1 over the file's lines: the unreadable line is answered as "line-N".
            expected_ids.append(f"line-{len(lines)}")
            lines.append("")  # blank lines are ignored
        if i == 9:
            lines.append(json.dumps(EMPTY_QUESTION))
            expected_ids.append(EMPTY_QUESTION["id"])
    batch = root / "questions.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")

    indexed = run_bot(["index", "--corpus", str(corpus), "--index", str(index)], cwd=root)
    asked = run_bot(["ask", "--corpus", str(corpus), "--index", str(index), "--batch", str(batch)], cwd=root)
    answers = root / "answers.jsonl"
    answers.write_text(asked.stdout, encoding="utf-8")
    return {
        "root": root,
        "corpus": corpus,
        "index": index,
        "questions": {q["id"]: q for q in questions},
        "conversations": {q["conversation"] for q in questions if q.get("conversation")},
        "batch_lines": lines,
        "expected_ids": expected_ids,
        "indexed": indexed,
        "asked": asked,
        "answers": answers,
    }


def output_lines(cli_run) -> list[dict]:
    return [json.loads(line) for line in cli_run["asked"].stdout.splitlines()]


def test_index_command_builds_the_index(cli_run):
    r = cli_run["indexed"]
    assert r.returncode == 0, r.stderr
    assert "Index updated: 5 added" in r.stdout
    store = IndexStore(cli_run["index"])
    assert store.current_name() and store.current_name() in r.stdout


def test_batch_answers_every_question_in_order(cli_run):
    r = cli_run["asked"]
    assert r.stdout.strip(), r.stderr
    # One failed line (the empty question) makes the exit status 1; every other line is answered.
    assert r.returncode == 1, r.stderr
    assert len(cli_run["conversations"]) >= 2, "the batch must hold at least two conversations"
    out = output_lines(cli_run)
    assert [o["id"] for o in out] == cli_run["expected_ids"]
    n_bad = cli_run["batch_lines"].index(BAD_JSON_LINE) + 1
    bad = next(o for o in out if o["id"] == f"line-{n_bad}")
    assert bad["abstained"] and bad["citations"] == [] and f"line {n_bad}: not JSON" in bad["error"]


def test_batch_lines_have_exactly_the_evaluation_format(cli_run):
    for o in output_lines(cli_run):
        keys = set(o)
        if o["id"].startswith("line-"):
            assert keys == ANSWER_KEYS | {"error"}  # the line that is not JSON
            continue
        if o["id"] == EMPTY_QUESTION["id"]:
            assert keys == ANSWER_KEYS | {"error"}
            assert "empty" in o["error"]
            assert o["abstained"] is True and o["citations"] == [] and o["answer"] == ""
            continue
        assert keys == ANSWER_KEYS, o
        assert isinstance(o["answer"], str) and o["answer"]
        assert isinstance(o["abstained"], bool)
        assert isinstance(o["latency_ms"], (int, float)) and o["latency_ms"] > 0
        assert isinstance(o["citations"], list)
        if o["abstained"]:
            assert o["citations"] == []
        else:
            assert 1 <= len(o["citations"]) <= 3
        for c in o["citations"]:
            assert set(c) == CITATION_KEYS, c
            assert all(isinstance(c[k], str) for k in ("source", "title", "passage_id", "text"))
            assert isinstance(c["score"], float)


def test_batch_citations_are_real_passages_of_the_index(cli_run):
    gen = IndexStore(cli_run["index"]).current_path()
    con = sqlite3.connect(f"file:{gen / 'passages.sqlite'}?mode=ro", uri=True)
    try:
        rows = {
            r[0]: r[1:] for r in con.execute("SELECT id, article_id, title, text, paragraph FROM passages")
        }
        paragraphs: dict[tuple[str, int], list[str]] = {}
        for article, paragraph, text in con.execute(
            "SELECT article_id, paragraph, text FROM passages ORDER BY article_id, position"
        ):
            paragraphs.setdefault((article, paragraph), []).append(text)
    finally:
        con.close()
    n = 0
    for o in output_lines(cli_run):
        for c in o["citations"]:
            n += 1
            assert c["passage_id"] in rows, c
            source, title, quote, paragraph = rows[c["passage_id"]]
            assert (source, title, quote) == (c["source"], c["title"], c["quote"])
            # The text shown is the whole paragraph the matched passage belongs to.
            assert c["text"] == " ".join(paragraphs[(source, paragraph)]) and quote in c["text"]
            assert (cli_run["corpus"] / c["source"]).is_file()
    assert n > 20


def test_batch_follow_ups_are_answered_in_their_conversation(cli_run):
    by_id = {o["id"]: o for o in output_lines(cli_run)}
    second = by_id["f-cv2b"]
    assert not second["abstained"]
    assert second["citations"][0]["source"] == "amd-helios-rack.md"
    assert "2.9 exaflops" in second["answer"]


def test_score_py_finds_every_answer(cli_run, shared_eval_dir, dev_questions):
    scorer = shared_eval_dir / "score.py"
    if not scorer.is_file():
        pytest.skip(f"{scorer} is absent")
    r = subprocess.run(
        [sys.executable, str(scorer), str(dev_questions), str(cli_run["answers"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "missing=0" in r.stdout, r.stdout
    assert "no answer for" not in r.stdout


def test_ask_json_prints_one_json_object(cli_run):
    r = run_bot(
        [
            "ask",
            "--corpus",
            str(cli_run["corpus"]),
            "--index",
            str(cli_run["index"]),
            "--json",
            "Sur combien d'actions porte l'option d'achat d'OpenAI ?",
        ],
        cwd=cli_run["root"],
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout  # logs and progress go to stderr, never to stdout
    o = json.loads(lines[0])
    assert set(o) == ANSWER_KEYS - {"id"}
    assert "160 millions" in o["answer"] and not o["abstained"]
    assert o["citations"][0]["source"] == "openai-amd.md"


def test_ask_empty_question_fails_with_the_message(cli_run, use_session_embedder, capsys):
    code = main(["ask", "--corpus", str(cli_run["corpus"]), "--index", str(cli_run["index"]), ""])
    captured = capsys.readouterr()
    assert code != 0
    assert "The question is empty" in captured.err
    assert captured.out == ""


def test_ask_without_question_or_batch_is_a_usage_error(cli_run, use_session_embedder, capsys):
    code = main(["ask", "--corpus", str(cli_run["corpus"]), "--index", str(cli_run["index"])])
    assert code == 2
    assert "--batch" in capsys.readouterr().err


def test_ask_prints_the_answer_and_its_sources(cli_run, use_session_embedder, capsys):
    code = main(
        ["ask", "--corpus", str(cli_run["corpus"]), "--index", str(cli_run["index"]), "What is AMD's Helios?"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "[1]" in out and "Sources:" in out and "amd-helios-rack.md" in out


def test_eval_prints_the_table_per_kind(cli_run, dev_questions, use_session_embedder, capsys):
    where = ["--corpus", str(cli_run["corpus"]), "--index", str(cli_run["index"])]
    code = main(["eval", str(dev_questions), *where])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["kind", "n", "hit@1", "hit@3", "answer", "abstain"]
    kinds = {q["kind"] for q in cli_run["questions"].values()}
    rows = {line.split()[0]: line.split() for line in lines[1:] if line.split() and line.split()[0] in kinds}
    assert set(rows) == kinds
    for kind, row in rows.items():
        n = sum(q["kind"] == kind for q in cli_run["questions"].values())
        assert int(row[1]) == n
        assert all(0.0 <= float(v) <= 1.0 for v in row[2:])
    assert "missing=0" in lines[-1]
    assert "hit1=" in lines[-1] and "oos_abstain=" in lines[-1]

    code = main(["eval", str(dev_questions), "--json", *where])
    scores = json.loads(capsys.readouterr().out)
    assert code == 0 and scores["total"]["missing"] == 0
    assert set(scores["by_kind"]) == kinds


def test_version_flag_prints_the_version(capsys):
    import pytest as _pytest

    from bot import __version__
    from bot.cli import main

    with _pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"newsbot {__version__}"


# -- remove / restore (issue 11) ---------------------------------------------------------------


def _corpus_hashes(corpus: Path) -> dict[str, str]:
    import hashlib

    return {
        p.relative_to(corpus).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in corpus.rglob("*")
        if p.is_file() and ".removed" not in p.parts and p.name != ".ingest.lock"
    }


def _cited(settings, embedder, question: str) -> set[str]:
    from bot.core.pipeline import Pipeline

    p = Pipeline(settings, embedder=embedder)
    p.reload()
    return {c.passage.article_id for c in p.ask(question).citations}


def test_remove_then_restore_stops_then_resumes_citing(
    indexed_settings, embedder, use_session_embedder, capsys, monkeypatch
):
    from bot.core.audit import audit_path, entries

    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    s = indexed_settings
    where = ["--corpus", str(s.corpus_dir), "--index", str(s.index_dir)]
    question = "What is AMD's Helios?"
    assert "amd-helios-rack.md" in _cited(s, embedder, question)
    before = _corpus_hashes(s.corpus_dir)

    assert main(["remove", *where, "amd-helios-rack.md"]) == 0
    assert "amd-helios-rack.md" not in _cited(s, embedder, question)
    after_remove = _corpus_hashes(s.corpus_dir)
    assert after_remove == {k: v for k, v in before.items() if k != "amd-helios-rack.md"}

    assert main(["restore", *where, "amd-helios-rack.md"]) == 0
    assert "amd-helios-rack.md" in _cited(s, embedder, question)
    assert _corpus_hashes(s.corpus_dir) == before
    log = entries(audit_path(s.corpus_dir))
    assert [(e["action"], e["article_id"], e["user_name"]) for e in log] == [
        ("removed", "amd-helios-rack.md", "alice"),
        ("restored", "amd-helios-rack.md", "alice"),
    ]
    assert "removed" in capsys.readouterr().out


def test_remove_unknown_id_is_one_line_and_changes_nothing(indexed_settings, use_session_embedder, capsys):
    from bot.core.audit import audit_path

    s = indexed_settings
    before = _corpus_hashes(s.corpus_dir)
    generation = IndexStore(s.index_dir).current_name()
    code = main(["remove", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir), "no-such.md"])
    err = capsys.readouterr().err
    assert code == 1
    assert "No article has the id no-such.md" in err and "Traceback" not in err
    assert _corpus_hashes(s.corpus_dir) == before
    assert IndexStore(s.index_dir).current_name() == generation
    assert not audit_path(s.corpus_dir).exists()


def test_ingest_from_the_command_line_writes_the_change_log(
    indexed_settings, use_session_embedder, tmp_path, capsys, monkeypatch
):
    from bot.core.audit import audit_path, entries

    monkeypatch.setattr("getpass.getuser", lambda: "bob")
    s = indexed_settings
    article = tmp_path / "qualcomm.md"
    article.write_text(
        "---\ntitle: Qualcomm launches the AI200\nlang: en\n---\n\n"
        "Qualcomm announced the AI200 accelerator; each card supports 768 gigabytes of LPDDR memory.\n",
        encoding="utf-8",
    )
    where = ["--corpus", str(s.corpus_dir), "--index", str(s.index_dir)]
    assert main(["ingest", *where, str(article)]) == 0
    assert main(["ingest", *where, str(article)]) == 0  # a duplicate changes nothing: not logged
    log = entries(audit_path(s.corpus_dir))
    assert [(e["action"], e["source"], e["user_name"]) for e in log] == [("added", str(article), "bob")]
    capsys.readouterr()
