"""How much of a request body the app reads, and what a hostile body gets.

Limits are per route (Litestar's layered ``request_max_body_size``) and enforced before
anything is read: a ``Content-Length`` over the limit is answered 413 at once, and a
body without one is counted as it streams and cut off at the limit. Forms get 64 kB,
the payment webhook and the JSON API (``portal.api``) 1 MB, file uploads their own
configured limit (the file is streamed to a spooled temporary file, never held whole in
memory), and a portal upload is refused before its body is read when nobody is signed
in.

JSON (and the TOML inside the API's policy) nested deeper than the parsers' recursion
limit is a bad request (400), not a server error.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from core.i18n import gettext as _

FORM_BODY_LIMIT = 64 * 1024  # the app's default: every form and every other route
WEBHOOK_BODY_LIMIT = 1024 * 1024  # the payment gateway's events
MULTIPART_ALLOWANCE = 8 * 1024  # an upload's other fields (name, CSRF token) and part headers


def upload_body_limit(max_upload_bytes: int) -> int:
    """The body limit of a route that takes one file of at most ``max_upload_bytes``."""
    return max_upload_bytes + MULTIPART_ALLOWANCE


class QuitaRequest(Request[Any, Any, Any]):
    """Litestar's request, with JSON too deeply nested to decode refused as bad input."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException(detail=_("The JSON body is nested too deeply.")) from None


class SignedInBeforeUpload(ASGIMiddleware):
    """Refuse a portal upload from someone not signed in before its body is read (the
    CSRF check would otherwise read a whole multipart body to find its token)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") == "POST" and scope.get("user") is None:
            raise NotAuthorizedException()
        await next_app(scope, receive, send)
