"""The one way to build the payment gateway from the settings (web and workers alike).

Production: Stripe, and a Pix PSP (the Banco Central's Pix API) for the creditors that
choose it for Pix in their payment settings (``ProviderGateway``). Development without
Stripe keys (``quita run``): the card goes to the local fake of Stripe (localstripe) and
Pix and boleto to the local test provider, behind one ``PaymentGateway`` that routes each
call by method or charge id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from collection.models import PaymentMethod
from collection.payments.service import (
    PSP,
    Charge,
    ChargeRequest,
    GatewayError,
    InvalidNotice,
    Notice,
    PaymentGateway,
)
from core.i18n import gettext as _
from core.settings import ConfigurationError, Settings
from integrations.local_payments import WEBHOOK_PATH, LocalPaymentProvider, webhook_secret
from integrations.pix_psp import PixPspGateway
from integrations.stripe_gateway import StripeGateway


class RoutedGateway:
    """Several gateways as one: a charge goes to the one taking its method (the local
    provider first), a look-up to the one that issued the id; ``verify`` is the main
    gateway's (the local provider's events have their own route)."""

    def __init__(self, local: LocalPaymentProvider, main: PaymentGateway | None) -> None:
        self.local = local
        self.main = main
        self.test_mode = True
        self.providers = frozenset({"stripe"})
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


class ProviderGateway:
    """The payment-provider boundary: each charge goes to the provider its creditor chose
    for the method (``ChargeRequest.provider``: a Pix PSP, or Stripe and its local
    stand-ins); a look-up goes to the provider that issued the id."""

    def __init__(self, main: PaymentGateway | None, psp: PixPspGateway) -> None:
        self.main = main
        self.psp = psp
        self.test_mode = psp.test_mode or bool(main and main.test_mode)
        self.providers = psp.providers | (main.providers if main else frozenset())
        taken = set(psp.methods) | set(main.methods if main else ())
        self.methods: tuple[PaymentMethod, ...] = tuple(m for m in PaymentMethod if m in taken)

    async def charge(self, request: ChargeRequest) -> Charge:
        if request.provider == PSP:
            return await self.psp.charge(request)
        if self.main is None or request.method not in self.main.methods:
            raise GatewayError(_("This way of paying is not available here."))
        return await self.main.charge(request)

    def verify(self, payload: bytes, signature: str) -> Notice:
        if self.main is None:
            raise InvalidNotice("no gateway for this route")
        return self.main.verify(payload, signature)

    async def lookup(self, provider_id: str, account: str) -> Notice | None:
        if self.psp.owns(provider_id):
            return await self.psp.lookup(provider_id, account)
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
    """Stripe when configured (with the local provider in development when asked for),
    and a Pix PSP for the creditors that choose one, when one is configured."""
    main: PaymentGateway | None = (
        StripeGateway(settings.payments) if settings.payments.enabled else None
    )
    if settings.payments.local_provider and not settings.production:
        main = RoutedGateway(local_provider(settings, now), main)
    if settings.pix_psp.enabled:
        return ProviderGateway(main, PixPspGateway(settings.pix_psp, now))
    return main


def psp_of(gateway: PaymentGateway | None) -> PixPspGateway | None:
    """The Pix PSP behind ``gateway``, if one is configured."""
    if isinstance(gateway, PixPspGateway):
        return gateway
    if isinstance(gateway, ProviderGateway):
        return gateway.psp
    return None


def local_of(gateway: PaymentGateway | None) -> LocalPaymentProvider | None:
    """The local test provider inside ``gateway``, if there is one (development only)."""
    if isinstance(gateway, LocalPaymentProvider):
        return gateway
    if isinstance(gateway, ProviderGateway):
        return local_of(gateway.main)
    if isinstance(gateway, RoutedGateway):
        return gateway.local
    return None
