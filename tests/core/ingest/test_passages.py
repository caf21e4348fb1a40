"""Article -> passages: exact offsets, whole sentences, lead-ins kept with their quote, stable ids."""

from __future__ import annotations

import re

import pytest

from bot.core.ingest.passages import MAX_CHARS, MAX_PARAGRAPH_CHARS, split_article
from bot.models import Article


def article(text: str, lang: str = "fr", id: str = "article.md", title: str = "Un titre") -> Article:
    return Article(id=id, title=title, text=text, lang=lang, checksum="0" * 64)  # type: ignore[arg-type]


# Distinct sentences, each well under MAX_CHARS, so that passages must group several of them.
SENTENCES = [
    f"La commune numéro {i} a voté un budget de {i * 3} millions d'euros pour rénover ses écoles, "
    f"ses gymnases et la bibliothèque municipale avant la rentrée {2020 + i}."
    for i in range(1, 19)
]
PARAGRAPHS = [" ".join(SENTENCES[i : i + 3]) for i in range(0, len(SENTENCES), 3)]
MULTI = "\n\n".join(PARAGRAPHS) + "\n"

# Paragraphs long enough to stand alone (>= 80 chars) and short enough to be one passage each.
STANDALONE = [
    "Le gouvernement a présenté mardi un plan de soutien aux agriculteurs touchés par la sécheresse "
    "de l'été.",
    "Le plan prévoit une aide directe de 200 millions d'euros, versée avant la fin de l'année aux "
    "exploitations.",
    "Les syndicats agricoles ont salué un premier pas, tout en jugeant le montant insuffisant face "
    "aux pertes.",
    "Une nouvelle réunion avec le ministre de l'Agriculture est prévue le mois prochain pour discuter "
    "de la suite.",
]
QUOTE = (
    "« Nous commencerons les travaux dès le printemps prochain, sans attendre les subventions de l'État. »"
)


def assert_offsets_exact(a: Article) -> None:
    passages = split_article(a)
    assert passages, "a non-empty article gives at least one passage"
    previous_end = 0
    for position, p in enumerate(passages):
        assert a.text[p.start : p.end] == p.text
        assert p.position == position
        assert p.start >= previous_end, "passages must not overlap and must be in reading order"
        assert p.text == p.text.strip(), "a passage carries no surrounding whitespace"
        assert p.article_id == a.id and p.title == a.title and p.lang == a.lang
        previous_end = p.end
    # No text is lost: everything outside the passages is whitespace.
    covered = [False] * len(a.text)
    for p in passages:
        covered[p.start : p.end] = [True] * (p.end - p.start)
    lost = "".join(c for c, cov in zip(a.text, covered, strict=True) if not cov)
    assert lost.strip() == ""


def test_offsets_are_exact_on_synthetic_text():
    assert_offsets_exact(article(MULTI))
    # Repeated sentences are where sentence splitters' offsets tend to drift.
    repeated = "\n\n".join([STANDALONE[0], STANDALONE[1], STANDALONE[0], STANDALONE[0] + " " + STANDALONE[0]])
    assert_offsets_exact(article(repeated))


def test_offsets_are_exact_on_the_dev_corpus(dev_corpus):
    from bot.core.ingest.corpus import load_corpus

    articles, skipped = load_corpus(dev_corpus)
    assert len(articles) == 5 and not skipped
    for a in articles:
        assert_offsets_exact(a)


def test_passages_are_whole_sentences_under_max_chars():
    a = article(MULTI)
    passages = split_article(a)
    sentence_starts = {MULTI.index(s) for s in SENTENCES}
    sentence_ends = {MULTI.index(s) + len(s) for s in SENTENCES}
    assert len(passages) > len(PARAGRAPHS) - 1
    for p in passages:
        assert len(p.text) <= MAX_CHARS
        assert p.start in sentence_starts, f"passage starts mid-sentence: {p.text[:40]!r}"
        assert p.end in sentence_ends, f"passage ends mid-sentence: {p.text[-40:]!r}"
    # Greedy grouping: a passage would have overflowed with the next sentence of its paragraph.
    for p, nxt in zip(passages, passages[1:], strict=False):
        same_paragraph = "\n" not in MULTI[p.end : nxt.start]
        if same_paragraph:
            assert nxt.end - p.start > MAX_CHARS


