"""Citations quote the article's own characters (’, « », non-breaking spaces), never plain forms."""

from __future__ import annotations

import json

from bot.core.ingest.frontmatter import loads as read_front_matter


def test_every_citation_occurs_verbatim_in_its_source(indexed_settings, pipeline, dev_questions):
    p = pipeline(indexed_settings)
    p.warm_up()
    corpus = indexed_settings.corpus_dir
    checked = 0
    typographic = 0
    for line in dev_questions.read_text(encoding="utf-8").splitlines():
        question = json.loads(line)["question"]
        answer = p.ask(question)
        for c in answer.citations:
            raw = (corpus / c.passage.article_id).read_text(encoding="utf-8")
            _, body = read_front_matter(raw)
            out = c.to_json()
            assert out["text"] in body, (question, out["text"])
            assert out["quote"] in body, (question, out["quote"])
            checked += 1
            typographic += any(ch in out["text"] for ch in "\u2019\u00a0\u202f")
    assert checked > 0
    # The fixture corpus has ’ and non-breaking spaces: some cited paragraph must carry them.
    assert typographic > 0
