"""Structured logs: JSON lines with a request id, and no full CPF, e-mail or phone."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from core.security import mask_pii


def _mask(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if isinstance(value, str):
            event[key] = mask_pii(value)
    return event


class _MaskingFormatter(logging.Formatter):
    """For records from libraries that do not go through structlog."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_pii(super().format(record))


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Configure structlog and the standard library to write masked lines to stderr."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _mask,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level, 20)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    fmt = (
        '{"level":"%(levelname)s","logger":"%(name)s","event":"%(message)s"}'
        if json
        else "%(levelname)s %(name)s %(message)s"
    )
    handler.setFormatter(_MaskingFormatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "pika", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
