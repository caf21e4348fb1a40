"""Small readers of what the simulated Discord saw; no fake Discord objects."""

from __future__ import annotations

import random

import discord

from bot.models import Answer, Citation, Passage

# A token-shaped secret: tests check that it never reaches a log line or a repr.
FAKE_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.OTAxMjM0.do-not-log-this-secret-token"


def cited_articles(embed: discord.Embed) -> list[str]:
    """The article ids of the citations shown in an answer embed, in order."""
    out = []
    for field in embed.fields:
        if field.name.startswith("["):
            out.append(field.value.rsplit("\n", 1)[-1].split("`")[1])
    return out


def message_sends(env) -> list:
    """Every request by which the bot posted or edited a message (channel, interaction or webhook)."""
    sends = []
    for entry in env.http_requests:
        if entry.method not in ("POST", "PATCH") or not isinstance(entry.json, dict):
            continue
        if "/callback" in entry.path:
            if entry.json.get("type") in (4, 7) and entry.json.get("data"):
                sends.append(entry.json["data"])
        elif entry.path.endswith("/threads"):
            continue  # opening a thread: its name is plain text, there is nothing to ping
        elif "/messages" in entry.path or entry.path.startswith("/webhooks/"):
            sends.append(entry.json)
    return sends


def deferred(env) -> bool:
    """Whether the bot acknowledged an interaction with a deferred 'thinking' response (type 5)."""
    return any(
        e.method == "POST"
        and e.path.endswith("/callback")
        and isinstance(e.json, dict)
        and e.json.get("type") == 5
        for e in env.http_requests
    )


WORDS = "le la les un une des OpenAI AMD gigawatts exaflops mémoire @everyone rack GPU 2026 milliards".split()


def words(n_chars: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    out = []
    size = 0
    while size < n_chars:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n_chars]


def huge_answer(
    citations: int = 10, passage_chars: int = 5000, text_chars: int = 6000, title_chars: int = 400
) -> Answer:
    """An answer far beyond every Discord limit."""
    cits = tuple(
        Citation(
            i + 1,
            Passage(
                id=f"p{i:011d}",
                article_id=f"article-{i}.md",
                title=words(title_chars, i),
                text=words(passage_chars, i),
                start=0,
                end=passage_chars,
                lang="fr",
                position=i,
                paragraph=i,
            ),
            0.5,
        )
        for i in range(citations)
    )
    return Answer(
        question=words(3000), text=words(text_chars) + " [1]", citations=cits, abstained=False, lang="fr"
    )
