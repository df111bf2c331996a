"""Shared fixtures. The emulator itself comes from our pytest plugin (emulator.pytest_plugin)."""

import pytest


@pytest.fixture
def ecs(clean_emulator):
    """An ECS client on clean state; every response it receives is checked against the model."""
    return clean_emulator.client("ecs")


BUSYBOX = "ecs-emulator-test/busybox:latest"


@pytest.fixture(scope="session")
def busybox_image():
    """The offline test image (scripts/build-test-images.sh makes it; CI runs that first)."""
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "build-test-images.sh"
    subprocess.run([str(script)], check=True)
    return BUSYBOX


@pytest.fixture
def docker_client():
    import docker

    client = docker.from_env()
    yield client
    client.close()
