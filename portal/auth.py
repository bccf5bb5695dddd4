"""Who is asking: the staff session cookie, resolved once per request, and the guards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import quote

from jinja2 import pass_context
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.response import Redirect
from litestar.status_codes import HTTP_409_CONFLICT
from litestar.types import ASGIApp, Receive, Scope, Send
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

# Imported for its side effect: the account rule of agency scopes registers itself (an
# agency scope refuses to query without it).
from collection.agency import access as agency_access  # noqa: F401
from core.clock import Clock, local_today
from core.db import Database
from core.db import Scope as DbScope
from core.i18n import gettext as _
from tenants.roles import Permission
from tenants.services.auth import AuthService, Principal

SESSION_COOKIE = "quita_staff"


class StaffAuthMiddleware(ASGIMiddleware):
    """Puts the signed-in ``Principal`` (or None) in ``scope["user"]`` for portal paths."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, auth: Callable[[], AuthService]) -> None:
        self._auth = auth

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal: Principal | None = None
        if scope["path"].startswith("/portal"):
            token = _cookie(scope, SESSION_COOKIE)
            if token:
                principal = await self._auth().principal(token)
        scope["user"] = principal
        scope["auth"] = None
        await next_app(scope, receive, send)


def _cookie(scope: Scope, name: str) -> str:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
    return ""


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    principal = connection.scope.get("user")
    return principal if isinstance(principal, Principal) else None


def requires_signed_in(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: a fully signed-in staff person (second factor done)."""
    principal = current_principal(connection)
    if principal is None or principal.mfa_pending:
        raise NotAuthorizedException()


class TenantNotChosen(PermissionDeniedException):
    """The person works for several tenants (or has invitations to answer) and has not
    chosen where to work in this session: they are sent to the chooser."""


def requires_tenant(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: signed in and working in a tenant chosen in this session."""
    requires_signed_in(connection, handler)
    principal = current_principal(connection)
    if (
        principal is not None
        and principal.tenant is None
        and (principal.must_choose or principal.pending_invitations)
    ):
        raise TenantNotChosen()
    if principal is None or principal.tenant is None:
        raise PermissionDeniedException(_("You have access to no creditor."))


CHOOSER = "/portal/credor"


def to_chooser(request: Request[Any, Any, Any], exc: TenantNotChosen) -> Redirect:
    """Exception handler: no write or read happens without a chosen tenant."""
    target = request.url.path if request.method == "GET" else "/portal/home"
    return Redirect(f"{CHOOSER}?next={quote(target)}", status_code=303)


def requires(
    permission: Permission,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """Guard factory: the principal may do ``permission`` in the current tenant, and a
    form they post names that tenant (see ``provide_tenant_session``)."""

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        requires_tenant(connection, handler)
        principal = current_principal(connection)
        if principal is None or not principal.can(permission):
            raise PermissionDeniedException(_("Your role does not allow this action."))
        if isinstance(connection, Request):
            await _check_form_tenant(connection, principal)

    return guard


def requires_agency(
    permission: Permission,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """Guard factory: signed in as agency staff whose agency role allows ``permission``."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        requires_signed_in(connection, handler)
        principal = current_principal(connection)
        if principal is None or not principal.can_at_agency(permission):
            raise PermissionDeniedException(_("Your role does not allow this action."))

    return guard


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise NotAuthorizedException()
    return principal


TENANT_FIELD = "_tenant"
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class TenantMismatch(ClientException):
    """A form made for one tenant, posted while the session works in another (a tab left
    open before a switch): refused, so a write never lands in a tenant the page did not name."""

    status_code = HTTP_409_CONFLICT


@pass_context
def tenant_input(context: Any) -> Markup:
    """Template global: the hidden field naming the tenant a portal form was made for."""
    principal = context.get("principal")
    if not isinstance(principal, Principal) or principal.tenant_id is None:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        TENANT_FIELD, principal.tenant_id
    )


async def _check_form_tenant(request: Request[Any, Any, Any], principal: Principal) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if not request.headers.get("content-type", "").startswith(_FORMS):
        return
    named = (await request.form()).get(TENANT_FIELD)
    if named is not None and str(named) != str(principal.tenant_id):
        tenant = principal.tenant.name if principal.tenant else ""
        raise TenantMismatch(
            detail=_(
                "This page was made for another creditor; you are now working in "
                "%(tenant)s. Nothing was saved: reload the page."
            )
            % {"tenant": tenant}
        )


async def provide_tenant_session(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession]:
    """A unit of work scoped to the principal's current tenant; for agency staff working
    there, narrowed to the accounts handed over to their agency (``DbScope.agency_id``).
    A form that names another tenant than the session's is refused before anything is
    written."""
    principal = current_principal(request)
    if principal is not None and principal.tenant is None and principal.must_choose:
        raise TenantNotChosen()
    if principal is None or principal.tenant is None:
        raise NotAuthorizedException()
    await _check_form_tenant(request, principal)
    db: Database = request.app.state.db
    async with db.session(tenant_scope(principal)) as session:
        yield session


def tenant_scope(principal: Principal) -> DbScope:
    """The database scope of a principal working in their current tenant: the whole tenant
    for its own users, only the handed-over accounts for an agency's staff."""
    if principal.tenant is None:
        raise NotAuthorizedException()
    return DbScope.tenant(principal.tenant.tenant_id, agency_id=principal.tenant.agency_id)


async def provide_agency_session(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession]:
    """A unit of work for agency pages: system scope, so every query must go through
    ``collection.agency.access`` (handed to this agency, under a live grant)."""
    principal = current_principal(request)
    if principal is None or principal.agency is None:
        raise NotAuthorizedException()
    db: Database = request.app.state.db
    async with db.session(DbScope.system()) as session:
        yield session


def request_today(request: Request[Any, Any, Any]) -> date:
    """Today in São Paulo by the app's clock (which tests and demos may move)."""
    clock: Clock = request.app.state.clock
    return local_today(clock)


def uuid_or_none(text: str) -> uuid.UUID | None:
    """A form or query value as an id; None when it is not one (the caller answers 404)."""
    try:
        return uuid.UUID(str(text).strip())
    except ValueError:
        return None


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client's address (behind a proxy, uvicorn's --proxy-headers sets it)."""
    return request.client.host if request.client else ""
