"""Fetching a web page for ingestion without letting a URL reach the bot's own network (SSRF).

Every address a host resolves to is checked, and the connection is made to that checked address
(never resolved a second time), so DNS rebinding cannot swap in an internal address. Redirects are
followed by hand and each target is checked the same way before anything connects to it.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from bot.config import IngestSettings
from bot.errors import FetchError, UnsafeURL

log = logging.getLogger(__name__)

ACCEPTED_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain", "text/markdown"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "newsbot/0.1 (article ingestion)"
_CHUNK = 64 * 1024
_MAX_URL_CHARS = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class FetchedPage:
    """A fetched document: where it was finally found, its media type, raw bytes and declared charset."""

    final_url: str
    content_type: str
    body: bytes
    charset: str | None = None


@dataclass(frozen=True)
class _Target:
    """A URL that passed the checks, with the addresses that were checked (and only those are used)."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[tuple[int, tuple], ...]  # (family, sockaddr) as returned by getaddrinfo


# "user:password@host..." typed without http://: a link with credentials, not a file name.
SCHEMELESS_CREDENTIALS_RE = re.compile(r"^(?://)?[^/?#\s@:]*:[^/?#\s@]*@(?=[^/?#\s@]+)")


def redact_credentials(url: str) -> str:
    """`url` without a `user:password@` part, for messages and logs; other text is returned as is."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is not None and parts.netloc and "@" in parts.netloc:
        return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    # Not parsable as a link: still drop anything that looks like userinfo before a host.
    url = re.sub(r"(?<=//)[^/?#\s]*@", "", url)
    # Without a scheme ("user:password@host/x") urlsplit reads "user" as the scheme.
    return SCHEMELESS_CREDENTIALS_RE.sub("", url)


def _show(url: str) -> str:
    # URLs end up in chat messages and logs: never with credentials, and readable.
    url = redact_credentials(url)
    return url if len(url) <= 120 else url[:117] + "..."


def address_problem(ip: IPAddress) -> str | None:
    """Why the bot must not connect to `ip` ("a private address"...), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        # Addresses that embed an IPv4 address are judged by the address they lead to.
        if ip.ipv4_mapped is not None:
            return address_problem(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            return address_problem(ip.sixtofour)
        if ip.teredo is not None:
            return address_problem(ip.teredo[1])
        if ip in _NAT64:
            return address_problem(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a carrier-grade NAT address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None


class _Refused(Exception):
    """Why a URL is refused, phrased to follow "because" or "Refused <url>:"."""


def _check_url(url: str, settings: IngestSettings) -> _Target:
    """Parse `url`, resolve its host once and check every address; raises _Refused with the reason."""
    if len(url) > _MAX_URL_CHARS:
        raise _Refused(f"the link is longer than {_MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise _Refused(f"it is not a valid link ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        what = f"{scheme}: links" if scheme else "links without http:// or https://"
        raise _Refused(f"only http and https links can be fetched, not {what}")
    if "@" in parts.netloc:
        # Credentials would be stored in the front matter and shown as the article's link.
        raise _Refused("it contains a user name or password; remove them (they are never stored or sent)")
    if not parts.hostname:
        raise _Refused("the link has no host name")
    try:
        # IDNA once here so the Host header, SNI and the allow list all see the same ASCII name.
        host = parts.hostname.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise _Refused(f"{parts.hostname!r} is not a valid host name") from exc
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"Could not fetch {_show(url)}: the host {host} was not found.") from exc
    addresses: list[tuple[int, tuple]] = []
    allowed = host in {h.strip().lower() for h in settings.allow_hosts}
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        problem = None if allowed else address_problem(ip)
        if problem:
            shown_ip = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
            raise _Refused(f"it resolves to {problem} ({shown_ip})")
        if (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    if not addresses:
        raise FetchError(f"Could not fetch {_show(url)}: the host {host} has no usable address.")
    # http.client sends the request line as ASCII: percent-encode what is not (é, spaces...),
    # leaving existing escapes and URL syntax alone.
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=?~")
    return _Target(url.strip(), scheme, host, port, path, tuple(addresses))


class _Deadline:
    """One time budget for a whole fetch; when it runs out the open socket is shut down.

    Per-operation socket timeouts alone do not stop a server that sends one byte just before each
    timeout, so a timer thread cuts the connection and unblocks whatever read is waiting.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0 or self.expired:
            raise TimeoutError
        return left

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.expired and sock is not None:
                self._cut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                self._cut(self._sock)

    @staticmethod
    def _cut(sock: socket.socket) -> None:
        try:
            # socket.socket's own shutdown, not SSLSocket's, which would also drop the TLS state
            # under a reader in another thread.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass

    def cancel(self) -> None:
        self._timer.cancel()


def _open_socket(target: _Target, deadline: _Deadline) -> socket.socket:
    """A TCP connection to one of the checked addresses (tried in order)."""
    last: OSError | None = None
    for family, sockaddr in target.addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            deadline.watch(sock)
            sock.settimeout(deadline.remaining())
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            if isinstance(exc, TimeoutError) or deadline.expired:
                raise TimeoutError from exc
            last = exc
    assert last is not None
    raise last


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the checked address, with the original host name in the Host header."""

    def __init__(self, target: _Target, deadline: _Deadline) -> None:
        super().__init__(target.host, target.port, timeout=deadline.remaining())
        self._target, self._deadline = target, deadline

    def connect(self) -> None:
        self.sock = _open_socket(self._target, self._deadline)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked address; SNI and the certificate are checked against the original host."""

    def __init__(self, target: _Target, deadline: _Deadline) -> None:
        super().__init__(
            target.host, target.port, timeout=deadline.remaining(), context=ssl.create_default_context()
        )
        self._target, self._deadline = target, deadline

    def connect(self) -> None:
        raw = _open_socket(self._target, self._deadline)
        self.sock = self._context.wrap_socket(raw, server_hostname=self._target.host)
        self._deadline.watch(self.sock)


@dataclass
class _Response:
    status: int
    location: str | None = None
    page: FetchedPage | None = None


def _request(target: _Target, settings: IngestSettings, deadline: _Deadline, shown: str) -> _Response:
    """One GET to a checked target: a redirect location, or the page once every limit is respected."""
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target, deadline)
    try:
        conn.request(
            "GET",
            target.path,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,text/markdown;q=0.9,*/*;q=0.1",
                "Accept-Encoding": "identity",
                "Connection": "close",
            },
        )
        # getresponse() may close the connection object, so keep our own handle on the socket.
        sock = conn.sock
        resp = conn.getresponse()
        if resp.status in REDIRECT_STATUSES and resp.getheader("Location"):
            return _Response(resp.status, location=resp.getheader("Location"))
        if not 200 <= resp.status < 300:
            reason = f" {resp.reason}" if resp.reason else ""
            raise FetchError(f"Could not fetch {shown}: the server answered {resp.status}{reason}.")
        raw_type = resp.getheader("Content-Type")
        content_type = resp.headers.get_content_type() if raw_type else ""
        if content_type not in ACCEPTED_TYPES:
            what = f"{content_type} content" if content_type else "content of an unknown type"
            raise FetchError(
                f"Could not add {shown}: it is {what}; only web pages, plain text and Markdown can be added."
            )
        _check_declared_length(resp.getheader("Content-Length"), settings.max_bytes, shown)
        body = _read_body(resp, sock, settings.max_bytes, deadline, shown)
        page = FetchedPage(target.url, content_type, body, resp.headers.get_content_charset())
        return _Response(resp.status, page=page)
    finally:
        conn.close()


def _too_big(shown: str, limit: int) -> FetchError:
    return FetchError(f"Could not add {shown}: the page is larger than the limit of {limit:,} bytes.")


def _check_declared_length(header: str | None, limit: int, shown: str) -> None:
    try:
        declared = int(header) if header is not None else None
    except ValueError:
        declared = None  # a bogus length is ignored: the bytes are counted anyway
    if declared is not None and declared > limit:
        raise _too_big(shown, limit)


def _read_body(
    resp: http.client.HTTPResponse, sock: socket.socket | None, limit: int, deadline: _Deadline, shown: str
) -> bytes:
    """The body, read in bounded chunks so that size and time are checked as it arrives."""
    chunks: list[bytes] = []
    total = 0
    while True:
        if sock is not None:
            sock.settimeout(deadline.remaining())
        # read1 returns after one network read: read(n) would wait for n bytes from a slow server.
        chunk = resp.read1(_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise _too_big(shown, limit)
        chunks.append(chunk)
    if deadline.expired:
        raise TimeoutError
    if resp.length:  # the server closed before sending what Content-Length announced
        raise FetchError(f"Could not fetch {shown}: the connection was closed before the page was complete.")
    return b"".join(chunks)


def fetch_url(url: str, settings: IngestSettings) -> FetchedPage:
    """Fetch a web page within the ingest limits; raises UnsafeURL or FetchError with a user message."""
    shown = _show(url)
    try:
        target = _check_url(url, settings)
    except _Refused as exc:
        raise UnsafeURL(f"Refused {shown}: {exc}.") from exc
    deadline = _Deadline(settings.timeout_seconds)
    try:
        for _hop in range(settings.max_redirects + 1):
            log.info("Fetching %s", _show(target.url))
            response = _guarded_request(target, settings, deadline, shown)
            if response.page is not None:
                return response.page
            assert response.location is not None
            next_url = urljoin(target.url, response.location.strip())
            try:
                target = _check_url(next_url, settings)
            except _Refused as exc:
                # Say where the redirect went: the user only typed the first URL.
                raise UnsafeURL(
                    f"Refused {shown}: it redirects to {_show(next_url)}, which was refused because {exc}."
                ) from exc
        raise FetchError(f"Could not fetch {shown}: it redirects more than {settings.max_redirects} times.")
    finally:
        deadline.cancel()


def _guarded_request(target: _Target, settings: IngestSettings, deadline: _Deadline, shown: str) -> _Response:
    """_request with network failures turned into FetchError messages."""
    seconds = settings.timeout_seconds
    timeout = FetchError(
        f"Could not fetch {shown}: it did not answer within {seconds:g} second{'' if seconds == 1 else 's'}."
    )
    try:
        return _request(target, settings, deadline, shown)
    except TimeoutError as exc:
        raise timeout from exc
    except ssl.SSLCertVerificationError as exc:
        raise FetchError(
            f"Could not fetch {shown}: its HTTPS certificate is not valid ({exc.verify_message})."
        ) from exc
    except (OSError, http.client.HTTPException) as exc:
        if deadline.expired:  # the watchdog cut the socket: report the cause, not the symptom
            raise timeout from exc
        raise FetchError(f"Could not fetch {shown}: {_describe(exc)}.") from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(exc, (ConnectionResetError, http.client.RemoteDisconnected)):
        return "the server closed the connection"
    if isinstance(exc, ssl.SSLError):
        return f"the secure connection failed ({exc.reason or exc})"
    if isinstance(exc, http.client.HTTPException):
        return f"the server sent an invalid answer ({exc.__class__.__name__})"
    return str(exc) or exc.__class__.__name__
