"""Bad inputs and surprises get a clear message or are survived, and nothing stored is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import bot.core.index.build as indexer
import bot.core.pipeline as pipeline_module
from bot.cli import main
from bot.core.index.build import build_index
from bot.core.index.store import CURRENT, MANIFEST, IndexStore
from bot.core.ingest.corpus import Skipped, load_corpus
from bot.errors import IndexCorrupt


def test_a_file_vanishing_during_a_build_is_skipped_and_the_build_completes(
    indexed_settings, embedder, monkeypatch
):
    s = indexed_settings
    doomed = s.corpus_dir / "amd-helios-rack.md"

    def load_then_lose_one(corpus_dir: Path):
        articles, skipped = load_corpus(corpus_dir)
        doomed.unlink()  # gone between reading the corpus and recording what was skipped
        return [a for a in articles if a.id != doomed.name], skipped + [Skipped(doomed.name, "vanished")]

    monkeypatch.setattr(indexer, "load_corpus", load_then_lose_one)
    report = build_index(s, embedder)
    assert report.removed == (doomed.name,)
    assert doomed.name not in IndexStore(s.index_dir).load(s.model).articles


def test_a_question_with_a_lone_surrogate_is_answered_not_crashed(indexed_settings, pipeline):
    p = pipeline(indexed_settings)
    p.warm_up()
    answer = p.ask("Sur combien d'actions porte l'option d'achat \udcff d'OpenAI ?")
    assert answer.citations and answer.citations[0].passage.article_id == "openai-amd.md"


@pytest.mark.parametrize(
    "damage",
    ["manifest-list", "files-list", "files-entry", "current-bytes", "current-path"],
)
def test_damaged_index_metadata_is_reported_as_corrupt(indexed_settings, damage):
    s = indexed_settings
    store = IndexStore(s.index_dir)
    path = store.current_path()
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    if damage == "manifest-list":
        (path / MANIFEST).write_text("[]", encoding="utf-8")
    elif damage == "files-list":
        (path / MANIFEST).write_text(json.dumps({**manifest, "files": []}), encoding="utf-8")
    elif damage == "files-entry":
        first = next(iter(manifest["files"]))
        (path / MANIFEST).write_text(json.dumps({**manifest, "files": {first: {}}}), encoding="utf-8")
    elif damage == "current-bytes":
        (s.index_dir / CURRENT).write_bytes(b"\xff\xfe")
    else:
        (s.index_dir / CURRENT).write_text("../../etc\n", encoding="utf-8")
    with pytest.raises(IndexCorrupt) as err:
        store.load(s.model)
    assert "rebuild" in err.value.user_message


def test_damaged_index_metadata_is_rebuilt_by_warm_up(indexed_settings, pipeline):
    s = indexed_settings
    (s.index_dir / CURRENT).write_bytes(b"\xff\xfe")
    p = pipeline(s)
    report = p.warm_up()
    assert report is not None and report.passages_embedded == report.passages_total
    assert p.ask("Sur combien d'actions porte l'option d'achat d'OpenAI ?").citations


def test_a_generation_made_live_by_another_process_is_picked_up(indexed_settings, pipeline, monkeypatch):
    monkeypatch.setattr(pipeline_module, "RELOAD_CHECK_SECONDS", 0.0)
    s = indexed_settings
    serving = pipeline(s)
    serving.warm_up()
    before = serving.generation.name
    other = pipeline(s)  # stands for `python -m bot index` run beside the bot
    new = other.update_index(rebuild=True).generation
    assert new != before
    serving.ask("Sur combien d'actions porte l'option d'achat d'OpenAI ?")
    assert serving.generation.name == new


def test_batch_file_problems_are_reported_before_the_model_loads(tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes('{"id": "x", "question": "caf\xe9"}\n'.encode("latin-1"))
    for path in (missing, tmp_path):
        code = main(
            ["ask", "--corpus", str(tmp_path / "c"), "--index", str(tmp_path / "i"), "--batch", str(path)]
        )
        assert code == 1
        assert f"Cannot read {path}" in capsys.readouterr().err
    # A file that is not UTF-8 is read line by line (issue 13, class 6): each such line is an error record.
    from bot.evaluation import read_jsonl

    assert read_jsonl(latin1) == [(1, None, "line 1: not UTF-8 text (invalid byte at column 29)")]


def test_eval_names_the_first_bad_line(tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "question": "x"}\n', encoding="utf-8")
    assert main(["eval", str(questions), "--corpus", str(tmp_path), "--index", str(tmp_path / "i")]) == 1
    assert "line 1 lacks kind, sources, answers" in capsys.readouterr().err


def test_an_unknown_faiss_index_type_is_a_configuration_error():
    env = {"NEWSBOT_FAISS_INDEX": "bogus", "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [sys.executable, "-m", "bot", "index"], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2
    assert "Invalid configuration" in r.stderr and "faiss_index" in r.stderr
    assert "Traceback" not in r.stderr


def test_batch_reader_survives_deep_nesting_and_keeps_unicode_separators(tmp_path):
    from bot.evaluation import read_jsonl

    deep = "[" * 100_000 + "]" * 100_000
    valid = json.dumps({"id": "u", "question": "a\u2028b\x85c\u2029d"}, ensure_ascii=False)
    f = tmp_path / "q.jsonl"
    f.write_text(f'{{"id": "a", "question": "x"}}\n{deep}\n{valid}\r\n{{"id": "z", "question": "y"}}\n', "utf-8")
    lines = read_jsonl(f)
    assert [(n, item is None) for n, item, _ in lines] == [(1, False), (2, True), (3, False), (4, False)]
    assert "line 2" in lines[1][2]
    assert lines[2][1]["question"] == "a\u2028b\x85c\u2029d"
    assert lines[3][1]["id"] == "z"
