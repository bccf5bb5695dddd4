"""Errors of the domain core; every message is pt-BR and fit to show to a person."""

from __future__ import annotations

__all__ = ["AgreementError", "DomainError", "IllegalTransition", "PolicyError", "ValuationError"]


class DomainError(ValueError):
    """Base of the domain's errors, so a caller can catch them all in one place."""


class PolicyError(DomainError):
    """A negotiation policy (or contract terms) that contradicts itself or the law.

    ``field`` is the path of the offending setting (``buckets[1].max_installments``) so a
    form or a policy file can point at it; ``message`` is pt-BR.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def prefixed(self, prefix: str) -> PolicyError:
        """The same error with its field placed under ``prefix`` (``buckets[2]``)."""
        return PolicyError(f"{prefix}.{self.field}", self.message)


class ValuationError(DomainError):
    """A debt that cannot be valued with the data given (e.g. a missing legal rate)."""


class AgreementError(DomainError):
    """An event an agreement cannot take (wrong amount, date out of order...)."""


class IllegalTransition(AgreementError):
    """A state change the agreement state machine does not allow."""
