"""Waiting for the emulator's background work in tests: poll until a condition holds."""

from __future__ import annotations

import importlib
import os
import time
import urllib.request

# The suite shares its machine (CI's runners, several sessions on one host): at a load of 40 on
# two CPUs a start that takes 5 s alone takes minutes, and a deadline that fits an idle machine
# fails a test that would pass. Deadlines stretch by the load, never past this many times.
MAX_STRETCH = 10.0


def stretch() -> float:
    """How many times slower than alone things run now: the last minute's load average per CPU
    (runnable threads each CPU shares), at least 1, at most MAX_STRETCH. Asked again at each
    look, so a wait that began before the load came stretches with it."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # no load average on this system: as if alone
        return 1.0
    return min(MAX_STRETCH, max(1.0, load / (os.cpu_count() or 1)))


def patience(seconds: float) -> float:
    """A deadline of `seconds` on an idle machine, as long as the load makes it now (for waits
    on a condition, never for a sleep)."""
    return seconds * stretch()


def wait_for(fetch, until, timeout: float = 60.0, interval: float = 0.2):
    """Call fetch() until until(value) is true; return that value, or fail with the last one
    once `timeout` seconds (stretched by the machine's load) have passed."""
    started = time.monotonic()
    value = fetch()
    while not until(value):
        waited = time.monotonic() - started
        if waited > patience(timeout):
            raise AssertionError(f"timed out after {waited:.0f}s ({timeout}s, {stretch():.1f} "
                                 f"times for the load); last value: {value!r}")
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
