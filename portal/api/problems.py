"""One error format for the API: RFC 9457 problem details (``application/problem+json``).

Every error under ``/api/`` (a refused value, a missing token, another tenant's id, a
route that does not exist, a crash) is answered as a ``Problem``; validation problems
list each offending field in ``errors``. ``type`` is ``about:blank`` for plain HTTP
errors and ``urn:quita:problem:<code>`` for the API's own, so a client can branch on it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from core.i18n import gettext as _

PROBLEM_JSON = "application/problem+json"


class FieldError(msgspec.Struct):
    """One refused value: where it is (``debtor.cpf``, ``installments[0].amount``) and why."""

    field: str
    message: str


class Problem(msgspec.Struct):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = msgspec.field(default_factory=list)


class ApiProblem(HTTPException):
    """An API error with its own problem type and, for bad input, the fields at fault."""

    def __init__(
        self,
        status_code: int,
        code: str,
        detail: str,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, status_code=status_code, headers=headers)
        self.code = code
        self.errors = errors or {}


def invalid(errors: dict[str, str]) -> ApiProblem:
    """400 naming each field that breaks the rules."""
    return ApiProblem(400, "invalid-request", _("Some values are not valid."), errors)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _validation_errors(extra: Any) -> list[FieldError]:
    found: list[FieldError] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                key = str(item.get("key") or item.get("source") or "body")
                found.append(FieldError(key, str(item.get("message", ""))))
    elif isinstance(extra, dict):
        found.extend(FieldError(str(k), str(v)) for k, v in extra.items())
    return found


def problem_for(exc: HTTPException) -> Problem:
    """The problem document of an exception raised while serving an API request."""
    status = exc.status_code
    if isinstance(exc, ApiProblem):
        errors = [FieldError(k, v) for k, v in exc.errors.items()]
        return Problem(f"urn:quita:problem:{exc.code}", _title(status), status, exc.detail, errors)
    if isinstance(exc, ValidationException):
        # Litestar's own detail repeats the URL, query string included: not echoed.
        return Problem(
            "urn:quita:problem:invalid-request",
            _title(status),
            status,
            _("Some values are not valid."),
            _validation_errors(exc.extra),
        )
    detail = exc.detail if status < 500 else _("Internal error; nothing was changed.")
    return Problem("about:blank", _title(status), status, detail or _title(status))


def problem_response(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    """Exception handler body for API paths (``quita.app`` routes ``/api/`` errors here)."""
    problem = problem_for(exc)
    return Response(
        problem,
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=dict(exc.headers or {}),
    )


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _spec(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_JSON,
        description=description,
        generate_examples=False,
    )


BAD_REQUEST = {400: _spec("A value breaks the schema or a rule; `errors` names each field.")}
UNAUTHORIZED = {401: _spec("No bearer token, or an expired or revoked one.")}
FORBIDDEN = {403: _spec("The token lacks the scope this operation needs.")}
NOT_FOUND = {404: _spec("No such object in the token's tenant.")}
CONFLICT = {409: _spec("The request contradicts the stored state.")}
TOO_LARGE = {413: _spec("The file is larger than the upload limit.")}
PROTECTED = {**BAD_REQUEST, **UNAUTHORIZED, **FORBIDDEN}
