"""When Docker stopped answering during a run, say why in the run's output.

A Docker daemon that deadlocks (Docker 20.10's libnetwork did: moby/moby#42545) leaves every
later container start waiting until its client times out, and the run fails in a hundred tests
with nothing but "Read timed out" to go on. When a failed test's report shows a Docker call that
timed out, the controller asks the local dockerd for its goroutines (SIGUSR1 to the pid in /var/run/docker.pid: Docker writes them
to a file in its exec-root and goes on running) and prints the locks it has waited on longest,
so the next run's output names the deadlock instead of its symptoms."""

from __future__ import annotations

import glob
import os
import re
import signal
import time

# What docker-py raises when dockerd does not answer within its timeout.
TIMEOUT_MARKS = ("UnixHTTPConnectionPool", "Read timed out")
EXEC_ROOT = "/var/run/docker"
# How a goroutine dump names a wait for a mutex (Go before 1.20, and since).
LOCK_WAITS = ("semacquire", "sync.Mutex", "sync.RWMutex")
_ARGUMENTS = re.compile(r"\(0x[^)]*\)$|\(\.\.\.\)$")  # a frame's argument words
_HEADER = re.compile(r"^goroutine \d+ \[([^,\]]+)(?:, (\d+) minutes)?.*\]:$")


def timed_out_on_docker(report_text: str) -> bool:
    return all(mark in report_text for mark in TIMEOUT_MARKS)


def machine_dockerd_pid(pid_file: str = "/var/run/docker.pid") -> int | None:
    """The machine's own dockerd: the pid its root-owned pid file names (scripts/ensure-docker.sh
    starts it with the default one; extra-dockerd.sh's engines have their own), if that process
    runs the dockerd binary. Not a search of /proc by name: any process may call itself dockerd,
    and SIGUSR1 ends a process that does not handle it."""
    try:
        with open(pid_file, encoding="ascii") as file:
            pid = int(file.read().strip())
        if pid > 1 and os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "dockerd":
            return pid
    except (OSError, ValueError):
        pass
    return None


def goroutine_dump(pid: int, wait_s: float = 5.0) -> str | None:
    """Ask dockerd for its goroutines; the path of the file it wrote, or None."""
    before = set(glob.glob(f"{EXEC_ROOT}/goroutine-stacks-*.log"))
    try:
        os.kill(pid, signal.SIGUSR1)
    except OSError:
        return None
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        new = set(glob.glob(f"{EXEC_ROOT}/goroutine-stacks-*.log")) - before
        if new:
            time.sleep(0.5)  # written in one go, but let it finish
            return max(new, key=os.path.getmtime)
        time.sleep(0.1)
    return None


def long_waits(dump: str, minutes: int = 1, frames: int = 8) -> list[str]:
    """The goroutines of a dump that have waited `minutes` or more, grouped by where they wait
    (the first frame outside Go's runtime and sync packages): one line per place with how many
    wait there and for how long at most, then that place's stack, shortened."""
    places: dict[str, tuple[int, int, list[str]]] = {}
    for block in dump.split("\n\n"):
        lines = block.strip().splitlines()
        match = _HEADER.match(lines[0]) if lines else None
        if (not match or int(match.group(2) or 0) < minutes
                or not match.group(1).startswith(LOCK_WAITS)):
            continue
        calls = [_ARGUMENTS.sub("", line) for line in lines[1:]
                 if line and not line.startswith("\t")]
        own = next((call for call in calls
                    if not call.startswith(("runtime.", "sync.", "internal/"))), "?")
        count, longest, stack = places.get(own, (0, 0, calls[:frames]))
        places[own] = (count + 1, max(longest, int(match.group(2))), stack)
    out = []
    for own, (count, longest, calls) in sorted(places.items(), key=lambda p: -p[1][0]):
        out.append(f"{count} goroutine(s) waiting up to {longest} min in {own}")
        out.extend(f"    {call}" for call in calls)
    return out


def explained(timeouts: int) -> list[str]:
    """Lines for the run's output after `timeouts` failed tests saw Docker time out (never an
    error: it is said after the run's own result)."""
    lines = [f"{timeouts} failed test(s) saw a Docker call time out."]
    try:
        return lines + _dockerd_waits()
    except Exception as error:  # noqa: BLE001 - an account of a failure must not fail the run
        return lines + [f"(dockerd's goroutines could not be read: {error!r})"]


def _dockerd_waits() -> list[str]:
    pid = machine_dockerd_pid() if os.geteuid() == 0 else None
    path = goroutine_dump(pid) if pid else None
    if path is None:
        return ["(no goroutine dump of the machine's dockerd: not root, no such "
                "process, or it wrote none)"]
    with open(path, encoding="utf-8", errors="replace") as file:
        waits = long_waits(file.read())
    if not waits:
        return [f"dockerd's goroutines ({path}) show no lock waited on for a minute or "
                "more: Docker was slow, not deadlocked"]
    return [f"dockerd's goroutines ({path}) waiting a minute or more for a lock:"] + waits
