"""The creditor's payment settings (its Stripe connected account) and the gateway events
that match no payment, kept for manual matching."""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import GatewayEvent
from core.db import Database, Scope
from core.i18n import gettext as _
from portal.auth import client_ip, provide_principal, provide_tenant_session, requires
from tenants.models import Tenant
from tenants.roles import Permission
from tenants.services import audit
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]
_ACCOUNT = re.compile(r"^acct_[A-Za-z0-9]{6,60}$")


class PaymentSettingsController(Controller):
    path = "/portal/pagamentos"
    guards = [requires(Permission.SETTINGS_EDIT)]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    async def _page(
        self, request: AnyRequest, session: AsyncSession, principal: Principal, **extra: Any
    ) -> dict[str, Any]:
        tenant = await session.get_one(Tenant, principal.tenant_id)
        unmatched: list[GatewayEvent] = []
        if tenant.stripe_account:
            db: Database = request.app.state.db
            async with db.session(Scope.system()) as system:
                # Gateway events are not a tenant's rows; its account id says whose they are.
                unmatched = list(
                    await system.scalars(
                        select(GatewayEvent)
                        .where(
                            GatewayEvent.account == tenant.stripe_account,
                            GatewayEvent.outcome == "unknown_payment",
                        )
                        .order_by(GatewayEvent.received_at.desc())
                        .limit(100)
                    )
                )
        return {
            "principal": principal,
            "tenant": tenant,
            "unmatched": unmatched,
            "errors": {},
            "value": tenant.stripe_account,
            **extra,
        }

    @get("/", name="portal.payments")
    async def index(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        return Template(
            "portal/payments.html", context=await self._page(request, session, principal)
        )

    @post("/", name="portal.payments.save")
    async def save(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        form = await request.form()
        value = str(form.get("stripe_account", "")).strip()
        if value and not _ACCOUNT.match(value):
            errors = {"stripe_account": _("Type the account id as Stripe shows it: acct_…")}
            context = await self._page(request, session, principal, errors=errors, value=value)
            return Template("portal/payments.html", status_code=400, context=context)
        tenant = await session.get_one(Tenant, principal.tenant_id)
        tenant.stripe_account = value
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "payments.account_set",
            details={"stripe_account": value},
        )
        await session.commit()
        return Redirect("/portal/pagamentos")
