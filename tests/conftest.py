"""Shared fixtures. The emulator itself comes from our pytest plugin (emulator.pytest_plugin)."""

import pytest


@pytest.fixture
def ecs(clean_emulator):
    """An ECS client on clean state; every response it receives is checked against the model."""
    return clean_emulator.client("ecs")
