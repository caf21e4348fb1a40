"""The renderer alone: every embed inside Discord's limits, text cut cleanly at a word."""

from __future__ import annotations

from dataclasses import replace

import discord
import pytest

from bot.discord_app import limits as L
from bot.discord_app.render import (
    answer_embed,
    articles_embed,
    passage_messages,
    search_embed,
    update_text,
)
from bot.models import Answer, ArticleInfo, Citation, Passage, UpdateReport

from .helpers import huge_answer, words


def check_embed(embed: discord.Embed) -> None:
    assert len(embed) <= L.EMBED_TOTAL
    assert len(embed.title or "") <= L.TITLE
    assert len(embed.description or "") <= L.DESCRIPTION
    assert len(embed.fields) <= L.FIELDS
    for f in embed.fields:
        assert 0 < len(f.name) <= L.FIELD_NAME
        assert 0 < len(f.value) <= L.FIELD_VALUE
    assert len(embed.footer.text or "") <= L.FOOTER


def test_shorten_cuts_at_a_word_with_an_ellipsis():
    assert L.shorten("short", 10) == "short"
    cut = L.shorten("Les articles ne répondent pas à cette question", 20)
    assert cut == "Les articles ne…"
    assert len(cut) <= 20
    assert L.shorten("x" * 50, 10) == "x" * 9 + "…"  # one huge word: cut inside it


@pytest.mark.parametrize("n", [0, 1, 3, 10, 25, 40])
@pytest.mark.parametrize("size", [10, 400, 1500, 6000])
def test_answer_embed_always_fits(n, size):
    answer = huge_answer(citations=n, passage_chars=size, text_chars=size, title_chars=min(size, 600))
    embed = answer_embed(answer)
    check_embed(embed)
    assert embed.description
    for messages in [passage_messages(answer)]:
        for embeds in messages:
            assert len(embeds) <= L.EMBEDS_PER_MESSAGE
            assert sum(len(e) for e in embeds) <= L.EMBED_TOTAL
            for e in embeds:
                check_embed(e)
        assert sum(len(m) for m in messages) == n


def test_answer_embed_keeps_every_citation_readable():
    embed = answer_embed(huge_answer(citations=10, passage_chars=5000, text_chars=6000))
    assert len(embed.fields) == 10
    for f in embed.fields:
        quote, source = f.value.rsplit("\n", 1)
        assert quote.startswith("> ") and quote.endswith("…") and len(quote) > 100
        assert source.startswith("`article-")


def test_search_and_articles_embeds_fit():
    check_embed(search_embed(words(500), huge_answer(citations=25).citations))
    many = [
        ArticleInfo(id=f"a{i}.md", title=words(300, i), date="2025-01-01", lang="fr", passages=i)
        for i in range(500)
    ]
    embed = articles_embed(many)
    check_embed(embed)
    assert embed.description.endswith("more: use /article to look one up.")


def test_update_text_reports_changes():
    report = UpdateReport(
        added=("new.md",),
        changed=(),
        removed=("old.md",),
        passages_embedded=3,
        passages_total=24,
        generation="g-1",
    )
    text = update_text(report)
    assert text.startswith("Index updated: 1 added, 0 changed, 1 removed (3 passages embedded, 24 in total).")
    assert "Added: `new.md`" in text and "Removed: `old.md`" in text
    same = UpdateReport(
        added=(), changed=(), removed=(), passages_embedded=0, passages_total=24, generation="g-1"
    )
    assert update_text(same) == "The index is already up to date (24 passages)."


def french_passage(**changes) -> Passage:
    """A French passage with its English machine translation."""
    base = Passage(
        id="p1",
        article_id="a.md",
        title="Titre",
        text="OpenAI obtient une option sur 160 millions d'actions.",
        start=0,
        end=53,
        lang="fr",
        position=0,
        paragraph=0,
        translation="OpenAI obtains an option on 160 million shares.",
        title_translation="Title",
    )
    return replace(base, **changes)


def test_full_passages_carry_a_machine_translation_for_readers_of_the_other_language():
    french = french_passage()
    cited = (Citation(1, french, 0.9),)
    english = Answer(question="How many shares?", text="... [1]", citations=cited, abstained=False, lang="en")
    french_reader = Answer(question="Combien ?", text="... [1]", citations=cited, abstained=False, lang="fr")

    shown = passage_messages(english)[0][0].description
    assert french.text in shown and "Machine translation" in shown and "160 million shares" in shown
    assert passage_messages(french_reader)[0][0].description == french.text


def test_full_passages_show_the_whole_paragraph_and_its_translation():
    first = french_passage()
    second = french_passage(
        id="p2",
        text="Le mécanisme suit des paliers.",
        start=54,
        end=84,
        position=1,
        translation="The mechanism follows\nsteps.",
    )
    cited = Citation(1, second, 0.9, (first, second))
    assert cited.text == f"{first.text} {second.text}"
    assert cited.translation == "OpenAI obtains an option on 160 million shares. The mechanism follows steps."
    answer = Answer(
        question="How many shares?", text="... [1]", citations=(cited,), abstained=False, lang="en"
    )
    shown = passage_messages(answer)[0][0].description
    assert shown.startswith(cited.text) and shown.endswith(cited.translation)

    # One passage of the paragraph without a translation: no half-translated paragraph is shown.
    partial = Citation(1, second, 0.9, (replace(first, translation=None), second))
    assert partial.translation is None
    answer = Answer(
        question="How many shares?", text="... [1]", citations=(partial,), abstained=False, lang="en"
    )
    assert passage_messages(answer)[0][0].description == partial.text
