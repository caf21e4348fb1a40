"""/articles, /article (with autocomplete) and /about."""

from __future__ import annotations

import pytest

from .helpers import message_sends


async def test_articles_lists_titles_dates_and_passage_counts(simcord_env, channel, alice, pipeline):
    result = await alice.slash(channel, "articles")

    assert result.ephemeral
    embed = result.response.embeds[0]
    assert embed.title == "Articles (5)"
    lines = embed.description.split("\n")
    assert len(lines) == 5
    helios = "AMD shows Helios, the rack that will carry the MI450"
    counts = {a.id: a.passages for a in pipeline.articles()}
    assert (
        lines[0]
        == f"• **{helios}** · 2025-10-14 · {counts['amd-helios-rack.md']} passages · `amd-helios-rack.md`"
    )
    assert lines[3].endswith(f" · {counts['openai-amd.md']} passages · `openai-amd.md`")  # no date
    assert lines[4].startswith("• **Strasbourg ouvre la première « vélorue » de la rive du Rhin** · 2025-09-03")


async def test_article_autocomplete_suggests_matching_articles(simcord_env, channel, alice):
    choices = await alice.autocomplete(channel, "article", "name", "openai")

    # Both titles start with "OpenAI": alphabetical order.
    assert [c["name"] for c in choices] == [
        "OpenAI achève sa restructuration, Microsoft garde environ 27 %",
        "OpenAI et AMD : un partenariat de 6 gigawatts",
    ]
    assert [c["value"] for c in choices] == ["microsoft-openai-restructuration.md", "openai-amd.md"]
    helios = await alice.autocomplete(channel, "article", "name", "HELIOS")
    assert [c["value"] for c in helios] == ["amd-helios-rack.md"]
    everything = await alice.autocomplete(channel, "article", "name", "")
    assert len(everything) == 5


async def test_article_shows_facts_and_first_lines(simcord_env, channel, alice, pipeline):
    result = await alice.slash(channel, "article", name="amd-helios-rack.md")

    embed = result.response.embeds[0]
    assert embed.title == "AMD shows Helios, the rack that will carry the MI450"
    assert embed.description.startswith("On stage at the Open Compute Project summit")
    # The first paragraph (two passages) reads as written; the next paragraph starts after a blank line.
    assert "MI450 accelerators. One Helios rack packs 72 MI450 GPUs" in embed.description
    assert "Vera Rubin racks.\n\nEach MI450 will carry 432 gigabytes" in embed.description
    fields = {f.name: f.value for f in embed.fields}
    [info] = [a for a in pipeline.articles() if a.id == "amd-helios-rack.md"]
    assert fields == {
        "Identifier": "`amd-helios-rack.md`",
        "Passages": str(info.passages),
        "Language": "en",
        "Date": "2025-10-14",
    }


async def test_an_unknown_article_is_explained_and_pings_nobody(simcord_env, channel, alice):
    result = await alice.slash(channel, "article", name="@everyone")

    assert result.ephemeral
    assert result.response.content.startswith("No article matches “@everyone”.")
    assert not result.response.message.mention_everyone
    assert all(s.get("allowed_mentions") == {"parse": []} for s in message_sends(simcord_env))
    assert [type(e.original).__name__ for e in simcord_env.errors] == ["UnknownArticle"]


async def test_about_describes_the_index(simcord_env, channel, alice, pipeline):
    result = await alice.slash(channel, "about")

    fields = {f.name: f.value for f in result.response.embeds[0].fields}
    assert fields["Articles"] == "5" and fields["Passages"] == str(pipeline.about().passages)
    assert fields["Model"] == "`bundled:multilingual-e5-small` (384 dimensions)"
    assert fields["Index type"] == "flat"
    assert fields["Generation"] == f"`{pipeline.generation.name}`"
    assert fields["Built"] == pipeline.about().built_at


SOURCED_ARTICLE = (
    "---\ntitle: Lille ouvre une piste cyclable le long de la Deûle\n"
    "source_url: https://reader:s3cret@example.org/lille/piste\nadded_by: feed:https://example.org/rss\n---\n\n"
    "La métropole de Lille a inauguré lundi une piste cyclable de douze kilomètres le long de la Deûle, "
    "reliant le centre-ville au campus universitaire de Villeneuve-d'Ascq.\n"
)


class TestSources:
    """Articles added by /ingest or a feed say where they came from; userinfo is never shown."""

    @pytest.fixture
    def pipeline(self, private_pipeline):
        """These tests add an article to the corpus and index it: they get their own copy."""
        (private_pipeline.settings.corpus_dir / "lille-piste.md").write_text(SOURCED_ARTICLE, encoding="utf-8")
        private_pipeline.update_index()
        return private_pipeline

    async def test_articles_shows_the_source_link_without_preview_or_credentials(
        self, simcord_env, channel, alice, pipeline
    ):
        result = await alice.slash(channel, "articles")

        lines = result.response.embeds[0].description.split("\n")
        [line] = [x for x in lines if "`lille-piste.md`" in x]
        assert line.endswith("· `lille-piste.md` · <https://example.org/lille/piste>")
        assert "s3cret" not in result.response.embeds[0].description
        # Hand-placed articles without a source keep their line as it was: the file name ends it.
        [helios] = [x for x in lines if "`amd-helios-rack.md`" in x]
        assert helios.endswith("passages · `amd-helios-rack.md`")

    async def test_article_shows_source_and_who_added_it(self, simcord_env, channel, alice, pipeline):
        result = await alice.slash(channel, "article", name="lille-piste.md")

        embed = result.response.embeds[0]
        fields = {f.name: f.value for f in embed.fields}
        assert fields["Source"] == "<https://example.org/lille/piste>"
        assert fields["Added by"] == "feed:https://example.org/rss"
        assert embed.url == "https://example.org/lille/piste"
        assert "s3cret" not in str(embed.to_dict())
