"""Use cases of tenancy and identity."""
