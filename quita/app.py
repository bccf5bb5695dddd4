"""The composition root: builds the Litestar app and wires adapters to ports."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dramatiq
import structlog
from litestar import Litestar, Request, Response, Router, get
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.exceptions.responses import create_exception_response
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.status_codes import (
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_500_INTERNAL_SERVER_ERROR,
)
from litestar.template.config import TemplateConfig
from sqlalchemy import text

from collection.debtor.access import DebtorAccess
from collection.payments.service import PaymentGateway
from core.clock import Clock, clock_from
from core.db import Database, Scope
from core.i18n import install_translations
from core.secrets_box import SecretsBox
from core.settings import Settings
from core.tasks import set_task_sender
from debtor_site.agreements import AgreementsController
from debtor_site.disputes import SiteDisputesController
from debtor_site.lookup import COOKIE as DEBTOR_COOKIE
from debtor_site.lookup import LookupController
from debtor_site.opt_out import OptOutController
from debtor_site.pages import PublicPagesController
from debtor_site.paperwork import PaperworkController
from debtor_site.payments import PaymentsController
from debtor_site.rights import RightsController
from debtor_site.special_offers import SiteSpecialOffersController
from integrations.dns import txt_records
from integrations.gateways import build_gateway
from portal.accounts import AccountsController
from portal.agency_account import AgencyAccountController
from portal.agency_queue import AgencyQueueController
from portal.api import api_router, is_api_path, openapi_config, problem_response
from portal.api_clients import ApiClientsController
from portal.auth import (
    SESSION_COOKIE,
    StaffAuthMiddleware,
    TenantNotChosen,
    tenant_input,
    to_chooser,
)
from portal.dashboards import DashboardsController
from portal.disputes import DisputesController
from portal.escalation import EscalationController
from portal.handover import HandoverRulesController
from portal.imports import ImportsController
from portal.members import MembersController
from portal.navigation import menu_for
from portal.payments import PaymentSettingsController
from portal.policy import PolicyController
from portal.regua import ReguaController
from portal.retention import RetentionController
from portal.signin import SignInController
from portal.special_offers import SpecialOffersController
from portal.sso import SsoController
from portal.sso_domains import SsoDomainController
from portal.webhooks_out import WebhookEndpointsController
from portal.workspace import WorkspaceController
from quita.bodies import FORM_BODY_LIMIT, QuitaRequest, SignedInBeforeUpload, upload_body_limit
from quita.cloud_webhooks import cloud_verify, cloud_webhook
from quita.csrf_binding import SessionBoundCsrfMiddleware
from quita.logging import configure_logging
from quita.text_webhooks import (
    twilio_sms_webhook,
    twilio_status_webhook,
    twilio_whatsapp_webhook,
)
from quita.web import RequestLogMiddleware, add_security_headers, loggable_path
from quita.webhooks import local_webhook, psp_webhook, stripe_webhook
from tenants.services.api_clients import ApiTokens
from tenants.services.auth import AuthService
from workers.actors import BrokerTaskSender, register
from workers.broker import broker_is_reachable, build_broker
from workers.runtime import build_import_jobs, build_runtime
from workers.scheduler import Scheduler
from workers.sending import BackgroundTaskSender

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS: list[Path | os.PathLike[Any] | str] = [
    ROOT / "quita" / "templates",
    ROOT / "portal" / "templates",
    ROOT / "debtor_site" / "templates",
]
STATIC_DIR = ROOT / "quita" / "static"

log = structlog.get_logger("quita.app")

CSRF_COOKIE = "csrftoken"
# Anchored: a bare "/webhooks" would also match /portal/webhooks/... pages. /parar/: the
# signed token of an opt-out link authorises it (RFC 8058 one-click posts come from mail
# clients, which hold no CSRF cookie).
CSRF_EXCLUDE = ["^/api/", "^/webhooks/", "^/parar/"]


@get("/healthz", name="healthz")
async def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """Database and broker reachability, for load balancers and orchestrators."""
    db: Database = request.app.state.db
    checks = {"database": "ok", "broker": "ok"}
    try:
        async with db.session(Scope.system()) as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        checks["database"] = "unavailable"
    broker: dramatiq.Broker = request.app.state.broker
    if not await asyncio.to_thread(broker_is_reachable, broker):
        checks["broker"] = "unavailable"
    healthy = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if healthy else "degraded", **checks}, status_code=200 if healthy else 503
    )


@get("/ping", name="ping", media_type="text/plain")
async def ping() -> str:
    """A plain-text liveness answer that touches nothing (the baseline of the benches)."""
    return "ok"


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    return not request.url.path.startswith(("/api", "/healthz"))


def _error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if is_api_path(request.url.path):
        return problem_response(request, exc)
    if not _wants_html(request):
        return Response(
            {"status": exc.status_code, "detail": exc.detail}, status_code=exc.status_code
        )
    return Template(
        "errors/error.html",
        status_code=exc.status_code,
        context={"status": exc.status_code, "detail": exc.detail},
    )


def _server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Log what broke (with its traceback) and answer a plain 500 page."""
    log.error("request.failed", path=loggable_path(request.url.path), exc_info=exc)
    return _error_page(request, HTTPException(status_code=500, detail="Internal Server Error"))


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Other HTTP errors: problem details under /api/, Litestar's default elsewhere."""
    if is_api_path(request.url.path):
        return problem_response(request, exc)
    return create_exception_response(request, exc)


