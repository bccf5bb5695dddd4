"""Import every ORM module so the metadata knows all tables (Alembic, tests)."""

from __future__ import annotations


def load_all_models() -> None:
    import collection.models  # noqa: F401
    import core.mail  # noqa: F401
    import tenants.models  # noqa: F401
