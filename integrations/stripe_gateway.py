"""The payment gateway adapter: Stripe PaymentIntents (Pix, boleto, card) on the creditor's
connected account, and webhook verification with the SDK's own signature check.

Every call carries the payment's idempotency key, so a retry reaches the same
PaymentIntent. Only a reduced copy of each event is kept (ids, type, amounts, status):
Stripe's objects also carry the payer's name, e-mail and CPF, which Quita already has.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import stripe
from stripe._base_address import BaseAddresses

from collection.models import PaymentMethod
from collection.payments.service import (
    Charge,
    ChargeRequest,
    GatewayError,
    InvalidNotice,
    Notice,
)
from core.i18n import gettext as _
from core.settings import PaymentSettings

# Stripe's clock and ours agree within seconds; an event stamped later than this ahead of
# now was not sent by Stripe now (a replay prepared in advance, or a forged clock).
FUTURE_TOLERANCE_SECONDS = 60

_KEPT = ("id", "object", "amount", "amount_received", "amount_refunded", "currency", "status")


class StripeGateway:
    """PaymentGateway on Stripe (or a local fake speaking its API, for tests and the demo)."""

    providers = frozenset({"stripe"})

    def __init__(self, settings: PaymentSettings, http_client: stripe.HTTPClient | None = None):
        base: BaseAddresses | None = {"api": settings.api_base} if settings.api_base else None
        self._settings = settings
        self._client = stripe.StripeClient(
            settings.secret_key,
            base_addresses=base,
            http_client=http_client or stripe.HTTPXClient(),
            max_network_retries=2,
        )
        self.test_mode = settings.test_gateway or settings.secret_key.startswith("sk_test_")
        # Every payment is made on the creditor's connected account, so every event must
        # name one; the local fake (localstripe) has no Connect and names none.
        self.connected_accounts = not settings.test_gateway
        # The local fake (localstripe) knows cards only; Stripe itself takes all three.
        self.methods: tuple[PaymentMethod, ...] = (
            (PaymentMethod.CARD,) if settings.test_gateway else tuple(PaymentMethod)
        )

    async def charge(self, request: ChargeRequest) -> Charge:
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": "brl",
            "payment_method_types": [request.method.value],
            "confirm": True,
            "metadata": {
                "payment_id": str(request.payment_id),
                "tenant_id": str(request.tenant_id),
                "agreement_id": str(request.agreement_id),
                "installment": str(request.installment),
            },
        }
        if request.method == PaymentMethod.CARD:
            if not request.card_method.startswith(("pm_", "card_")):
                raise GatewayError(_("The card details were not received. Try again."))
            params["payment_method"] = request.card_method
        elif request.method == PaymentMethod.PIX:
            params["payment_method_data"] = {"type": "pix"}
            params["payment_method_options"] = {
                "pix": {"expires_after_seconds": self._settings.pix_expires_seconds}
            }
        else:
            if request.payer_address is None:
                raise GatewayError(_("A boleto needs your full address."))
            address = request.payer_address
            params["payment_method_data"] = {
                "type": "boleto",
                "boleto": {"tax_id": request.payer_cpf},
                "billing_details": {
                    "name": request.payer_name,
                    "email": request.payer_email or None,
                    "address": {
                        "line1": address.line1,
                        "city": address.city,
                        "state": address.state,
                        "postal_code": address.postal_code,
                        "country": "BR",
                    },
                },
            }
            params["payment_method_options"] = {
                "boleto": {"expires_after_days": self._settings.boleto_expires_days}
            }
        options: stripe.RequestOptions = {"idempotency_key": request.idempotency_key}
        if request.account:
            options["stripe_account"] = request.account
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params=params,  # type: ignore[arg-type]
                options=options,
            )
        except stripe.CardError as exc:
            error = exc.error
            intent_id = ""
            if error is not None and error.payment_intent is not None:
                intent_id = str(error.payment_intent.id)
            return Charge(
                provider_id=intent_id,
                status="requires_payment_method",
                failure=_("The card was declined. Try another card or pay by Pix or boleto."),
            )
        except stripe.StripeError as exc:
            raise GatewayError(
                _("The payment service did not answer. Try again in a few minutes.")
            ) from exc
        return charge_of(intent.to_dict())

    async def lookup(self, provider_id: str, account: str) -> Notice | None:
        options: stripe.RequestOptions = {"stripe_account": account} if account else {}
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(
                provider_id, options=options
            )
        except stripe.StripeError as exc:
            raise GatewayError(_("The payment service did not answer.")) from exc
        return notice_of_state(intent.to_dict(), account)

    def verify(self, payload: bytes, signature: str) -> Notice:
        try:
            # The SDK's own check (signature and tolerance), then the plain JSON: building
            # the SDK's event object would cost more than everything else here.
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"),
                signature,
                self._settings.webhook_secret,
                tolerance=self._settings.webhook_tolerance_seconds,
            )
            event = json.loads(payload)
        except (ValueError, RecursionError, stripe.SignatureVerificationError) as exc:
            raise InvalidNotice(str(exc)[:200]) from exc
        check_event_shape(event)
        # The SDK refuses old signatures only; a time ahead of now is refused here.
        latest = time.time() + FUTURE_TOLERANCE_SECONDS
        if any(stamp > latest for stamp in _signed_times(signature)) or event["created"] > latest:
            raise InvalidNotice("the event is dated in the future")
        if self.connected_accounts and not event.get("account"):
            raise InvalidNotice("the event names no connected account")
        try:
            notice = notice_of(event)
        except (TypeError, ValueError, OverflowError, OSError) as exc:  # amounts, times
            raise InvalidNotice("the event has a value of the wrong type") from exc
        return replace(notice, connected=self.connected_accounts)


def _signed_times(header: str) -> list[int]:
    """The ``t=`` values of a Stripe-Signature header (already checked by the SDK)."""
    stamps: list[int] = []
    for item in header.split(","):
        key, _sep, value = item.strip().partition("=")
        if key == "t":
            try:
                stamps.append(int(value))
            except ValueError:
                continue
    return stamps


def check_event_shape(event: Any) -> None:
    """Refuse a signed body that is not shaped like a Stripe event (``{"data": 5}``)."""
    if not isinstance(event, dict):
        raise InvalidNotice("the event is not a JSON object")
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise InvalidNotice("the event has no id or type")
    if not isinstance(event.get("created"), int) or isinstance(event.get("created"), bool):
        raise InvalidNotice("the event has no creation time")
    if not isinstance(event.get("account") or "", str):
        raise InvalidNotice("the event's account is not a string")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise InvalidNotice("the event has no data object")


def charge_of(intent: dict[str, Any]) -> Charge:
    """What to show the person, from a PaymentIntent as Stripe returns it."""
    action = intent.get("next_action") or {}
    error = intent.get("last_payment_error") or {}
    provider_id, status = str(intent["id"]), str(intent.get("status", ""))
    failure = _("The card was declined. Try another card or pay by Pix or boleto.") if error else ""
    kind = action.get("type")
    if kind == "pix_display_qr_code":
        pix = action["pix_display_qr_code"]
        return Charge(
            provider_id=provider_id,
            status=status,
            pix_code=str(pix.get("data", "")),
            voucher_url=str(pix.get("hosted_instructions_url", "")),
            expires_at=_when(pix.get("expires_at")),
        )
    if kind == "boleto_display_details":
        boleto = action["boleto_display_details"]
        return Charge(
            provider_id=provider_id,
            status=status,
            boleto_line=str(boleto.get("number", "")),
            voucher_url=str(boleto.get("hosted_voucher_url", "")),
            expires_at=_when(boleto.get("expires_at")),
        )
    secret = (
        str(intent.get("client_secret", "")) if intent.get("status") == "requires_action" else ""
    )
    return Charge(provider_id, status, client_secret=secret, failure=failure)


def notice_of(event: dict[str, Any]) -> Notice:
    """A verified event reduced to what Quita applies and keeps (no personal data)."""
    obj: dict[str, Any] = event.get("data", {}).get("object", {})
    kind = str(event.get("type", ""))
    if obj.get("object") == "payment_intent":
        intent = str(obj.get("id", ""))
    else:
        intent = str(obj.get("payment_intent") or "")
    amount = 0
    outcome = ""
    if kind == "charge.refunded":
        amount = int(obj.get("amount_refunded") or 0)
    elif kind.startswith("charge.dispute."):
        amount = int(obj.get("amount") or 0)
        outcome = str(obj.get("status", ""))
    elif kind == "payment_intent.payment_failed":
        outcome = str((obj.get("last_payment_error") or {}).get("message", ""))
    return Notice(
        event_id=str(event.get("id", "")),
        type=kind,
        account=str(event.get("account") or ""),
        payment_intent=intent,
        occurred_at=datetime.fromtimestamp(int(event.get("created", 0)), UTC),
        amount=amount,
        outcome=outcome,
        payload={
            "id": event.get("id"),
            "type": kind,
            "created": event.get("created"),
            "account": event.get("account"),
            "object": {k: obj[k] for k in (*_KEPT, "payment_intent") if k in obj},
        },
    )


def _when(timestamp: Any) -> datetime | None:
    return datetime.fromtimestamp(int(timestamp), UTC) if timestamp else None


_STATE_EVENTS = {
    "succeeded": "payment_intent.succeeded",
    "processing": "payment_intent.processing",
    "canceled": "payment_intent.canceled",
}


def notice_of_state(intent: dict[str, Any], account: str) -> Notice | None:
    """A PaymentIntent's current state as the event a webhook would have brought, under an
    id of its own (one per intent and state, so applying it twice counts nothing)."""
    kind = _STATE_EVENTS.get(str(intent.get("status", "")))
    if kind is None:
        return None
    intent_id = str(intent["id"])
    return Notice(
        event_id=f"reconcile-{intent_id}-{intent['status']}",
        type=kind,
        account=account,
        payment_intent=intent_id,
        occurred_at=datetime.fromtimestamp(int(intent.get("created", 0)), UTC),
        payload={
            "id": f"reconcile-{intent_id}",
            "type": kind,
            "object": {k: intent[k] for k in _KEPT if k in intent},
        },
    )
