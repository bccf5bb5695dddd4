"""A local OpenID Connect provider for the tests, on loopback.

Authorization code flow with PKCE (S256), a discovery document, a JWKS and ID tokens
signed RS256 with a key generated when the provider starts. The "login" at the provider
is automatic for the configured ``user``; ``overrides`` replaces ID-token claims, so a
test can make a token with a wrong nonce, audience or expiry. PKCE is checked with
Authlib's own ``create_s256_code_challenge``; tokens are signed with joserfc.
"""

from __future__ import annotations

import base64
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

import uvicorn
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, get, post
from litestar.response import Redirect, Response


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str
    user: dict[str, Any]


@dataclass
class LocalProvider:
    """The provider's state: its clients, the user who "signs in", and its grants."""

    issuer: str = ""
    clients: dict[str, str] = field(default_factory=dict)  # client id → secret
    user: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "test-1"}))
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0

    def sign_in_as(self, email: str, *, verified: bool = True, name: str = "Pessoa Teste") -> None:
        self.user = {"sub": secrets.token_hex(8), "email": email, "email_verified": verified}
        self.user["name"] = name
        self.overrides = {}

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            **grant.user,
            **self.overrides,
        }
        return jwt.encode({"alg": "RS256", "kid": "test-1"}, claims, self.key)


def _client_auth(request: Request[Any, Any, Any], form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        raw = base64.b64decode(header[6:]).decode()
        client_id, _, secret = raw.partition(":")
        return unquote(client_id), unquote(secret)
    return form.get("client_id", ""), form.get("client_secret", "")


def build_app(provider: LocalProvider) -> Litestar:
    @get("/.well-known/openid-configuration", sync_to_thread=False)
    def discovery() -> dict[str, Any]:
        return {
            "issuer": provider.issuer,
            "authorization_endpoint": provider.issuer + "/authorize",
            "token_endpoint": provider.issuer + "/token",
            "jwks_uri": provider.issuer + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    @get("/jwks", sync_to_thread=False)
    def jwks() -> dict[str, Any]:
        return {"keys": [provider.key.as_dict(private=False)]}

    @get("/authorize", sync_to_thread=False)
    def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        q = request.query_params
        if (
            q.get("response_type") != "code"
            or q.get("client_id") not in provider.clients
            or q.get("code_challenge_method") != "S256"
            or not q.get("code_challenge")
            or "openid" not in str(q.get("scope", "")).split()
        ):
            return Response({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        provider.grants[code] = Grant(
            client_id=str(q["client_id"]),
            redirect_uri=str(q["redirect_uri"]),
            nonce=str(q.get("nonce", "")),
            challenge=str(q["code_challenge"]),
            user=dict(provider.user),
        )
        query = urlencode({"code": code, "state": q.get("state", "")})
        return Redirect(f"{q['redirect_uri']}?{query}", status_code=302)

    @post("/token", status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        provider.token_requests += 1
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id, secret = _client_auth(request, form)
        if provider.clients.get(client_id) != secret:
            return Response({"error": "invalid_client"}, status_code=401)
        grant = provider.grants.pop(form.get("code", ""), None)  # single use
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant.client_id != client_id
            or grant.redirect_uri != form.get("redirect_uri")
            or create_s256_code_challenge(form.get("code_verifier", "")) != grant.challenge
        ):
            return Response({"error": "invalid_grant"}, status_code=400)
        return Response(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "openid email profile",
                "id_token": provider.id_token(grant),
            }
        )

    return Litestar([discovery, jwks, authorize, token], debug=False, logging_config=None)


class ProviderServer:
    """Runs the provider under uvicorn on 127.0.0.1 in a thread."""

    def __init__(self) -> None:
        self.provider = LocalProvider()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        self.provider.issuer = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            build_app(self.provider), log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> LocalProvider:
        self._thread.start()
        for _ in range(200):
            if self._server.started:
                return self.provider
            time.sleep(0.02)
        raise RuntimeError("the local OpenID provider did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()
