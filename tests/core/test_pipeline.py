"""Pipeline.ask end to end on the dev corpus: checks, answers with citations, abstentions, follow-ups,
warm-up and answering while the index is rebuilt."""

from __future__ import annotations

import os
import re
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from filelock import FileLock

from bot.config import RetrievalSettings
from bot.core.answer.answerer import NO_ANSWER
from bot.core.index.store import IndexStore
from bot.core.pipeline import Pipeline
from bot.errors import EmptyQuestion, QuestionTooLong
from bot.models import Conversation

OPENAI_AMD = "openai-amd.md"
HELIOS = "amd-helios-rack.md"
SHARES_Q = "Sur combien d'actions porte l'option d'achat d'OpenAI ?"
MARKER = re.compile(r"\[(\d+)\]")


def edit_fact(path: Path, old: str, new: str) -> None:
    """Replace a fact in a corpus file."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def ready(dev_index_template, embedder) -> Pipeline:
    """A warmed-up pipeline over the session's dev index, for tests that only ask questions."""
    with pytest.MonkeyPatch.context() as m:
        for name in list(os.environ):
            if name.startswith("NEWSBOT_"):
                m.delenv(name)
        s = RetrievalSettings(
            _env_file=None, corpus_dir=dev_index_template / "corpus", index_dir=dev_index_template / "index"
        )
    p = Pipeline(s, embedder=embedder)
    assert p.warm_up(build_if_needed=False) is None
    return p


def cited_number(text: str) -> int:
    markers = MARKER.findall(text)
    assert markers, f"no [n] marker in {text!r}"
    return int(markers[-1])


@pytest.mark.parametrize("question", ["", "   ", "\n\t  \n", None])
def test_empty_question_is_refused(ready, question):
    with pytest.raises(EmptyQuestion) as info:
        ready.ask(question)  # type: ignore[arg-type]
    assert "empty" in info.value.user_message


def test_empty_question_is_refused_before_any_index_is_needed(pipeline, tmp_path, settings):
    p = pipeline(settings(index_dir=tmp_path / "no-index"))
    with pytest.raises(EmptyQuestion):
        p.ask("  ")


def test_too_long_question_is_refused_with_the_numbers(pipeline, settings):
    p = pipeline(settings(max_question_chars=50))
    with pytest.raises(QuestionTooLong) as info:
        p.ask("x" * 51)
    assert "51" in info.value.user_message and "50" in info.value.user_message
    # Surrounding whitespace does not count.
    assert p.check_question("   " + "y" * 50 + "   ") == "y" * 50


