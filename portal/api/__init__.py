"""The creditor REST API (``/api/v1``): OAuth2 client credentials, JSON documents,
RFC 9457 problems, and an OpenAPI document at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme, Server

from portal.api.access import SECURITY_SCHEME, token_endpoint
from portal.api.debts import DebtsController
from portal.api.imports import ImportsController
from portal.api.policy import PolicyController
from portal.api.problems import is_api_path, problem_response
from portal.api.records import AgreementsController, MessagesController, PaymentsController
from tenants.services.api_clients import SCOPES

__all__ = ["api_router", "is_api_path", "openapi_config", "problem_response"]

BASE = "/api/v1"
_SCOPE_NOTES = {
    "debts:read": "Read debts and debtors",
    "debts:write": "Create and change debts",
    "imports:write": "Upload portfolio files and start their import",
    "agreements:read": "Read agreements",
    "payments:read": "Read payments",
    "messages:read": "Read the reminder messages",
    "policy:read": "Read the negotiation policy",
    "policy:write": "Replace the negotiation policy",
}


@get("/openapi.json", name="api.openapi", include_in_schema=False, media_type="application/json")
async def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The OpenAPI document of the API (Litestar's, also at /api/v1/schema/openapi.json)."""
    schema: dict[str, Any] = request.app.openapi_schema.to_schema()
    return schema


def openapi_config() -> OpenAPIConfig:
    """Litestar's OpenAPI generation, for the API routes only."""
    return OpenAPIConfig(
        title="Quita API",
        version="1",
        description=(
            "The creditor API of Quita. Authenticate with OAuth2 client credentials at "
            f"{BASE}/oauth/token and send the token as `Authorization: Bearer`. Money is "
            "integer centavos; errors are RFC 9457 problem details."
        ),
        path=f"{BASE}/schema",
        render_plugins=[JsonRenderPlugin()],
        servers=[Server(url="/")],
        components=Components(
            security_schemes={
                SECURITY_SCHEME: SecurityScheme(
                    type="oauth2",
                    flows=OAuthFlows(
                        client_credentials=OAuthFlow(
                            token_url=f"{BASE}/oauth/token",
                            scopes={s: _SCOPE_NOTES[s] for s in SCOPES},
                        )
                    ),
                )
            }
        ),
        use_handler_docstrings=True,
    )


API_BODY_LIMIT = 1024 * 1024  # JSON documents (a policy is at most 100 kB of TOML)


def api_router(upload_limit: int) -> Router:
    """The API's routes; bodies up to 1 MB, a portfolio upload up to ``upload_limit``."""
    uploads = Router("/", route_handlers=[ImportsController], request_max_body_size=upload_limit)
    return Router(
        BASE,
        route_handlers=[
            token_endpoint,
            openapi_document,
            DebtsController,
            uploads,
            AgreementsController,
            PaymentsController,
            MessagesController,
            PolicyController,
        ],
        include_in_schema=True,
        request_max_body_size=API_BODY_LIMIT,
    )
