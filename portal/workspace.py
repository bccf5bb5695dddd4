"""The signed-in home, the tenant switcher and one's own security settings."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from collection.accounts import service as accounts
from core.db import Database, Scope
from core.i18n import gettext as _
from portal.auth import (
    CHOOSER,
    client_ip,
    provide_principal,
    provide_tenant_session,
    request_today,
    requires_signed_in,
    requires_tenant,
)
from portal.home import home_context
from portal.signin import safe_next
from tenants.services import invitations
from tenants.services.audit import Actor
from tenants.services.auth import AuthService, PasswordError, Principal

AnyRequest = Request[Any, Any, Any]


class WorkspaceController(Controller):
    path = "/portal"
    guards = [requires_signed_in]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    @get("/home", name="portal.home", guards=[requires_tenant])
    async def home(
        self,
        request: AnyRequest,
        principal: NamedDependency[Principal],
        session: NamedDependency[AsyncSession],
    ) -> Template:
        totals = await accounts.portfolio_totals(session)
        figures = await home_context(
            session, principal, request_today(request), request.app.state.clock.now()
        )
        return Template(
            "portal/home.html", context={"principal": principal, "totals": totals, **figures}
        )

    @get("/credor", name="portal.choose_tenant")
    async def choose_tenant(
        self,
        request: AnyRequest,
        principal: NamedDependency[Principal],
        next: FromQuery[str | None] = None,
    ) -> Template | Redirect:
        """After sign-in: where to work (the last tenant chosen is preselected), and the
        invitations waiting for an answer. Straight on when there is nothing to choose."""
        target = safe_next(next)
        if len(principal.choices) == 1 and not principal.pending_invitations:
            return Redirect(target)
        db: Database = request.app.state.db
        async with db.session(Scope.system()) as session:
            waiting = await invitations.pending_for(
                session, principal.user_id, request.app.state.clock.now()
            )
        preselected = principal.tenant_id or principal.last_tenant_id
        return Template(
            "portal/choose_tenant.html",
            context={
                "principal": principal,
                "invitations": waiting,
                "preselected": preselected,
                "next": target,
            },
        )

    @post("/convites/{invitation_id:uuid}/{answer:str}", name="portal.answer_invitation")
    async def answer_invitation(
        self,
        request: AnyRequest,
        principal: NamedDependency[Principal],
        invitation_id: FromPath[uuid.UUID],
        answer: FromPath[str],
    ) -> Redirect:
        """Accept (and start working there) or decline an invitation; audited."""
        if answer not in ("aceitar", "recusar"):
            raise NotFoundException()
        tenant_id = await invitations.respond(
            request.app.state.db,
            user_id=principal.user_id,
            session_id=principal.session_id,
            invitation_id=invitation_id,
            accept=answer == "aceitar",
            actor=Actor(principal.user_id, principal.email, client_ip(request)),
            now=request.app.state.clock.now(),
        )
        if tenant_id is None:
            raise NotFoundException()
        return Redirect(
            "/portal/home" if answer == "aceitar" else "/portal/credor", status_code=303
        )

    @post("/tenant", name="portal.switch_tenant")
    async def switch_tenant(
        self, request: AnyRequest, principal: NamedDependency[Principal]
    ) -> Redirect:
        form = await request.form()
        target = safe_next(str(form.get("next", "")) or None)
        try:
            tenant_id = uuid.UUID(str(form.get("tenant_id", "")))
        except ValueError:
            return Redirect(CHOOSER, status_code=303)
        auth: AuthService = request.app.state.auth
        if not await auth.switch_tenant(principal, tenant_id, ip=client_ip(request)):
            return Redirect(CHOOSER, status_code=303)
        return Redirect(target, status_code=303)

    @get("/security", name="portal.security")
    async def security_page(
        self, request: AnyRequest, principal: NamedDependency[Principal]
    ) -> Template:
        return Template(
            "portal/security.html", context=await self._security_context(request, principal)
        )

    async def _security_context(
        self, request: AnyRequest, principal: NamedDependency[Principal], **extra: Any
    ) -> dict[str, Any]:
        auth: AuthService = request.app.state.auth
        context: dict[str, Any] = {"principal": principal, "errors": {}, **extra}
        if not principal.has_totp:
            secret = extra.get("secret") or auth.new_totp_secret()
            context["secret"] = secret
            context["otpauth"] = auth.totp_uri(secret, principal.email)
        return context

    @post("/security/password", name="portal.change_password")
    async def change_password(
        self, request: AnyRequest, principal: NamedDependency[Principal]
    ) -> Template:
        form = await request.form()
        auth: AuthService = request.app.state.auth
        new = str(form.get("new", ""))
        errors: dict[str, str] = {}
        if new != str(form.get("confirm", "")):
            errors["confirm"] = _("The passwords do not match.")
        else:
            try:
                if not await auth.change_password(
                    principal, str(form.get("current", "")), new, ip=client_ip(request)
                ):
                    errors["current"] = _("Current password incorrect.")
            except PasswordError as exc:
                errors["new"] = str(exc)
        context = await self._security_context(request, principal)
        context["errors"] = errors
        if not errors:
            context["notice"] = _("Password changed. Your other sessions were ended.")
        return Template("portal/security.html", context=context, status_code=400 if errors else 200)

    @post("/security/totp", name="portal.enable_totp")
    async def enable_totp(
        self, request: AnyRequest, principal: NamedDependency[Principal]
    ) -> Template | Redirect:
        form = await request.form()
        auth: AuthService = request.app.state.auth
        secret = str(form.get("secret", ""))
        if len(secret) < 16 or not await auth.enable_totp(
            principal, secret, str(form.get("code", "")), ip=client_ip(request)
        ):
            context = await self._security_context(request, principal, secret=secret)
            context["errors"] = {"code": _("Invalid code.")}
            return Template("portal/security.html", context=context, status_code=400)
        return Redirect("/portal/security?totp=on")

    @post("/security/totp/disable", name="portal.disable_totp")
    async def disable_totp(
        self, request: AnyRequest, principal: NamedDependency[Principal]
    ) -> Template | Redirect:
        form = await request.form()
        auth: AuthService = request.app.state.auth
        if not await auth.disable_totp(
            principal, str(form.get("password", "")), ip=client_ip(request)
        ):
            context = await self._security_context(request, principal)
            context["errors"] = {"disable_password": _("Current password incorrect.")}
            return Template("portal/security.html", context=context, status_code=400)
        return Redirect("/portal/security?totp=off")
