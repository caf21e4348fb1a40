"""fetch_url against a local server: limits, redirects, and every way of reaching an internal address."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.config import IngestSettings
from bot.core.ingest import fetch
from bot.core.ingest.fetch import FetchedPage, address_problem, fetch_url
from bot.errors import FetchError, UnsafeURL

CAP = 10_000
PAGE = b"<html><head><title>Local</title></head><body><p>Bonjour le monde.</p></body></html>"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", **headers) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self._send(302, b"", Location=location)

    def do_GET(self) -> None:
        path = self.path
        try:
            if path == "/page":
                self._send(200, PAGE)
            elif path == "/caf%C3%A9?q=%C3%A9t%C3%A9":
                self._send(200, PAGE)
            elif path == "/host":
                self._send(200, f"host={self.headers['Host']}".encode(), "text/plain; charset=utf-8")
            elif path == "/latin1":
                self._send(200, "café".encode("latin-1"), "text/plain; charset=iso-8859-1")
            elif path == "/to-private":
                self._redirect("http://10.0.0.1/")
            elif path == "/to-metadata":
                self._redirect("http://169.254.169.254/latest/meta-data")
            elif path == "/to-credentials":
                self._redirect(f"http://admin:hunter2@127.0.0.1:{self.server.server_address[1]}/page")
            elif path == "/to-file":
                self._redirect("file:///etc/passwd")
            elif path.startswith("/hop/"):
                n = int(path.rsplit("/", 1)[1])
                self._redirect(f"/hop/{n - 1}") if n > 0 else self._send(200, PAGE)
            elif path.startswith("/loop/"):
                self._redirect(f"/loop/{int(path.rsplit('/', 1)[1]) + 1}")
            elif path == "/big-length":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(CAP * 100))
                self.end_headers()
                self.wfile.write(b"x" * CAP * 2)
            elif path == "/big-chunked":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(30):
                    self.wfile.write(b"1000\r\n" + b"y" * 0x1000 + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            elif path == "/slow-body":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "100")
                self.end_headers()
                self._drip(b"z" * 100)
            elif path == "/slow-headers":
                self._drip(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Padding: " + b"p" * 100)
            elif path == "/image":
                self._send(200, b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image/png")
            elif path == "/missing":
                self._send(404, b"not here")
            else:
                self._send(500, b"unknown test path")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, which is what several tests want

    def _drip(self, data: bytes) -> None:
        # One byte every 0.5 s: each read succeeds before any per-read timeout would fire.
        for i in range(len(data)):
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            time.sleep(0.5)


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.block_on_close = False  # drip handlers end on their own once the client is gone
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def settings(*allow: str, **kw) -> IngestSettings:
    values = dict(allow_hosts=list(allow), max_bytes=CAP, timeout_seconds=1.0, max_redirects=3)
    values.update(kw)
    return IngestSettings(**values)


@pytest.fixture
def connects(monkeypatch):
    """Every address a socket connects to during the test."""
    seen: list = []
    original = socket.socket.connect

    def recording(self, address):
        seen.append(address)
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording)
    return seen


def fake_dns(monkeypatch, *answers: str) -> list[str]:
    """Make getaddrinfo answer each call with the next address (the last one repeats); returns the calls."""
    calls: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        calls.append(host)
        ip = answers[min(len(calls), len(answers)) - 1]
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        sockaddr = (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


# --- what works -------------------------------------------------------------------------------------


def test_page_from_allowed_host(server):
    base, _ = server
    page = fetch_url(f"{base}/page", settings("127.0.0.1"))
    assert isinstance(page, FetchedPage)
    assert page.body == PAGE
    assert page.content_type == "text/html"
    assert page.charset == "utf-8"
    assert page.final_url == f"{base}/page"


def test_redirects_within_the_limit_are_followed(server):
    base, _ = server
    page = fetch_url(f"{base}/hop/3", settings("127.0.0.1"))
    assert page.body == PAGE
    assert page.final_url == f"{base}/hop/0"


def test_declared_charset_is_reported(server):
    base, _ = server
    page = fetch_url(f"{base}/latin1", settings("127.0.0.1"))
    assert page.charset == "iso-8859-1"
    assert page.body.decode(page.charset) == "café"


# --- refused before connecting --------------------------------------------------------------------


def test_loopback_refused_without_allow_list(server, connects):
    base, _ = server
    with pytest.raises(UnsafeURL, match=r"loopback address \(127\.0\.0\.1\)"):
        fetch_url(f"{base}/page", settings())
    assert connects == []


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://10.0.0.1/", "private address (10.0.0.1)"),
        ("http://169.254.169.254/", "link-local address (169.254.169.254)"),
        ("http://[::ffff:127.0.0.1]/", "loopback address (127.0.0.1)"),
        ("http://100.64.0.1/", "carrier-grade NAT address (100.64.0.1)"),
        ("http://224.0.0.1/", "multicast address (224.0.0.1)"),
        ("http://0.0.0.0/", "unspecified address"),
        ("http://[::1]/", "loopback address"),
        ("http://[fe80::1]/", "link-local address"),
        ("http://[2002:a00:1::]/", "private address"),  # 6to4 wrapping 10.0.0.1
        ("http://[64:ff9b::a9fe:a9fe]/", "link-local address"),  # NAT64 wrapping 169.254.169.254
        ("http://2130706433/", "loopback address (127.0.0.1)"),  # decimal spelling of 127.0.0.1
        ("file:///etc/passwd", "only http and https"),
        ("ftp://x/", "only http and https"),
        ("gopher://x/", "only http and https"),
        ("data:text/html,hello", "only http and https"),
    ],
)
def test_internal_or_odd_urls_refused(url, reason, connects):
    with pytest.raises(UnsafeURL) as exc:
        fetch_url(url, settings())
    assert exc.value.user_message.startswith(f"Refused {url}:")
    assert reason in exc.value.user_message
    assert connects == []


def test_address_problem_accepts_public_addresses():
    assert address_problem(ipaddress.ip_address("93.184.216.34")) is None
    assert address_problem(ipaddress.ip_address("2606:4700::1111")) is None
    assert address_problem(ipaddress.ip_address("192.168.1.1")) == "a private address"


def test_hostname_resolving_to_private_address_refused(monkeypatch, connects):
    fake_dns(monkeypatch, "10.0.0.5")
    with pytest.raises(
        UnsafeURL, match=r"Refused http://evil\.test/: it resolves to a private address \(10\.0\.0\.5\)"
    ):
        fetch_url("http://evil.test/", settings())
    assert connects == []


def test_every_resolved_address_is_checked(monkeypatch, connects):
    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(UnsafeURL, match="loopback"):
        fetch_url("http://mixed.test/", settings())
    assert connects == []


@pytest.mark.parametrize(
    "path, target",
    [("/to-private", "10.0.0.1"), ("/to-metadata", "169.254.169.254"), ("/to-file", "file:")],
)
def test_redirect_to_internal_target_refused_before_connecting(server, connects, path, target):
    base, port = server
    with pytest.raises(UnsafeURL) as exc:
        fetch_url(f"{base}{path}", settings("127.0.0.1"))
    message = exc.value.user_message
    assert message.startswith(f"Refused {base}{path}: it redirects to ")
    assert target in message
    # Only the allowed first hop was ever connected to.
    assert connects == [("127.0.0.1", port)]


# --- the checked address is the one used ----------------------------------------------------------


def test_allowed_hostname_connects_to_checked_address_with_original_host(server, monkeypatch, connects):
    _, port = server
    calls = fake_dns(monkeypatch, "127.0.0.1")
    page = fetch_url(f"http://ok.test:{port}/host", settings("ok.test"))
    assert page.body == f"host=ok.test:{port}".encode()
    assert calls == ["ok.test"]
    assert connects == [("127.0.0.1", port)]


def test_no_second_resolution_dns_rebinding(server, monkeypatch, connects):
    _, port = server
    # A rebinding resolver: the checked answer first, an internal one afterwards.
    calls = fake_dns(monkeypatch, "127.0.0.1", "10.0.0.7")
    page = fetch_url(f"http://ok.test:{port}/host", settings("ok.test"))
    assert page.body == f"host=ok.test:{port}".encode()
    assert calls == ["ok.test"]  # resolved once, and that answer was used
    assert connects == [("127.0.0.1", port)]


# --- limits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, limits, message",
    [
        ("/loop/0", {}, "redirects more than 3 times"),
        ("/hop/1", {"max_redirects": 0}, "redirects more than 0 times"),
        ("/big-length", {}, "larger than the limit of 10,000 bytes"),  # declared Content-Length
        ("/big-chunked", {}, "larger than the limit of 10,000 bytes"),  # counted while reading
        ("/image", {}, "image/png"),
        ("/missing", {}, "404"),
    ],
)
def test_a_page_over_a_limit_or_unusable_is_refused_with_the_reason(server, path, limits, message):
    base, _ = server
    with pytest.raises(FetchError, match=message):
        fetch_url(f"{base}{path}", settings("127.0.0.1", **limits))


def test_chunked_body_under_cap_is_read_whole(server):
    base, _ = server
    page = fetch_url(f"{base}/big-chunked", settings("127.0.0.1", max_bytes=200_000))
    assert page.body == b"y" * 0x1000 * 30


@pytest.mark.parametrize("path", ["/slow-body", "/slow-headers"])
def test_slow_drip_times_out(server, path):
    base, _ = server
    start = time.monotonic()
    with pytest.raises(FetchError, match="did not answer within 1 second"):
        fetch_url(f"{base}{path}", settings("127.0.0.1", timeout_seconds=1))
    assert time.monotonic() - start < 2.5


def test_connection_refused_is_a_fetch_error():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError, match="connection was refused"):
        fetch_url(f"http://127.0.0.1:{port}/", settings("127.0.0.1"))


# --- HTTPS: SNI and certificate checked against the host name, not the pinned address ---------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder: Path = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ok.test",
         "-addext", "subjectAltName=DNS:ok.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.block_on_close = False
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1], cert
    srv.shutdown()
    srv.server_close()


def trust(monkeypatch, cert: Path) -> None:
    """Make fetch's default TLS context trust the test certificate (and nothing else)."""
    real = ssl.create_default_context
    monkeypatch.setattr(fetch.ssl, "create_default_context", lambda *a, **k: real(cafile=str(cert)))


