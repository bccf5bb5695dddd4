"""A Pix PSP speaking the Banco Central's Pix API (``bacen/pix-api``, v2): immediate charges
(``cob``), charges with a due date (``cobv``: late fee, interest and discounts by date
encoded in the charge, so a late Pix pays the right amount with the same code), the Pix
webhook, and look-ups for reconciliation.

Every call goes over mutual TLS (Quita presents its client certificate; the PSP's is
checked against its CA) with an OAuth2 client-credentials token from Authlib's httpx
client; a token the PSP stops honouring before its ``expires_in`` (a 401) is fetched
again once. The charge's ``txid`` is derived from the payment's idempotency key, so a
retry reaches the same charge: the API refuses a second ``PUT /cob/{txid}``, and the
adapter then reads the charge it made before.

The PSP's webhook is a hint only: the body names Pix by ``endToEndId`` and ``txid``, and
each one counts only after ``GET /cob/{txid}`` at the PSP lists that very Pix, so a forged
notification cannot settle anything. The event id is the ``endToEndId`` itself (one per
Pix), shared by the webhook and reconciliation: whichever comes first counts, the other
is a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import re
import ssl
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import httpx
import structlog
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from collection.domain.due_charge import DueCharge
from collection.models import PaymentMethod
from collection.payments.service import (
    PSP,
    Charge,
    ChargeRequest,
    GatewayError,
    InvalidNotice,
    Notice,
)
from core.clock import SAO_PAULO
from core.i18n import gettext as _
from core.settings import PixPspSettings

log = structlog.get_logger("quita.pix_psp")

# Ours: 32 characters inside the API's [a-zA-Z0-9]{26,35}; "qt" a cob, "qv" a cobv.
TXID = re.compile(r"^q[tv][0-9a-f]{30}$")
E2E = re.compile(r"^[a-zA-Z0-9]{32}$")
_MONEY = re.compile(r"^\d{1,10}\.\d{2}$")
SCOPES = ("cob.write", "cob.read", "cobv.write", "cobv.read", "pix.read", "webhook.write")
PAID = "payment_intent.succeeded"
CANCELED = "payment_intent.canceled"
WEBHOOK_PATH = "/webhooks/psp"  # the PSP posts to {webhookUrl}/pix
MAX_NOTIFIED = 100  # Pix per notification we confirm; a bigger body is refused


def txid_for(idempotency_key: str, *, due: bool = False) -> str:
    """The charge's txid at the PSP, fixed by the payment's idempotency key."""
    return ("qv" if due else "qt") + hashlib.sha256(idempotency_key.encode()).hexdigest()[:30]


def path_of(txid: str) -> str:
    """The charge's address in the API: ``/cobv/{txid}`` or ``/cob/{txid}``."""
    return f"/cobv/{txid}" if txid.startswith("qv") else f"/cob/{txid}"


def percent(rate: Decimal) -> str:
    """A rate (0.02) as the API writes a percentage ("2.00")."""
    return str((rate * 100).quantize(Decimal("0.01"), rounding=ROUND_DOWN))


def cobv_body(request: ChargeRequest, charge: DueCharge) -> dict[str, Any]:
    """The ``PUT /cobv/{txid}`` body: due date, validity after it, late fee (percent),
    late interest (percent a month, calendar days) and the discounts by date."""
    valor: dict[str, Any] = {"original": reais(charge.amount)}
    if charge.fine_rate:
        valor["multa"] = {"modalidade": 2, "valorPerc": percent(charge.fine_rate)}
    if charge.interest_monthly:
        valor["juros"] = {"modalidade": 3, "valorPerc": percent(charge.interest_monthly)}
    if charge.discounts:
        valor["desconto"] = {
            "modalidade": 1,
            "descontoDataFixa": [
                {"data": day.isoformat(), "valorPerc": reais(off)} for day, off in charge.discounts
            ],
        }
    return {
        "calendario": {
            "dataDeVencimento": charge.due.isoformat(),
            "validadeAposVencimento": charge.valid_days_after,
        },
        "devedor": {"cpf": request.payer_cpf, "nome": request.payer_name[:200]},
        "valor": valor,
        "chave": request.pix_key,
        "solicitacaoPagador": _("Agreement installment %(number)s")
        % {"number": request.installment},
    }


