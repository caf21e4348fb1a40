"""A real HTTP server on 127.0.0.1 serving feeds and article pages, counting what it was asked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None


@dataclass
class Seen:
    path: str
    status: int
    if_none_match: str | None


@dataclass
class FeedServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def start() -> tuple[FeedServer, ThreadingHTTPServer]:
    """Serve FeedServer.routes in a thread; the caller shuts the server down."""
    state = FeedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            route = state.routes.get(self.path)
            inm = self.headers.get("If-None-Match")
            if route is None:
                status, body, ctype, etag = 404, b"not found", "text/plain", None
            elif route.etag and inm == route.etag:
                status, body, ctype, etag = 304, b"", route.content_type, route.etag
            else:
                status, body, ctype, etag = route.status, route.body, route.content_type, route.etag
            state.requests.append(Seen(self.path, status, inm))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if etag:
                self.send_header("ETag", etag)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


def article_html(title: str, topic: str) -> bytes:
    """A news page with enough text for the extractor to keep it."""
    paragraphs = "".join(
        f"<p>{escape(topic)} — paragraph {i}: the company said the change affects {i * 7} data centres "
        f"and will be completed before the end of the year, according to a statement on {escape(topic)}.</p>"
        for i in range(1, 7)
    )
    return (
        f"<html><head><title>{escape(title)}</title></head><body><article><h1>{escape(title)}</h1>"
        f"{paragraphs}</article></body></html>"
    ).encode()


def rss(items: list[tuple[str, str]]) -> bytes:
    """An RSS 2.0 document of (title, link) items."""
    body = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid></item>"
        for t, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Tech news</title>'
        f"<link>http://example.org/</link><description>d</description>{body}</channel></rss>"
    ).encode()


def atom(items: list[tuple[str, str]]) -> bytes:
    """An Atom document of (title, link) entries."""
    body = "".join(
        f'<entry><title>{escape(t)}</title><link href="{escape(link)}"/><id>{escape(link)}</id>'
        "<updated>2026-12-01T10:00:00Z</updated></entry>"
        for t, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title>'
        f"<id>urn:wire</id><updated>2026-12-01T10:00:00Z</updated>{body}</feed>"
    ).encode()


@contextmanager
def serving() -> Iterator[FeedServer]:
    """A running FeedServer for the length of a `with` block (the tests' `web` fixture)."""
    state, server = start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
