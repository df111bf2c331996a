"""Handlers of the account settings operations (being built)."""
