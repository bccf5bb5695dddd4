"""The Dramatiq broker for each mode: in-memory (embedded), RabbitMQ or Redis."""

from __future__ import annotations

import contextlib

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from core.settings import BrokerSettings


def build_broker(settings: BrokerSettings) -> dramatiq.Broker:
    """A broker with the AsyncIO middleware (our actors are coroutines)."""
    broker: dramatiq.Broker
    if settings.kind == "stub":
        broker = StubBroker()
        broker.emit_after("process_boot")
    elif settings.kind == "rabbitmq":
        broker = RabbitmqBroker(url=settings.url, confirm_delivery=True)
    else:
        broker = RedisBroker(url=settings.url)  # type: ignore[no-untyped-call]
    broker.add_middleware(AsyncIO())
    return broker


def broker_is_reachable(broker: dramatiq.Broker) -> bool:
    """True when the broker answers (used by /healthz)."""
    try:
        if isinstance(broker, RabbitmqBroker):
            broker.channel.queue_declare(queue="quita.health", durable=False, auto_delete=True)
        elif isinstance(broker, RedisBroker):
            broker.client.ping()
    except Exception:
        if isinstance(broker, RabbitmqBroker):
            # Forget this thread's dead connection: the next check (and the next job
            # sent) opens a new one, so the process recovers when RabbitMQ is back.
            with contextlib.suppress(Exception):  # already gone is fine
                del broker.connection
        return False
    return True
