"""Handlers of the task definitions operations (being built)."""
