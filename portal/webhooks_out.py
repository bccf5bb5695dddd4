"""The tenant's outbound webhooks: endpoints, events, and the delivery log."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from collection.webhooks import outbound as webhooks
from core.secrets_box import SecretsBox
from portal.auth import client_ip, provide_principal, provide_tenant_session, requires
from tenants.models import WebhookEndpoint
from tenants.roles import Permission
from tenants.services import audit
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]


def _form(data: Any) -> webhooks.EndpointForm:
    events = tuple(str(e) for e in data.getall("events", [])) if hasattr(data, "getall") else ()
    return webhooks.EndpointForm(
        url=str(data.get("url", "")).strip(),
        events=events,
        is_active=str(data.get("is_active", "")) == "on",
    )


def _box(request: AnyRequest) -> SecretsBox:
    box: SecretsBox = request.app.state.secrets_box
    return box


def _form_of(endpoint: WebhookEndpoint) -> webhooks.EndpointForm:
    return webhooks.EndpointForm(endpoint.url, tuple(endpoint.events), endpoint.is_active)


class WebhookEndpointsController(Controller):
    path = "/portal/webhooks"
    guards = [requires(Permission.SETTINGS_EDIT)]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    @get("/", name="portal.webhooks")
    async def index(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> Template:
        return Template(
            "portal/webhooks.html",
            context={
                "principal": principal,
                "endpoints": await webhooks.endpoints_of(session),
                "log": await webhooks.delivery_log(session),
                "max_attempts": webhooks.MAX_ATTEMPTS,
            },
        )

    def _endpoint_page(
        self,
        principal: Principal,
        endpoint: WebhookEndpoint | None,
        form: webhooks.EndpointForm,
        errors: dict[str, str],
        log: list[webhooks.LogLine] | None = None,
        test: webhooks.PostResult | None = None,
        secret: str = "",
    ) -> Template:
        return Template(
            "portal/webhooks_endpoint.html",
            status_code=400 if errors else 200,
            context={
                "test": test,
                "secret": secret,
                "principal": principal,
                "endpoint": endpoint,
                "form": form,
                "errors": errors,
                "events": webhooks.EVENTS,
                "log": log or [],
                "max_attempts": webhooks.MAX_ATTEMPTS,
            },
        )

    async def _endpoint(self, session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        endpoint = await webhooks.endpoint_of(session, endpoint_id)
        if endpoint is None:
            raise NotFoundException()
        return endpoint

    @get("/novo", name="portal.webhooks.new")
    async def new(self, principal: NamedDependency[Principal]) -> Template:
        form = webhooks.EndpointForm("https://", webhooks.EVENTS, True)
        return self._endpoint_page(principal, None, form, {})

    @get("/{endpoint_id:uuid}", name="portal.webhooks.endpoint")
    async def endpoint(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        endpoint_id: FromPath[uuid.UUID],
    ) -> Template:
        found = await self._endpoint(session, endpoint_id)
        log = await webhooks.delivery_log(session, found.id)
        secret = webhooks.endpoint_secret(found, _box(request))
        return self._endpoint_page(principal, found, _form_of(found), {}, log, secret=secret)

    @post("/salvar", name="portal.webhooks.save", status_code=303)
    async def save(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        data = await request.form()
        form = _form(data)
        found: WebhookEndpoint | None = None
        if data.get("endpoint_id"):
            try:
                found = await self._endpoint(session, uuid.UUID(str(data["endpoint_id"])))
            except ValueError as exc:
                raise NotFoundException() from exc
        development = request.app.state.settings.development
        errors = webhooks.check_endpoint(form, development=development)
        if errors:
            secret = webhooks.endpoint_secret(found, _box(request)) if found else ""
            return self._endpoint_page(principal, found, form, errors, secret=secret)
        assert principal.tenant_id is not None
        if found is None:
            found = webhooks.create_endpoint(
                session, principal.tenant_id, form, principal.user_id, _box(request)
            )
            action = "webhooks.endpoint_created"
        else:
            webhooks.update_endpoint(found, form)
            action = "webhooks.endpoint_updated"
        audit.record(
            session,
            principal.actor(client_ip(request)),
            action,
            target=str(found.id),
            details={"url": found.url, "events": found.events, "active": found.is_active},
        )
        await session.commit()
        return Redirect(f"/portal/webhooks/{found.id}", status_code=303)

    @post("/{endpoint_id:uuid}/segredo", name="portal.webhooks.rotate", status_code=303)
    async def rotate(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        endpoint_id: FromPath[uuid.UUID],
    ) -> Redirect:
        found = await self._endpoint(session, endpoint_id)
        webhooks.rotate_secret(found, _box(request))
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "webhooks.secret_rotated",
            target=str(found.id),
        )
        await session.commit()
        return Redirect(f"/portal/webhooks/{found.id}?novo_segredo=1", status_code=303)

    @post("/{endpoint_id:uuid}/ativo", name="portal.webhooks.switch", status_code=303)
    async def switch(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        endpoint_id: FromPath[uuid.UUID],
    ) -> Redirect:
        found = await self._endpoint(session, endpoint_id)
        form = await request.form()
        found.is_active = str(form.get("is_active", "")) == "on"
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "webhooks.endpoint_enabled" if found.is_active else "webhooks.endpoint_disabled",
            target=str(found.id),
        )
        await session.commit()
        return Redirect("/portal/webhooks", status_code=303)

    @post("/{endpoint_id:uuid}/testar", name="portal.webhooks.test")
    async def send_test(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        endpoint_id: FromPath[uuid.UUID],
    ) -> Template:
        """Send a signed test event now and show the answer (htmx: the result alone)."""
        found = await self._endpoint(session, endpoint_id)
        result = await webhooks.send_test(
            request.app.state.webhook_sender,
            found,
            request.app.state.clock.now(),
            development=request.app.state.settings.development,
            box=_box(request),
        )
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "webhooks.test_sent",
            target=str(found.id),
            details={"status": result.status, "delivered": result.ok},
        )
        await session.commit()
        if request.headers.get("hx-request"):
            return Template("portal/_webhook_test.html", context={"test": result})
        log = await webhooks.delivery_log(session, found.id)
        secret = webhooks.endpoint_secret(found, _box(request))
        return self._endpoint_page(principal, found, _form_of(found), {}, log, result, secret)

    @post("/entregas/{delivery_id:uuid}/reenviar", name="portal.webhooks.resend", status_code=303)
    async def resend(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        delivery_id: FromPath[uuid.UUID],
    ) -> Redirect:
        delivery = await webhooks.send_again(session, delivery_id, request.app.state.clock.now())
        if delivery is None:
            raise NotFoundException()
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "webhooks.delivery_resent",
            target=str(delivery.id),
            details={"event": delivery.event_id, "type": delivery.event_type},
        )
        await session.commit()
        return Redirect("/portal/webhooks?reenviada=1", status_code=303)
