"""CSRF tokens bound to the session they protect.

Litestar's CSRF check is a signed double-submit cookie: any valid cookie and matching form
field pass. A token an attacker obtained for himself (and planted as a cookie, from a
sibling subdomain or over plain HTTP) would then pass for the victim too. Here, once a
browser holds a staff session (``/portal``) or a debtor session (the debtor site), its CSRF
token is derived from that session: ``HMAC(secret, session)`` signed the way Litestar signs
its own tokens. This middleware runs before Litestar's CSRF check and, when the cookie is
not the one bound to the session, puts the bound one in its place: a page shown (safe
method) carries the bound token and sets it as the cookie; a form posted with any other
token fails Litestar's comparison (403), as a forged one should.

A person signed in to the portal and to the debtor site in the same browser at once has two
sessions for one CSRF cookie: each site rebinds it on its next page, and a form left open
on the other site must be reloaded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from http.cookies import SimpleCookie

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.csrf import generate_csrf_hash
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bound_csrf_token(secret: str, session_token: str) -> str:
    """The CSRF token for a session: a stable 64-hex nonce derived from the session,
    followed by Litestar's signature of it."""
    nonce = hmac.new(
        secret.encode(), b"quita-csrf-binding|" + session_token.encode(), hashlib.sha256
    ).hexdigest()
    return nonce + generate_csrf_hash(token=nonce, secret=secret)


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: S112 - a malformed header binds nothing
                continue
    return {key: morsel.value for key, morsel in jar.items()}


class SessionBoundCsrfMiddleware:
    """ASGI middleware: keep the CSRF cookie bound to the session cookie of the site."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: str,
        csrf_cookie: str,
        staff_cookie: str,
        debtor_cookie: str,
        secure: bool,
        exclude: Sequence[str],
    ) -> None:
        self.app = app
        self.secret = secret
        self.csrf_cookie = csrf_cookie
        self.staff_cookie = staff_cookie
        self.debtor_cookie = debtor_cookie
        self.secure = secure
        self.exclude = re.compile("|".join(exclude)) if exclude else None

    def _session(self, path: str, cookies: dict[str, str]) -> str | None:
        if path == "/portal" or path.startswith("/portal/"):
            return cookies.get(self.staff_cookie)
        return cookies.get(self.debtor_cookie)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == ScopeType.HTTP else ""
        if not path or (self.exclude is not None and self.exclude.search(path)):
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        session = self._session(path, cookies)
        if not session:
            await self.app(scope, receive, send)
            return
        bound = bound_csrf_token(self.secret, session)
        if hmac.compare_digest(cookies.get(self.csrf_cookie, ""), bound):
            await self.app(scope, receive, send)
            return
        cookies[self.csrf_cookie] = bound
        header = "; ".join(f"{key}={value}" for key, value in cookies.items())
        scope["headers"] = [
            *((k, v) for k, v in scope.get("headers", []) if k != b"cookie"),
            (b"cookie", header.encode("latin-1")),
        ]
        state = ScopeState.from_scope(scope)
        state.cookies = Empty  # parsed again, from the new header
        state.headers = Empty
        if scope.get("method", "GET") not in SAFE_METHODS:
            await self.app(scope, receive, send)  # the posted token no longer matches: 403
            return
        await self.app(scope, receive, self._setting_cookie(send, bound))

    def _setting_cookie(self, send: Send, token: str) -> Send:
        cookie = Cookie(
            key=self.csrf_cookie,
            value=token,
            path="/",
            secure=self.secure,
            httponly=False,
            samesite="strict",
        )

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.add("set-cookie", cookie.to_header(header=""))
            await send(message)

        return wrapped
