"""Settings grouped by concern, read from the environment when the app is built.

Nothing here is read at import time: ``Settings.from_env()`` is called by the
composition root (and by tests with their own environment), so a test can build an
app with any configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from core.secrets_box import SECRETS_KEY_ENV, production_key_ok

DEV_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - the known development default
DEFAULT_SENDER = "Quita <nao-responda@quita.local>"


class ConfigurationError(RuntimeError):
    """The configuration cannot be used (for example a default secret in production)."""


def _moment(value: str) -> datetime | None:
    if not value.strip():
        return None
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        raise ConfigurationError(
            "QUITA_CLOCK_START needs a time zone (e.g. 2026-01-13T10:00-03:00)"
        )
    return moment


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """Where the data lives: SQLite under ``var/`` unless ``DATABASE_URL`` says otherwise."""

    url: str
    echo: bool = False
    pool_size: int = 10

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """The message broker: Dramatiq's in-memory broker unless ``BROKER_URL`` is set."""

    url: str = ""
    # Prefixes every queue name, so several deployments (or test runs) can share a broker.
    queue_prefix: str = ""

    @property
    def kind(self) -> str:
        if not self.url:
            return "stub"
        if self.url.startswith(("amqp://", "amqps://")):
            return "rabbitmq"
        if self.url.startswith(("redis://", "rediss://")):
            return "redis"
        raise ConfigurationError(f"BROKER_URL scheme not supported: {self.url.split(':')[0]}")

    @property
    def embedded(self) -> bool:
        return not self.url


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Outgoing e-mail: SMTP when ``SMTP_HOST`` is set, else files under ``var/mail``."""

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    sender: str = DEFAULT_SENDER
    outbox_dir: str = "var/mail"


@dataclass(frozen=True, slots=True)
class PaymentSettings:
    """The payment gateway (Stripe). Empty keys: no gateway, unless ``quita run`` starts
    the local test gateway (localstripe) and fills these in."""

    secret_key: str = ""
    publishable_key: str = ""
    webhook_secret: str = ""
    api_base: str = ""  # empty: Stripe itself; http://127.0.0.1:PORT: the local test gateway
    js_url: str = "https://js.stripe.com/v3/"
    webhook_tolerance_seconds: int = 300
    pix_expires_seconds: int = 24 * 3600
    boleto_expires_days: int = 3
    # Development only: Pix and boleto through the local test provider (its own signed
    # webhooks to /webhooks/local). Refused in production.
    local_provider: bool = False
    local_webhook_url: str = ""  # empty: BASE_URL + /webhooks/local

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)

    @property
    def test_gateway(self) -> bool:
        """True when the gateway is a local fake (the demo says so on screen)."""
        return self.api_base.startswith(("http://127.0.0.1", "http://localhost"))

    @property
    def js_origin(self) -> str:
        """Scheme and host of Stripe.js, for the content security policy."""
        scheme, _, rest = self.js_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"


@dataclass(frozen=True, slots=True)
class PixPspSettings:
    """A Pix PSP speaking the Banco Central's Pix API (``cob``, ``cobv``, webhooks), reached
    with OAuth2 client credentials over mutual TLS. Empty ``api_base``: no PSP."""

    api_base: str = ""  # e.g. https://pix.psp.example/api/v2 (no trailing slash)
    token_url: str = ""  # the PSP's OAuth2 token endpoint
    client_id: str = ""
    client_secret: str = ""
    cert_file: str = ""  # Quita's client certificate (PEM) for mutual TLS
    key_file: str = ""  # its private key (PEM)
    ca_file: str = ""  # the PSP's CA bundle (empty: the system's)
    pix_expires_seconds: int = 24 * 3600

    @property
    def enabled(self) -> bool:
        return bool(self.api_base and self.token_url and self.client_id)


@dataclass(frozen=True, slots=True)
class TextSettings:
    """SMS and WhatsApp through Twilio. Without an account SID and auth token, texts go to
    the local channel (stored and shown in the portal, logged masked under ``var/texts``)."""

    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    sms_from: str = ""  # E.164 sender number, e.g. +5511900000000
    whatsapp_from: str = ""  # E.164 WhatsApp sender (without the ``whatsapp:`` prefix)
    api_base: str = "https://api.twilio.com"
    timeout_seconds: float = 10
    # Where Twilio posts each sent text's status (delivered, read); empty: not asked.
    status_callback: str = ""
    # The WhatsApp Cloud API's webhook: the token of its GET verification and the app
    # secret that signs each POST (X-Hub-Signature-256); empty: the webhook answers 404.
    cloud_verify_token: str = ""
    cloud_app_secret: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """Secrets and the knobs of authentication."""

    secret_key: str = DEV_SECRET
    cpf_hash_key: str = DEV_SECRET
    session_hours: int = 12
    secure_cookies: bool = False
    login_max_failures: int = 5
    login_window_minutes: int = 15
    reset_token_minutes: int = 60
    invite_token_days: int = 7
    api_token_minutes: int = 15  # OAuth2 access tokens of API clients
    # Fernet key(s) sealing secrets at rest (core/secrets_box.py); empty: the dev-only key.
    secrets_key: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the app needs to know about its environment."""

    env: str = "development"
    base_url: str = "http://127.0.0.1:8000"
    var_dir: Path = Path("var")
    log_level: str = "INFO"
    log_json: bool = True
    database: DatabaseSettings = field(
        default_factory=lambda: DatabaseSettings(url="sqlite+aiosqlite:///var/quita.db")
    )
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    payments: PaymentSettings = field(default_factory=PaymentSettings)
    pix_psp: PixPspSettings = field(default_factory=PixPspSettings)
    text: TextSettings = field(default_factory=TextSettings)
    max_upload_bytes: int = 200 * 1024 * 1024
    # Demos and process tests may start the clock at another instant (QUITA_CLOCK_START,
    # ISO 8601 with a zone); time then runs normally from there. Refused in production.
    clock_start: datetime | None = None

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def development(self) -> bool:
        """A developer's machine or the test suite (``QUITA_ENV`` development or test);
        any other value (staging, production) is outside development. Outbound webhooks
        may reach this machine only in development."""
        return self.env in ("development", "test")

    @property
    def embedded(self) -> bool:
        """One process: SQLite-or-not, in-memory broker, workers inside the web process."""
        return self.broker.embedded

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some fields replaced (tests use it)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read the settings from environment variables with development defaults."""
        env = dict(os.environ if environ is None else environ)
        var_dir = Path(env.get("QUITA_VAR_DIR", "var"))
        db_url = env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{var_dir / 'quita.db'}"
        if db_url.startswith(("postgres://", "postgresql://")):
            db_url = "postgresql+asyncpg://" + db_url.split("://", 1)[1]
        secret = env.get("SECRET_KEY", DEV_SECRET)
        settings = cls(
            env=env.get("QUITA_ENV", "development"),
            base_url=env.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            var_dir=var_dir,
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            log_json=_bool(env.get("LOG_JSON"), True),
            database=DatabaseSettings(url=db_url, echo=_bool(env.get("DATABASE_ECHO"))),
            broker=BrokerSettings(
                url=env.get("BROKER_URL", ""), queue_prefix=env.get("BROKER_QUEUE_PREFIX", "")
            ),
            mail=MailSettings(
                smtp_host=env.get("SMTP_HOST", ""),
                smtp_port=int(env.get("SMTP_PORT", "25")),
                smtp_user=env.get("SMTP_USER", ""),
                smtp_password=env.get("SMTP_PASSWORD", ""),
                smtp_starttls=_bool(env.get("SMTP_STARTTLS")),
                sender=env.get("MAIL_SENDER", DEFAULT_SENDER),
                outbox_dir=str(var_dir / "mail"),
            ),
            security=SecuritySettings(
                secret_key=secret,
                cpf_hash_key=env.get("CPF_HASH_KEY", secret),
                secure_cookies=_bool(
                    env.get("SECURE_COOKIES"), env.get("QUITA_ENV") == "production"
                ),
                api_token_minutes=int(env.get("QUITA_API_TOKEN_MINUTES", "15")),
                secrets_key=env.get(SECRETS_KEY_ENV, ""),
            ),
            payments=PaymentSettings(
                secret_key=env.get("STRIPE_SECRET_KEY", ""),
                publishable_key=env.get("STRIPE_PUBLISHABLE_KEY", ""),
                webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", ""),
                api_base=env.get("STRIPE_API_BASE", "").rstrip("/"),
                js_url=env.get("STRIPE_JS_URL", "https://js.stripe.com/v3/"),
                local_provider=_bool(env.get("QUITA_LOCAL_PAYMENTS")),
            ),
            pix_psp=PixPspSettings(
                api_base=env.get("PIX_PSP_API_BASE", "").rstrip("/"),
                token_url=env.get("PIX_PSP_TOKEN_URL", ""),
                client_id=env.get("PIX_PSP_CLIENT_ID", ""),
                client_secret=env.get("PIX_PSP_CLIENT_SECRET", ""),
                cert_file=env.get("PIX_PSP_CERT_FILE", ""),
                key_file=env.get("PIX_PSP_KEY_FILE", ""),
                ca_file=env.get("PIX_PSP_CA_FILE", ""),
            ),
            text=TextSettings(
                twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", ""),
                twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
                sms_from=env.get("TWILIO_SMS_FROM", ""),
                whatsapp_from=env.get("TWILIO_WHATSAPP_FROM", ""),
                api_base=(env.get("TWILIO_API_BASE") or "https://api.twilio.com").rstrip("/"),
                status_callback=env.get("TWILIO_STATUS_CALLBACK", ""),
                cloud_verify_token=env.get("WHATSAPP_CLOUD_VERIFY_TOKEN", ""),
                cloud_app_secret=env.get("WHATSAPP_CLOUD_APP_SECRET", ""),
            ),
            max_upload_bytes=int(env.get("MAX_UPLOAD_BYTES", str(200 * 1024 * 1024))),
            clock_start=_moment(env.get("QUITA_CLOCK_START", "")),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse configurations that are unsafe in production."""
        if not self.production:
            return
        for name, value in (
            ("SECRET_KEY", self.security.secret_key),
            ("CPF_HASH_KEY", self.security.cpf_hash_key),
        ):
            if not value or value == DEV_SECRET or len(value) < 32:
                raise ConfigurationError(
                    f"{name} must be set to a random value of at least 32 characters in production"
                )
        if not production_key_ok(self.security.secrets_key):
            raise ConfigurationError(
                f"{SECRETS_KEY_ENV} must be set to a Fernet key in production "
                "(make one with `quita secrets-key`)"
            )
        if self.database.is_sqlite:
            raise ConfigurationError("DATABASE_URL must point to PostgreSQL in production")
        if self.clock_start is not None:
            raise ConfigurationError("QUITA_CLOCK_START is for demos and tests, not production")
        if self.payments.enabled and not self.payments.webhook_secret:
            raise ConfigurationError("STRIPE_WEBHOOK_SECRET must be set with STRIPE_SECRET_KEY")
        if self.payments.test_gateway:
            raise ConfigurationError(
                "STRIPE_API_BASE must not point to a test gateway in production"
            )
        if self.pix_psp.enabled and not (self.pix_psp.cert_file and self.pix_psp.key_file):
            raise ConfigurationError(
                "PIX_PSP_CERT_FILE and PIX_PSP_KEY_FILE must be set: the Pix API needs mutual TLS"
            )
        if self.pix_psp.enabled and not self.pix_psp.api_base.startswith("https://"):
            raise ConfigurationError("PIX_PSP_API_BASE must be an https:// address")
        if self.payments.local_provider:
            raise ConfigurationError(
                "QUITA_LOCAL_PAYMENTS (the local test payment provider) is for development only"
            )
