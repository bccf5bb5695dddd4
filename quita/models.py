"""Import every ORM module so the metadata knows all tables (Alembic, tests), and the
session hooks that go with them (the default régua of new tenants)."""

from __future__ import annotations


def load_all_models() -> None:
    import collection.models
    import collection.regua.service  # registers the régua hook of new tenants
    import collection.text_models  # noqa: F401
    import core.mail  # noqa: F401
    import tenants.models  # noqa: F401
