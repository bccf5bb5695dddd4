"""Actors, named ``area.verb``. Thin: decode ids, call a service, done.

They are declared on a given broker by ``register`` (not at import time), so the
composition root and the tests choose the broker.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import dramatiq
import structlog
from sqlalchemy import or_, select

from collection.agency import casework, handover
from collection.debtor.access import DebtorAccess
from collection.escalation import name_clearing
from collection.escalation import service as escalation
from collection.imports.jobs import RUN_IMPORT
from collection.payments import service as payments
from collection.privacy import retention
from collection.regua import inbound_texts
from collection.regua import service as reminders
from collection.webhooks import outbound as outbound_webhooks
from core.clock import local_today
from core.db import Scope
from core.mail import MAX_ATTEMPTS, EmailStatus, OutboundEmail, deliver
from core.secrets_box import SecretsBox
from core.tasks import TaskSender
from tenants.services.auth import AuthService
from workers.runtime import Runtime

log = structlog.get_logger("quita.workers")

MAIL_DELIVER = "mail.deliver"
MAINTENANCE_SWEEP = "maintenance.sweep"
REMINDERS_PLAN = "reminders.plan"
MESSAGES_DISPATCH = "messages.dispatch"
AGREEMENTS_ADVANCE = "agreements.advance"
PAYMENTS_RECONCILE = "payments.reconcile"
AGENCY_HANDOVER = "agency.handover"
ESCALATION_ADVANCE = "escalation.advance"
PRIVACY_RETENTION = "privacy.retention"
WEBHOOKS_DISPATCH = outbound_webhooks.DISPATCH
DISPATCH_BUDGET = timedelta(seconds=45)


def register(broker: dramatiq.Broker, runtime: Runtime) -> dict[str, dramatiq.Actor[Any, Any]]:
    """Declare every actor on ``broker``; returns them by name."""
    prefix = runtime.settings.broker.queue_prefix

    async def deliver_email(email_id: str) -> None:
        status = await deliver(
            runtime.db(),
            runtime.transport,
            uuid.UUID(email_id),
            runtime.clock.now(),
            texts=runtime.texts,
        )
        log.info("mail.delivered", email_id=email_id, status=status)

    async def run_import(job_id: str) -> None:
        status = await runtime.import_jobs().run(uuid.UUID(job_id))
        log.info("imports.ran", job_id=job_id, status=status)

    async def sweep() -> None:
        """Re-send what is due and unprocessed; purge expired sessions and tokens."""
        db = runtime.db()
        now = runtime.clock.now()
        async with db.session(Scope.system()) as session:
            pending = await session.scalars(
                select(OutboundEmail.id)
                .where(
                    or_(
                        OutboundEmail.status == EmailStatus.PENDING,
                        (OutboundEmail.status == EmailStatus.SENDING)
                        & (OutboundEmail.claimed_at < now - timedelta(minutes=10)),
                    ),
                    OutboundEmail.attempts < MAX_ATTEMPTS,
                    OutboundEmail.created_at < now - timedelta(seconds=30),
                )
                .limit(1000)
            )
            ids = [str(i) for i in pending.all()]
        for email_id in ids:
            actors[MAIL_DELIVER].send(email_id)
        for job_id in await runtime.import_jobs().stalled():
            actors[RUN_IMPORT].send(job_id)
        for event_id in await payments.unapplied_events(db, now - timedelta(minutes=1)):
            actors[payments.APPLY_EVENT].send(str(event_id))
        for text_id in await inbound_texts.unprocessed(db, now - timedelta(minutes=1)):
            actors[inbound_texts.PROCESS].send(str(text_id))
        auth = AuthService(db, runtime.settings.security, runtime.clock, runtime.settings.base_url)
        await auth.purge_expired(now)
        await DebtorAccess(db, runtime.settings.security.cpf_hash_key, runtime.clock).purge_expired(
            now
        )
        log.info("maintenance.swept", requeued=len(ids))

    async def plan_reminders() -> None:
        """Plan today's régua messages (idempotent: the outbox is unique per step)."""
        now = runtime.clock.now()
        result = await reminders.plan(runtime.db(), local_today(runtime.clock), now)
        log.info("reminders.planned", planned=result.planned, blocked=result.blocked)

    async def dispatch_messages() -> None:
        """Deliver due messages in leased batches until none is due or the time is up."""
        db = runtime.db()
        started = runtime.clock.now()
        outcomes: dict[str, int] = {}
        while runtime.clock.now() - started < DISPATCH_BUDGET:
            batch = await reminders.claim(db, runtime.clock.now())
            if not batch:
                break
            for message_id in batch:
                outcome = await reminders.deliver(
                    db, runtime.delivery(), message_id, runtime.clock.now()
                )
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        log.info("messages.dispatched", **outcomes)

    async def advance_agreements() -> None:
        changed = await payments.advance_agreements(runtime.db(), local_today(runtime.clock))
        log.info("agreements.advanced", changed=changed)

    async def apply_gateway_event(event_id: str) -> None:
        outcome = await payments.apply_event(runtime.db(), uuid.UUID(event_id))
        log.info("payments.event_applied", event_id=event_id, outcome=outcome)

    async def process_inbound_text(text_id: str) -> None:
        outcome = await inbound_texts.process(runtime.db(), uuid.UUID(text_id), runtime.clock.now())
        log.info("texts.processed", text_id=text_id, outcome=outcome)

    async def reconcile_payments() -> None:
        """Repair missed or out-of-order gateway events; issue the codes due soon."""
        if runtime.gateway is None:
            return
        now = runtime.clock.now()
        outcomes = await payments.reconcile(runtime.db(), runtime.gateway, now)
        issued = await payments.issue_codes(
            runtime.db(), runtime.gateway, local_today(runtime.clock), now
        )
        log.info("payments.reconciled", issued=issued, **outcomes)

    async def hand_over_accounts() -> None:
        """Promises kept or broken first (they bring accounts back to the queue), then
        the tenants' hand-over rules and the queue's scores."""
        reviewed = await casework.review_promises(runtime.db(), local_today(runtime.clock))
        outcomes = await handover.hand_over(runtime.db(), runtime.clock.now())
        log.info("agency.handed_over", promises_reviewed=reviewed, **outcomes)

    async def clear_names(agreement_id: str) -> None:
        """Request the removal of an agreement's listings its payment made due."""
        outcomes = await name_clearing.clear_names(
            runtime.db(), uuid.UUID(agreement_id), local_today(runtime.clock)
        )
        log.info("escalation.names_cleared", **outcomes)

    async def advance_escalations() -> None:
        outcomes = await escalation.advance(runtime.db(), local_today(runtime.clock))
        log.info("escalation.advanced", **outcomes)

    async def apply_retention() -> None:
        """Anonymise the people past their creditor's retention period."""
        outcome = await retention.run_retention(runtime.db(), runtime.clock.now())
        log.info("privacy.retention", tenants=outcome.tenants, anonymised=outcome.anonymised)

    webhook_sender = runtime.webhook_sender
    secrets_box = SecretsBox.from_settings(runtime.settings.security)

    async def dispatch_webhooks() -> None:
        """Post due webhook deliveries in leased batches until none is due or time is up."""
        db = runtime.db()
        started = runtime.clock.now()
        outcomes: dict[str, int] = {}
        while runtime.clock.now() - started < DISPATCH_BUDGET:
            batch = await outbound_webhooks.dispatch(
                db, webhook_sender, runtime.clock.now(), secrets_box
            )
            if not batch:
                break
            for outcome, count in batch.items():
                outcomes[outcome] = outcomes.get(outcome, 0) + count
        log.info("webhooks.dispatched", **outcomes)

    actors: dict[str, dramatiq.Actor[Any, Any]] = {
        MAIL_DELIVER: dramatiq.actor(
            broker=broker,
            actor_name=MAIL_DELIVER,
            queue_name=f"{prefix}mail",
            max_retries=MAX_ATTEMPTS,
            min_backoff=5_000,
            max_backoff=600_000,
        )(deliver_email),
        RUN_IMPORT: dramatiq.actor(
            broker=broker,
            actor_name=RUN_IMPORT,
            queue_name=f"{prefix}imports",
            max_retries=0,  # a failed import is recorded on the job; the sweeper re-sends
            time_limit=3_600_000,
        )(run_import),
        MAINTENANCE_SWEEP: dramatiq.actor(
            broker=broker,
            actor_name=MAINTENANCE_SWEEP,
            queue_name=f"{prefix}maintenance",
            max_retries=0,
        )(sweep),
        REMINDERS_PLAN: dramatiq.actor(
            broker=broker,
            actor_name=REMINDERS_PLAN,
            queue_name=f"{prefix}reminders",
            max_retries=0,  # the next tick plans again; nothing is lost
            time_limit=600_000,
        )(plan_reminders),
        MESSAGES_DISPATCH: dramatiq.actor(
            broker=broker,
            actor_name=MESSAGES_DISPATCH,
            queue_name=f"{prefix}messages",
            max_retries=0,  # leases bring unfinished messages back
            time_limit=120_000,
        )(dispatch_messages),
        payments.APPLY_EVENT: dramatiq.actor(
            broker=broker,
            actor_name=payments.APPLY_EVENT,
            queue_name=f"{prefix}payments",
            max_retries=8,
            min_backoff=1_000,
            max_backoff=300_000,
        )(apply_gateway_event),
        inbound_texts.PROCESS: dramatiq.actor(
            broker=broker,
            actor_name=inbound_texts.PROCESS,
            queue_name=f"{prefix}texts",
            max_retries=8,
            min_backoff=1_000,
            max_backoff=300_000,
        )(process_inbound_text),
        PAYMENTS_RECONCILE: dramatiq.actor(
            broker=broker,
            actor_name=PAYMENTS_RECONCILE,
            queue_name=f"{prefix}payments",
            max_retries=0,
            time_limit=600_000,
        )(reconcile_payments),
        AGREEMENTS_ADVANCE: dramatiq.actor(
            broker=broker,
            actor_name=AGREEMENTS_ADVANCE,
            queue_name=f"{prefix}reminders",
            max_retries=0,
            time_limit=600_000,
        )(advance_agreements),
        AGENCY_HANDOVER: dramatiq.actor(
            broker=broker,
            actor_name=AGENCY_HANDOVER,
            queue_name=f"{prefix}maintenance",
            max_retries=0,
            time_limit=600_000,
        )(hand_over_accounts),
        name_clearing.CLEAR_NAMES: dramatiq.actor(
            broker=broker,
            actor_name=name_clearing.CLEAR_NAMES,
            queue_name=f"{prefix}payments",
            max_retries=8,  # idempotent; the hourly escalation run repairs a lost one
            min_backoff=1_000,
            max_backoff=300_000,
        )(clear_names),
        ESCALATION_ADVANCE: dramatiq.actor(
            broker=broker,
            actor_name=ESCALATION_ADVANCE,
            queue_name=f"{prefix}maintenance",
            max_retries=0,
            time_limit=600_000,
        )(advance_escalations),
        PRIVACY_RETENTION: dramatiq.actor(
            broker=broker,
            actor_name=PRIVACY_RETENTION,
            queue_name=f"{prefix}maintenance",
            max_retries=0,  # idempotent: the next day's run picks up what is left
            time_limit=1_800_000,
        )(apply_retention),
        WEBHOOKS_DISPATCH: dramatiq.actor(
            broker=broker,
            actor_name=WEBHOOKS_DISPATCH,
            queue_name=f"{prefix}webhooks",
            max_retries=0,  # the outbox and its leases bring unfinished deliveries back
            time_limit=900_000,  # a batch may wait 10 s on each of 50 slow receivers
        )(dispatch_webhooks),
    }
    return actors


class BrokerTaskSender(TaskSender):
    """Sends jobs through a broker by actor name (installed into ``core.tasks``)."""

    def __init__(self, actors: dict[str, dramatiq.Actor[Any, Any]]) -> None:
        self.actors = actors

    def send(self, actor_name: str, *args: str | int) -> None:
        self.actors[actor_name].send(*args)
