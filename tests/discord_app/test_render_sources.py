"""Where an article came from, as /articles and /article render it: no credentials, no broken Markdown."""

from __future__ import annotations

from bot.discord_app.render import article_embed, article_line, safe_url, source_text
from bot.models import ArticleInfo


def info(**kw) -> ArticleInfo:
    return ArticleInfo(id="lyon.md", title="Lyon rénove ses écoles", date=None, lang="fr", passages=3, **kw)


def test_user_name_and_password_are_stripped_from_a_hand_placed_url():
    assert safe_url("https://bob:hunter2@example.org:8443/a?b=1#c") == "https://example.org:8443/a?b=1#c"
    line = article_line(info(url="https://bob:hunter2@example.org/a", source_url="https://bob:hunter2@example.org/a"))
    assert line.endswith("`lyon.md` · <https://example.org/a>") and "hunter2" not in line
    embed = article_embed(info(url="https://bob:hunter2@example.org/a"), None)
    assert embed.url == "https://example.org/a"


def test_only_plain_http_links_are_shown():
    for bad in ("javascript:alert(1)", "ftp://example.org/a", "https://example.org/a>b", "https://", "see site"):
        assert safe_url(bad) is None, bad
        assert source_text(bad) is None, bad
    assert article_line(info(source_url="file:///etc/passwd")).endswith("· 3 passages · `lyon.md`")


def test_a_link_too_long_to_show_whole_is_shown_as_its_host():
    long = "https://news.example.org/" + "a" * 400
    assert source_text(long) == "`news.example.org`"


def test_added_by_is_shown_with_its_markdown_escaped():
    embed = article_embed(info(added_by="bob_the_*editor* (42)"), None)
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Added by"] == "bob\\_the\\_\\*editor\\* (42)"
    assert "Source" not in fields
