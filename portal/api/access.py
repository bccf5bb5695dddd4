"""Who calls the API: OAuth2 bearer tokens, the scope guards, the tenant's unit of work,
and the token endpoint (client credentials, answered by Authlib through a small adapter).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database, Scope
from core.i18n import gettext as _
from portal.api.problems import ApiProblem
from portal.auth import client_ip
from tenants.services.api_clients import ApiTokens, TokenGrant
from tenants.services.audit import Actor

AnyConnection = ASGIConnection[Any, Any, Any, Any]
Guard = Callable[[AnyConnection, BaseRouteHandler], Any]
_GRANT = "quita_api_grant"
SECURITY_SCHEME = "oauth2"


def _tokens(connection: AnyConnection) -> ApiTokens:
    tokens: ApiTokens = connection.app.state.api_tokens
    return tokens


def _unauthorized(detail: str, error: str | None) -> ApiProblem:
    challenge = 'Bearer realm="quita"' + (f', error="{error}"' if error else "")
    return ApiProblem(401, "unauthorized", detail, headers={"WWW-Authenticate": challenge})


async def bearer_grant(connection: AnyConnection) -> TokenGrant:
    """The grant of the request's bearer token (checked once per request); 401 otherwise."""
    found = connection.scope.get(_GRANT)  # type: ignore[misc]
    if isinstance(found, TokenGrant):
        return found
    scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(_("Send an access token: Authorization: Bearer <token>."), None)
    grant = await _tokens(connection).authenticate(token.strip())
    if grant is None:
        raise _unauthorized(_("The access token is expired, revoked or unknown."), "invalid_token")
    connection.scope[_GRANT] = grant  # type: ignore[literal-required]
    return grant


def needs(scope: str) -> dict[str, Any]:
    """Route options of an operation that needs ``scope``: the guard and its OpenAPI note."""

    async def guard(connection: AnyConnection, _handler: BaseRouteHandler) -> None:
        grant = await bearer_grant(connection)
        if scope not in grant.scopes:
            raise ApiProblem(
                403,
                "insufficient-scope",
                _("This token does not allow this operation (scope %(scope)s).") % {"scope": scope},
                headers={
                    "WWW-Authenticate": f'Bearer realm="quita", error="insufficient_scope", '
                    f'scope="{scope}"'
                },
            )

    return {"guards": [guard], "security": [{SECURITY_SCHEME: [scope]}]}


async def provide_grant(request: Request[Any, Any, Any]) -> TokenGrant:
    return await bearer_grant(request)


async def provide_api_session(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession]:
    """A unit of work scoped to the token's tenant: another tenant's rows do not exist."""
    grant = await bearer_grant(request)
    db: Database = request.app.state.db
    async with db.session(Scope.tenant(grant.tenant_id)) as session:
        yield session


def api_actor(request: Request[Any, Any, Any], grant: TokenGrant) -> Actor:
    """The audit actor of an API call: the client, by its public id."""
    return Actor(None, f"api:{grant.client_label}", client_ip(request), grant.tenant_id)


# -- the token endpoint ------------------------------------------------------------------


class TokenRequest(msgspec.Struct):
    """RFC 6749 §4.4.2; the client authenticates by HTTP Basic or with these fields."""

    grant_type: str | None = None
    scope: str | None = None
    client_id: str | None = None
    client_secret: str | None = None


class IssuedToken(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


class OAuthError(msgspec.Struct):
    """RFC 6749 §5.2."""

    error: str
    error_description: str | None = None
    error_uri: str | None = None


def _oauth_error(description: str) -> ResponseSpec:
    return ResponseSpec(OAuthError, description=description, generate_examples=False)


@post(
    "/oauth/token",
    name="api.token",
    status_code=200,
    tags=["oauth"],
    summary="Issue an access token (client credentials)",
    responses={
        200: ResponseSpec(IssuedToken, description="A bearer token", generate_examples=False),
        400: _oauth_error("invalid_request, unsupported_grant_type or invalid_scope"),
        401: _oauth_error("invalid_client: unknown or revoked client, or a wrong secret"),
    },
)
async def token_endpoint(
    request: Request[Any, Any, Any],
    data: Annotated[TokenRequest, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    """OAuth2 token endpoint: ``grant_type=client_credentials``, optional ``scope``."""
    form = {k: v for k, v in msgspec.structs.asdict(data).items() if isinstance(v, str)}
    answer = await _tokens(request).issue(
        method=request.method,
        uri=str(request.url),
        authorization=request.headers.get("authorization", ""),
        form=form,
    )
    headers = {k: v for k, v in answer.headers if k.lower() != "content-type"}
    headers.setdefault("Cache-Control", "no-store")
    return Response(
        answer.body, status_code=answer.status, media_type="application/json", headers=headers
    )