def _not_authorized(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    if request.url.path.startswith("/portal"):
        if request.method == "GET":
            return Redirect(f"/portal/?next={request.url.path}")
        return _error_page(request, exc)
    if not _wants_html(request):
        return _error_page(request, exc)
    # The debtor site: a missing or expired session goes back to look-up.
    return Redirect("/?expirou=1")


class _AppClock:
    """The app's current clock (``app.state.clock``), whichever it is at the moment."""

    def __init__(self, app: Litestar) -> None:
        self._app = app

    def now(self) -> datetime:
        clock: Clock = self._app.state.clock
        return clock.now()


def _api_token_lifetime(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.security.api_token_minutes)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    run_workers: bool | None = None,
    gateway: PaymentGateway | None = None,
) -> Litestar:
    """Build the web app. In the embedded mode workers run inside this process.

    ``gateway`` replaces the payment gateway built from the settings (tests).
    """
    settings = settings or Settings.from_env()
    settings.check()
    configure_logging(settings.log_level, json=settings.log_json)
    clock = clock or clock_from(settings.clock_start)
    broker = build_broker(settings.broker)
    runtime = build_runtime(settings, clock)
    actors = register(broker, runtime)
    set_task_sender(BrokerTaskSender(actors))
    in_process = settings.embedded if run_workers is None else run_workers
    worker: dramatiq.Worker | None = None
    scheduler: Scheduler | None = None
    sender: BackgroundTaskSender | None = None

    async def startup(app: Litestar) -> None:
        nonlocal worker, scheduler, sender
        if settings.broker.kind != "stub":
            # A networked broker answers each job sent; the event loop must not wait for it.
            sender = BackgroundTaskSender(BrokerTaskSender(actors))
            set_task_sender(sender)
        db = Database(
            settings.database.url,
            echo=settings.database.echo,
            pool_size=settings.database.pool_size,
        )
        app.state.db = db
        app.state.auth = AuthService(db, settings.security, clock, settings.base_url)
        app.state.import_jobs = build_import_jobs(db, settings, clock)
        app.state.debtor_access = DebtorAccess(db, settings.security.cpf_hash_key, clock)
        # The clock is read through app.state, so a test that moves it moves token expiry.
        app.state.api_tokens = ApiTokens(db, _AppClock(app), _api_token_lifetime(settings))
        if in_process:
            worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
            worker.start()
            scheduler = Scheduler(actors)
            scheduler.start()
            log.info("workers.started", mode="in-process")

    async def shutdown(app: Litestar) -> None:
        if scheduler is not None:
            scheduler.stop()
        if worker is not None:
            await asyncio.to_thread(worker.stop)
        if sender is not None:
            await asyncio.to_thread(sender.close)
        await app.state.db.dispose()

    # Bodies are capped per route before they are read (quita.bodies); uploads have their own.
    upload_limit = upload_body_limit(settings.max_upload_bytes)
    portal_uploads = Router(
        "/",
        route_handlers=[ImportsController],
        request_max_body_size=upload_limit,
        middleware=[SignedInBeforeUpload()],
    )

    def engine_callback(engine: JinjaTemplateEngine) -> None:
        install_translations(engine.engine)
        engine.engine.globals["settings"] = settings
        engine.engine.globals["tenant_input"] = tenant_input
        engine.engine.globals["menu_for"] = menu_for

    app = Litestar(
        route_handlers=[
            healthz,
            ping,
            PublicPagesController,
            LookupController,
            AgreementsController,
            RightsController,
            SiteDisputesController,
            PaperworkController,
            OptOutController,
            PaymentsController,
            SiteSpecialOffersController,
            stripe_webhook,
            local_webhook,
            psp_webhook,
            twilio_whatsapp_webhook,
            twilio_sms_webhook,
            twilio_status_webhook,
            cloud_verify,
            cloud_webhook,
            SignInController,
            WorkspaceController,
            MembersController,
            AccountsController,
            portal_uploads,
            DisputesController,
            ReguaController,
            PolicyController,
            PaymentSettingsController,
            RetentionController,
            HandoverRulesController,
            AgencyQueueController,
            AgencyAccountController,
            SpecialOffersController,
            EscalationController,
            DashboardsController,
            SsoController,
            SsoDomainController,
            WebhookEndpointsController,
            ApiClientsController,
            api_router(upload_limit),
            create_static_files_router(
                path="/static",
                directories=[STATIC_DIR],
                name="static",
                opt={"exclude_from_csrf": True},
            ),
        ],
        middleware=[
            DefineMiddleware(
                SessionBoundCsrfMiddleware,
                secret=settings.security.secret_key,
                csrf_cookie=CSRF_COOKIE,
                staff_cookie=SESSION_COOKIE,
                debtor_cookie=DEBTOR_COOKIE,
                secure=settings.security.secure_cookies,
                exclude=CSRF_EXCLUDE,
            ),
            RequestLogMiddleware(),
            StaffAuthMiddleware(lambda: app.state.auth),
        ],
        csrf_config=CSRFConfig(
            secret=settings.security.secret_key,
            cookie_name=CSRF_COOKIE,
            cookie_secure=settings.security.secure_cookies,
            cookie_samesite="strict",
            cookie_httponly=False,
            exclude=CSRF_EXCLUDE,
        ),
        template_config=TemplateConfig(
            directory=TEMPLATE_DIRS, engine=JinjaTemplateEngine, engine_callback=engine_callback
        ),
        openapi_config=openapi_config(),
        include_in_schema=False,  # the OpenAPI document describes the API only
        exception_handlers={
            HTTPException: _http_error,
            NotAuthorizedException: _not_authorized,
            TenantNotChosen: to_chooser,
            NotFoundException: _error_page,
            PermissionDeniedException: _error_page,
            HTTP_413_REQUEST_ENTITY_TOO_LARGE: _error_page,
            HTTP_500_INTERNAL_SERVER_ERROR: _server_error,
        },
        before_send=[add_security_headers],
        on_startup=[startup],
        on_shutdown=[shutdown],
        request_max_body_size=FORM_BODY_LIMIT,
        request_class=QuitaRequest,
        debug=False,
        logging_config=None,  # structlog is configured by configure_logging()
    )
    app.state.settings = settings
    app.state.clock = clock
    # Seals secrets kept at rest (SSO client secret, outbound-webhook keys).
    app.state.secrets_box = SecretsBox.from_settings(settings.security)
    # The DNS look-up proving SSO e-mail domains (tests put their own here).
    app.state.txt_resolver = txt_records
    if gateway is None:
        gateway = build_gateway(settings, clock.now)
    app.state.gateway = gateway
    app.state.broker = broker
    app.state.actors = actors
    app.state.runtime = runtime
    app.state.webhook_sender = runtime.webhook_sender  # the portal's "send a test event"
    return app
