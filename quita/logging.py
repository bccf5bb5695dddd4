"""Structured logs: JSON lines with a request id, and no full CPF, e-mail or phone."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from functools import cache
from typing import Any, TextIO, cast

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


class _Tee:
    """Writes every log line to stderr and, when ``QUITA_LOG_FILE`` is set, appends it to
    that file too (the test suite reads every line written to check that none carries
    personal data)."""

    def __init__(self, path: str) -> None:
        self._file: TextIO | None = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115

    def write(self, text: str) -> int:
        sys.stderr.write(text)
        if self._file is not None:
            self._file.write(text)
            if text.endswith("\n"):
                self._file.flush()
        return len(text)

    def flush(self) -> None:
        sys.stderr.flush()
        if self._file is not None:
            self._file.flush()


@cache
def _tee(path: str) -> _Tee:
    return _Tee(path)  # one per process, however often logging is configured


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Configure structlog and the standard library to write masked lines to stderr."""
    out = cast(TextIO, _tee(os.environ.get("QUITA_LOG_FILE", "")))
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
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
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
