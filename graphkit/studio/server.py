"""The studio's HTTP server: standard library only (``http.server``), one thread per request.

Security, in the order a request meets it:

1. **Host check** (against DNS rebinding): on a loopback bind the ``Host`` header
   must name the loopback address and port the server listens on.
2. **Token**: every request needs the random token printed in the URL, as the
   ``token`` query parameter, the ``X-Graphkit-Token`` header, or the cookie the
   page gets on its first load (``HttpOnly``, ``SameSite=Strict``).
3. **Writes** (POST: runs, resumes, forks) need the token in the header (a cookie
   alone is refused: another site open in the same browser cannot set a header
   without a CORS preflight, which this server never grants), a JSON body
   (``Content-Type: application/json``) of at most :data:`MAX_BODY` bytes, and,
   when the browser sends one, an ``Origin`` equal to the server's own.
4. Request data is only ever parsed as JSON; nothing from a request is imported,
   evaluated, or used as a path (static files come from a fixed list).

Every response carries a strict Content-Security-Policy (no inline script, no
other origin), ``nosniff`` and ``frame-ancestors 'none'``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import socket
from collections.abc import Callable
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from graphkit.studio.service import BadRequest, NotFound, Studio, StudioError

__all__ = ["MAX_BODY", "StudioServer"]

MAX_BODY = 1 << 20
"""The largest request body accepted (1 MiB): bigger ones get 413 unread."""

TOKEN_HEADER = "X-Graphkit-Token"
"""The header that carries the token (required on writes)."""

_STATIC = {
    "studio.js": "text/javascript; charset=utf-8",
    "studio.css": "text/css; charset=utf-8",
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class StudioServer(ThreadingHTTPServer):
    """Serves one :class:`Studio` on ``host:port`` (port 0: any free port).

    ``url`` is what to open (it carries the token). Call ``serve_forever()``, and
    ``shutdown()`` then ``server_close()`` to stop.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        studio: Studio,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        keepalive: float = 15.0,
    ) -> None:
        self.studio = studio
        """What the requests are about."""
        self.token = token or secrets.token_urlsafe(24)
        """The secret every request must show."""
        self.keepalive = keepalive
        """Seconds between keep-alive comments on a quiet event stream."""
        self.closing = False
        """Set on shutdown: event streams end."""
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        self.host = host
        self.port = int(self.server_address[1])
        self.cookie = f"graphkit_studio_{self.port}"
        """The cookie's name (cookies are per host, not per port)."""

    @property
    def url(self) -> str:
        """The page's address, with the token."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/?token={self.token}"

    @property
    def loopback(self) -> bool:
        """True when bound to a loopback address (only this machine can connect)."""
        return is_loopback(self.host)

    def allowed_hosts(self) -> set[str]:
        """``Host`` header values accepted on a loopback bind."""
        names = {"127.0.0.1", "localhost", "[::1]", self.host}
        return {f"{name}:{self.port}" for name in names}

    def shutdown(self) -> None:
        self.closing = True
        super().shutdown()


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server: StudioServer
    server_version = "graphkit-studio"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 60

    # ------------------------------------------------------------- entry
    def do_GET(self) -> None:
        self._serve(write=False)

    def do_POST(self) -> None:
        self._serve(write=True)

    def do_PUT(self) -> None:
        self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "only GET and POST are served")

    do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_PUT

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the studio prints its URL, not an access log."""

    def _serve(self, *, write: bool) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        problem = self._deny(query, write)
        if problem is not None:
            status, message = problem
            if write:
                self._drain()
            self._refuse(status, message)
            return
        try:
            body = self._body() if write else None
            self._route(write, [unquote(p) for p in url.path.split("/")[1:]], query, body)
        except StudioError as exc:
            self.close_connection = self.close_connection or write
            self._json({"error": str(exc)}, exc.status)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a saver or store failed: say so, keep serving
            self.close_connection = True
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            self._json({"error": message}, HTTPStatus.INTERNAL_SERVER_ERROR)

    # ---------------------------------------------------------- security
    def _deny(self, query: dict[str, str], write: bool) -> tuple[HTTPStatus, str] | None:
        """Why the request is refused (status, message), or None to serve it."""
        server = self.server
        host = self.headers.get("Host", "")
        if server.loopback and host not in server.allowed_hosts():
            return HTTPStatus.FORBIDDEN, f"unexpected Host header {host!r}"
        header = self.headers.get(TOKEN_HEADER)
        if write:
            origin = self.headers.get("Origin")
            if origin is not None and origin != f"http://{host}":
                return HTTPStatus.FORBIDDEN, "cross-origin write refused"
            if not _same(header, server.token):
                return HTTPStatus.FORBIDDEN, f"writes need the token in the {TOKEN_HEADER} header"
            return None
        shown = [query.get("token"), header, self._cookie()]
        if not any(_same(t, server.token) for t in shown):
            return (
                HTTPStatus.UNAUTHORIZED,
                "missing or wrong token: open the URL `graphkit studio` printed (it ends "
                "with ?token=...)",
            )
        return None

    def _cookie(self) -> str | None:
        jar = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except Exception:
            return None
        morsel = jar.get(self.server.cookie)
        return morsel.value if morsel is not None else None

    def _drain(self) -> None:
        """Read and drop a refused request's body (at most MAX_BODY bytes), so that
        closing the connection does not reset it before the client reads the answer."""
        length = _count(self.headers.get("Content-Length"))
        if length is not None and length <= MAX_BODY:
            self.rfile.read(length)

    def _body(self) -> Any:
        if self.headers.get("Transfer-Encoding"):
            raise _LengthRequired()
        length = _count(self.headers.get("Content-Length"))
        if length is None:
            raise _LengthRequired()
        if length > MAX_BODY:
            raise _TooLarge()
        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise BadRequest("send the body as JSON (Content-Type: application/json)")
        raw = self.rfile.read(length)
        try:
            return json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None
        except RecursionError:
            raise BadRequest("the body's JSON is nested too deeply") from None

    # ------------------------------------------------------------ routes
    def _route(self, write: bool, parts: list[str], query: dict[str, str], body: Any) -> None:
        studio = self.server.studio
        if not write:
            if parts in ([""], ["index.html"]):
                self._page()
            elif len(parts) == 2 and parts[0] == "static" and parts[1] in _STATIC:
                self._static(parts[1])
            elif parts[0] == "api":
                self._json(self._read_api(studio, parts[1:], query))
            else:
                raise NotFound(f"no page {self.path.split('?')[0]!r}")
            return
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        handler = self._write_api(studio, parts)
        self._json(handler(body))

    def _read_api(self, studio: Studio, parts: list[str], query: dict[str, str]) -> Any:
        match parts:
            case ["info"]:
                return studio.info()
            case ["threads"]:
                return studio.threads(
                    query.get("search", ""), _int(query, "offset", 0), _int(query, "limit", 50)
                )
            case ["threads", thread_id, "history"]:
                return studio.history(thread_id, query.get("before"), _int(query, "limit", 50))
            case ["threads", thread_id, "state"]:
                return studio.checkpoint(thread_id)
            case ["threads", thread_id, "checkpoints", checkpoint_id]:
                return studio.checkpoint(thread_id, checkpoint_id)
            case ["runs", run_id, "events"]:
                self._events(studio, run_id)
                return _ALREADY_SENT
            case ["store", "namespaces"]:
                return studio.namespaces()
            case ["store", "items"]:
                return studio.items(
                    _namespace(query.get("ns", "[]")),
                    query.get("query") or None,
                    _int(query, "limit", 20),
                    _int(query, "offset", 0),
                )
        raise NotFound(f"no API {'/'.join(parts)!r}")

    def _write_api(self, studio: Studio, parts: list[str]) -> Callable[[dict[str, Any]], Any]:
        match parts:
            case ["api", "runs"]:
                return lambda b: _run_ref(
                    studio.start_run(
                        _text(b, "thread_id"), b.get("input"), _opt_text(b, "checkpoint_id")
                    )
                )
            case ["api", "threads", thread_id, "resume"]:
                return lambda b: _run_ref(
                    studio.resume(thread_id, b.get("value"), _opt_text(b, "interrupt_id"))
                )
            case ["api", "threads", thread_id, "fork"]:
                return lambda b: studio.fork(
                    thread_id,
                    _text(b, "checkpoint_id"),
                    b.get("values"),
                    _opt_text(b, "as_node"),
                    bool(b.get("run", True)),
                )
        raise NotFound(f"no API {'/'.join(parts)!r}")

    # ----------------------------------------------------------- answers
    def _page(self) -> None:
        html = _resource("index.html").decode("utf-8")
        body = html.replace("{{TOKEN}}", self.server.token).encode("utf-8")
        cookie = f"{self.server.cookie}={self.server.token}; HttpOnly; SameSite=Strict; Path=/"
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", body, {"Set-Cookie": cookie})

    def _static(self, name: str) -> None:
        self._send(HTTPStatus.OK, _STATIC[name], _resource(name))

    def _json(self, data: Any, status: int = HTTPStatus.OK) -> None:
        if data is _ALREADY_SENT:
            return
        body = _json_bytes(data)
        self._send(HTTPStatus(status), "application/json; charset=utf-8", body)

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        self.close_connection = True
        self._json({"error": message}, status)

    def _send(
        self, status: HTTPStatus, kind: str, body: bytes, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self._headers(kind, extra)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _headers(self, kind: str, extra: dict[str, str] | None = None) -> None:
        self.send_header("Content-Type", kind)
        self.send_header("Cache-Control", "no-store")
        for name, value in (_SECURITY_HEADERS | (extra or {})).items():
            self.send_header(name, value)

    def _events(self, studio: Studio, run_id: str) -> None:
        """The run's events as server-sent events, replayed from ``Last-Event-ID``."""
        run = studio.run(run_id)
        last = _count(self.headers.get("Last-Event-ID"))
        start = last + 1 if last is not None else 0
        self.send_response(HTTPStatus.OK)
        self._headers("text/event-stream; charset=utf-8", {"X-Accel-Buffering": "no"})
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for index, event in run.follow(start, timeout=self.server.keepalive):
            if self.server.closing:
                return
            if event is None:
                chunk = b": keep-alive\n\n"
            else:
                data = _json_bytes(event["data"])
                chunk = b"id: %d\nevent: %s\ndata: %s\n\n" % (index, event["event"].encode(), data)
            self.wfile.write(chunk)
            self.wfile.flush()


_ALREADY_SENT: Any = object()


class _LengthRequired(StudioError):
    status = HTTPStatus.LENGTH_REQUIRED

    def __init__(self) -> None:
        super().__init__("send the body with a Content-Length (no chunked uploads)")


class _TooLarge(StudioError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE

    def __init__(self) -> None:
        super().__init__(f"the body is larger than {MAX_BODY} bytes")


def _count(text: str | None) -> int | None:
    """A header's non-negative decimal number (ASCII digits only: ``str.isdigit`` also
    passes "²", which ``int`` refuses), or None when it holds anything else."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 30:
        return None
    return int(text)


def _json_bytes(data: Any) -> bytes:
    """``data`` as UTF-8 JSON; text with a lone surrogate (a thread id or value that
    came so, which UTF-8 cannot encode) is sent \\u-escaped instead of failing the answer."""
    text = json.dumps(data, ensure_ascii=False, default=repr)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, default=repr).encode("ascii")


def _same(shown: str | None, token: str) -> bool:
    return shown is not None and hmac.compare_digest(shown.encode(), token.encode())


def _resource(name: str) -> bytes:
    return (resources.files("graphkit.studio") / "static" / name).read_bytes()


def _int(query: dict[str, str], name: str, default: int) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {text!r}") from None


def _namespace(text: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        raise BadRequest('ns must be a JSON list of labels, like ["memories", "1"]') from None
    if not isinstance(value, list):
        raise BadRequest('ns must be a JSON list of labels, like ["memories", "1"]')
    return value


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{name} must be a non-empty string")
    return value


def _opt_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def _run_ref(run: Any) -> dict[str, Any]:
    return {"run_id": run.id, "thread_id": run.thread_id}
