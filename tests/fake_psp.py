"""A fake Pix PSP on loopback for tests: the Banco Central's Pix API (``bacen/pix-api`` v2)
as far as Quita uses it, over mutual TLS, with OAuth2 client credentials.

It refuses what the real API refuses: a client without the certificate its CA signed
(the TLS handshake fails), a wrong client secret, a missing, unknown or expired token
(401), a token without the endpoint's scope (403), a txid outside ``[a-zA-Z0-9]{26,35}``
or used before, a body without ``calendario``, ``valor.original`` or ``chave``, money
not written ``\\d{1,10}\\.\\d{2}``, a ``devedor`` with a name but no CPF/CNPJ (or both),
a key that is not the receiver's, a ``cobv`` whose fine is above 2% (the consumer rule,
CDC art. 52 §1, that a PSP serving collection enforces) and a webhook URL that is not
https. ``pay()`` is the payer's bank paying a charge: it returns the notification the PSP
posts to ``{webhookUrl}/pix``.

The certificates (a CA, the server's for 127.0.0.1, Quita's client certificate and a
stranger's from another CA) are made at test time with ``cryptography``.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import re
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from collection.domain import pix

HOST = "127.0.0.1"
CLIENT_NAME = "quita-client"
TXID = re.compile(r"^[a-zA-Z0-9]{26,35}$")
MONEY = re.compile(r"^\d{1,10}\.\d{2}$")
ERRORS = "https://pix.bcb.gov.br/api/v2/error/"


# -- certificates --------------------------------------------------------------------------


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = datetime.now(UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class Pki:
    """PEM files under one folder: ``ca``, ``server``, ``client`` and ``stranger``."""

    folder: Path

    def cert(self, name: str) -> str:
        return str(self.folder / f"{name}.crt")

    def key(self, name: str) -> str:
        return str(self.folder / f"{name}.key")


def make_pki(folder: Path) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (folder / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Fake PSP CA", ca_key, None, ca=True)
    write("ca", ca, ca_key)
    for name, common, server in (("server", HOST, True), ("client", CLIENT_NAME, False)):
        key = ec.generate_private_key(ec.SECP256R1())
        write(name, _certificate(common, key, (ca.subject, ca_key), server=server), key)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_ca = _certificate("Another CA", other_key, None, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    write("stranger", _certificate(CLIENT_NAME, key, (other_ca.subject, other_key)), key)
    return Pki(folder)


# -- the PSP ---------------------------------------------------------------------------------


@dataclass
class Client:
    secret: str
    scopes: frozenset[str]


@dataclass
class Token:
    client_id: str
    scopes: frozenset[str]
    expires: float


def _problem(status: int, kind: str, detail: str) -> web.Response:
    return web.json_response(
        {"type": ERRORS + kind, "title": kind, "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
    )


def dynamic_brcode(location: str, amount: str, name: str = "CREDOR") -> str:
    """A dynamic BR Code (its payload is fetched from ``location``)."""
    field_ = pix._field
    body = "".join(
        (
            field_("00", "01"),
            field_("01", "12"),
            field_("26", field_("00", pix.GUI) + field_("25", location)),
            field_("52", "0000"),
            field_("53", "986"),
            field_("54", amount),
            field_("58", "BR"),
            field_("59", name[:25]),
            field_("60", "SAO PAULO"),
            field_("62", field_("05", "***")),
        )
    )
    body += "6304"
    return body + pix.crc16(body)


@dataclass
class FakePsp:
    pki: Pki
    keys: set[str] = field(default_factory=set)  # the receiver's Pix keys
    clients: dict[str, Client] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    cobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, str] = field(default_factory=dict)
    tokens_issued: int = 0
    token_seconds: int = 3600
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"https://{HOST}:{self.port}"

    # -- control (the tests' hands) ----------------------------------------------------

    def expire_tokens(self) -> None:
        """Every token issued stops working (the PSP's side; the client still holds it)."""
        with self._lock:
            for token in self.tokens.values():
                token.expires = 0

    def pay(
        self, txid: str, amount: str | None = None, at: datetime | None = None
    ) -> tuple[str, dict[str, Any]]:
        """The payer's bank pays the charge (``amount``: what it computed for a cobv on
        ``at``); the PSP's notification (url, body)."""
        with self._lock:
            cob = self.cobs[txid]
            paid = amount or cob["valor"]["original"]
            item = {
                "endToEndId": "E" + secrets.token_hex(8).upper() + "2026120412" + "0" * 5,
                "txid": txid,
                "valor": paid,
                "horario": (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
            }
            cob["status"] = "CONCLUIDA"
            cob.setdefault("pix", []).append(item)
            url = self.webhooks.get(cob["chave"], "")
        return url + "/pix", {"pix": [item]}

    def remove(self, txid: str) -> None:
        with self._lock:
            self.cobs[txid]["status"] = "REMOVIDA_PELO_PSP"

    # -- the HTTP side -------------------------------------------------------------------

    def _mutual_tls(self, request: web.Request) -> bool:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        subject = dict(x[0] for x in (peer or {}).get("subject", ()))
        return subject.get("commonName") == CLIENT_NAME

    def _token_of(self, request: web.Request, scope: str) -> web.Response | None:
        if not self._mutual_tls(request):
            return _problem(403, "AcessoNegado", "certificado de cliente ausente")
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return _problem(401, "NaoAutorizado", "token ausente")
        with self._lock:
            token = self.tokens.get(header[7:])
        if token is None or token.expires < time.time():
            return _problem(401, "NaoAutorizado", "token inválido ou expirado")
        if scope not in token.scopes:
            return _problem(403, "AcessoNegado", f"escopo {scope} ausente")
        return None

    async def token(self, request: web.Request) -> web.Response:
        if not self._mutual_tls(request):
            return web.json_response({"error": "invalid_client"}, status=401)
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        try:
            kind, encoded = request.headers.get("authorization", "").split(" ", 1)
            client_id, _sep, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return web.json_response({"error": "invalid_client"}, status=401)
        client = self.clients.get(client_id)
        if kind != "Basic" or client is None or not secrets.compare_digest(client.secret, secret):
            return web.json_response({"error": "invalid_client"}, status=401)
        asked = set(str(form.get("scope", "")).split())
        granted = frozenset(asked & client.scopes) if asked else client.scopes
        value = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[value] = Token(client_id, granted, time.time() + self.token_seconds)
            self.tokens_issued += 1
        return web.json_response(
            {
                "access_token": value,
                "token_type": "Bearer",
                "expires_in": self.token_seconds,
                "scope": " ".join(sorted(granted)),
            }
        )

    def _check_charge(self, body: Any, *, due: bool) -> str:
        """What is wrong with a cob/cobv body ("" when nothing)."""
        if not isinstance(body, dict):
            return "corpo não é um objeto"
        calendario, valor = body.get("calendario"), body.get("valor")
        if not isinstance(calendario, dict) or not isinstance(valor, dict):
            return "calendario e valor são obrigatórios"
        if not MONEY.match(str(valor.get("original", ""))):
            return "valor.original não respeita o schema"
        if body.get("chave") not in self.keys:
            return "a chave não pertence ao usuário recebedor"
        debtor = body.get("devedor")
        if due and not isinstance(debtor, dict):
            return "devedor é obrigatório"
        if isinstance(debtor, dict):
            has_cpf, has_cnpj = "cpf" in debtor, "cnpj" in debtor
            if (has_cpf and has_cnpj) or (debtor.get("nome") and not (has_cpf or has_cnpj)):
                return "devedor deve ter cpf ou cnpj"
            if has_cpf and not re.fullmatch(r"\d{11}", str(debtor["cpf"])):
                return "devedor.cpf não respeita o schema"
        if due:
            return self._check_due(calendario, valor)
        expiracao = calendario.get("expiracao", 86400)
        if not isinstance(expiracao, int) or isinstance(expiracao, bool) or expiracao <= 0:
            return "calendario.expiracao deve ser um inteiro positivo"
        return ""

    def _check_due(self, calendario: dict[str, Any], valor: dict[str, Any]) -> str:
        due_date = str(calendario.get("dataDeVencimento", ""))
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", due_date):
            return "calendario.dataDeVencimento é obrigatório"
        if due_date < datetime.now(UTC).date().isoformat():
            return "calendario.dataDeVencimento anterior à data de criação da cobrança"
        after = calendario.get("validadeAposVencimento", 30)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            return "calendario.validadeAposVencimento é menor do que zero"
        multa = valor.get("multa") or {}
        if multa:
            if multa.get("modalidade") not in (1, 2) or not MONEY.match(
                str(multa.get("valorPerc", ""))
            ):
                return "valor.multa não respeita o schema"
            cap = Decimal(2) if multa["modalidade"] == 2 else Decimal(valor["original"]) / 50
            if Decimal(multa["valorPerc"]) > cap:
                return "multa acima de 2% (CDC art. 52 §1)"
        juros = valor.get("juros") or {}
        if juros and (
            juros.get("modalidade") not in range(1, 9)
            or not MONEY.match(str(juros.get("valorPerc", "")))
        ):
            return "valor.juros não respeita o schema"
        desconto = valor.get("desconto") or {}
        if desconto:
            fixed = desconto.get("descontoDataFixa")
            if desconto.get("modalidade") not in (1, 2) or not isinstance(fixed, list):
                return "valor.desconto não respeita o schema"
            if not 1 <= len(fixed) <= 3 or any(
                not MONEY.match(str(d.get("valorPerc", ""))) or str(d.get("data")) >= due_date
                for d in fixed
            ):
                return "valor.desconto.descontoDataFixa não respeita o schema"
        return ""

    async def put_charge(self, request: web.Request) -> web.Response:
        due = request.path.startswith("/cobv/")
        refused = self._token_of(request, "cobv.write" if due else "cob.write")
        if refused is not None:
            return refused
        kind = "CobVOperacaoInvalida" if due else "CobOperacaoInvalida"
        txid = request.match_info["txid"]
        if not TXID.match(txid):
            return _problem(400, kind, "txid não respeita o schema")
        try:
            body = await request.json()
        except ValueError:
            return _problem(400, kind, "corpo não é JSON")
        wrong = self._check_charge(body, due=due)
        if wrong:
            return _problem(400, kind, wrong)
        with self._lock:
            if txid in self.cobs:
                return _problem(400, kind, "txid já utilizado")
            location = f"{HOST}/qr/v2/{secrets.token_hex(16)}"
            cob = {
                **body,
                "txid": txid,
                "revisao": 0,
                "status": "ATIVA",
                "location": location,
                "loc": {"id": len(self.cobs) + 1, "location": location},
                "calendario": {
                    **body["calendario"],
                    "criacao": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                },
                "pixCopiaECola": dynamic_brcode(location, body["valor"]["original"]),
            }
            if not due:
                cob["calendario"].setdefault("expiracao", 86400)
            self.cobs[txid] = cob
        return web.json_response(cob, status=201)

    async def get_charge(self, request: web.Request) -> web.Response:
        due = request.path.startswith("/cobv/")
        refused = self._token_of(request, "cobv.read" if due else "cob.read")
        if refused is not None:
            return refused
        with self._lock:
            cob = self.cobs.get(request.match_info["txid"])
        if cob is None:
            return _problem(404, "NaoEncontrado", "cobrança não encontrada")
        return web.json_response(cob)

    async def put_webhook(self, request: web.Request) -> web.Response:
        refused = self._token_of(request, "webhook.write")
        if refused is not None:
            return refused
        key = request.match_info["chave"]
        body = await request.json()
        url = str(body.get("webhookUrl", "")) if isinstance(body, dict) else ""
        if key not in self.keys:
            return _problem(400, "WebhookOperacaoInvalida", "a chave não pertence ao usuário")
        if not url.startswith("https://"):
            return _problem(400, "WebhookOperacaoInvalida", "webhookUrl deve ser https")
        with self._lock:
            self.webhooks[key] = url
        return web.Response(status=200)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth/token", self.token)
        for kind in ("cob", "cobv"):
            app.router.add_put(f"/{kind}/{{txid}}", self.put_charge)
            app.router.add_get(f"/{kind}/{{txid}}", self.get_charge)
        app.router.add_put("/webhook/{chave}", self.put_webhook)
        return app


class RunningPsp:
    """The fake PSP served over TLS on 127.0.0.1 from a thread of its own."""

    def __init__(self, psp: FakePsp) -> None:
        self.psp = psp
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.psp.pki.cert("server"), self.psp.pki.key("server"))
        context.load_verify_locations(self.psp.pki.cert("ca"))
        context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no client certificate, no call
        return context

    async def _serve(self) -> int:
        self._runner = web.AppRunner(self.psp.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0, ssl_context=self._tls())
        await site.start()
        server = site._server
        assert server is not None
        return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    def start(self) -> FakePsp:
        self._thread.start()
        self.psp.port = asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        return self.psp

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
