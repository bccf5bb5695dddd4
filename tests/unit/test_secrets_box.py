"""Secrets at rest: sealed with the environment's key, opened only with it."""

from __future__ import annotations

import pytest

from core.secrets_box import (
    DEV_SECRETS_KEY,
    SecretsBox,
    SecretUnreadable,
    is_sealed,
    production_key_ok,
    sealed_length,
)
from core.settings import ConfigurationError, Settings

PROD = {
    "QUITA_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "CPF_HASH_KEY": "k" * 40,
    "DATABASE_URL": "postgresql://x@127.0.0.1/db",
}


def test_a_sealed_secret_opens_to_the_same_text_and_does_not_contain_it():
    box = SecretsBox([SecretsBox.new_key()])
    sealed = box.seal("client-secret-çã")
    assert is_sealed(sealed)
    assert "client-secret" not in sealed
    assert box.open(sealed) == "client-secret-çã"
    assert box.seal("x") != box.seal("x")  # a fresh IV each time


def test_another_key_cannot_open_a_sealed_secret():
    sealed = SecretsBox([SecretsBox.new_key()]).seal("s3cret")
    with pytest.raises(SecretUnreadable):
        SecretsBox([SecretsBox.new_key()]).open(sealed)


def test_an_altered_or_plaintext_value_is_refused():
    box = SecretsBox([SecretsBox.new_key()])
    sealed = box.seal("s3cret")
    with pytest.raises(SecretUnreadable):
        box.open(sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB"))
    with pytest.raises(SecretUnreadable):
        box.open("s3cret")


def test_rotation_opens_with_the_old_key_and_reseals_with_the_new():
    old, new = SecretsBox.new_key(), SecretsBox.new_key()
    sealed_old = SecretsBox([old]).seal("s3cret")
    rotated = SecretsBox.from_value(f"{new},{old}")
    resealed = rotated.reseal(sealed_old)
    assert SecretsBox([new]).open(resealed) == "s3cret"
    with pytest.raises(SecretUnreadable):
        SecretsBox([old]).open(resealed)


def test_a_malformed_key_is_refused():
    with pytest.raises(ValueError):
        SecretsBox(["not-a-key"])


def test_development_uses_the_dev_only_key_when_none_is_set():
    settings = Settings.from_env({})
    box = SecretsBox.from_settings(settings.security)
    assert SecretsBox([DEV_SECRETS_KEY]).open(box.seal("x")) == "x"


def test_production_refuses_to_start_without_a_real_secrets_key():
    with pytest.raises(ConfigurationError, match="QUITA_SECRETS_KEY"):
        Settings.from_env(PROD)
    with pytest.raises(ConfigurationError, match="QUITA_SECRETS_KEY"):
        Settings.from_env({**PROD, "QUITA_SECRETS_KEY": DEV_SECRETS_KEY})
    with pytest.raises(ConfigurationError, match="QUITA_SECRETS_KEY"):
        Settings.from_env({**PROD, "QUITA_SECRETS_KEY": "x" * 44})
    key = SecretsBox.new_key()
    assert Settings.from_env({**PROD, "QUITA_SECRETS_KEY": key}).security.secrets_key == key


def test_a_production_migration_refuses_the_development_key():
    with pytest.raises(ValueError):
        SecretsBox.from_env({"QUITA_ENV": "production"})
    assert not production_key_ok("")
    assert SecretsBox.from_env({}).open(SecretsBox([DEV_SECRETS_KEY]).seal("y")) == "y"


def test_the_sealed_width_bound_holds_for_long_multibyte_secrets():
    box = SecretsBox([SecretsBox.new_key()])
    for n in (0, 1, 15, 16, 100, 300):
        assert len(box.seal("€" * n)) <= sealed_length(n)