def test_a_single_long_sentence_is_cut_at_spaces():
    words = [f"mot{i}" for i in range(300)]
    sentence = "Une phrase interminable " + " ".join(words) + " se termine enfin."
    assert len(sentence) > 3 * MAX_CHARS
    a = article(sentence)
    passages = split_article(a)
    assert len(passages) >= 4
    for p in passages:
        assert 0 < len(p.text) <= MAX_CHARS
        assert a.text[p.start : p.end] == p.text
    for p in passages[:-1]:
        assert a.text[p.end].isspace(), "a long sentence is cut at a space, never inside a word"
    # Joined back with single spaces, the pieces are the sentence itself: no word lost or split.
    assert " ".join(p.text for p in passages) == sentence


def test_pieces_of_a_long_sentence_carry_no_surrounding_whitespace():
    # Copy-pasted text often has runs of spaces: a cut must not leave them at the end of a passage.
    sentence = "Une phrase collée depuis un PDF " + "  ".join(f"mot{i}" for i in range(200)) + " se termine."
    a = article(sentence)
    passages = split_article(a)
    assert len(passages) >= 3
    for p in passages:
        assert a.text[p.start : p.end] == p.text
        assert p.text == p.text.strip(), f"whitespace at the edge of {p.text[-20:]!r}"
        assert len(p.text) <= MAX_CHARS


def test_a_short_lead_in_paragraph_is_joined_to_the_quote_that_follows():
    lead_in = "La ministre a réagi dans un communiqué :"
    quote = "« Cette décision est une excellente nouvelle pour les producteurs et pour toute la filière. »"
    text = "\n".join([STANDALONE[0], lead_in, quote, STANDALONE[1]])
    passages = split_article(article(text))
    holding = [p for p in passages if lead_in in p.text]
    assert len(holding) == 1
    assert quote in holding[0].text, "the quote must be cited with the words that introduce it"
    assert not any(p.text == lead_in for p in passages)


def test_a_long_lead_in_paragraph_ending_in_colon_is_joined_to_the_quote():
    lead_in = "Interrogée sur le calendrier lors de la conférence de presse de jeudi, la maire a répondu :"
    assert len(lead_in) >= 80  # long enough to be a paragraph of its own, but it ends with ":"
    quote = QUOTE
    text = "\n\n".join([STANDALONE[0], lead_in, quote, STANDALONE[1]])
    passages = split_article(article(text))
    holding = [p for p in passages if lead_in in p.text]
    assert len(holding) == 1 and quote in holding[0].text


def test_a_lead_in_closing_a_long_paragraph_stays_with_its_quote():
    # The lead-in is the last sentence of a paragraph that, with it, nearly fills a passage: the quote
    # must not be cut off from the sentence saying who speaks.
    lead_in = "Interrogée sur le calendrier, la maire a répondu lors de la conférence de presse :"
    quote = QUOTE
    # As many context sentences as fit before the lead-in, whatever MAX_CHARS is.
    context = STANDALONE[0]
    for extra in STANDALONE[1:3]:
        if len(context) + 1 + len(extra) + 1 + len(lead_in) < MAX_CHARS:
            context += " " + extra
    assert len(context) + len(lead_in) < MAX_CHARS < len(context) + len(lead_in) + len(quote)
    text = context + " " + lead_in + "\n" + quote + "\n\n" + STANDALONE[3]
    passages = split_article(article(text))
    for p in passages:
        assert len(p.text) <= MAX_CHARS
    with_quote = [p for p in passages if quote in p.text]
    assert len(with_quote) == 1
    assert lead_in in with_quote[0].text, "the quote was separated from its lead-in: " + " | ".join(
        repr(p.text[-60:]) for p in passages
    )