def reais(centavos: int) -> str:
    """Centavos as the API writes money: ``"123.45"``."""
    return f"{centavos // 100}.{centavos % 100:02d}"


def centavos(text: Any) -> int:
    """The API's money text (``\\d{1,10}\\.\\d{2}``) as centavos."""
    if not isinstance(text, str) or not _MONEY.match(text):
        raise ValueError("not an amount of the Pix API")
    whole, cents = text.split(".")
    return int(whole) * 100 + int(cents)


def _moment(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ValueError("not a time")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class PixPspGateway:
    """PaymentGateway for Pix at a PSP of the creditor's choice (the Pix API standard)."""

    methods: tuple[PaymentMethod, ...] = (PaymentMethod.PIX,)
    providers = frozenset({PSP})

    def __init__(
        self,
        settings: PixPspSettings,
        now: Callable[[], datetime],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._now = now
        self._transport = transport
        self._token: dict[str, Any] | None = None
        self._tls = self._tls_context(settings)
        self.test_mode = settings.api_base.startswith(("https://127.0.0.1", "https://localhost"))

    @staticmethod
    def _tls_context(settings: PixPspSettings) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=settings.ca_file or None)
        if settings.cert_file:
            context.load_cert_chain(settings.cert_file, settings.key_file or None)
        return context

    @staticmethod
    def owns(provider_id: str) -> bool:
        """True for the txids this adapter makes."""
        return bool(TXID.match(provider_id))

    # -- the API over OAuth2 + mutual TLS ------------------------------------------------

    def _client(self) -> AsyncOAuth2Client:
        # One client per call: an httpx client belongs to one event loop, and the web
        # process and the workers run several. The token is kept across calls.
        return AsyncOAuth2Client(
            client_id=self._settings.client_id,
            client_secret=self._settings.client_secret,
            scope=" ".join(SCOPES),
            token=self._token,
            token_endpoint=self._settings.token_url,
            grant_type="client_credentials",
            update_token=self._keep_token,
            verify=self._tls,
            timeout=10,
            transport=self._transport,
        )

    async def _keep_token(self, token: dict[str, Any], **_kwargs: Any) -> None:
        self._token = dict(token)

    async def _fetch_token(self, client: AsyncOAuth2Client) -> None:
        token = await client.fetch_token(self._settings.token_url, grant_type="client_credentials")
        self._token = dict(token)

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """One API call with a valid token (fetched again once if the PSP refuses it)."""
        url = self._settings.api_base + path
        try:
            async with self._client() as client:
                if not client.token:
                    await self._fetch_token(client)
                response: httpx.Response = await client.request(method, url, json=body)
                if response.status_code == 401:  # revoked or expired early at the PSP
                    await self._fetch_token(client)
                    response = await client.request(method, url, json=body)
        except (httpx.HTTPError, OAuthError, ssl.SSLError) as exc:
            log.warning("pix_psp.unreachable", path=path.split("/")[1], error=type(exc).__name__)
            raise GatewayError(
                _("The payment service did not answer. Try again in a few minutes.")
            ) from exc
        if response.status_code in (401, 403):
            log.error("pix_psp.refused", path=path.split("/")[1], status=response.status_code)
            raise GatewayError(_("The payment service refused the request. Contact the creditor."))
        return response

    # -- charges ------------------------------------------------------------------------

    async def charge(self, request: ChargeRequest) -> Charge:
        if request.method != PaymentMethod.PIX or not request.pix_key:
            raise GatewayError(_("This way of paying is not available here."))
        due = request.due_charge
        txid = txid_for(request.idempotency_key, due=due is not None)
        if due is not None:
            body = cobv_body(request, due)
        else:
            body = {
                "calendario": {"expiracao": self._settings.pix_expires_seconds},
                "devedor": {"cpf": request.payer_cpf, "nome": request.payer_name[:200]},
                "valor": {"original": reais(request.amount), "modalidadeAlteracao": 0},
                "chave": request.pix_key,
                "solicitacaoPagador": _("Agreement installment %(number)s")
                % {"number": request.installment},
            }
        response = await self.call("PUT", path_of(txid), body)
        if response.status_code != 201:
            # A retry of a charge made before: the API refuses the txid; read it back.
            found = await self.call("GET", path_of(txid))
            if found.status_code != 200 or not _same_charge(found.json(), body):
                log.error("pix_psp.charge_refused", status=response.status_code)
                raise GatewayError(_("The Pix code could not be issued. Try again later."))
            response = found
        return _charge_of(response.json())

    async def lookup(self, provider_id: str, account: str) -> Notice | None:
        if not self.owns(provider_id):
            return None
        response = await self.call("GET", path_of(provider_id))
        if response.status_code != 200:
            return None
        cob = response.json()
        status = str(cob.get("status", ""))
        if status.startswith("REMOVIDA"):
            return Notice(
                event_id=f"pix-removed-{provider_id}",
                type=CANCELED,
                account=str(cob.get("chave", "")),
                payment_intent=provider_id,
                occurred_at=self._now(),
                provider=PSP,
                payload={"txid": provider_id, "status": status},
            )
        paid = [p for p in cob.get("pix") or [] if isinstance(p, dict)]
        return _notice_of_pix(cob, paid[0]) if status == "CONCLUIDA" and paid else None

    def verify(self, payload: bytes, signature: str) -> Notice:
        raise InvalidNotice("a Pix notification is confirmed with the PSP (confirm)")

    async def confirm(self, payload: bytes) -> list[Notice]:
        """The Pix a webhook body names, each as the PSP itself reports it (unknown or
        unconfirmed ones are left out)."""
        try:
            items = json.loads(payload)["pix"]
            if not isinstance(items, list) or len(items) > MAX_NOTIFIED:
                raise TypeError
            named = [
                (str(item["txid"]), str(item["endToEndId"]))
                for item in items
                if isinstance(item, dict) and "txid" in item
            ]
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise InvalidNotice("not a Pix notification") from exc
        notices: list[Notice] = []
        for txid, e2e in named:
            if not self.owns(txid) or not E2E.match(e2e):
                continue
            response = await self.call("GET", path_of(txid))
            if response.status_code != 200:
                continue
            cob = response.json()
            pix = next((p for p in cob.get("pix") or [] if p.get("endToEndId") == e2e), None)
            if pix is None:
                log.warning("pix_psp.unconfirmed", txid=txid)
                continue
            try:
                notices.append(_notice_of_pix(cob, pix))
            except (KeyError, ValueError, TypeError):
                log.warning("pix_psp.malformed", txid=txid)
        return notices

    async def register_webhook(self, pix_key: str, url: str) -> None:
        """Ask the PSP to notify ``url`` (``{url}/pix``) of the Pix paid to ``pix_key``."""
        response = await self.call("PUT", f"/webhook/{pix_key}", {"webhookUrl": url})
        if response.status_code not in (200, 201, 204):
            raise GatewayError(
                _("The Pix provider did not accept this key. Check the key at your provider.")
            )


def _same_charge(cob: dict[str, Any], body: dict[str, Any]) -> bool:
    valor = cob.get("valor") or {}
    return bool(
        cob.get("chave") == body["chave"] and valor.get("original") == body["valor"]["original"]
    )


def _charge_of(cob: dict[str, Any]) -> Charge:
    calendario = cob.get("calendario") or {}
    if "dataDeVencimento" in calendario:  # a cobv: payable to the end of its last day
        last = date.fromisoformat(str(calendario["dataDeVencimento"])) + timedelta(
            days=int(calendario.get("validadeAposVencimento") or 0) + 1
        )
        expires = datetime.combine(last, datetime.min.time(), SAO_PAULO)
    else:
        created = _moment(calendario.get("criacao"))
        expires = created + timedelta(seconds=int(calendario.get("expiracao") or 0))
    paid = cob.get("status") == "CONCLUIDA"
    return Charge(
        provider_id=str(cob["txid"]),
        status="succeeded" if paid else "requires_action",
        pix_code=str(cob.get("pixCopiaECola", "")),
        expires_at=expires,
    )


def _notice_of_pix(cob: dict[str, Any], pix: dict[str, Any]) -> Notice:
    e2e = str(pix["endToEndId"])
    amount = centavos(pix.get("valor"))
    return Notice(
        event_id=f"pix-{e2e}",
        type=PAID,
        account=str(cob.get("chave", "")),
        payment_intent=str(cob["txid"]),
        occurred_at=_moment(pix.get("horario")),
        amount=amount,
        provider=PSP,
        # Only ids, amounts and times: the cob also names the payer.
        payload={"endToEndId": e2e, "txid": cob["txid"], "valor": pix.get("valor")},
    )
