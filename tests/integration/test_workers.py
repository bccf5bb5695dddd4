"""Background delivery through a real broker: stub always, RabbitMQ and Redis with CI=true."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import timedelta

import dramatiq
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from core.db import Database, Scope, utcnow
from core.mail import DeliveryFailed, EmailMessage, EmailStatus, OutboundEmail, deliver
from core.settings import BrokerSettings, MailSettings
from integrations.mail import SmtpTransport
from workers.actors import MAIL_DELIVER, MAINTENANCE_SWEEP, register
from workers.broker import broker_is_reachable, build_broker
from workers.runtime import Runtime

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BROKERS = {"stub": ""}
if CI or os.environ.get("QUITA_TEST_BROKERS"):
    BROKERS["rabbitmq"] = "amqp://guest:guest@127.0.0.1:5672/"
    BROKERS["redis"] = "redis://127.0.0.1:6379/15"


class CapturingTransport:
    def __init__(self, failures: int = 0) -> None:
        self.sent: list[EmailMessage] = []
        self.failures = failures

    async def send(self, message: EmailMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("smtp down")
        self.sent.append(message)


async def _pending_email(db: Database, *, age: timedelta = timedelta()) -> uuid.UUID:
    email_id = uuid.uuid4()
    async with db.session(Scope.system()) as session:
        session.add(
            OutboundEmail(
                id=email_id,
                to_address=f"{email_id.hex[:6]}@example.test",
                subject="Teste",
                body_text="Olá",
                template="test",
                created_at=utcnow() - age,
            )
        )
        await session.commit()
    return email_id


async def _status(db: Database, email_id: uuid.UUID) -> EmailStatus:
    async with db.session(Scope.system()) as session:
        row = await session.get_one(OutboundEmail, email_id)
        return row.status


async def _wait_sent(db: Database, email_id: uuid.UUID, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await _status(db, email_id) == EmailStatus.SENT:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"e-mail {email_id} not sent within {within}s")


@pytest.fixture(params=list(BROKERS))
def broker_setup(request, settings):
    url = BROKERS[request.param]
    broker_settings = BrokerSettings(url=url, queue_prefix=f"t{uuid.uuid4().hex[:8]}-")
    broker = build_broker(broker_settings)
    if not broker_is_reachable(broker):
        pytest.fail(f"{request.param} is required (CI=true) but unreachable")
    transport = CapturingTransport()
    runtime = Runtime(settings=settings.with_changes(broker=broker_settings), transport=transport)
    actors = register(broker, runtime)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    yield broker, actors, transport
    worker.stop()
    for queue in list(broker.get_declared_queues()):
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            try:
                if request.param == "rabbitmq":
                    broker.channel.queue_delete(name)  # type: ignore[attr-defined]
            except Exception:  # noqa: S110 - best-effort cleanup of test queues
                pass
    if request.param == "redis":
        broker.flush_all()
    broker.close()


async def test_mail_job_is_delivered_once_even_when_sent_twice(db, broker_setup):
    _broker, actors, transport = broker_setup
    email_id = await _pending_email(db)
    actors[MAIL_DELIVER].send(str(email_id))
    actors[MAIL_DELIVER].send(str(email_id))  # a duplicate message changes nothing
    await _wait_sent(db, email_id)
    await asyncio.sleep(0.5)
    assert [m.subject for m in transport.sent if m.to_address.startswith(email_id.hex[:6])] == [
        "Teste"
    ]


async def test_sweeper_resends_what_was_never_enqueued(db, broker_setup):
    _broker, actors, _transport = broker_setup
    email_id = await _pending_email(db, age=timedelta(minutes=2))  # its message was lost
    actors[MAINTENANCE_SWEEP].send()
    await _wait_sent(db, email_id)


async def test_delivery_failure_stays_pending_then_succeeds_when_smtp_is_back(db):
    email_id = await _pending_email(db)
    transport = CapturingTransport(failures=1)
    with pytest.raises(DeliveryFailed):
        await deliver(db, transport, email_id, utcnow())
    assert await _status(db, email_id) == EmailStatus.PENDING
    assert await deliver(db, transport, email_id, utcnow()) == "sent"
    assert await deliver(db, transport, email_id, utcnow()) == "sent"  # idempotent
    assert len(transport.sent) == 1


async def test_smtp_transport_talks_to_a_real_smtp_server(tmp_path):
    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.content)
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        transport = SmtpTransport(MailSettings(smtp_host="127.0.0.1", smtp_port=port))
        await transport.send(
            EmailMessage(
                "pessoa@example.test",
                "Assunto",
                "Corpo",
                "<p>Corpo</p>",
                "termo.pdf",
                b"%PDF-1.4 test",
            )
        )
    finally:
        controller.stop()
    assert received and b"Subject: Assunto" in received[0]
    assert b'Content-Disposition: attachment; filename="termo.pdf"' in received[0]


async def test_password_reset_mail_is_enqueued_after_commit(
    client, app, world, outbox, db, monkeypatch
):
    from core import tasks
    from tenants.roles import Role
    from tests.conftest import csrf_from

    # The job as the app sends it, recorded here: the process-wide sender may have been
    # installed by another test's app or broker, so its queues say nothing about this app.
    sent: list[tuple[str, tuple[str | int, ...]]] = []

    class Recorder:
        def send(self, actor_name: str, *args: str | int) -> None:
            sent.append((actor_name, args))

    monkeypatch.setattr(tasks, "_sender", Recorder())
    page = await client.get("/portal/password/forgot")
    await client.post(
        "/portal/password/forgot",
        data={"email": world.a.users[Role.OWNER], "_csrf_token": csrf_from(page.text)},
    )
    (email,) = await outbox.to(world.a.users[Role.OWNER])
    assert ("mail.deliver", (str(email.id),)) in sent
    async with db.session(Scope.system()) as session:
        assert (
            await session.scalar(select(OutboundEmail.status).where(OutboundEmail.id == email.id))
        ) == EmailStatus.PENDING


async def test_a_queued_text_goes_through_the_text_transport(app, db, tmp_path):
    from datetime import UTC, datetime

    from core.mail import deliver, queue_text
    from integrations.mail import FolderTransport
    from integrations.texts import LocalTextTransport

    async with db.session(Scope.system()) as session:
        row = queue_text(session, to="+5511987654321", body="Quita: seu código é 123456.")
        await session.commit()
    texts = LocalTextTransport(tmp_path / "texts")
    mail = FolderTransport(MailSettings(outbox_dir=str(tmp_path / "mail")))
    status = await deliver(db, mail, row.id, datetime.now(UTC), texts=texts)
    assert status == "sent"
    (log,) = (tmp_path / "texts").iterdir()
    assert "123456" in log.read_text() and "(11) *****-4321" in log.read_text()
    assert not (tmp_path / "mail").exists()  # not sent as an e-mail
