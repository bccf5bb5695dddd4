"""Outbound webhooks: the tenant's endpoints, the events they receive, and their outbox."""
