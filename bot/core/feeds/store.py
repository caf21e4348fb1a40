"""The followed feeds, kept in a small JSON file beside the corpus (never inside it: it is not an article)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from filelock import FileLock, Timeout

from bot.core.ingest.fetch import redact_credentials
from bot.errors import BotError

FILE_NAME = "feeds.json"


class FeedError(BotError):
    """A feed cannot be added, removed or read; the message says why."""


@dataclass
class Feed:
    """One followed feed: where to post its changelog, and what the last polls learnt."""

    url: str
    channel_id: int | None = None
    added_by: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_poll: float | None = None
    last_error: str | None = None
    failures: int = 0
    next_try: float = 0.0
    # Normalised links of the entries already handled (pruned to the entries the feed still lists).
    seen: list[str] = field(default_factory=list)
    # Links whose page failed, with the number of attempts (given up after MAX_ENTRY_ATTEMPTS).
    failed: dict[str, int] = field(default_factory=dict)


def feeds_path(corpus_dir: Path, configured: Path | None = None) -> Path:
    """The feeds file: NEWSBOT_FEEDS_FILE, else feeds.json beside the corpus folder."""
    return configured if configured is not None else corpus_dir.resolve().parent / FILE_NAME


def normalise_url(url: str) -> str:
    """A link without its fragment and utm_* tracking parameters, scheme and host lower-cased."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith("utm_")]
    netloc = parts.netloc.lower()
    scheme = parts.scheme.lower()
    # The default port names the same page.
    if (scheme, netloc.rpartition(":")[2]) in (("http", "80"), ("https", "443")):
        netloc = netloc.rpartition(":")[0]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def _lock(path: Path) -> FileLock:
    return FileLock(str(path) + ".lock", timeout=30)


def load(path: Path) -> list[Feed]:
    """The feeds in the file (none when it does not exist); a damaged file is reported, never replaced."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedError(f"Cannot read the feeds file {path}: {exc}.") from exc
    try:
        data = json.loads(raw)
        return [Feed(**item) for item in data["feeds"]]
    except (ValueError, KeyError, TypeError) as exc:
        # Not rewritten: the operator's list must not be lost to a bad edit.
        raise FeedError(f"The feeds file {path} is damaged ({exc.__class__.__name__}); fix or move it.") from exc


def _save(path: Path, feeds: list[Feed]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".feeds-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"feeds": [asdict(feed) for feed in feeds]}, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # readers see the old file or the new one, whole
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_feed_url(url: str) -> str:
    """The URL to store, or FeedError with a one-line reason (the fetcher checks the address at poll)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise FeedError(f"Cannot follow {redact_credentials(url)}: it is not a valid link.") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FeedError(f"Cannot follow {redact_credentials(url)}: give a full http:// or https:// link.")
    if "@" in parts.netloc:
        raise FeedError("Cannot follow this link: it contains a user name or password; remove them.")
    if len(url) > 2000:
        raise FeedError("Cannot follow this link: it is longer than 2000 characters.")
    return url


def add(path: Path, url: str, channel_id: int | None = None, added_by: str | None = None) -> Feed:
    """Follow a feed; the same feed twice is refused (its channel can be changed by removing it first)."""
    url = check_feed_url(url)
    try:
        with _lock(path):
            feeds = load(path)
            key = normalise_url(url)
            if any(normalise_url(f.url) == key for f in feeds):
                raise FeedError(f"{url} is already followed.")
            feed = Feed(url=url, channel_id=channel_id, added_by=added_by)
            _save(path, [*feeds, feed])
            return feed
    except Timeout as exc:
        raise FeedError("The feeds file is busy (a poll is saving it); try again in a moment.") from exc


def remove(path: Path, url: str) -> Feed:
    """Stop following a feed (its articles stay in the corpus); FeedError when it is not followed."""
    try:
        with _lock(path):
            feeds = load(path)
            key = normalise_url(url)
            kept = [f for f in feeds if normalise_url(f.url) != key]
            if len(kept) == len(feeds):
                raise FeedError(f"{redact_credentials(url.strip())} is not a followed feed.")
            _save(path, kept)
            return next(f for f in feeds if normalise_url(f.url) == key)
    except Timeout as exc:
        raise FeedError("The feeds file is busy (a poll is saving it); try again in a moment.") from exc


def merge(path: Path, polled: list[Feed]) -> None:
    """Save what a poll learnt about each feed, keeping feeds added or removed while it ran."""
    by_url = {f.url: f for f in polled}
    with _lock(path):
        merged = []
        for feed in load(path):
            new = by_url.get(feed.url)
            if new is not None:
                # The poll's state, with the channel as it is now (it may have changed meanwhile).
                new.channel_id, new.added_by = feed.channel_id, feed.added_by
            merged.append(new or feed)
        _save(path, merged)
