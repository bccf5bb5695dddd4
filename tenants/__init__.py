"""Tenancy and identity: creditors, agencies, staff users, roles, sessions, audit."""
