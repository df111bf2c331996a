"""Handlers of the container instances operations (being built)."""
