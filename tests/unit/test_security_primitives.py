"""Hashing, tokens and the masking that keeps personal data out of logs."""

from __future__ import annotations

import json
import logging

import structlog
from argon2 import PasswordHasher

from core import security
from core.security import (
    hash_password,
    keyed_hash,
    mask_email,
    mask_phone,
    mask_pii,
    token_digest,
    verify_password,
)
from quita.logging import configure_logging
from quita.web import loggable_path


def test_passwords_are_hashed_with_argon2id():
    hashed = hash_password("uma senha longa o bastante")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "uma senha longa o bastante")
    assert not verify_password(hashed, "outra senha qualquer")
    assert not verify_password(None, "uma senha longa o bastante")


def test_production_password_parameters_are_the_library_recommendation():
    # The test run hashes with cheap parameters; production keeps argon2's recommended ones
    # and a hash made with the cheap ones is upgraded at the next login.
    recommended = PasswordHasher()
    assert security.PRODUCTION_HASHER.time_cost == recommended.time_cost >= 2
    assert security.PRODUCTION_HASHER.memory_cost == recommended.memory_cost >= 19 * 1024
    hashed = security.PRODUCTION_HASHER.hash("uma senha longa o bastante")
    assert security.PRODUCTION_HASHER.verify(hashed, "uma senha longa o bastante")
    cheap = security._FAST_HASHER.hash("uma senha longa o bastante")
    assert security.PRODUCTION_HASHER.check_needs_rehash(cheap)


def test_fast_hashing_is_ignored_by_a_production_process(monkeypatch):
    monkeypatch.setenv(security.FAST_HASHING_ENV, "1")
    monkeypatch.setenv("QUITA_ENV", "test")
    assert security.fast_hashing_requested()
    monkeypatch.setenv("QUITA_ENV", "production")
    assert not security.fast_hashing_requested()


def test_tokens_are_stored_as_digests():
    assert token_digest("abc") != "abc" and len(token_digest("abc")) == 64
    assert keyed_hash("k1", "11144477735") != keyed_hash("k2", "11144477735")


def test_cpf_email_and_phone_are_masked_in_free_text():
    text = "cpf 111.444.777-35 / 11144477735, maria.silva@example.com, (11) 98765-4321"
    masked = mask_pii(text)
    assert "111.444.777-35" not in masked and "11144477735" not in masked
    assert "maria.silva@example.com" not in masked
    assert "98765-4321" not in masked
    assert "***.444.777-**" in masked and "m***@example.com" in masked


def test_masks_shown_to_people():
    assert mask_email("joana@example.com") == "j***@example.com"
    assert mask_phone("+5511987654321") == "(11) *****-4321"


def test_log_lines_never_carry_a_full_cpf_email_or_phone(capsys):
    configure_logging("INFO", json=True)
    structlog.get_logger("t").info(
        "lookup",
        cpf="11144477735",
        email="ana.souza@example.com",
        note="ligar para +55 11 98765-4321",
    )
    logging.getLogger("lib").warning("user joao.lima@example.org with 111.444.777-35")
    err = capsys.readouterr().err
    for secret in (
        "11144477735",
        "ana.souza@example.com",
        "98765-4321",
        "joao.lima@example.org",
        "111.444.777-35",
    ):
        assert secret not in err
    first = json.loads(err.splitlines()[0])
    assert first["event"] == "lookup" and first["cpf"] == "***.444.777-**"


def test_token_paths_are_not_logged():
    assert loggable_path("/portal/password/reset/" + "a" * 43) == "/portal/password/reset/…"
    assert loggable_path("/portal/debtors") == "/portal/debtors"
