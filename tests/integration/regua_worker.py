"""The régua through its real worker path: the ``reminders.plan`` and
``messages.dispatch`` actors on a stub broker, the production channel router, and
transports that record what they were given (the e-mail with its headers, the texts)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import dramatiq
from sqlalchemy import update

from collection.models import Channel, ReminderStep
from core.clock import FrozenClock
from core.db import Database, Scope
from core.mail import EmailMessage
from core.settings import BrokerSettings, Settings
from integrations.channels import ChannelRouter
from workers.actors import MESSAGES_DISPATCH, REMINDERS_PLAN, register
from workers.broker import build_broker
from workers.runtime import Runtime


@dataclass
class MailRecorder:
    sent: list[EmailMessage] = field(default_factory=list)

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.sent if m.to_address == address]


@dataclass
class TextRecorder:
    # channel, to, and the free text or (for an approved template) its variables' JSON
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)

    async def send_text(
        self,
        channel: str,
        to: str,
        body: str,
        reference: str,
        *,
        content_sid: str = "",
        content_variables: str = "",
    ) -> str:
        self.sent.append((channel, to, content_variables if content_sid else body))
        self.templates.append(content_sid)
        return f"text-{reference}"


TEMPLATE_SID = "HX" + "ab12" * 8


async def use_whatsapp_template(
    db: Database, tenant_id: uuid.UUID, variables: str = "nome,credor,contrato,link,rodape"
) -> None:
    """The creditor registers its approved template on the WhatsApp steps."""
    async with db.session(Scope.tenant(tenant_id)) as session:
        await session.execute(
            update(ReminderStep)
            .where(ReminderStep.channel == Channel.WHATSAPP)
            .values(whatsapp_template=TEMPLATE_SID, template_variables=variables)
        )
        await session.commit()


@dataclass
class ReguaWorker:
    broker: dramatiq.Broker
    actors: dict[str, dramatiq.Actor]  # type: ignore[type-arg]
    clock: FrozenClock
    mail: MailRecorder
    texts: TextRecorder
    prefix: str

    async def run(self, at: datetime) -> None:
        """What the scheduler does at ``at``: plan today's messages, then dispatch."""
        self.clock._now = at
        for name, queue in ((REMINDERS_PLAN, "reminders"), (MESSAGES_DISPATCH, "messages")):
            self.actors[name].send()
            await asyncio.to_thread(self.broker.join, f"{self.prefix}{queue}", timeout=60_000)


@contextmanager
def regua_worker(
    settings: Settings, at: datetime, texts: object | None = None
) -> Iterator[ReguaWorker]:
    """A worker of the régua on its own stub broker, with a clock the test moves."""
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    broker_settings = BrokerSettings(url="", queue_prefix=prefix)
    broker = build_broker(broker_settings)
    clock = FrozenClock(at)
    mail = MailRecorder()
    recorder = TextRecorder()
    runtime = Runtime(
        settings=settings.with_changes(broker=broker_settings),
        transport=mail,
        clock=clock,
        channels=ChannelRouter(mail, texts or recorder),  # type: ignore[arg-type]
    )
    actors = register(broker, runtime)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        yield ReguaWorker(broker, actors, clock, mail, recorder, prefix)
    finally:
        worker.stop()
        broker.close()
