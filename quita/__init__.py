"""Quita: the composition root (application factory, settings wiring, CLI)."""
