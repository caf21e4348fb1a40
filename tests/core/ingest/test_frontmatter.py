"""Front matter is read with a bounded loader: aliases, anchors, deep nesting and size are refused."""

from __future__ import annotations

import time

import frontmatter as python_frontmatter
import pytest

from bot.core.ingest.add import ingest_bytes
from bot.core.ingest.corpus import load_corpus
from bot.core.ingest.frontmatter import FrontMatterError, loads
from bot.errors import IngestError

# Depth 8 of "billion laughs" took 26-43 s and 3.6 GB with the full loader.
LAUGHS = "---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
) + "---\nBody text of the article.\n"
BODY = "Un article sur le tramway de Lyon, avec assez de texte pour être indexé. " * 3


@pytest.mark.parametrize(
    "text",
    [
        "---\ntitle: Lyon\ndate: 2024-03-05\nauthor: Jeanne\n---\n" + BODY,
        "No front matter here.\n\n" + BODY,
        "---\n---\n" + BODY,
        "---\ntitle: never closed\n" + BODY,
    ],
)
def test_ordinary_documents_read_as_python_frontmatter_reads_them(text):
    post = python_frontmatter.loads(text)
    assert loads(text) == (post.metadata, post.content)


@pytest.mark.parametrize(
    "front, reason",
    [
        ("a: &x [1, 2]\nb: *x\n", "anchors"),
        ("a: *x\n", "aliases"),
        ("a: " + "[" * 40 + "]" * 40 + "\n", "nested"),
        ("t: " + "x" * 20_000 + "\n", "longer"),
        ("- a\n- b\n", "key: value"),
        ("a: [unclosed\n", "not valid YAML"),
    ],
)
def test_hostile_or_broken_front_matter_is_refused_with_a_reason(front, reason):
    with pytest.raises(FrontMatterError, match=reason):
        loads("---\n" + front + "---\n" + BODY)


def test_billion_laughs_upload_is_refused_at_once(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    start = time.perf_counter()
    with pytest.raises(IngestError, match="front matter is refused: .*not accepted") as exc:
        ingest_bytes(LAUGHS.encode(), "laughs.md", corpus, max_bytes=100_000)
    assert time.perf_counter() - start < 1.0
    assert "laughs.md" in exc.value.user_message
    assert not any(corpus.iterdir())


def test_billion_laughs_in_the_corpus_is_skipped_with_a_reason(tmp_path):
    (tmp_path / "good.md").write_text("---\ntitle: Lyon\n---\n" + BODY, encoding="utf-8")
    (tmp_path / "laughs.md").write_text(LAUGHS, encoding="utf-8")
    start = time.perf_counter()
    articles, skipped = load_corpus(tmp_path)
    assert time.perf_counter() - start < 5.0
    assert [a.id for a in articles] == ["good.md"]
    assert [s.path for s in skipped] == ["laughs.md"]
    assert "not accepted" in skipped[0].reason
