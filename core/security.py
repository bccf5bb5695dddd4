"""Security primitives: password hashing, random tokens, keyed hashes, PII masking."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id with the library's current recommended parameters. A test run may ask for the
# cheapest parameters (QUITA_TEST_FAST_HASHING=1) so that fixtures creating many staff
# users do not spend seconds each in the hash. A production process ignores it (the test
# suite starts production-mode processes too), so it can never weaken a real deployment.
FAST_HASHING_ENV = "QUITA_TEST_FAST_HASHING"
PRODUCTION_HASHER = PasswordHasher()
_FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def fast_hashing_requested() -> bool:
    """True when this process was started with the test hashing profile, outside production."""
    asked = os.environ.get(FAST_HASHING_ENV, "") in {"1", "true", "yes"}
    return asked and os.environ.get("QUITA_ENV", "") != "production"


_hasher = _FAST_HASHER if fast_hashing_requested() else PRODUCTION_HASHER
# A real hash to verify against when the account does not exist, so that an unknown
# e-mail costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password in constant-ish time, also when there is no account."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash uses outdated parameters."""
    return _hasher.check_needs_rehash(password_hash)


def new_token(nbytes: int = 32) -> str:
    """A random URL-safe token for sessions, links and codes."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """What we store of a token: its SHA-256, so a database leak leaks no live token."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(key: str, value: str) -> str:
    """HMAC-SHA256 of a value (CPF, e-mail) for look-ups without storing it in clear."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


_CPF_RE = re.compile(r"(?<!\d)(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})(?!\d)")
_EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE_RE = re.compile(r"(?<![\w])(?:\+?55\s?)?\(?\d{2}\)?\s?9?\d{4}[\s-]?(\d{4})(?![\w])")


def mask_email(email: str) -> str:
    """``maria.silva@example.com`` → ``m***@example.com``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(phone: str) -> str:
    """``+5511987654321`` → ``(11) *****-4321``."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("55") and len(digits) > 11:
        digits = digits[2:]
    if len(digits) < 8:
        return "****"
    return f"({digits[:2]}) *****-{digits[-4:]}"


def mask_pii(text: str) -> str:
    """Mask every CPF, e-mail address and phone number found in free text (for logs)."""
    text = _EMAIL_RE.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _CPF_RE.sub(lambda m: f"***.{m.group(2)}.{m.group(3)}-**", text)
    return _PHONE_RE.sub(lambda m: f"****-{m.group(1)}", text)


def content_security_policy(
    *, scripts: tuple[str, ...] = (), connect: tuple[str, ...] = (), frames: tuple[str, ...] = ()
) -> str:
    """The CSP of every page: our own origin only, plus the origins a page names (the
    payment page adds the gateway's script, API and 3-D Secure frames)."""

    def sources(extra: tuple[str, ...]) -> str:
        return " ".join(("'self'", *extra))

    return (
        f"default-src 'self'; script-src {sources(scripts)}; style-src 'self'; "
        f"img-src 'self' data:; font-src 'self'; connect-src {sources(connect)}; "
        f"frame-src {sources(frames)}; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; object-src 'none'"
    )
