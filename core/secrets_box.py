"""Secrets kept at rest encrypted: the tenant's SSO client secret, outbound-webhook keys.

A ``SecretsBox`` seals a short text secret with Fernet (AES-128-CBC + HMAC-SHA256, from
the ``cryptography`` package) under a key from the environment, and opens it again::

    box = SecretsBox.from_settings(settings.security)
    stored = box.seal("client-secret")      # "fernet:gAAAA..." -> the database column
    plain = box.open(stored)                # "client-secret"

``QUITA_SECRETS_KEY`` holds one Fernet key (``SecretsBox.new_key()`` makes one), or
several separated by commas to rotate: the first seals, every one opens, and
``reseal`` re-encrypts a value under the first. Without it a development process uses
``DEV_SECRETS_KEY``, derived from a fixed, public phrase: it protects nothing and a
production process refuses to start with it (``Settings.check``).

Sealed values carry the ``fernet:`` prefix, so a migration can tell a value written
before encryption (plaintext) from one already sealed (``is_sealed``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

if TYPE_CHECKING:
    from core.settings import SecuritySettings

PREFIX = "fernet:"
SECRETS_KEY_ENV = "QUITA_SECRETS_KEY"
# Development only: anyone can derive it from this source file.
DEV_SECRETS_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"quita development-only secrets key: never use in production").digest()
).decode()


class SecretUnreadable(Exception):
    """A sealed value that no configured key opens (wrong key, or altered in the database)."""


def is_valid_key(key: str) -> bool:
    """True for a Fernet key: URL-safe base64 of 32 bytes."""
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (ValueError, TypeError):
        return False


def parse_keys(value: str) -> list[str]:
    """The keys of a ``QUITA_SECRETS_KEY`` value (comma-separated, first one seals)."""
    return [k.strip() for k in value.split(",") if k.strip()]


def is_sealed(value: str) -> bool:
    """True when ``value`` was written by ``SecretsBox.seal`` (not a legacy plaintext)."""
    return value.startswith(PREFIX)


class SecretsBox:
    """Seals and opens text secrets with the configured keys."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("a SecretsBox needs at least one key")
        bad = [i for i, k in enumerate(keys) if not is_valid_key(k)]
        if bad:
            raise ValueError(f"{SECRETS_KEY_ENV}: key #{bad[0] + 1} is not a Fernet key")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    @classmethod
    def from_value(cls, value: str) -> SecretsBox:
        """From a ``QUITA_SECRETS_KEY`` value; empty means the development key."""
        return cls(parse_keys(value) or [DEV_SECRETS_KEY])

    @classmethod
    def from_settings(cls, security: SecuritySettings) -> SecretsBox:
        """From ``Settings.security`` (its ``secrets_key`` field)."""
        return cls.from_value(security.secrets_key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SecretsBox:
        """From the process environment (migrations use this); a production environment
        without a real key is refused."""
        env = os.environ if environ is None else environ
        value = env.get(SECRETS_KEY_ENV, "")
        if env.get("QUITA_ENV") == "production" and not production_key_ok(value):
            raise ValueError(f"{SECRETS_KEY_ENV} must be set to a Fernet key in production")
        return cls.from_value(value)

    @staticmethod
    def new_key() -> str:
        """A fresh random key for ``QUITA_SECRETS_KEY``."""
        return Fernet.generate_key().decode()

    def seal(self, plaintext: str) -> str:
        """The encrypted form of ``plaintext`` to store (prefixed, ASCII)."""
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        """The plaintext of a sealed value; raises ``SecretUnreadable``."""
        if not is_sealed(sealed):
            raise SecretUnreadable("not a sealed value")
        try:
            return self._fernet.decrypt(sealed[len(PREFIX) :].encode()).decode()
        except (InvalidToken, UnicodeDecodeError) as exc:
            raise SecretUnreadable("no configured key opens this value") from exc

    def reseal(self, sealed: str) -> str:
        """The same secret sealed under the first key (after a key rotation)."""
        return self.seal(self.open(sealed))


def production_key_ok(value: str) -> bool:
    """A ``QUITA_SECRETS_KEY`` fit for production: valid keys, none the development one."""
    keys = parse_keys(value)
    return bool(keys) and all(is_valid_key(k) and k != DEV_SECRETS_KEY for k in keys)


def sealed_length(plaintext_chars: int) -> int:
    """The column width a sealed value of up to ``plaintext_chars`` UTF-8 characters needs
    (Fernet: 57 bytes of overhead + the padded ciphertext, base64; 4 bytes per char)."""
    padded = (plaintext_chars * 4 // 16 + 1) * 16
    return len(PREFIX) + ((57 + padded + 2) // 3) * 4
