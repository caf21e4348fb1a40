"""Fetching a feed document through the SSRF-safe fetcher's checks, with a conditional request.

The page fetcher (core/ingest/fetch.py) accepts only web pages and sends no validators, so this
module reuses its address checks, pinned connections, deadline and bounded reader, and changes
only the request: feed media types are accepted and ETag / Last-Modified are sent back.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urljoin

from bot.config import IngestSettings
from bot.core.ingest import fetch as page_fetch
from bot.errors import FetchError, UnsafeURL

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"


@dataclass(frozen=True)
class FeedDocument:
    """A feed's bytes and the validators to send next time; `body` is None when the server said 304."""

    final_url: str
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None


def _request(target, settings: IngestSettings, deadline, shown: str, headers: dict[str, str]):
    """One GET; returns ("redirect", location) or ("done", FeedDocument)."""
    cls = page_fetch._PinnedHTTPSConnection if target.scheme == "https" else page_fetch._PinnedHTTPConnection
    conn = cls(target, deadline)
    try:
        conn.request("GET", target.path, headers=headers)
        sock = conn.sock
        resp = conn.getresponse()
        if resp.status in page_fetch.REDIRECT_STATUSES and resp.getheader("Location"):
            return "redirect", resp.getheader("Location")
        if resp.status == 304:
            return "done", FeedDocument(target.url, None, resp.getheader("ETag"), resp.getheader("Last-Modified"))
        if not 200 <= resp.status < 300:
            reason = f" {resp.reason}" if resp.reason else ""
            raise FetchError(f"Could not fetch {shown}: the server answered {resp.status}{reason}.")
        page_fetch._check_declared_length(resp.getheader("Content-Length"), settings.max_bytes, shown)
        body = page_fetch._read_body(resp, sock, settings.max_bytes, deadline, shown)
        return "done", FeedDocument(target.url, body, resp.getheader("ETag"), resp.getheader("Last-Modified"))
    finally:
        conn.close()


def fetch_feed(
    url: str, settings: IngestSettings, etag: str | None = None, last_modified: str | None = None
) -> FeedDocument:
    """Fetch a feed within the ingest limits; raises UnsafeURL or FetchError with a one-line message."""
    shown = page_fetch._show(url)
    headers = {
        "User-Agent": page_fetch.USER_AGENT,
        "Accept": ACCEPT,
        "Accept-Encoding": "identity",
        "Connection": "close",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        target = page_fetch._check_url(url, settings)
    except page_fetch._Refused as exc:
        raise UnsafeURL(f"Refused {shown}: {exc}.") from exc
    deadline = page_fetch._Deadline(settings.timeout_seconds)
    try:
        for _hop in range(settings.max_redirects + 1):
            try:
                kind, value = _request(target, settings, deadline, shown, headers)
            except TimeoutError as exc:
                raise FetchError(f"Could not fetch {shown}: it did not answer in time.") from exc
            except (OSError, http.client.HTTPException) as exc:
                raise FetchError(f"Could not fetch {shown}: {page_fetch._describe(exc)}.") from exc
            if kind == "done":
                return value
            next_url = urljoin(target.url, value.strip())
            try:
                target = page_fetch._check_url(next_url, settings)
            except page_fetch._Refused as exc:
                raise UnsafeURL(f"Refused {shown}: it redirects to {page_fetch._show(next_url)} ({exc}).") from exc
        raise FetchError(f"Could not fetch {shown}: it redirects more than {settings.max_redirects} times.")
    finally:
        deadline.cancel()
