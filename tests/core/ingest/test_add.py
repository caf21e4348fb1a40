"""Adding articles to a corpus folder from files, uploads and a local web server."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import frontmatter
import pytest

from bot.config import IngestSettings
from bot.core.ingest.add import (
    IngestResult,
    body_checksum,
    ingest,
    ingest_bytes,
    ingest_file,
    ingest_url,
    slugify,
)
from bot.core.ingest.corpus import load_corpus
from bot.errors import IngestError, UnsafeURL

FR_MD = """---
title: "Le Sénat adopte la réforme : ce qui change"
date: 2024-03-05
author: Jeanne Dupont
---

# Un titre intérieur

Le Sénat a adopté mardi la réforme des retraites après un long débat.
Les sénateurs ont voté à une large majorité en faveur du texte.
"""

EN_TXT = """The council met on Monday

The city council approved the new budget for the coming year after a long debate.
"""

EN_HTML = """<html><head><title>Storm hits the coast</title>
<meta name="author" content="Sam Lee"><meta property="article:published_time" content="2024-05-01"></head>
<body><nav>Home | News | Sport</nav><article><h1>Storm hits the coast</h1>
<p>A powerful storm hit the northern coast on Tuesday night, cutting power to thousands of homes.</p>
<p>Emergency services said the damage was extensive and that repairs would take several days.</p>
</article><footer>Copyright Example News</footer></body></html>"""


def page(title: str, paragraph: str) -> str:
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{paragraph}</p><p>The story continues with further details from the reporters on site.</p>"
        "</article></body></html>"
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    return folder


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def stored(result: IngestResult) -> frontmatter.Post:
    return frontmatter.loads(result.path.read_text(encoding="utf-8"))


def article_files(corpus: Path) -> list[str]:
    return sorted(p.name for p in corpus.iterdir() if not p.name.startswith("."))


# --- files ----------------------------------------------------------------------------------------


def test_markdown_with_front_matter(tmp_path, corpus):
    result = ingest_file(write(tmp_path, "senat.md", FR_MD), corpus)
    assert result.status == "added"
    assert result.article_id == "le-senat-adopte-la-reforme-ce-qui-change.md"
    assert result.path == corpus / result.article_id
    post = stored(result)
    assert post["title"] == "Le Sénat adopte la réforme : ce qui change"
    assert str(post["date"]) == "2024-03-05"
    assert post["author"] == "Jeanne Dupont"
    assert post["lang"] == "fr"
    assert post["source"] == "senat.md"
    assert "Le Sénat a adopté mardi la réforme" in post.content
    assert "---" not in post.content  # the old front matter is not repeated in the body


def test_plain_text_title_from_first_line_and_today(tmp_path, corpus):
    result = ingest_file(write(tmp_path, "council.txt", EN_TXT), corpus)
    post = stored(result)
    assert result.title == post["title"] == "The council met on Monday"
    assert post["lang"] == "en"
    assert post["date"] == dt.date.today().isoformat()
    assert post["source"] == "council.txt"
    assert "approved the new budget" in post.content
    assert result.path.suffix == ".md"


def test_html_file_extracted(tmp_path, corpus):
    result = ingest_file(write(tmp_path, "storm.html", EN_HTML), corpus)
    post = stored(result)
    assert post["title"] == "Storm hits the coast"
    assert post["author"] == "Sam Lee"
    assert str(post["date"]) == "2024-05-01"
    assert post["lang"] == "en"
    assert "cutting power to thousands of homes" in post.content
    assert "<p>" not in post.content and "Copyright" not in post.content


def test_stored_articles_are_readable_by_the_corpus_loader(tmp_path, corpus):
    for name, content in (("senat.md", FR_MD), ("council.txt", EN_TXT), ("storm.html", EN_HTML)):
        ingest_file(write(tmp_path, name, content), corpus)
    articles, skipped = load_corpus(corpus)
    assert skipped == []
    assert {a.title for a in articles} == {
        "Le Sénat adopte la réforme : ce qui change",
        "The council met on Monday",
        "Storm hits the coast",
    }
    assert {a.lang for a in articles} == {"fr", "en"}


def test_heading_gives_the_title_when_there_is_no_front_matter(tmp_path, corpus):
    text = "# Élections municipales à Lyon\n\nLes électeurs lyonnais votent dimanche pour le second tour.\n"
    result = ingest_file(write(tmp_path, "lyon.md", text), corpus)
    assert result.title == "Élections municipales à Lyon"
    assert result.article_id == "elections-municipales-a-lyon.md"


# --- duplicates and name clashes ------------------------------------------------------------------


def test_same_content_twice_is_a_duplicate_and_not_written(tmp_path, corpus):
    first = ingest_file(write(tmp_path, "a.md", FR_MD), corpus)
    before = first.path.read_bytes()
    # Same body, different spacing and file name: still the same article.
    respaced = FR_MD.replace("mardi la réforme", "mardi   la\nréforme")
    second = ingest_file(write(tmp_path, "b.md", respaced), corpus)
    assert second.status == "duplicate"
    assert second.duplicate_of == first.article_id
    assert article_files(corpus) == [first.article_id]
    assert first.path.read_bytes() == before


def test_duplicate_of_a_hand_made_corpus_file(tmp_path, corpus):
    (corpus / "sub").mkdir()
    (corpus / "sub" / "budget.txt").write_text(EN_TXT, encoding="utf-8")
    result = ingest_file(write(tmp_path, "council.txt", EN_TXT), corpus)
    assert result.status == "duplicate"
    assert result.duplicate_of == "sub/budget.txt"


def test_same_title_never_overwrites_an_existing_file(tmp_path, corpus):
    existing = corpus / "the-council-met-on-monday.md"
    existing.write_text(
        "---\ntitle: Something else\n---\n\nA different article entirely.\n", encoding="utf-8"
    )
    before = existing.read_bytes()
    first = ingest_file(write(tmp_path, "council.txt", EN_TXT), corpus)
    other = EN_TXT.replace("new budget", "new stadium")
    second = ingest_file(write(tmp_path, "council2.txt", other), corpus)
    assert existing.read_bytes() == before
    assert (first.article_id, second.article_id) == (
        "the-council-met-on-monday-2.md",
        "the-council-met-on-monday-3.md",
    )
    assert "new stadium" in stored(second).content


def test_no_temporary_files_left(tmp_path, corpus):
    ingest_file(write(tmp_path, "a.md", FR_MD), corpus)
    assert not [p for p in corpus.iterdir() if p.suffix == ".tmp"]


# --- refusals -------------------------------------------------------------------------------------


def test_unsupported_extension(tmp_path, corpus):
    with pytest.raises(IngestError, match=r"Cannot add report\.pdf: \.pdf files are not supported"):
        ingest_file(write(tmp_path, "report.pdf", b"%PDF-1.7 ..."), corpus)
    assert article_files(corpus) == []


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "it is empty"),
        (b"  \n\t\n", "it is empty"),
        (b"---\ntitle: Only a title\n---\n", "it has no text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        ("Café au lait".encode("utf-16-le"), "binary"),
        ("Un café crème à Orléans".encode("latin-1"), "not UTF-8"),
    ],
)
def test_unusable_files(tmp_path, corpus, content, message):
    with pytest.raises(IngestError, match=message) as exc:
        ingest_file(write(tmp_path, "bad.txt", content), corpus)
    assert "bad.txt" in exc.value.user_message
    assert article_files(corpus) == []


def test_missing_file(tmp_path, corpus):
    with pytest.raises(IngestError, match="no such file"):
        ingest_file(tmp_path / "nope.md", corpus)


def test_upload_size_checked_first(corpus):
    with pytest.raises(IngestError, match="limit is 100 bytes"):
        ingest_bytes(b"x" * 101, "big.md", corpus, max_bytes=100)


def test_upload_name_cannot_escape_the_corpus(corpus):
    result = ingest_bytes(EN_TXT.encode(), "../../etc/council.txt", corpus, max_bytes=10_000)
    assert result.path.parent == corpus
    assert stored(result)["source"] == "council.txt"


# --- URLs -----------------------------------------------------------------------------------------


@pytest.fixture
def site():
    """A local web server whose pages the test can change: {path: (content type, body)}."""
    pages: dict[str, tuple[str, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            ctype, body = pages.get(self.path, ("text/plain", b"missing"))
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", pages
    srv.shutdown()
    srv.server_close()


def settings(**kw) -> IngestSettings:
    values = dict(allow_hosts=["127.0.0.1"], max_bytes=100_000, timeout_seconds=2.0, max_redirects=3)
    values.update(kw)
    return IngestSettings(**values)


def test_url_stored_with_its_url(site, corpus):
    base, pages = site
    pages["/news/flood"] = (
        "text/html; charset=utf-8",
        page("Floods in the valley", "Rivers rose overnight.").encode(),
    )
    result = ingest_url(f"{base}/news/flood", corpus, settings())
    assert result.status == "added"
    post = stored(result)
    assert post["url"] == f"{base}/news/flood"
    assert post["title"] == "Floods in the valley"
    assert post["source"] == "127.0.0.1"
    assert "Rivers rose overnight." in post.content


def test_same_url_again_updates_the_same_file(site, corpus):
    base, pages = site
    url = f"{base}/news/flood"
    pages["/news/flood"] = ("text/html", page("Floods in the valley", "Rivers rose overnight.").encode())
    first = ingest_url(url, corpus, settings())
    again = ingest_url(url, corpus, settings())
    assert again.status == "duplicate" and again.duplicate_of == first.article_id
    pages["/news/flood"] = (
        "text/html",
        page("Floods: the toll rises", "Three villages were evacuated.").encode(),
    )
    updated = ingest_url(url, corpus, settings())
    assert updated.status == "updated"
    assert updated.article_id == first.article_id
    assert article_files(corpus) == [first.article_id]
    post = stored(updated)
    assert "Three villages were evacuated." in post.content
    assert "Rivers rose overnight." not in post.content
    assert post["url"] == url and post["title"] == "Floods: the toll rises"


def test_plain_text_url_kept_as_is(site, corpus):
    base, pages = site
    pages["/brief.txt"] = (
        "text/plain; charset=iso-8859-1",
        "Brève : le café augmente encore à Paris.".encode("latin-1"),
    )
    result = ingest_url(f"{base}/brief.txt", corpus, settings())
    post = stored(result)
    assert post.content == "Brève : le café augmente encore à Paris."
    assert post["lang"] == "fr"


def test_url_refused_without_allow_list(site, corpus):
    base, pages = site
    pages["/x"] = ("text/html", page("Hidden", "Internal page.").encode())
    with pytest.raises(UnsafeURL, match="loopback"):
        ingest_url(f"{base}/x", corpus, settings(allow_hosts=[]))
    assert article_files(corpus) == []


# --- batches --------------------------------------------------------------------------------------


def test_batch_goes_on_after_a_failure(site, tmp_path, corpus):
    base, pages = site
    pages["/ok"] = ("text/html", page("Budget vote delayed", "The vote was postponed to next week.").encode())
    sources = [
        str(write(tmp_path, "notes.pdf", b"%PDF")),
        f"{base}/ok",
        "ftp://example.org/file.txt",
        "www.example.org/news/article",
        f"{base}/gone",
        str(write(tmp_path, "council.txt", EN_TXT)),
    ]
    results = ingest(sources, corpus, settings())
    assert [type(r).__name__ for r in results] == [
        "IngestError", "IngestResult", "UnsafeURL", "IngestError", "FetchError", "IngestResult",
    ]  # fmt: skip
    assert "https://" in results[3].user_message
    assert "404" in results[4].user_message
    assert {r.status for r in results if isinstance(r, IngestResult)} == {"added"}
    assert len(article_files(corpus)) == 2


# --- helpers --------------------------------------------------------------------------------------


def test_slugify():
    title = "Le Sénat adopte la réforme : ce qui change !"
    assert slugify(title) == "le-senat-adopte-la-reforme-ce-qui-change"
    assert slugify("Ça coûte 3 € — «cher»") == "ca-coute-3-cher"
    assert slugify("???") == "article"
    long = slugify("word " * 40)
    assert len(long) <= 60 and not long.endswith("-") and long.startswith("word-word")


def test_checksum_ignores_spacing_and_typography():
    assert body_checksum("L’été  arrive\n\nvite") == body_checksum("L'été arrive vite")
    assert body_checksum("L'été arrive vite") != body_checksum("L'été arrive tard")


def test_credentials_in_a_link_are_never_stored_logged_or_shown(site, corpus, caplog):
    base, pages = site
    pages["/x"] = ("text/html", page("Secret", "A page behind a password.").encode())
    url = base.replace("//", "//user:hunter2@", 1) + "/x"
    with caplog.at_level("DEBUG"):
        [result] = ingest([url], corpus, settings())
    assert isinstance(result, UnsafeURL)
    assert "hunter2" not in result.user_message and "user name or password" in result.user_message
    assert "hunter2" not in caplog.text
    assert article_files(corpus) == []


def test_the_body_is_stored_with_its_own_typography(tmp_path, corpus):
    text = "L\u2019accord « historique » porte sur 6\u00a0gigawatts de puces livrées dès 2026, selon l\u2019entreprise.\n"
    result = ingest_file(write(tmp_path, "typo.md", text), corpus)
    assert result.status == "added"
    body = stored(result).content
    assert "L\u2019accord « historique »" in body and "6\u00a0gigawatts" in body
    # Matching still ignores typography: the same text with plain characters is a duplicate.
    plain = text.replace("\u2019", "'").replace("\u00a0", " ")
    assert ingest_file(write(tmp_path, "plain.md", plain), corpus).status == "duplicate"


def test_an_update_keeps_who_first_added_the_article(site, corpus):
    base, pages = site
    url = f"{base}/news/flood"
    pages["/news/flood"] = ("text/html", page("Floods in the valley", "Rivers rose overnight.").encode())
    ingest_url(url, corpus, settings(), added_by="alice (1)")
    pages["/news/flood"] = ("text/html", page("Floods: the toll rises", "Three villages were evacuated.").encode())
    updated = ingest_url(url, corpus, settings(), added_by="bob (2)")
    assert updated.status == "updated"
    post = stored(updated)
    assert post["added_by"] == "alice (1)" and post["updated_by"] == "bob (2)"