def test_ids_are_stable_across_runs_and_equal_articles():
    first = split_article(article(MULTI))
    second = split_article(article(MULTI))
    assert [p.id for p in first] == [p.id for p in second]
    assert len({p.id for p in first}) == len(first)
    for p in first:
        assert re.fullmatch(r"[0-9a-f]{12}(-\d+)?", p.id)


def test_changing_one_paragraph_changes_only_that_passage_id():
    before = split_article(article("\n\n".join(STANDALONE)))
    assert len(before) == len(STANDALONE)  # one passage per paragraph
    edited = list(STANDALONE)
    edited[2] = edited[2].replace("premier pas", "pas important")
    after = split_article(article("\n\n".join(edited)))
    assert len(after) == len(before)
    changed = [i for i, (b, a) in enumerate(zip(before, after, strict=True)) if b.id != a.id]
    assert changed == [2]


def test_ids_do_not_depend_on_position():
    before = split_article(article("\n\n".join(STANDALONE)))
    extra = "Un paragraphe ajouté en tête de l'article, assez long pour former un passage à lui seul."
    after = split_article(article("\n\n".join([extra, *STANDALONE])))
    assert [p.id for p in after[1:]] == [p.id for p in before]
    assert [p.position for p in after[1:]] == [p.position + 1 for p in before]


def test_same_text_in_another_article_gets_another_id():
    a = split_article(article(STANDALONE[0], id="a.md"))
    b = split_article(article(STANDALONE[0], id="b.md"))
    assert a[0].text == b[0].text and a[0].id != b[0].id


def test_duplicate_text_in_one_article_gets_distinct_stable_ids():
    text = "\n\n".join([STANDALONE[0], STANDALONE[1], STANDALONE[0], STANDALONE[0]])
    passages = split_article(article(text))
    dup = [p for p in passages if p.text == STANDALONE[0]]
    assert len(dup) == 3
    assert len({p.id for p in dup}) == 3
    assert [p.id for p in split_article(article(text))] == [p.id for p in passages]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t\n"])
def test_an_empty_article_has_no_passages(text):
    assert split_article(article(text)) == []


def test_english_text_is_split_with_english_rules():
    text = (
        "Dr. Smith of the U.S. Department of Energy said the plant would open in 2027. "
        "It will employ about 400 people. The investment is worth $1.2 billion."
    )
    passages = split_article(article(text, lang="en"))
    assert len(passages) == 1  # short enough for one passage, abbreviations did not break it oddly
    assert passages[0].text == text


def test_passages_record_the_paragraph_they_belong_to():
    passages = split_article(article(MULTI))
    # Each source paragraph of three sentences is cut into passages; all of them share its number.
    by_paragraph: dict[int, list[str]] = {}
    for p in passages:
        by_paragraph.setdefault(p.paragraph, []).append(p.text)
    assert sorted(by_paragraph) == list(range(len(PARAGRAPHS)))
    assert [" ".join(texts) for _, texts in sorted(by_paragraph.items())] == PARAGRAPHS
    assert any(len(texts) > 1 for texts in by_paragraph.values()), "the test needs split paragraphs"


def test_a_very_long_paragraph_is_numbered_in_parts_of_bounded_length():
    long_paragraph = " ".join(SENTENCES)
    assert len(long_paragraph) > 3 * MAX_PARAGRAPH_CHARS
    passages = split_article(article(long_paragraph + "\n\n" + STANDALONE[0]))
    parts: dict[int, list] = {}
    for p in passages:
        parts.setdefault(p.paragraph, []).append(p)
    assert len(parts) >= 4
    for members in parts.values():
        assert members[-1].end - members[0].start <= MAX_PARAGRAPH_CHARS or len(members) == 1
    # Numbers follow reading order, and the next source paragraph starts a new one.
    assert [p.paragraph for p in passages] == sorted(p.paragraph for p in passages)
    assert passages[-1].text == STANDALONE[0] and passages[-1].paragraph == max(parts)
    assert passages[-2].paragraph == passages[-1].paragraph - 1
