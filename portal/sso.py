"""Staff single sign-on with the tenant's OpenID Connect provider."""

from __future__ import annotations

from litestar import Controller


class SsoController(Controller):
    path = "/portal/sso"
