"""Which of a runtime's containers the default bridge's anti-spoofing guard (bridge_guard.py)
holds an address for, so that each is released once, when Docker frees the address.

On Docker's default bridge (ECS_EMULATOR_TASK_NETWORK=default-bridge) every container that owns
a task's network namespace (an awsvpc task's pause container, a spare of the sandbox pool, a
bridge task's container) is admitted to the guard right after Docker starts it: from then on
only its own bridge port may speak for its address. Docker gives a freed address to the next
container it starts, so the address is released as soon as the holder is removed or Docker
reports it died; one left in the guard would cut off an unrelated container started there. (The
guard also lets go by itself once the kernel deletes the holder's port, which comes first and
is never missed: bridge_guard.py; the release here then finds nothing left to undo.)

A holder may die between Docker's start and its admission (a container that exits at once);
its die event may then be handled before the admission is recorded. `expect` is called before
the start, so a release that comes first is remembered and the admission undone as it lands.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("emulator.runtime")


class GuardedHolders:
    """The guard of one engine's default bridge, and the holders admitted to it."""

    def __init__(self, guard, network: str):
        self.guard = guard
        self._network = network  # Docker's name of the bridge network (its endpoint's key)
        self._lock = threading.Lock()
        self._admitted: dict[str, tuple[str, str]] = {}  # container id -> (mac, ipv4)
        self._expected: set[str] = set()  # starting: a release now is remembered

    def expect(self, container_id: str) -> None:
        """`container_id` is about to start and be admitted (before Docker's start call)."""
        with self._lock:
            self._expected.add(container_id)

    def admit(self, container_id: str, info: dict) -> str | None:
        """Admit the started container that Docker's inspect `info` describes; its address
        (None: nothing to guard, it is no longer running). Raises the guard's error, or
        ValueError where Docker shows it running with no address on the bridge (unguarded, the
        gate would take it for a stranger: its start fails instead, visibly)."""
        settings = info.get("NetworkSettings") or {}
        endpoint = (settings.get("Networks") or {}).get(self._network) or {}
        ip, mac = endpoint.get("IPAddress"), endpoint.get("MacAddress")
        if not (info.get("State") or {}).get("Running"):
            self.forget(container_id)  # it exited at once: its die event tells its task
            return None
        if not (ip and mac and settings.get("SandboxKey")):
            self.forget(container_id)
            raise ValueError(f"Docker shows it with no address on the network {self._network}")
        try:
            self.guard.admit(settings["SandboxKey"], mac, ip)
        except Exception:
            self.forget(container_id)
            raise
        with self._lock:
            died = container_id not in self._expected  # released while being admitted
            self._expected.discard(container_id)
            if not died:
                # The guard replaced any earlier admission at this address or MAC (Docker gives
                # a freed address, and a MAC made from it, to the next container): that holder's
                # late release must not take this one's admission away.
                for other, held in list(self._admitted.items()):
                    if other != container_id and (held[0] == mac or held[1] == ip):
                        del self._admitted[other]
                self._admitted[container_id] = (mac, ip)
        if died:
            self._release(mac, ip)
            return None
        return ip

    def forget(self, container_id: str) -> None:
        """No admission follows `expect` (the start failed, or there is nothing to guard)."""
        with self._lock:
            self._expected.discard(container_id)

    def release(self, container_id: str) -> None:
        """`container_id` died or was removed: its address is Docker's to give again."""
        with self._lock:
            self._expected.discard(container_id)
            held = self._admitted.pop(container_id, None)
        if held is not None:
            self._release(*held)

    def admitted(self) -> dict[str, tuple[str, str]]:
        with self._lock:
            return dict(self._admitted)

    def close(self) -> None:
        with self._lock:
            self._admitted.clear()
            self._expected.clear()
        self.guard.close()

    def _release(self, mac: str, ip: str) -> None:
        try:
            self.guard.release(mac, ip)
        except Exception:  # noqa: BLE001 - the guard's close drops it at the latest
            log.warning("could not release %s from the default bridge's guard", ip,
                        exc_info=True)
