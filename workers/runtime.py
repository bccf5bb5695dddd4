"""What actors need at run time: settings, a database per event loop, adapters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from collection.imports.jobs import ImportJobs
from collection.imports.loader import PortfolioImporter
from collection.imports.reading import ImportLimits
from collection.payments.service import PaymentGateway
from collection.regua.service import Channels, Delivery
from collection.webhooks.outbound import WebhookSender
from core.clock import Clock, SystemClock, clock_from
from core.db import Database
from core.mail import MailTransport, TextTransport
from core.settings import Settings
from integrations.channels import ChannelRouter
from integrations.gateways import build_gateway
from integrations.mail import transport_for
from integrations.texts import text_transport_for
from integrations.webhook_sender import HttpWebhookSender


def build_import_jobs(db: Database, settings: Settings, clock: Clock) -> ImportJobs:
    """One way to build the import-job service, for web handlers and actors alike."""
    limits = ImportLimits(max_bytes=settings.max_upload_bytes)
    importer = PortfolioImporter(db, cpf_hash_key=settings.security.cpf_hash_key, limits=limits)
    return ImportJobs(db, importer, clock, limits)


@dataclass
class Runtime:
    """Shared by the actors of one broker; the database is created on the actor loop."""

    settings: Settings
    transport: MailTransport
    clock: Clock = field(default_factory=SystemClock)
    channels: Channels | None = None  # the régua's channels (built by the composition root)
    gateway: PaymentGateway | None = None  # None: payments are not configured
    texts: TextTransport | None = None  # SMS and WhatsApp (one-time codes)
    webhook_sender: WebhookSender = field(default_factory=HttpWebhookSender)
    _dbs: dict[int, Database] = field(default_factory=dict)

    def db(self) -> Database:
        # An async engine belongs to one event loop; Dramatiq runs async actors on its own.
        loop = asyncio.get_running_loop()
        key = id(loop)
        if key not in self._dbs:
            self._dbs[key] = Database(
                self.settings.database.url, pool_size=self.settings.database.pool_size
            )
        return self._dbs[key]

    def delivery(self) -> Delivery:
        if self.channels is None:  # pragma: no cover - the composition root always sets it
            raise RuntimeError("no message channels configured")
        return Delivery(
            base_url=self.settings.base_url,
            channels=self.channels,
            opt_out_key=self.settings.security.secret_key,
        )

    def import_jobs(self) -> ImportJobs:
        """The import-job service on this loop's database."""
        return build_import_jobs(self.db(), self.settings, self.clock)

    async def close(self) -> None:
        loop_id = id(asyncio.get_running_loop())
        db = self._dbs.pop(loop_id, None)
        if db is not None:
            await db.dispose()


def build_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    """The one way to wire the actors' adapters: mail, SMS/WhatsApp, the régua channels."""
    mail = transport_for(settings.mail)
    texts = text_transport_for(settings.text, settings.var_dir / "texts")
    clock = clock or clock_from(settings.clock_start)
    return Runtime(
        settings=settings,
        transport=mail,
        clock=clock,
        channels=ChannelRouter(mail, texts),
        texts=texts,
        gateway=build_gateway(settings, clock.now),
        # A developer's own receiver on this machine; never outside development.
        webhook_sender=HttpWebhookSender(allow_loopback=settings.development),
    )
