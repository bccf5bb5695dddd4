"""The one way to build the payment gateway from the settings (web and workers alike).

Production: Stripe alone. Development without Stripe keys (``quita run``): the card goes
to the local fake of Stripe (localstripe) and Pix and boleto to the local test provider,
behind one ``PaymentGateway`` that routes each call by method or charge id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from collection.models import PaymentMethod
from collection.services.payments import (
    Charge,
    ChargeRequest,
    InvalidNotice,
    Notice,
    PaymentGateway,
)
from core.settings import ConfigurationError, Settings
from integrations.local_payments import WEBHOOK_PATH, LocalPaymentProvider, webhook_secret
from integrations.stripe_gateway import StripeGateway


class RoutedGateway:
    """Several gateways as one: a charge goes to the one taking its method (the local
    provider first), a look-up to the one that issued the id; ``verify`` is the main
    gateway's (the local provider's events have their own route)."""

    def __init__(self, local: LocalPaymentProvider, main: PaymentGateway | None) -> None:
        self.local = local
        self.main = main
        self.test_mode = True
        taken = set(local.methods) | set(main.methods if main else ())
        # Pix first: it is what people in Brazil expect.
        self.methods: tuple[PaymentMethod, ...] = tuple(m for m in PaymentMethod if m in taken)

    def _for_method(self, method: PaymentMethod) -> PaymentGateway:
        if method in self.local.methods or self.main is None:
            return self.local
        return self.main

    async def charge(self, request: ChargeRequest) -> Charge:
        return await self._for_method(request.method).charge(request)

    def verify(self, payload: bytes, signature: str) -> Notice:
        if self.main is None:
            raise InvalidNotice("no gateway for this route")
        return self.main.verify(payload, signature)

    async def lookup(self, provider_id: str, account: str) -> Notice | None:
        if self.local.owns(provider_id):
            return await self.local.lookup(provider_id, account)
        if self.main is None:
            return None
        return await self.main.lookup(provider_id, account)


def local_provider(
    settings: Settings, now: Callable[[], datetime], *, webhook_url: str = ""
) -> LocalPaymentProvider:
    """The local test provider of a development app (never in production)."""
    if settings.production:
        raise ConfigurationError("the local payment provider is for development only")
    payments = settings.payments
    return LocalPaymentProvider(
        directory=Path(settings.var_dir) / "local_payments",
        secret=webhook_secret(settings.security.secret_key),
        webhook_url=webhook_url or payments.local_webhook_url or settings.base_url + WEBHOOK_PATH,
        now=now,
        pix_expires=timedelta(seconds=payments.pix_expires_seconds),
        boleto_days=payments.boleto_expires_days,
    )


def build_gateway(settings: Settings, now: Callable[[], datetime]) -> PaymentGateway | None:
    """Stripe when configured; with the local provider in development when asked for."""
    main = StripeGateway(settings.payments) if settings.payments.enabled else None
    if settings.payments.local_provider and not settings.production:
        return RoutedGateway(local_provider(settings, now), main)
    return main


def local_of(gateway: PaymentGateway | None) -> LocalPaymentProvider | None:
    """The local test provider inside ``gateway``, if there is one (development only)."""
    if isinstance(gateway, LocalPaymentProvider):
        return gateway
    if isinstance(gateway, RoutedGateway):
        return gateway.local
    return None
