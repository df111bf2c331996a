"""The labels that stamp every Docker resource we create, and how to tell an orphan from a live one.

Each container, network and volume carries the emulator instance's id, the emulator's host name,
pid and process start time, so leaks can be found and removed: by instance (`remove_labelled`), or,
at start-up, everything whose emulator process is gone (`owner_is_gone`). The start time guards
against a recycled pid; the host name keeps one host from judging another's pids when several
share a Docker Engine. A persisted emulator's resources carry its state directory instead of a pid:
they are orphans only once that directory is gone.
"""

from __future__ import annotations

import os
import re
import socket
import uuid

PREFIX = "ecs-emulator."
INSTANCE = PREFIX + "instance"
PID = PREFIX + "pid"
PID_START = PREFIX + "pid-start"
HOST = PREFIX + "host"
# Set by the engine; named here so the whole project spells them one way.
CLUSTER = PREFIX + "cluster"
TASK_ARN = PREFIX + "task-arn"
CONTAINER_NAME = PREFIX + "container-name"
ROLE = PREFIX + "role"  # "pause" on sandbox containers
# "shared" on a Docker volume made for a shared-scope (or EFS) ECS volume: the only kind of
# volume a task may name; a task-scoped one, ecs-<task id>-<name>, is its task's alone.
VOLUME_SCOPE = PREFIX + "volume-scope"
# With ECS_EMULATOR_PERSIST: the state directory whose emulator owns the resource, whatever its
# pid; the next run on that directory adopts it (emulator/persistence/adoption.py).
STATE_DIR = PREFIX + "state-dir"
STATE_MARK = "instance"  # the file in that directory that says it holds an emulator's state


def new_instance_id() -> str:
    return uuid.uuid4().hex[:12]


# This process's instance: a DockerRuntime made without an instance id uses it.
PROCESS_INSTANCE = new_instance_id()


def instance_labels(instance_id: str | None = None) -> dict[str, str]:
    """The label selecting everything of one emulator instance (default: this process's)."""
    return {INSTANCE: instance_id or PROCESS_INSTANCE}


def process_start(pid: int) -> str:
    """The kernel's start time of `pid` (clock ticks since boot), or "" where /proc cannot say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # The command name (field 2) may hold spaces and parentheses; count from its end.
            fields = stat.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError):
        return ""


def owner_labels(instance_id: str, state_dir: str | None = None) -> dict[str, str]:
    """What marks a resource as this emulator process's; with a state directory, as that
    directory's instead, whichever process runs it (no pid: a restart adopts it)."""
    if state_dir:
        return {INSTANCE: instance_id, HOST: socket.gethostname(), STATE_DIR: state_dir}
    pid = os.getpid()
    return {
        INSTANCE: instance_id,
        PID: str(pid),
        PID_START: process_start(pid),
        HOST: socket.gethostname(),
    }


def label_filters(labels: dict[str, str]) -> list[str]:
    """Docker's `label` filter: every pair must match."""
    return [f"{key}={value}" for key, value in sorted(labels.items())]


def pid_alive(pid: int, start: str = "") -> bool:
    """Whether process `pid` lives and, when `start` is known, is the same process as labelled."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: alive
    except OSError:
        return True  # cannot tell: never remove a maybe-live emulator's resources
    if start:
        now = process_start(pid)
        return now == "" or now == start
    return True


def owner_is_gone(labels: dict[str, str]) -> bool:
    """True only when the labels name an emulator process on this host that no longer runs."""
    if labels.get(HOST) != socket.gethostname():
        return False
    state_dir = labels.get(STATE_DIR)
    if state_dir:  # kept for the next emulator on that state, which adopts or removes it
        return not os.path.exists(os.path.join(state_dir, STATE_MARK))
    try:
        pid = int(labels.get(PID, ""))
    except ValueError:
        return False
    if pid == os.getpid():
        return labels.get(PID_START, "") not in ("", process_start(pid))
    return not pid_alive(pid, labels.get(PID_START, ""))


_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")


def docker_name(name: str) -> str:
    """A valid Docker resource name ([a-zA-Z0-9][a-zA-Z0-9_.-]*) made from `name`."""
    cleaned = _NAME_UNSAFE.sub("-", name).strip("-.") or "c"
    if not cleaned[0].isalnum():
        cleaned = "c" + cleaned
    return cleaned[:200]
