"""App-wide HTTP concerns: security headers, request ids with access logs, error pages."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.security import content_security_policy

log = structlog.get_logger("quita.http")

CSP = content_security_policy()

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(self)"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Path segments that look like tokens (reset links, invitations) are not logged.
_TOKENISH = re.compile(r"/[A-Za-z0-9_-]{24,}")


def loggable_path(path: str) -> str:
    """The path with secrets (long tokens) cut out, fit for a log line."""
    return _TOKENISH.sub("/…", path)


async def add_security_headers(message: Message, scope: Scope) -> None:
    """CSP, HSTS, frame and referrer policies on every HTTP response.

    A ``before_send`` hook of the application, not a middleware: middleware runs only
    for matched routes, and a 404 for an unknown path must carry the headers too.
    """
    if message["type"] != "http.response.start":
        return
    present = {name.lower() for name, _ in message.get("headers", [])}
    headers = list(message.get("headers", []))
    headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
    if scope.get("path", "").startswith(("/portal", "/api")) and b"cache-control" not in present:
        headers.append((b"cache-control", b"no-store"))
    message["headers"] = headers


class RequestLogMiddleware(ASGIMiddleware):
    """Binds a request id to every log line of the request and logs one access line."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await next_app(scope, receive, send_with_id)
        finally:
            if scope["path"] != "/healthz" and not scope["path"].startswith("/static"):
                log.info(
                    "request",
                    method=scope.get("method", ""),
                    path=loggable_path(scope["path"]),
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 1),
                )
            structlog.contextvars.unbind_contextvars("request_id")
