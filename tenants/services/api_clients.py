"""API clients of a tenant and the OAuth2 client-credentials tokens they are issued.

A client is created by a tenant admin in the portal with a chosen set of scopes; its
secret is shown once and only its SHA-256 is kept (the secret is 256 random bits, so a
fast digest is as safe as a password hash and costs nothing per token request). Tokens
come from Authlib's authorization server (``ClientCredentialsGrant`` with a bearer
token generator); they are random opaque strings, stored as digests, valid for a short
lifetime, and carry a subset of the client's scopes. Authlib's server is synchronous:
the client row is read before it runs and the token is written after, in one unit of
work. The web adapter (``portal.api``) hands in the request's parts and sends back the
``(status, body, headers)`` it gets.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidScopeError, OAuth2Error
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db import Database, Scope
from core.i18n import gettext as _
from core.security import constant_time_equals, new_token, token_digest
from tenants.models import ApiClient, ApiToken

# Authlib logs every issued token at DEBUG ("Issue token {...}"): never let it through.
logging.getLogger("authlib").setLevel(logging.INFO)

SCOPES: tuple[str, ...] = (
    "debts:read",
    "debts:write",
    "imports:write",
    "agreements:read",
    "payments:read",
    "messages:read",
    "policy:read",
    "policy:write",
)
DEFAULT_TOKEN_LIFETIME = timedelta(minutes=15)
CLIENT_ID_PREFIX = "qc_"
_MAX_TOKEN_LENGTH = 200


class ApiClientError(ValueError):
    """A client that cannot be created as asked; ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class NewClient:
    """A client just created, with its secret: the only time the secret exists in clear."""

    client: ApiClient
    secret: str


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What a valid access token allows: one tenant, one client, some scopes."""

    tenant_id: uuid.UUID
    client_id: uuid.UUID
    client_label: str  # the public client_id, for audit lines
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """An answer of the token endpoint (RFC 6749 §5.1/§5.2), ready to send."""

    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]]


def _clean_scopes(scopes: Sequence[str]) -> list[str]:
    chosen = [s for s in SCOPES if s in set(scopes)]
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ApiClientError("scopes", _("Unknown permission."))
    return chosen


async def create_client(
    session: AsyncSession, *, name: str, scopes: Sequence[str], created_by: uuid.UUID | None
) -> NewClient:
    """Register a client of the session's tenant; returns it with its secret (shown once)."""
    name = " ".join(name.split())[:120]
    if not name:
        raise ApiClientError("name", _("Give the client a name."))
    chosen = _clean_scopes(scopes)
    if not chosen:
        raise ApiClientError("scopes", _("Choose at least one permission."))
    secret = new_token(32)
    client = ApiClient(
        id=uuid.uuid4(),
        name=name,
        client_id=CLIENT_ID_PREFIX + new_token(18),
        secret_hash=token_digest(secret),
        scopes=" ".join(chosen),
        created_by=created_by,
    )
    session.add(client)
    await session.flush()
    return NewClient(client=client, secret=secret)


async def list_clients(session: AsyncSession) -> Sequence[ApiClient]:
    """The session tenant's clients, live ones first, newest first."""
    rows = await session.scalars(
        select(ApiClient).order_by(ApiClient.revoked_at.is_not(None), ApiClient.created_at.desc())
    )
    return rows.all()


