"""Waiting for the emulator's background work in tests: poll until a condition holds."""

from __future__ import annotations

import importlib
import time
import urllib.request


def wait_for(fetch, until, timeout: float = 60.0, interval: float = 0.2):
    """Call fetch() until until(value) is true; return that value, or fail with the last one."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not until(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s; last value: {value!r}")
        time.sleep(interval)
        value = fetch()
    return value


def page_text(url: str) -> str | None:
    """The body at `url`, or None while nothing answers there (for wait_for)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return None


def task_of(ecs, cluster: str, arn: str) -> dict:
    return ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]


def wait_for_task(ecs, cluster: str, arn: str, status: str, timeout: float = 60.0) -> dict:
    order = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING",
             "DEPROVISIONING", "STOPPED"]
    return wait_for(
        lambda: task_of(ecs, cluster, arn),
        lambda t: order.index(t["lastStatus"]) >= order.index(status),
        timeout=timeout,
    )


# The command line's modules that poll the emulator 1 s apart, as the ECS CLI does.
CLI_POLLERS = ("emulator.ecscli.waiting", "emulator.ecscli.stack", "emulator.ecscli.compose_tasks",
               "emulator.cli_commands.logs")


def quick_cli_polls(monkeypatch, seconds: float = 0.1) -> None:
    """The command line run in this process polls every `seconds`: its tests wait for the
    emulator, not for a clock (what they assert is the same)."""
    for name in CLI_POLLERS:
        module = importlib.import_module(name)
        assert hasattr(module, "POLL_S"), name
        monkeypatch.setattr(module, "POLL_S", seconds)
