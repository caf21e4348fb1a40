"""Reading the corpus folder: front matter, plain Markdown/text, HTML, broken and hidden files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.core.ingest.corpus import corpus_files, load_corpus, read_article
from bot.errors import CorpusError, IngestError

FR_BODY = (
    "La mairie de Lyon a voté hier un budget de 12 millions d'euros pour rénover les écoles du "
    "centre-ville avant la rentrée prochaine. Les travaux commenceront dès le mois de juin."
)
EN_BODY = (
    "The city council approved on Monday a plan to build forty kilometres of protected bike lanes "
    "before the end of next year, the mayor said. Work will start in the spring."
)
HTML_PAGE = """<!doctype html>
<html><head><title>Le port de Marseille investit</title><meta charset="utf-8"></head>
<body>
<nav><a href="/">Accueil</a> | <a href="/sport">Rubrique sport</a></nav>
<article>
<h1>Le port de Marseille investit dans l'électrification des quais</h1>
<p>Le grand port maritime de Marseille a annoncé un investissement de 40 millions d'euros pour
électrifier ses quais d'ici 2027, afin que les navires de croisière puissent couper leurs moteurs
pendant les escales.</p>
<p>Selon la direction du port, ce programme permettra de réduire de 80 % les émissions de particules
fines liées aux escales dans le quartier de la Joliette, qui subit une pollution importante chaque été.</p>
</article>
<footer>Mentions légales et conditions d'utilisation</footer>
<script>var tracker = "ne-doit-pas-apparaitre";</script>
</body></html>
"""


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_front_matter_gives_title_lang_date_url_author(tmp_path):
    path = write(
        tmp_path,
        "budget.md",
        "---\n"
        'title: "Lyon rénove ses écoles"\n'
        "lang: fr\n"
        "date: 2025-10-14\n"
        "url: https://example.org/lyon-ecoles\n"
        "author: Jeanne Martin\n"
        "---\n\n" + FR_BODY + "\n",
    )
    a = read_article(path, tmp_path)
    assert a.id == "budget.md"
    assert a.title == "Lyon rénove ses écoles"
    assert a.lang == "fr"
    assert a.date == "2025-10-14"
    assert a.url == "https://example.org/lyon-ecoles"
    assert a.author == "Jeanne Martin"
    assert a.text == FR_BODY  # the front matter is not part of the text
    assert a.checksum == hashlib.sha256(path.read_bytes()).hexdigest()


def test_front_matter_lang_wins_over_detection(tmp_path):
    path = write(tmp_path, "en.md", "---\ntitle: Bikes\nlang: EN\n---\n" + FR_BODY)
    assert read_article(path, tmp_path).lang == "en"


def test_dev_corpus_front_matter(dev_corpus):
    articles, skipped = load_corpus(dev_corpus)
    assert not skipped
    by_id = {a.id: a for a in articles}
    helios = by_id["amd-helios-rack.md"]
    assert helios.title == "AMD shows Helios, the rack that will carry the MI450"
    assert helios.lang == "en" and helios.date == "2025-10-14"
    openai = by_id["openai-amd.md"]
    assert openai.lang == "fr" and openai.date is None
    assert "---" not in openai.text and not openai.text.startswith("title")
    # The article's own characters are kept (citations quote them exactly); matching normalises.
    assert "d\u2019AMD" in openai.text and "d'AMD" not in openai.text


def test_no_front_matter_title_from_first_heading_and_lang_detected(tmp_path):
    path = write(tmp_path, "note.md", "Chapeau\n\n# Lyon rénove ses écoles\n\n" + FR_BODY + "\n")
    a = read_article(path, tmp_path)
    assert a.title == "Lyon rénove ses écoles"
    assert a.lang == "fr"
    assert "#" not in a.text, "Markdown heading markers are removed from the text"
    assert FR_BODY in a.text


def test_no_front_matter_title_from_first_line_and_english_detected(tmp_path):
    path = write(tmp_path, "bikes.txt", "City council approves new bike lanes\n\n" + EN_BODY + "\n")
    a = read_article(path, tmp_path)
    assert a.title == "City council approves new bike lanes"
    assert a.lang == "en"
    assert EN_BODY in a.text


def test_markdown_links_keep_their_label(tmp_path):
    text = "# Titre\n\nSelon [le rapport officiel](https://example.org/r) publié hier, " + FR_BODY
    path = write(tmp_path, "links.md", text)
    a = read_article(path, tmp_path)
    assert "le rapport officiel publié hier" in a.text
    assert "https://example.org" not in a.text


def test_html_text_extracted_with_title(tmp_path):
    path = write(tmp_path, "page.html", HTML_PAGE)
    a = read_article(path, tmp_path)
    assert "Le port de Marseille investit" in a.title
    assert "40 millions d'euros" in a.text and "Joliette" in a.text
    for boilerplate in ("Rubrique sport", "Mentions légales", "ne-doit-pas-apparaitre", "<p>", "tracker"):
        assert boilerplate not in a.text
    assert a.lang == "fr"


def test_html_title_from_h1_when_there_is_no_title_tag(tmp_path):
    page = (
        "<html><body><article><h1>Lille rénove ses écoles</h1><p>"
        + FR_BODY.replace("Lyon", "Lille")
        + "</p><p>"
        + FR_BODY
        + "</p></article></body></html>"
    )
    a = read_article(write(tmp_path, "lille.htm", page), tmp_path)
    assert a.title == "Lille rénove ses écoles"
    assert "Lille a voté" in a.text


def test_crlf_and_bom_files_read_like_the_others(tmp_path):
    crlf_text = "---\r\ntitle: Lyon\r\nlang: fr\r\n---\r\n\r\n" + FR_BODY + "\r\n"
    crlf = write(tmp_path, "crlf.md", crlf_text.encode())
    bom = write(tmp_path, "bom.md", ("\ufeff---\ntitle: Lyon\nlang: fr\n---\n" + FR_BODY).encode())
    for path in (crlf, bom):
        a = read_article(path, tmp_path)
        assert a.title == "Lyon" and a.lang == "fr"
        assert a.text.strip() == FR_BODY


def test_articles_in_subfolders_get_relative_posix_ids(tmp_path):
    write(tmp_path, "2025/octobre/lyon.md", "# Lyon\n\n" + FR_BODY)
    articles, skipped = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["2025/octobre/lyon.md"] and not skipped


BROKEN = {
    "latin1.md": "Caf\xe9 cr\xe8me: une boisson tr\xe8s appr\xe9ci\xe9e des Parisiens.\n".encode("latin-1"),
    "binary.md": b"PK\x03\x04\x00\x00\x00binary zip content\x00\x00" * 20,
    "bad-yaml.md": "---\ntitle: [unclosed\nlang: fr\n---\n\n" + FR_BODY,
    "empty.md": "",
    "only-front-matter.md": "---\ntitle: Rien\n---\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_read_article_raises_ingest_error_with_a_reason(tmp_path, name):
    path = write(tmp_path, name, BROKEN[name])
    with pytest.raises(IngestError) as info:
        read_article(path, tmp_path)
    assert info.value.user_message


def test_broken_files_are_skipped_and_reported_while_the_rest_loads(tmp_path):
    write(tmp_path, "good-fr.md", "---\ntitle: Lyon\nlang: fr\n---\n" + FR_BODY)
    write(tmp_path, "good-en.txt", "Bike lanes\n\n" + EN_BODY)
    write(tmp_path, "page.html", HTML_PAGE)
    for name, content in BROKEN.items():
        write(tmp_path, name, content)
    articles, skipped = load_corpus(tmp_path)
    assert sorted(a.id for a in articles) == ["good-en.txt", "good-fr.md", "page.html"]
    assert sorted(s.path for s in skipped) == sorted(BROKEN)
    reasons = {s.path: s.reason for s in skipped}
    assert "UTF-8" in reasons["latin1.md"]
    assert "binary" in reasons["binary.md"]
    assert "YAML" in reasons["bad-yaml.md"]
    assert "no text" in reasons["empty.md"]
    for s in skipped:
        assert str(s).startswith(s.path + ": ") and s.reason


def test_hidden_files_and_folders_and_other_suffixes_are_ignored(tmp_path):
    write(tmp_path, "visible.md", "# Visible\n\n" + FR_BODY)
    write(tmp_path, ".hidden.md", "# Hidden\n\n" + EN_BODY)
    write(tmp_path, ".git/notes.md", "# Git\n\n" + EN_BODY)
    write(tmp_path, ".drafts/draft.md", "# Draft\n\n" + EN_BODY)
    write(tmp_path, "image.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    write(tmp_path, "notes.docx", b"PK\x03\x04")
    assert [p.name for p in corpus_files(tmp_path)] == ["visible.md"]
    articles, skipped = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["visible.md"] and skipped == []


def test_a_missing_corpus_folder_is_a_corpus_error(tmp_path):
    with pytest.raises(CorpusError) as info:
        load_corpus(tmp_path / "nowhere")
    assert "nowhere" in info.value.user_message


def test_symbolic_links_out_of_the_corpus_are_not_read(tmp_path):
    corpus = tmp_path / "corpus"
    outside = tmp_path / "outside"
    corpus.mkdir()
    outside.mkdir()
    secret = outside / "secret.md"
    secret.write_text("# Secret\n\nroot:x:0:0 the system file that must never be quoted.\n", encoding="utf-8")
    (outside / "folder").mkdir()
    (outside / "folder" / "other.md").write_text("# Other\n\nAlso private, in a linked folder.\n", "utf-8")
    write(corpus, "good.md", "---\ntitle: Lyon\nlang: fr\n---\n" + FR_BODY)
    write(corpus, "inside.md", "---\ntitle: Inside\n---\n" + EN_BODY)
    (corpus / "link-in.md").symlink_to(corpus / "inside.md")  # stays in the corpus: read
    (corpus / "link-out.md").symlink_to(secret)
    (corpus / "linked").symlink_to(outside / "folder", target_is_directory=True)
    articles, skipped = load_corpus(corpus)
    texts = " ".join(a.text for a in articles)
    assert "root:x" not in texts and "private" not in texts
    assert sorted(a.id for a in articles) == ["good.md", "inside.md", "link-in.md"]
    assert "link-out.md" in {s.path for s in skipped}
    assert all("outside the corpus folder" in s.reason for s in skipped)


def test_source_url_and_added_by_are_read_and_url_stands_in_for_a_missing_source_url(tmp_path):
    ingested = write(
        tmp_path,
        "ingested.md",
        "---\nsource_url: https://example.org/bike-lanes\nadded_by: discord:42\n"
        "url: https://example.org/other\n---\n\n" + EN_BODY + "\n",
    )
    hand_placed = write(tmp_path, "hand.md", "---\nurl: https://example.org/lyon\n---\n\n" + FR_BODY + "\n")
    plain = write(tmp_path, "plain.md", FR_BODY + "\n")

    a = read_article(ingested, tmp_path)
    assert (a.source_url, a.added_by) == ("https://example.org/bike-lanes", "discord:42")
    b = read_article(hand_placed, tmp_path)
    assert (b.source_url, b.added_by) == ("https://example.org/lyon", None)
    c = read_article(plain, tmp_path)
    assert (c.source_url, c.added_by) == (None, None)
