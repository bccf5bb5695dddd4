"""The local test payment provider: Pix and boleto for development and tests.

A real adapter behind the ``PaymentGateway`` port, not a stub: it issues a Pix BR Code
(with its CRC) and a boleto whose linha digitável carries FEBRABAN's check digits, keeps
each charge in its own ledger (one JSON file per charge under ``var/local_payments``,
so every process of a development machine sees the same), answers ``lookup`` for the
reconciliation job, and confirms a payment only the way a real provider does: it
posts a signed event (``Local-Payments-Signature: t=<unix>,v1=<HMAC-SHA256>``) to the
app's webhook route, which stores it once and applies it like any gateway event.

"Simular pagamento" on the debtor site (development only) is the person's bank paying
the code: the ledger marks the charge paid and the event is delivered, retried a few
times on failure; its id is fixed per charge, so a repeat counts nothing twice, and a
delivery that never arrives is repaired by reconciliation from the ledger.

The composition root never builds it in production (``Settings.check`` refuses it).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import structlog

from collection.domain import boleto, pix
from collection.models import PaymentMethod
from collection.payments.service import (
    Charge,
    ChargeRequest,
    GatewayError,
    InvalidNotice,
    Notice,
)
from collection.webhooks.outbound import sign, verify_signature
from core.clock import SAO_PAULO
from core.i18n import gettext as _

log = structlog.get_logger("quita.local_payments")

PREFIX = "local_"  # every charge id of this provider starts with it
SIGNATURE_HEADER = "local-payments-signature"
WEBHOOK_PATH = "/webhooks/local"
BANK = "999"  # no bank has this code: a local boleto can never be paid for real
_ID = re.compile(r"^local_(pix|boleto)_[0-9a-f]{20}$")
_PAID = "payment_intent.succeeded"


def webhook_secret(app_secret: str) -> str:
    """The provider's signing secret, derived from the app's own (no setting to keep)."""
    return hmac.new(app_secret.encode(), b"local-payment-provider", hashlib.sha256).hexdigest()


def city_of(address: str) -> str:
    """The city of an address written "..., City/UF, CEP" (empty when it is not)."""
    found = re.search(r"([^,/]+)/[A-Z]{2}\b", address)
    return found.group(1).strip() if found else ""


class LocalPaymentProvider:
    """PaymentGateway for Pix and boleto on the developer's machine."""

    test_mode = True
    methods: tuple[PaymentMethod, ...] = (PaymentMethod.PIX, PaymentMethod.BOLETO)
    providers = frozenset({"stripe"})  # it stands in for Stripe's Pix and boleto

    def __init__(
        self,
        *,
        directory: Path,
        secret: str,
        webhook_url: str,
        now: Callable[[], datetime],
        pix_expires: timedelta = timedelta(hours=24),
        boleto_days: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        tolerance: timedelta = timedelta(minutes=5),
        retry_delays: tuple[float, ...] = (0.2, 1.0, 3.0),
    ) -> None:
        self._dir = directory
        self._secret = secret
        self.webhook_url = webhook_url
        self._now = now
        self._pix_expires = pix_expires
        self._boleto_days = boleto_days
        self._transport = transport
        self._tolerance = tolerance
        self._retry_delays = retry_delays

    @staticmethod
    def owns(provider_id: str) -> bool:
        """True for the ids this provider issued."""
        return provider_id.startswith(PREFIX)

    # -- issuing ---------------------------------------------------------------------

    async def charge(self, request: ChargeRequest) -> Charge:
        if request.method not in self.methods:
            raise GatewayError(_("This way of paying is not available here."))
        digest = hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:20]
        provider_id = f"{PREFIX}{request.method.value}_{digest}"
        entry = self._read(provider_id)
        if entry is None:  # a retry with the same key gets the first answer back
            entry = self._issue(provider_id, request)
            self._write(provider_id, entry)
        return _charge_of(entry)

    def _issue(self, provider_id: str, request: ChargeRequest) -> dict[str, Any]:
        now = self._now()
        entry: dict[str, Any] = {
            "id": provider_id,
            "method": request.method.value,
            "amount": request.amount,
            "account": request.account,
            "payment_id": str(request.payment_id),
            "status": "requires_action",
            "created": int(now.timestamp()),
        }
        if request.method == PaymentMethod.PIX:
            # The creditor's key at this provider: a random-looking (EVP) key per account.
            key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"quita-local-pix:{request.account}"))
            entry["pix_code"] = pix.brcode(
                key=key,
                amount=request.amount,
                name=request.creditor_name,
                city=city_of(request.creditor_address),
                txid=provider_id.replace("_", "")[:25],
            )
            entry["expires"] = int((now + self._pix_expires).timestamp())
        else:
            if request.payer_address is None:
                raise GatewayError(_("A boleto needs your full address."))
            due = now.astimezone(SAO_PAULO).date() + timedelta(days=self._boleto_days)
            free = str(int(provider_id.rsplit("_", 1)[1], 16) % 10**25).zfill(25)
            code = boleto.bar_code(bank=BANK, amount=request.amount, due=due, free_field=free)
            entry["boleto_line"] = boleto.linha_digitavel(code)
            # Payable until the end of its due date, São Paulo time.
            end = datetime.combine(due + timedelta(days=1), datetime.min.time(), SAO_PAULO)
            entry["expires"] = int(end.timestamp())
        return entry

    # -- the person's bank pays ------------------------------------------------------

    async def simulate_payment(self, provider_id: str) -> str:
        """Mark the charge paid and post the signed event to the app: "delivered",
        "undelivered" (reconciliation will apply it from the ledger) or "unknown"."""
        entry = self._read(provider_id)
        if entry is None:
            return "unknown"
        if entry["status"] != "succeeded":
            entry["status"] = "succeeded"
            entry["paid_at"] = int(self._now().timestamp())
            self._write(provider_id, entry)
        return await self._deliver(self._event(entry))

    def _event(self, entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"evt_{entry['id']}_paid",  # one event per charge paid: repeats are duplicates
            "type": "payment.paid",
            "created": entry["paid_at"],
            "account": entry["account"],
            "payment": {"id": entry["id"], "method": entry["method"], "amount": entry["amount"]},
        }

    async def _deliver(self, event: dict[str, Any]) -> str:
        body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
        for attempt, delay in enumerate((0.0, *self._retry_delays)):
            if delay:
                await asyncio.sleep(delay)
            headers = {
                "content-type": "application/json",
                SIGNATURE_HEADER: sign(self._secret, body, self._now()),
            }
            try:
                async with httpx.AsyncClient(
                    transport=self._transport, timeout=10, follow_redirects=False
                ) as client:
                    response = await client.post(self.webhook_url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                log.warning(
                    "local_payments.delivery_failed", attempt=attempt, error=type(exc).__name__
                )
                continue
            if response.is_success:
                return "delivered"
            log.warning(
                "local_payments.delivery_refused", attempt=attempt, status=response.status_code
            )
        return "undelivered"

    # -- the port: webhooks and look-ups --------------------------------------------

    def verify(self, payload: bytes, signature: str) -> Notice:
        if not verify_signature(self._secret, signature, payload, self._now(), self._tolerance):
            raise InvalidNotice("bad or stale signature")
        try:
            event = json.loads(payload)
            charge = event["payment"]
            provider_id = str(charge["id"])
            kind = str(event["type"])
            created = int(event["created"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidNotice("not an event of the local provider") from exc
        if kind != "payment.paid" or not _ID.match(provider_id):
            raise InvalidNotice("unknown event")
        return Notice(
            event_id=str(event["id"])[:80],
            type=_PAID,
            account=str(event.get("account") or ""),
            payment_intent=provider_id,
            occurred_at=datetime.fromtimestamp(created, UTC),
            payload={"id": event["id"], "type": kind, "created": created, "object": charge},
        )

    async def lookup(self, provider_id: str, account: str) -> Notice | None:
        entry = self._read(provider_id)
        if entry is None or entry["status"] != "succeeded":
            return None
        return Notice(
            event_id=f"reconcile-{provider_id}-succeeded",
            type=_PAID,
            account=str(entry["account"]),
            payment_intent=provider_id,
            occurred_at=datetime.fromtimestamp(int(entry["paid_at"]), UTC),
            payload={"id": f"reconcile-{provider_id}", "type": "payment.paid"},
        )

    # -- the ledger ------------------------------------------------------------------

    def _path(self, provider_id: str) -> Path:
        if not _ID.match(provider_id):
            raise GatewayError(_("This payment was not found."))
        return self._dir / f"{provider_id}.json"

    def _read(self, provider_id: str) -> dict[str, Any] | None:
        if not _ID.match(provider_id):
            return None
        try:
            data: dict[str, Any] = json.loads(self._path(provider_id).read_text())
        except FileNotFoundError:
            return None
        return data

    def _write(self, provider_id: str, entry: dict[str, Any]) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._path(provider_id)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entry, sort_keys=True))
        os.replace(temporary, path)  # atomic: a reader sees the old or the new entry


def _charge_of(entry: dict[str, Any]) -> Charge:
    expires = datetime.fromtimestamp(int(entry["expires"]), UTC)
    return Charge(
        provider_id=str(entry["id"]),
        status="succeeded" if entry["status"] == "succeeded" else "requires_action",
        pix_code=str(entry.get("pix_code", "")),
        boleto_line=str(entry.get("boleto_line", "")),
        expires_at=expires,
    )
