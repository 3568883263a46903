"""Who may talk to the playground: the page it served, on this machine, and nothing else.

The server binds ``127.0.0.1`` only, so other machines cannot reach it. Other *web pages* open in
the same browser still could, so every request must pass :meth:`Guard.refusal`:

- **Token.** A random secret (:func:`new_token`, 32 bytes) is in the address the command prints,
  as Jupyter does. Each request must carry it: in the URL (``?token=``), in the
  ``X-Chainrule-Token`` header the page's script sends, or in the cookie the page receives when
  opened with it (``HttpOnly``, ``SameSite=Strict``: other sites' requests do not carry it).
- **Host.** ``Host`` must be ``127.0.0.1:PORT`` or ``localhost:PORT``. A page on another name
  that resolves to 127.0.0.1 (DNS rebinding) sends its own name, and is refused.
- **Origin.** A browser names the page that sends a request in ``Origin`` (and
  ``Sec-Fetch-Site``); any origin but the playground's own is refused (CSRF).
- **JSON only.** Commands are ``POST`` with ``Content-Type: application/json``, which a foreign
  page cannot send without a CORS preflight, which the server never grants.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlsplit

TOKEN_HEADER = "X-Chainrule-Token"


def new_token() -> str:
    """A fresh random token: 32 bytes, URL-safe."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Guard:
    """The checks for a server on ``127.0.0.1:port`` with secret ``token``."""

    token: str
    port: int

    @property
    def cookie_name(self) -> str:
        """Cookies are shared by all ports of a host: one name per port."""
        return f"chainrule-playground-{self.port}"

    @property
    def hosts(self) -> tuple[str, ...]:
        return (f"127.0.0.1:{self.port}", f"localhost:{self.port}")

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(f"http://{host}" for host in self.hosts)

    def url(self, path: str = "/") -> str:
        """The address to open, with the token."""
        return f"http://127.0.0.1:{self.port}{path}?token={self.token}"

    def refusal(self, method: str, target: str,
                headers: Mapping[str, str]) -> tuple[int, str] | None:
        """``None`` when the request may be served, else ``(HTTP status, reason)``.

        Parameters
        ----------
        method : str
            ``GET``, ``POST``, ...
        target : str
            The request target, path and query (``/api/state?token=...``).
        headers : mapping
            The request's headers (looked up case-insensitively, as ``http.server``'s are).
        """
        host = (headers.get("Host") or "").strip().lower()
        if host not in self.hosts:
            return 403, (f"refused: Host {host[:60]!r} is not this playground's "
                         f"(open {self.hosts[0]})")
        origin = headers.get("Origin")
        if origin is not None and origin.strip().lower() not in self.origins:
            return 403, f"refused: requests from {origin[:60]!r} are not allowed"
        if (headers.get("Sec-Fetch-Site") or "").strip().lower() == "cross-site":
            return 403, "refused: cross-site request"
        if not self.token_ok(target, headers):
            return 403, ("refused: this playground needs its token; open the address with "
                         "?token=... that `chainrule playground` printed")
        if method not in ("GET", "HEAD", "POST"):
            return 405, f"method {method} is not allowed"
        if method == "POST":
            kind = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if kind != "application/json":
                return 415, "commands must be sent as application/json"
        return None

    def token_ok(self, target: str, headers: Mapping[str, str]) -> bool:
        """Whether the request carries the token (URL, header or cookie)."""
        given = parse_qs(urlsplit(target).query).get("token", [])
        given += [headers.get(TOKEN_HEADER) or ""]
        try:
            cookie = SimpleCookie(headers.get("Cookie") or "")
        except CookieError:
            cookie = SimpleCookie()
        if self.cookie_name in cookie:
            given.append(cookie[self.cookie_name].value)
        expected = self.token.encode()
        return any(hmac.compare_digest(g.encode(), expected) for g in given if g)

    def cookie(self) -> str:
        """The ``Set-Cookie`` value that lets the page's own requests carry the token."""
        return f"{self.cookie_name}={self.token}; Path=/; HttpOnly; SameSite=Strict"
