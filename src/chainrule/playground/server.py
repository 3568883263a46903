"""The playground's web server: the standard library's, on 127.0.0.1, one thread per request.

Routes (every one behind :class:`~chainrule.playground.security.Guard`):

=====================  ======================================================================
``GET /``              the page (``static/index.html``); sets the token cookie
``GET /static/NAME``   the page's script and style, shipped in the package
``GET /api/state``     what the page shows now, as JSON
``GET /api/events``    the same, pushed as Server-Sent Events, at most 30 a second
``GET /api/problem``   the data points and names of the current problem
``POST /api/control``  ``{"action": "play" | "pause" | "epoch" | "reset"}``
``POST /api/settings`` the settings; a bad one answers 400 ``{"error", "field"}``
``POST /api/sample``   ``{"index": i}``: pause, and the worked backward pass of sample ``i``
=====================  ======================================================================

Errors are answered as JSON ``{"error": message}`` for the page to show; no traceback is sent
or printed.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from .security import Guard, new_token
from .session import MAX_UPDATES, Session
from .settings import SettingsError

STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "style.css": "text/css; charset=utf-8"}
HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
MAX_BODY = 64 * 1024
KEEPALIVE = 15.0  # seconds between comments on an idle event stream


def static_file(name: str) -> bytes:
    """A file of the page, from the package's ``static`` folder."""
    return resources.files(__package__).joinpath("static", name).read_bytes()


class PlaygroundServer(ThreadingHTTPServer):
    """A :class:`ThreadingHTTPServer` on ``127.0.0.1`` that serves one :class:`Session`.

    Parameters
    ----------
    session : Session
    port : int
        0 (the default) takes a free port.
    token : str, optional
        The secret the page must present; a new random one by default.
    """

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, session: Session, port: int = 0, token: str | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.session = session
        self.guard = Guard(token or new_token(), self.server_address[1])
        self.refused: deque[tuple[str, str]] = deque(maxlen=100)  # (request, reason), latest

    @property
    def url(self) -> str:
        """The page's address, with its token."""
        return self.guard.url()

    def handle_error(self, request, client_address) -> None:
        """A client that went away mid-answer: nothing to report (no traceback)."""

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._serving = True
        super().serve_forever(poll_interval)

    def start(self) -> threading.Thread:
        """Serve on a background thread (for tests and notebooks); ``stop()`` ends it."""
        self._serving = True
        thread = threading.Thread(target=self.serve_forever, args=(0.1,), daemon=True,
                                  name="chainrule-playground-server")
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop training, end the event streams, and close the socket."""
        self.session.close()
        if getattr(self, "_serving", False):
            self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: PlaygroundServer
    server_version = "chainrule-playground"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal shows the address and errors only."""

    # -- dispatch ---------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_HEAD(self) -> None:  # other methods (OPTIONS for a CORS preflight, ...) get 501
        self._serve("HEAD")

    def _serve(self, method: str) -> None:
        refusal = self.server.guard.refusal(method, self.path, self.headers)
        if refusal is not None:
            self.server.refused.append((f"{method} {urlsplit(self.path).path}", refusal[1]))
            self._send(refusal[0], refusal[1].encode(), "text/plain; charset=utf-8")
            return
        path = urlsplit(self.path).path
        try:
            if method == "POST":
                self._post(path)
            else:
                self._get(path, method == "HEAD")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except SettingsError as error:
            self._json({"error": str(error), "field": error.field}, 400)
        except (ValueError, TypeError) as error:
            self._json({"error": str(error)}, 400)
        except Exception as error:  # a bug: say so on the page, keep serving, no traceback
            self._json({"error": f"the playground failed: {type(error).__name__}: {error}"}, 500)

    def _get(self, path: str, head: bool) -> None:
        session = self.server.session
        if path in ("/", "/index.html"):
            self._send(200, static_file("index.html"), STATIC["index.html"], head,
                       {"Set-Cookie": self.server.guard.cookie()})
        elif path.startswith("/static/") and path[len("/static/"):] in STATIC:
            name = path[len("/static/"):]
            self._send(200, static_file(name), STATIC[name], head)
        elif path == "/api/state":
            self._send(200, session.state_json()[1], "application/json", head)
        elif path == "/api/problem":
            self._json(session.problem())
        elif path == "/api/events":
            self._events()
        elif path == "/favicon.ico":
            self._send(204, b"", "image/x-icon", head)
        else:
            self._send(404, b"not found", "text/plain; charset=utf-8", head)

    def _post(self, path: str) -> None:
        session = self.server.session
        payload = self._body()
        if path == "/api/control":
            session.command(str(payload.get("action", "")))
            self._json({"ok": True, "version": session.version})
        elif path == "/api/settings":
            settings = session.update_settings(payload)
            self._json({"ok": True, "settings": settings.to_json()})
        elif path == "/api/sample":
            self._json(session.worked(payload.get("index", 0)))
        else:
            self._json({"error": f"no such command {path}"}, 404)

    # -- pieces -----------------------------------------------------------------------------------
    def _body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ValueError("Content-Length must be a number") from None
        if not 0 <= length <= MAX_BODY:
            raise ValueError(f"a command may hold at most {MAX_BODY} bytes")
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError("the command is not valid JSON") from None
        if not isinstance(payload, dict):
            raise ValueError("the command must be a JSON object")
        return payload

    def _events(self) -> None:
        """Server-Sent Events: the state whenever it changes, at most MAX_UPDATES a second."""
        session = self.server.session
        self.send_response(200)
        for key, value in {**HEADERS, "Content-Type": "text/event-stream"}.items():
            self.send_header(key, value)
        self.end_headers()
        version, sent_at = -1, 0.0
        while not session.closed:
            new = session.wait_for_change(version, KEEPALIVE)
            if session.closed:
                break
            if new == version:
                self.wfile.write(b": still here\n\n")
            else:
                pause = sent_at + 1.0 / MAX_UPDATES - time.perf_counter()
                if pause > 0:  # at most MAX_UPDATES a second, whatever the epochs do
                    time.sleep(pause)
                version, body = session.state_json()
                self.wfile.write(b"data: " + body + b"\n\n")
                sent_at = time.perf_counter()
            self.wfile.flush()

    def _json(self, value: Any, status: int = 200) -> None:
        body = json.dumps(value, allow_nan=False).encode()
        self._send(status, body, "application/json")

    def _send(self, status: int, body: bytes, kind: str, head: bool = False,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in {**HEADERS, "Content-Type": kind, "Content-Length": str(len(body)),
                           **(extra or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)
