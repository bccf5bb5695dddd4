"""What the API controllers share: service refusals as problems, filters' checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request
from litestar.params import QueryParameter

from collection.accounts import records as api
from core.i18n import gettext as _
from portal.api.problems import ApiProblem, invalid

AnyRequest = Request[Any, Any, Any]
Limit = Annotated[int, QueryParameter(ge=1, le=api.MAX_PAGE, description="Page size")]
Cursor = Annotated[
    str | None,
    QueryParameter(max_length=200, description="The next_cursor of the previous page"),
]
Since = Annotated[
    datetime | None,
    QueryParameter(description="Only what was created at or after this instant (RFC 3339)"),
]
UpdatedSince = Annotated[
    datetime | None,
    QueryParameter(
        description=(
            "Incremental sync: only what changed at or after this instant (ISO 8601 with "
            "its offset, e.g. 2026-12-04T10:00:00-03:00), in (updated_at, id) order. Rows "
            "changed in the last minute wait for the next call; resume with the updated_at "
            "of the last row received."
        )
    ),
]
CpfFilter = Annotated[
    str | None, QueryParameter(max_length=20, description="The debtor's CPF, with or without dots")
]


def not_found() -> ApiProblem:
    return ApiProblem(404, "not-found", _("No such object."))


def refused(exc: Exception) -> ApiProblem:
    """The problem of a service refusal (bad values, a conflict, a missing object)."""
    if isinstance(exc, api.InvalidInput):
        return invalid(exc.errors)
    if isinstance(exc, api.Conflict):
        return ApiProblem(409, "conflict", exc.message, {exc.field: exc.message})
    if isinstance(exc, api.NotFound):
        return not_found()
    raise exc


def since(value: datetime | None, field: str = "created_since") -> datetime | None:
    """An instant filter in UTC; an instant without its offset is ambiguous: 400."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise invalid({field: _("Give the instant with its offset (Z or -03:00).")})
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise invalid({field: _("Instant out of range.")}) from None


def changes(request: AnyRequest, value: datetime | None) -> api.Changes | None:
    """The change-order listing ``updated_since`` asks for, seen at the app's now."""
    moment = since(value, "updated_since")
    if moment is None:
        return None
    return api.Changes(since=moment, now=request.app.state.clock.now())


def cpf_hash(request: AnyRequest, cpf: str | None) -> str | None:
    if cpf is None:
        return None
    key: str = request.app.state.settings.security.cpf_hash_key
    try:
        return api.cpf_hash_of(key, cpf)
    except api.InvalidInput as exc:
        raise refused(exc) from None


def plain(**values: str | None) -> None:
    """400 for a text filter no database column could hold (NUL, lone surrogates)."""
    try:
        for field, value in values.items():
            api.require_plain(field, value)
    except api.InvalidInput as exc:
        raise refused(exc) from None
