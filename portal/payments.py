"""The creditor's payment settings (its Stripe connected account, and who takes its Pix:
Stripe or a Pix PSP with its key there) and the gateway events that match no payment,
kept for manual matching."""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.pix_keys import normalise_pix_key
from collection.models import GatewayEvent
from collection.payments.service import PSP, STRIPE, GatewayError
from core.db import Database, Scope
from core.i18n import gettext as _
from integrations.gateways import psp_of
from integrations.pix_psp import WEBHOOK_PATH
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
            "pix_provider": tenant.pix_provider,
            "pix_key": tenant.pix_key,
            "psp_available": psp_of(request.app.state.gateway) is not None,
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
        provider = str(form.get("pix_provider", STRIPE))
        typed_key = str(form.get("pix_key", "")).strip()[:200]
        errors: dict[str, str] = {}
        tenant = await session.get_one(Tenant, principal.tenant_id)
        # An account stored before stays as it is; a new one must look like Stripe's.
        if value and value != tenant.stripe_account and not _ACCOUNT.match(value):
            errors["stripe_account"] = _("Type the account id as Stripe shows it: acct_…")
        key = normalise_pix_key(typed_key) if typed_key else ""
        if provider not in (STRIPE, PSP):
            errors["pix_provider"] = _("Choose who takes your Pix.")
        elif provider == PSP and not key:
            errors["pix_key"] = _(
                "Type your Pix key at the provider: CPF, CNPJ, e-mail, phone (+55…) or random key."
            )
        psp = psp_of(request.app.state.gateway)
        if provider == PSP and psp is None:
            errors["pix_provider"] = _("No Pix provider is set up on this platform.")
        if not errors and provider == PSP and psp is not None and key:
            base = request.app.state.settings.base_url
            try:  # the PSP must know the key, and notify us of the Pix paid to it
                await psp.register_webhook(key, base + WEBHOOK_PATH)
            except GatewayError as exc:
                errors["pix_key"] = exc.message
        if errors:
            context = await self._page(
                request,
                session,
                principal,
                errors=errors,
                value=value,
                pix_provider=provider,
                pix_key=typed_key,
            )
            return Template("portal/payments.html", status_code=400, context=context)
        tenant.stripe_account = value
        tenant.pix_provider = provider
        tenant.pix_key = key or ""
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "payments.account_set",
            details={"stripe_account": value, "pix_provider": provider},
        )
        await session.commit()
        return Redirect("/portal/pagamentos")