def test_https_checks_certificate_for_original_host(tls_server, monkeypatch, connects):
    port, cert = tls_server
    trust(monkeypatch, cert)
    fake_dns(monkeypatch, "127.0.0.1")
    page = fetch_url(f"https://ok.test:{port}/host", settings("ok.test", "other.test"))
    assert page.body == f"host=ok.test:{port}".encode()
    assert connects == [("127.0.0.1", port)]
    # Same address, another name: the certificate does not match, so the fetch fails.
    with pytest.raises(FetchError, match="certificate is not valid"):
        fetch_url(f"https://other.test:{port}/host", settings("ok.test", "other.test"))


def test_https_untrusted_certificate_refused(tls_server):
    port, _ = tls_server
    with pytest.raises(FetchError, match="certificate is not valid"):
        fetch_url(f"https://127.0.0.1:{port}/page", settings("127.0.0.1"))


def test_non_ascii_path_is_percent_encoded(server):
    base, _ = server
    page = fetch_url(f"{base}/café?q=été", settings("127.0.0.1"))
    assert page.body == PAGE


@pytest.mark.parametrize("userinfo", ["user:hunter2@", "hunter2@", ":hunter2@", "user:hunter2@@"])
def test_links_with_credentials_are_refused_without_showing_them(server, connects, caplog, userinfo):
    base, _ = server
    url = base.replace("//", "//" + userinfo, 1) + "/page"
    with caplog.at_level("DEBUG"):
        with pytest.raises(UnsafeURL, match="user name or password") as exc:
            fetch_url(url, settings("127.0.0.1"))
    assert "hunter2" not in exc.value.user_message
    assert f"{base}/page" in exc.value.user_message
    assert "hunter2" not in caplog.text
    assert connects == []


def test_a_redirect_to_a_link_with_credentials_is_refused(server, caplog):
    base, _ = server
    with caplog.at_level("DEBUG"):
        with pytest.raises(UnsafeURL, match="user name or password") as exc:
            fetch_url(f"{base}/to-credentials", settings("127.0.0.1"))
    assert "hunter2" not in exc.value.user_message and "hunter2" not in caplog.text
