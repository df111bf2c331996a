"""Handlers of the attributes operations (being built)."""