async def revoke_client(session: AsyncSession, client_id: uuid.UUID, now: datetime) -> ApiClient:
    """Revoke a client of the session's tenant and every token it still holds.

    Raises LookupError when the tenant has no such client. Revoking twice is harmless.
    """
    client = await session.scalar(select(ApiClient).where(ApiClient.id == client_id))
    if client is None:
        raise LookupError(client_id)
    if client.revoked_at is None:
        client.revoked_at = now
    # Tokens are a system table: the client was found in this tenant just above.
    await session.execute(
        update(ApiToken)
        .where(ApiToken.client_id == client.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return client


# -- Authlib's authorization server, fed with rows read beforehand ----------------------


class _Client(ClientMixin):  # type: ignore[misc]
    """An ``ApiClient`` row as Authlib's server sees a client."""

    def __init__(self, row: ApiClient) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        row: ApiClient = self.row
        return bool(constant_time_equals(row.secret_hash, token_digest(str(client_secret))))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in _Grant.TOKEN_ENDPOINT_AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    def get_allowed_scope(self, scope: str | None) -> str:
        """All of the client's scopes when none are asked; else exactly the ones asked,
        which must all be the client's (a wider request is refused, not narrowed)."""
        allowed = self.row.scopes.split()
        if not scope:
            return " ".join(allowed)
        asked = scope.split()
        if any(s not in allowed for s in asked):
            raise InvalidScopeError()
        return " ".join(s for s in allowed if s in asked)


class _Grant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, form: Mapping[str, str]) -> None:
        self._data = dict(form)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return {k: [v] for k, v in self._data.items()}


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, method: str, uri: str, authorization: str, form: Mapping[str, str]):
        super().__init__(method, uri, headers={"Authorization": authorization})
        self.payload = _Payload(form)
        self._form = dict(form)

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class _Server(AuthorizationServer):  # type: ignore[misc]
    """One token request: the client (if any) is known before Authlib runs."""

    def __init__(self, client: ApiClient | None, lifetime: timedelta) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self._client = client
        self.issued: list[dict[str, Any]] = []
        self.register_grant(_Grant)
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **_: new_token(32), expires_generator=int(lifetime.total_seconds())
            ),
        )

    def query_client(self, client_id: str) -> _Client | None:
        if self._client is None or self._client.client_id != client_id:
            return None
        return _Client(self._client)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.issued.append(token)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(
        self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
    ) -> TokenResponse:
        return TokenResponse(status, body, list(headers))

    def handle_error_response(self, request: OAuth2Request, error: OAuth2Error) -> TokenResponse:
        # RFC 6749 §5.2 allows 401 for every failed client authentication; Authlib
        # answers 400 when the client authenticated in the form. One answer for both.
        if isinstance(error, InvalidClientError):
            error.status_code = 401
        response: TokenResponse = super().handle_error_response(request, error)
        return response


class ApiTokens:
    """Issues access tokens at the token endpoint and checks them on every API call."""

    def __init__(
        self, db: Database, clock: Clock, lifetime: timedelta = DEFAULT_TOKEN_LIFETIME
    ) -> None:
        self.db = db
        self.clock = clock
        self.lifetime = lifetime

    async def issue(
        self, *, method: str, uri: str, authorization: str, form: Mapping[str, str]
    ) -> TokenResponse:
        """Answer a token request (``grant_type=client_credentials``) per RFC 6749."""
        try:
            request = _Request(method, uri, authorization, form)
        except OAuth2Error as error:  # plain http to a host that is not loopback
            return TokenResponse(*error())
        client_id = form.get("client_id") or extract_basic_authorization(request.headers)[0]
        async with self.db.session(Scope.system()) as session:
            row = None
            if client_id:
                row = await session.scalar(
                    select(ApiClient).where(
                        ApiClient.client_id == str(client_id)[:48], ApiClient.revoked_at.is_(None)
                    )
                )
            server = _Server(row, self.lifetime)
            response: TokenResponse = server.create_token_response(request)
            if row is not None and server.issued:
                now = self.clock.now()
                for token in server.issued:
                    session.add(
                        ApiToken(
                            id=token_digest(token["access_token"]),
                            client_id=row.id,
                            tenant_id=row.tenant_id,
                            scopes=token.get("scope", ""),
                            issued_at=now,
                            expires_at=now + self.lifetime,
                        )
                    )
                row.last_used_at = now
                await session.commit()
        return response

    async def authenticate(self, token: str) -> TokenGrant | None:
        """The grant of a live token; None when unknown, expired or revoked."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            return None
        async with self.db.session(Scope.system()) as session:
            found = (
                await session.execute(
                    select(ApiToken, ApiClient.client_id, ApiClient.revoked_at)
                    .join(ApiClient, ApiClient.id == ApiToken.client_id)
                    .where(ApiToken.id == token_digest(token))
                )
            ).first()
        if found is None:
            return None
        row, public_id, client_revoked = found
        if row.revoked_at is not None or client_revoked is not None:
            return None
        if row.expires_at <= self.clock.now():
            return None
        return TokenGrant(
            tenant_id=row.tenant_id,
            client_id=row.client_id,
            client_label=public_id,
            scopes=frozenset(row.scopes.split()),
        )
