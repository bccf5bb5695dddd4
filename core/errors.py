"""The one shape of a refusal a person reads: an exception carrying its message."""

from __future__ import annotations


class Refusal(ValueError):
    """An action refused for a reason the person can read in ``message`` (pt-BR)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
