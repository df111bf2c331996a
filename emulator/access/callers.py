"""Who is calling: told from the address a connection comes from, as the ECS agent tells tasks
apart on its bridge.

- HOST: loopback, or an address of this host (a process here, or a container sharing the host's
  network namespace: Linux drops packets from outside that claim a local source address)
- TASK: an address on the emulator's Docker network that belongs to a running task: an awsvpc
  task's address, or a bridge task's container's (or its sandbox's, for one from the pool)
- NETWORK: another address on the emulator's Docker network (a container someone attached to it,
  or one of a task's between its start and the next look at Docker)
- STRANGER: anything else: Docker's default bridge, another network namespace routed to this
  host, another machine

Docker's network is read at most every REFRESH_S (one inspect call lists every container's
address), and again when an address is not found among the running tasks, so a container that has
just started is known on its first request. An address is not a secret on a shared bridge: a container with NET_RAW
could in principle impersonate a neighbour's, so credentials also need their id (see
metadata/routes.py), as on ECS.
"""

from __future__ import annotations

import enum
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass

from emulator.runtime.status import TaskStatus

REFRESH_S = 2.0  # how long Docker's view of the network is trusted


class CallerKind(enum.Enum):
    HOST = "host"
    TASK = "task"
    NETWORK = "network"
    STRANGER = "stranger"


@dataclass(frozen=True)
class Caller:
    kind: CallerKind
    address: str
    task_arn: str | None = None
    task_id: str | None = None

    @property
    def from_container(self) -> bool:
        """A container on the emulator's network: its calls are a task's, not the operator's."""
        return self.kind in (CallerKind.TASK, CallerKind.NETWORK)


_LOOPBACK = {a: Caller(CallerKind.HOST, a) for a in ("127.0.0.1", "::1", "::ffff:127.0.0.1")}


class Callers:
    def __init__(self, state, runtime):
        self._state = state  # EcsState: the tasks
        self._runtime = runtime  # () -> the runtime; asked lazily (Docker may be absent)
        self._lock = threading.Lock()
        self._subnets: tuple = ()
        self._addresses: dict[str, str] = {}  # address -> container id
        self._read_at = 0.0

    def identify(self, address: str) -> Caller:
        if address in _LOOPBACK:  # nearly every call of the operator's: no parsing
            return _LOOPBACK[address]
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:  # a Unix socket, or no peer at all: nothing to tell it by
            return Caller(CallerKind.STRANGER, address)
        if getattr(ip, "ipv4_mapped", None):  # a dual-stack listener's view of an IPv4 peer
            ip = ip.ipv4_mapped
        if ip.is_loopback or is_local_address(str(ip)):
            return Caller(CallerKind.HOST, address)
        asked = time.monotonic()
        if not self._on_network(ip, asked):
            return Caller(CallerKind.STRANGER, address)
        task = self._task_at(str(ip), asked)
        if task is None:
            return Caller(CallerKind.NETWORK, address)
        return Caller(CallerKind.TASK, address, task_arn=task.arn, task_id=task.id)

    # -- Docker's view ------------------------------------------------------------------------

    def _on_network(self, ip, asked: float) -> bool:
        self._read(older_than=asked - REFRESH_S)
        return any(ip in subnet for subnet in self._subnets)

    def _task_at(self, address: str, asked: float):
        task = self._live_task(address)
        # Not found: look at Docker again, unless someone did since this request came (a
        # container that has just started makes its first calls at once; they share one look).
        if task is None:
            self._read(older_than=asked)
            task = self._live_task(address)
        return task

    def _read(self, older_than: float) -> None:
        """Read the network again if what we have was read before `older_than`."""
        with self._lock:
            if self._read_at >= older_than:
                return
            try:
                members = self._runtime().network_members()
            except Exception:  # Docker gone: nobody is on a network we cannot see
                members = None
            self._read_at = time.monotonic()
            if members is None:
                self._subnets, self._addresses = (), {}
            else:
                self._subnets = tuple(ipaddress.ip_network(s, strict=False)
                                      for s in members.subnets)
                self._addresses = dict(members.addresses)

    def _live_task(self, address: str):
        container_id = self._addresses.get(address)
        with self._state.lock:
            for store in self._state.stores():
                for task in store.tasks.values():
                    # From DEPROVISIONING on its containers have exited and its sandbox is being
                    # removed: its address is no longer its (Docker may give it to another).
                    if task.known >= TaskStatus.DEPROVISIONING:
                        continue
                    if task.network_mode == "awsvpc" and task.private_ip == address:
                        return task
                    if container_id and (container_id == task.sandbox_id or any(
                            c.runtime_id == container_id for c in task.containers)):
                        return task
        return None


def is_local_address(address: str) -> bool:
    """Whether `address` is one of this host's (only a local address can be bound; a bind and a
    close cost microseconds, and addresses come and go, so the answer is not kept)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        probe.bind((address, 0))
        return True
    except OSError:
        return False
    finally:
        probe.close()
