"""What a unit test makes happen in the FakeRuntime (fake.py): pulls, creates and starts that
fail, containers that exit (seen or unseen by the event stream), OOM kills, health, log lines,
a `docker rm -f` from outside; and the fake's container record they work on.

Apart from fake.py, which implements the Runtime interface the engine calls, because this is
the other side: what tests drive, never the engine. A mixin of FakeRuntime, sharing its
containers, its lock (`_changed`) and its event sending (`_emit`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from .base import ContainerSpec, PublishedPort

SIGKILL_EXIT = 137


@dataclass
class FakeContainer:
    id: str
    name: str
    image: str
    labels: dict[str, str]
    network: str
    spec: ContainerSpec | None = None  # None for a sandbox
    status: str = "created"
    exit_code: int | None = None
    oom_killed: bool = False
    health: str | None = None
    ip_address: str | None = None
    published: tuple[PublishedPort, ...] = ()
    aliases: tuple[str, ...] = ()  # a sandbox's names on the network (name_sandbox)
    started_at: str | None = None
    finished_at: str | None = None
    ignores_sigterm: bool = False
    stop_exit_code: int = 0
    log: list[tuple[float, str, str]] = field(default_factory=list)


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{time.time_ns() % 10**9:09d}Z"

class FakeScripting:
    """FakeRuntime's test hooks: need its `containers`, `_failures`, `_on_start`, `_changed`,
    `_emit`, `_matches` and `kill_container`."""

    def fail_pull(self, image: str, message: str = "pull access denied") -> None:
        self._failures["pull"][image] = message

    def fail_create(self, key: str, message: str = "invalid container") -> None:
        """Fail create_container for an image, container name or ECS container name."""
        self._failures["create"][key] = message

    def fail_start(self, key: str, message: str = 'exec: "x": executable file not found') -> None:
        self._failures["start"][key] = message

    def on_start(self, key: str, action: Callable[[str], None]) -> None:
        """Call `action(container_id)` after a matching container starts (outside the lock)."""
        self._on_start.append((key, action))

    def exit_on_start(self, key: str, exit_code: int = 0) -> None:
        self.on_start(key, lambda cid: self.exit(cid, exit_code))

    def healthy_on_start(self, key: str) -> None:
        self.on_start(key, lambda cid: self.set_health(cid, "healthy"))

    def find(self, key: str) -> str | None:
        """The id of the newest container matching `key` (image, name or ECS container name)."""
        with self._changed:
            found = [c.id for c in self.containers.values() if c.spec and self._matches(c, key)]
        return found[-1] if found else None

    def exit(self, container_id: str, exit_code: int = 0) -> None:
        with self._changed:
            container = self.containers[container_id]
            if container.status != "running":
                return
            container.status, container.exit_code = "exited", exit_code
            container.finished_at = _now_iso()
            self._emit(container, "die", exit_code=exit_code)

    def exit_unseen(self, container_id: str, exit_code: int = 0, oom: bool = False) -> None:
        """The container exits but no event tells of it (dockerd drops events for a slow
        subscriber): only its state and the container list know."""
        with self._changed:
            container = self.containers[container_id]
            container.status, container.exit_code = "exited", exit_code
            container.oom_killed = container.oom_killed or oom
            container.finished_at = _now_iso()
            self._changed.notify_all()

    def oom(self, container_id: str) -> None:
        with self._changed:
            container = self.containers[container_id]
            container.oom_killed = True
            self._emit(container, "oom")
            self.exit(container_id, SIGKILL_EXIT)

    def set_health(self, container_id: str, health: str) -> None:
        with self._changed:
            container = self.containers[container_id]
            container.health = health
            self._emit(container, "health_status", health=health)

    def ignore_sigterm(self, container_id: str) -> None:
        """stop_container will end it with SIGKILL (exit 137), as Docker after the timeout."""
        with self._changed:
            self.containers[container_id].ignores_sigterm = True

    def write_log(self, container_id: str, line: str, stream: str = "stdout") -> None:
        with self._changed:
            self.containers[container_id].log.append((time.time(), stream, line))
            self._changed.notify_all()

    def remove_externally(self, container_id: str) -> None:
        """As if someone ran `docker rm -f`: die, then destroy."""
        with self._changed:
            self.kill_container(container_id)
            container = self.containers.pop(container_id)
            self._emit(container, "destroy")
