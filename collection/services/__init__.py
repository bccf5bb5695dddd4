"""Use cases of collection. Importing the package registers the régua hook: every new
tenant starts with the default régua (``reminders._default_regua``)."""

from collection.services import reminders as _reminders  # noqa: F401
