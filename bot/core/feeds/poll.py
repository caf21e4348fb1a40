"""One poll of every followed feed: new entries fetched, extracted, deduplicated and stored.

Indexing is left to the caller, once per poll (the bot under its build lock, the CLI directly),
so a poll that added ten articles costs one index update, not ten.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import FeedsSettings, IngestSettings
from bot.core.audit import audit_path, record
from bot.core.feeds import store
from bot.core.feeds.fetch import fetch_feed
from bot.core.feeds.store import Feed, normalise_url
from bot.core.ingest.add import ingest_url
from bot.core.ingest.fetch import redact_credentials
from bot.errors import BotError

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 24 * 3600
MAX_ENTRY_ATTEMPTS = 3


@dataclass(frozen=True)
class NewArticle:
    """An article a feed added or updated."""

    title: str
    url: str
    article_id: str
    status: str


@dataclass
class FeedOutcome:
    """What one poll did with one feed."""

    feed: Feed
    articles: list[NewArticle] = field(default_factory=list)
    not_modified: bool = False
    error: str | None = None
    skipped: bool = False


@dataclass
class PollReport:
    """Every feed's outcome; `changed` says whether the index needs an update."""

    outcomes: list[FeedOutcome] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(o.articles for o in self.outcomes)


def _fail(feed: Feed, message: str, now: float, interval: float) -> None:
    feed.failures += 1
    feed.last_error = message
    # Exponential backoff from the poll interval (at least a minute), at most a day.
    base = max(interval, 60.0)
    feed.next_try = now + min(base * 2 ** (feed.failures - 1), MAX_BACKOFF_SECONDS)


def _shown(link: str) -> str:
    """An entry link for a note: no credentials, and short."""
    link = redact_credentials(link)
    return link if len(link) <= 120 else link[:117] + "..."


def _poll_one(
    feed: Feed, corpus_dir: Path, ingest: IngestSettings, feeds: FeedsSettings, now: float
) -> FeedOutcome:
    import feedparser

    outcome = FeedOutcome(feed)
    interval = feeds.interval_minutes * 60
    feed.last_poll = now
    try:
        doc = fetch_feed(feed.url, ingest, feed.etag, feed.last_modified)
    except BotError as exc:
        _fail(feed, exc.user_message, now, interval)
        outcome.error = feed.last_error
        return outcome
    if doc.body is None:  # 304: nothing new, and nothing else fetched
        outcome.not_modified = True
        feed.failures, feed.last_error, feed.next_try = 0, None, 0.0
        return outcome
    parsed = feedparser.parse(doc.body)
    if not parsed.entries and (parsed.bozo or not parsed.version):
        _fail(feed, f"{feed.url} is not an RSS or Atom feed.", now, interval)
        outcome.error = feed.last_error
        return outcome
    # Validators are kept only once the document was read as a feed.
    feed.etag, feed.last_modified = doc.etag, doc.last_modified
    entries = parsed.entries[: feeds.max_entries]
    notes = []
    if len(parsed.entries) > feeds.max_entries:
        notes.append(f"the feed lists {len(parsed.entries):,} entries; only the first {feeds.max_entries} are read")
    seen = set(feed.seen)
    listed: list[str] = []
    who = f"feed:{feed.url}"
    for entry in entries:
        link = entry.get("link")
        if not link or not isinstance(link, str):
            continue
        try:
            key = normalise_url(link)
        except ValueError:  # "http://[oops": one bad link must not fail the whole feed
            notes.append(f"skipped an entry whose link is not valid ({_shown(link)})")
            continue
        if "@" in urlsplit(key).netloc:
            # Refused before anything is kept: feeds.json lists seen and failed links.
            notes.append(f"skipped an entry link with a user name or password ({_shown(link)})")
            continue
        if key in listed:
            continue  # the same article twice in one document
        listed.append(key)
        if key in seen or feed.failed.get(key, 0) >= MAX_ENTRY_ATTEMPTS:
            continue
        try:
            result = ingest_url(key, corpus_dir, ingest, added_by=who)
        except BotError as exc:
            feed.failed[key] = feed.failed.get(key, 0) + 1
            notes.append(exc.user_message)
            continue
        except Exception as exc:  # one bad page must not stop the feed
            log.exception("Unexpected error on %s", key)
            feed.failed[key] = feed.failed.get(key, 0) + 1
            notes.append(f"{key}: unexpected error ({exc.__class__.__name__})")
            continue
        seen.add(key)
        feed.failed.pop(key, None)
        if result.status != "duplicate":
            record(audit_path(corpus_dir), result.status, result.article_id, key, user_name=who)
            title = str(entry.get("title") or result.title)
            outcome.articles.append(NewArticle(title, key, result.article_id, result.status))
    # Links the feed no longer lists will not come back: the lists stay the size of one document.
    feed.seen = [k for k in listed if k in seen]
    feed.failed = {k: n for k, n in feed.failed.items() if k in listed}
    feed.failures, feed.next_try = 0, 0.0
    feed.last_error = "; ".join(notes)[:500] if notes else None
    outcome.error = feed.last_error
    return outcome


def poll_feeds(
    corpus_dir: Path,
    ingest: IngestSettings,
    feeds: FeedsSettings,
    force: bool = False,
    now: float | None = None,
) -> PollReport:
    """Poll every feed due (all with `force`), store new articles, save what was learnt; no indexing."""
    path = store.feeds_path(corpus_dir, feeds.file)
    now = time.time() if now is None else now
    report = PollReport()
    polled = []
    for feed in store.load(path):
        if not force and feed.next_try > now:
            report.outcomes.append(FeedOutcome(feed, skipped=True))
            continue
        try:
            outcome = _poll_one(feed, corpus_dir, ingest, feeds, now)
        except Exception as exc:  # never let one feed stop the others
            log.exception("Polling %s failed", feed.url)
            _fail(feed, f"unexpected error ({exc.__class__.__name__})", now, feeds.interval_minutes * 60)
            outcome = FeedOutcome(feed, error=feed.last_error)
        report.outcomes.append(outcome)
        polled.append(feed)
    if polled:
        store.merge(path, polled)
    return report


def changelog(articles: list[NewArticle], limit: int = 1900) -> str:
    """'3 new articles: [title](<url>), …' — links in angle brackets so Discord shows no previews."""
    added = sum(a.status == "added" for a in articles)
    updated = len(articles) - added
    parts = []
    if added:
        parts.append(f"{added} new article{'s' if added != 1 else ''}")
    if updated:
        parts.append(f"{updated} updated")
    head = " and ".join(parts) + ": "
    items = []
    size = len(head)
    for a in articles:
        title = " ".join(a.title.split())[:150].replace("[", "(").replace("]", ")")
        item = f"[{title}](<{a.url}>)"
        if size + len(item) + 2 > limit:
            items.append(f"and {len(articles) - len(items)} more")
            break
        items.append(item)
        size += len(item) + 2
    return head + ", ".join(items)