def test_french_question_is_answered_with_a_cited_passage(ready):
    answer = ready.ask(SHARES_Q)
    assert not answer.abstained
    assert answer.lang == "fr"
    assert "160 millions" in answer.text
    n = cited_number(answer.text)
    assert 1 <= n <= len(answer.citations)
    assert answer.citations[0].passage.article_id == OPENAI_AMD
    assert "160 millions" in answer.citations[n - 1].passage.text
    assert [c.number for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert len(answer.citations) <= ready.settings.citations
    scores = [c.score for c in answer.citations]
    assert scores == sorted(scores, reverse=True)
    assert len(answer.text) < 300
    assert answer.latency_ms > 0


def test_citations_show_whole_paragraphs_each_once(ready):
    answer = ready.ask("What is AMD's Helios?")
    assert not answer.abstained
    gen = ready.generation
    shown = set()
    for c in answer.citations:
        paragraph = [
            p
            for p in gen.passages
            if p.article_id == c.passage.article_id and p.paragraph == c.passage.paragraph
        ]
        assert c.passage in paragraph
        assert c.text == " ".join(p.text for p in sorted(paragraph, key=lambda p: p.position))
        assert c.to_json()["text"] == c.text and c.to_json()["quote"] == c.passage.text
        shown.add((c.passage.article_id, c.passage.paragraph))
    assert len(shown) == len(answer.citations), "a paragraph is cited once"
    # The Helios rack's first paragraph is cut into two passages: whichever matched, its citation
    # shows both, so the fact of the other one ("72 MI450") is in front of the reader.
    lead = [c for c in ready.search("a working prototype of Helios", k=5) if len(c.paragraph) == 2]
    assert lead and "72 MI450" in lead[0].text


def test_a_french_question_meets_an_english_passage_without_translation(ready):
    # The multilingual model reads both languages: nothing is translated, neither way.
    answer = ready.ask("Combien de GPU MI450 contient un rack Helios ?")
    assert not answer.abstained and answer.lang == "fr"
    assert answer.citations[0].passage.article_id == HELIOS and "72 MI450" in answer.text


@pytest.mark.parametrize(
    "question, article",
    [
        ("Que sait-on de la restructuration d'OpenAI ?", "microsoft-openai-restructuration.md"),
        ("Parle-moi de la restructuration d'OpenAI", "microsoft-openai-restructuration.md"),
        ("What is AMD's Helios?", HELIOS),
        ("Tell me about Helios", HELIOS),
    ],
)
def test_an_overview_question_cites_the_article_it_is_about(ready, question, article):
    answer = ready.ask(question)
    assert not answer.abstained
    assert {c.passage.article_id for c in answer.citations[:2]} == {article}, answer.citations[0].text


def test_a_narrow_question_in_the_title_words_gets_its_figure(ready):
    # Every word is in the title ("... Microsoft garde environ 27 %"), but it asks for a figure.
    answer = ready.ask("Combien Microsoft garde-t-il ?")
    assert not answer.abstained
    assert answer.citations[0].passage.paragraph != 0 and "27 %" in answer.text


@pytest.mark.parametrize(
    "question, lang",
    [("Quel temps fera-t-il demain à Lyon ?", "fr"), ("Write me a poem about autumn.", "en")],
)
def test_an_out_of_scope_question_is_declined_in_its_language(ready, question, lang):
    answer = ready.ask(question)
    assert answer.abstained
    assert answer.citations == ()
    assert answer.lang == lang
    assert answer.text.startswith(NO_ANSWER[lang])


def test_follow_up_uses_the_previous_turn(ready):
    conversation = Conversation()
    first = ready.ask("What is AMD's Helios?", conversation)
    assert not first.abstained and first.citations[0].passage.article_id == HELIOS
    conversation.add(first.question, first)
    second = ready.ask("How much compute will one of them deliver?", conversation)
    assert not second.abstained
    assert second.citations[0].passage.article_id == HELIOS
    assert "2.9 exaflops" in second.text
    n = cited_number(second.text)
    assert "2.9 exaflops" in second.citations[n - 1].passage.text


@pytest.mark.parametrize(
    ("first", "follow_up", "fact", "not_the_previous_fact"),
    [
        (SHARES_Q, "Et sur quoi repose ce mécanisme ?", "paliers de performance", "160 millions"),
        ("Quelle part Microsoft garde-t-il dans OpenAI ?", "Et qu'a promis OpenAI en échange ?", "250 milliards", "27 %"),
    ],
)
def test_a_follow_up_cites_the_sentence_it_asks_for_not_the_one_the_previous_question_found(
    ready, first, follow_up, fact, not_the_previous_fact
):
    # Both facts are in one paragraph: searched with the previous question, the sentence that answered
    # it ranks first again; the follow-up's own words must pick the sentence it asks about.
    conversation = Conversation()
    answer = ready.ask(first, conversation)
    conversation.add(answer.question, answer)
    second = ready.ask(follow_up, conversation)
    assert not second.abstained
    assert fact in second.text and not_the_previous_fact not in second.text
    assert second.citations[0].passage.paragraph == answer.citations[0].passage.paragraph


def test_the_re_reading_finds_the_sentence_a_question_in_the_other_language_asks_for(ready):
    # Ranked by the passage vectors alone, the English article on AMD's rack came first; read token by
    # token, the French quotation holds the question's own words (search/rerank.py).
    answer = ready.ask("Who said the partnership brings together the best of AMD and OpenAI?")
    assert not answer.abstained
    assert answer.citations[0].passage.article_id == OPENAI_AMD
    assert "Lisa Su" in answer.text


def test_concurrent_questions_get_the_same_answers(ready):
    questions = [SHARES_Q, "What is AMD's Helios?", "Quelle part d'OpenAI Microsoft conserve-t-il ?"] * 3
    sequential = [ready.ask(q).text for q in questions]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = [a.text for a in pool.map(ready.ask, questions)]
    assert parallel == sequential


def test_articles_and_about_describe_the_live_index(ready):
    articles = ready.articles()
    assert [a.id for a in articles] == sorted(a.id for a in articles)
    assert {a.id for a in articles} >= {OPENAI_AMD, HELIOS}
    info = ready.about()
    assert info.articles == len(articles)
    assert info.passages == sum(a.passages for a in articles) == len(ready.generation)
    assert info.dimension == 384 and info.generation == ready.generation.name


def test_warm_up_builds_a_missing_index_and_says_so(pipeline):
    p = pipeline()
    assert IndexStore(p.settings.index_dir).current_name() is None
    report = p.warm_up()
    assert report is not None
    assert len(report.added) == 5 and report.changed == () and report.removed == ()
    assert report.passages_embedded == report.passages_total == len(p.generation)
    assert p.generation.name == report.generation
    assert "160 millions" in p.ask(SHARES_Q).text
    # The next start finds it up to date: no build, no report.
    again = pipeline(p.settings)
    assert again.warm_up() is None
    assert again.generation.name == report.generation


def test_warm_up_updates_a_stale_index(indexed_settings, pipeline):
    s = indexed_settings
    path = s.corpus_dir / OPENAI_AMD
    edit_fact(path, "160 millions", "180 millions")
    p = pipeline(s)
    report = p.warm_up()
    assert report is not None and report.changed == (OPENAI_AMD,)
    assert 0 < report.passages_embedded < report.passages_total
    assert "180 millions" in p.ask(SHARES_Q).text


def test_answers_come_from_the_old_generation_until_the_switch(indexed_settings, pipeline):
    s = indexed_settings
    p = pipeline(s)
    p.warm_up(build_if_needed=False)
    old_name = p.generation.name
    path = s.corpus_dir / OPENAI_AMD
    edit_fact(path, "160 millions", "180 millions")

    written = threading.Event()
    resume = threading.Event()
    errors: list[BaseException] = []
    reports = []

    def pause(folder) -> None:
        written.set()
        assert resume.wait(30), "the test never resumed the build"

    def run() -> None:
        try:
            reports.append(p.update_index(on_written=pause))
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
            written.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        assert written.wait(60), "the build never wrote its generation"
        assert not errors, errors
        # The new generation is on disk but not live: questions are answered from the old one.
        assert p.generation.name == old_name
        assert IndexStore(s.index_dir).current_name() == old_name
        during = p.ask(SHARES_Q)
        assert not during.abstained
        assert "160 millions" in during.text
        assert {c.passage.id for c in during.citations} <= {x.id for x in p.generation.passages}
    finally:
        resume.set()
        worker.join(60)
    assert not worker.is_alive()
    assert not errors, errors
    assert p.generation.name != old_name
    assert p.generation.name == reports[0].generation == IndexStore(s.index_dir).current_name()
    assert "180 millions" in p.ask(SHARES_Q).text


def test_warm_up_while_another_process_builds_serves_the_current_index(indexed_settings, pipeline):
    # A bot starting while `python -m bot index` runs (the corpus just changed) must still come up and
    # answer from the live generation instead of failing with BuildInProgress.
    s = indexed_settings
    live = IndexStore(s.index_dir).current_name()
    path = s.corpus_dir / OPENAI_AMD
    path.write_text(path.read_text(encoding="utf-8") + "\nUne phrase ajoutée.\n", encoding="utf-8")
    held = FileLock(str(IndexStore(s.index_dir).lock_path))
    held.acquire(timeout=5)
    try:
        p = pipeline(s)
        p.warm_up()
        assert p.generation.name == live
        assert "160 millions" in p.ask(SHARES_Q).text
    finally:
        held.release()


@pytest.mark.parametrize("damage", ["unreadable-files", "missing-folder"])
def test_warm_up_with_an_unusable_corpus_serves_the_current_index(indexed_settings, pipeline, damage):
    # The corpus error says "the current index is kept": at start-up it should then also be used,
    # rather than leaving the bot without any index to answer from.
    s = indexed_settings
    live = IndexStore(s.index_dir).current_name()
    if damage == "missing-folder":
        shutil.rmtree(s.corpus_dir)
    else:
        for f in s.corpus_dir.iterdir():
            f.write_bytes(b"\x00binary")
    p = pipeline(s)
    p.warm_up()
    assert p.generation.name == live
    assert "160 millions" in p.ask(SHARES_Q).text


def test_warm_up_rebuilds_when_the_embedding_prefixes_changed(indexed_settings, pipeline, settings):
    # The manifest records the prefixes because "a change in them means re-embedding" (indexer.py):
    # vectors made with "passage: " must not be searched with questions embedded without "query: ".
    s = indexed_settings
    assert (s.query_prefix, s.passage_prefix) == ("query: ", "passage: ")  # the bundled e5's own
    live = IndexStore(s.index_dir).current_name()
    changed = settings(corpus_dir=s.corpus_dir, index_dir=s.index_dir, query_prefix="", passage_prefix="")
    p = pipeline(changed)
    report = p.warm_up()
    assert report is not None, "the index built with other prefixes was loaded as it is"
    assert report.passages_embedded == report.passages_total
    assert p.generation.name != live
    recorded = p.generation.manifest["settings"]
    assert (recorded["query_prefix"], recorded["passage_prefix"]) == ("", "")
