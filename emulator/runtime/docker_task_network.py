"""DockerTaskNetwork: where a Docker runtime's tasks attach, and the state that keeps it.

DockerRuntime (docker_runtime.py) inherits it. It stands apart because it is a job of its own
with its own state and locking: which network the tasks are on (this instance's bridge network,
made once, or Docker's default bridge where the setting asks and it serves, with the
anti-spoofing guard of that bridge and the namespace holders admitted to it), who is on it now
and which of the engine's gateways are this host's (for the access checks), the emulator's own
container joining it, and the task sandboxes (pause containers) attached to it. The Docker calls
themselves are docker_network.py's functions; this holds what one engine's runtime remembers
between them. It uses the runtime's `api`, `queue`, `instance_id`, `labels()` and
`daemon_info()`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Callable

from . import docker_network, engine_locality
from .base import NetworkMembers, PortBinding, TaskSandbox
from .docker_queue import SETUP, TEARDOWN
from .guarded_holders import GuardedHolders
from .own_container import is_container_id

log = logging.getLogger("emulator.runtime")


class DockerTaskNetwork:
    """The task network of one Docker Engine's runtime (see the module's docstring)."""

    def __init__(self, task_network: str, interface_with: Callable[[str], str | None] | None,
                 bridge_claims: docker_network.BridgeClaims | None,
                 engine_local: Callable[..., str | None] | None, own_container: str | None,
                 bridge_guard: Callable[[str, str], object] | None = None):
        """The arguments are DockerRuntime's of the same names."""
        self._network: tuple[str, str] | None = None
        self._network_lock = threading.Lock()
        # Why this engine's tasks are not on the default bridge though the setting asks (said
        # once); None: not asked, or they are
        self._bridge_refused: str | None = None
        self._task_network = task_network
        self._interface_with = interface_with or (lambda _: None)
        self._bridge_claims = bridge_claims
        self._engine_local = engine_local or (lambda info, published=False: None)
        self._make_guard = bridge_guard
        # The default bridge's guard and who is admitted to it, once made (one per runtime,
        # kept across resets: docker0 is not made again; closed with the runtime)
        self.holders: GuardedHolders | None = None
        self._own_container = own_container
        # (network, address) where the emulator's own container joined the task network: set
        # once the attach succeeded and the address is this process's own, never on the
        # setting's word alone (a network it has not joined is judged like any other's)
        self._attached: tuple[str, str] | None = None
        self._foreign_said = False  # network_members() said the network is not this host's
        # Docker's default bridge's gateways (gateways()): read once; a failed read retried
        # after _bridge_retry_at
        self._bridge_gateways: tuple[str, ...] | None = None
        self._bridge_retry_at = 0.0
        self._pause_image: str | None = None

    # -- the network -------------------------------------------------------------------------

    def ensure_network(self) -> tuple[str, str]:
        """The network tasks attach to: (name, gateway IP). This instance's bridge network,
        created once; Docker's default bridge where the setting asks and it serves."""
        with self._network_lock:  # one creator: a second create would conflict
            if self._network is None:
                self._network = self._default_bridge() or docker_network.ensure_network(
                    self.api, docker_network.network_name(self.instance_id), self.labels())
            return self._network

    def _default_bridge(self) -> tuple[str, str] | None:
        if self._task_network != "default-bridge" or self._bridge_refused is not None:
            return None
        claims, info = self._bridge_claims, self.daemon_info()
        found = docker_network.default_bridge(
            self.api, info, self._interface_with,
            (lambda subnets: claims.claim(self, subnets)) if claims else (lambda _: None),
            self._engine_local, self._guard)
        if isinstance(found, tuple):
            return found
        self._bridge_refused = found
        if claims:  # a bridge this runtime does not use is free for another engine's tasks
            claims.release(self)
        log.warning("tasks of the Docker Engine at %s attach to the emulator's own network, not "
                    "the default bridge (ECS_EMULATOR_TASK_NETWORK): %s",
                    self.api.base_url, found)
        return None

    def why_not_local(self, published: bool = False) -> str | None:
        """None where the engine is proven to be in this network namespace (`published`: or
        to publish its ports on this host's, as a rootless one here does), else why (asked of
        engine_locality.py each time: cheap, and an engine may be replaced at its address)."""
        return self._engine_local(self.daemon_info(), published=published)

    def _guard(self, bridge: str, gateway: str) -> str | None:
        """Put the anti-spoofing guard on the default bridge's interface (once); why not."""
        if self.holders is not None:
            return None
        if self._make_guard is None:
            from .bridge_guard import make_guard

            self._make_guard = make_guard
        guard = self._make_guard(bridge, gateway)
        if isinstance(guard, str):
            return f"no anti-spoofing guard on {bridge}: {guard}"
        self.holders = GuardedHolders(guard, docker_network.DEFAULT_BRIDGE)
        return None

    def close_guard(self) -> None:
        """Take the guard off the bridge (the runtime closes): its holders are unguarded."""
        holders, self.holders = self.holders, None
        if holders is not None:
            try:
                holders.close()
            except Exception:  # noqa: BLE001 - closing must go on; the log says what stays
                log.warning("could not take the anti-spoofing guard off the default bridge",
                            exc_info=True)

    @property
    def default_bridge(self) -> bool:
        """Whether this engine's tasks are on Docker's default bridge (no names, no aliases)."""
        return self.ensure_network()[0] == docker_network.DEFAULT_BRIDGE

    def attach_to_network(self, container: str) -> str:
        """Connect `container` (the emulator's own) to this instance's network; its address."""
        from emulator.access.host_addresses import is_local_address

        from .own_container import attach

        network = self.ensure_network()[0]
        address = attach(self.api, network, container)
        # Ours only where this process holds the address: a container of that name on an
        # engine we do not run on (own_container_id's host-name guess) is not the emulator
        self._attached = (network, address) if is_local_address(address) else None
        return address

    def network_members(self) -> NetworkMembers:
        """Who is on this instance's network now (the access checks map addresses to tasks):
        nobody where the network's bridge is not in this network namespace (an engine in a
        container, in another namespace, elsewhere), whose addresses a container here may have
        too; the emulator run as a container that has joined the network is on it itself."""
        network = self.ensure_network()[0]
        members = docker_network.network_members(self.api, network)
        if members.shared:  # a task there needs its address guarded too (callers.py)
            holders = self.holders
            if holders is None:
                return replace(members, guarded=_unguarded)
            return replace(members, guarded=holders.guard.guarded)
        if (self._joined(network, members)
                or engine_locality.bridge_is_here(members.bridge)):
            return members
        from emulator.access.control_token import reaches_loopback

        # A VM's engine (Docker Desktop...) is never here: its tasks call from this host's
        # loopback, nothing worth a warning
        if not self._foreign_said and not reaches_loopback(True, self.daemon_info()):
            self._foreign_said = True
            log.warning("calls from the Docker Engine at %s's network %s are strangers': its "
                        "bridge %s is not this host's (an engine in a container, in another "
                        "network namespace or on another machine)", self.api.base_url,
                        self.ensure_network()[0], members.bridge)
        return NetworkMembers(subnets=(), addresses={})

    def _joined(self, network: str, members: NetworkMembers) -> bool:
        """Whether the emulator's own container is on `network` now: it joined it (this run,
        or before it: the network lists its container id at an address this process holds),
        and the network's containers still list its address (one made again is not joined)."""
        if self._attached is None and self._own_container:
            from emulator.access.host_addresses import is_local_address

            own = self.own_container() or ""
            # By id only (a name would need a look at Docker); and an address alone could be
            # another engine's container's, on a subnet this one's network has too
            if is_container_id(own):
                for address, container in members.addresses.items():
                    if container.startswith(own) and is_local_address(address):
                        self._attached = (network, address)
        if self._attached is None or self._attached[0] != network:
            return False
        holder = members.addresses.get(self._attached[1])
        own = self.own_container() or ""
        # Still ours: disconnected (or moved), its old address may be a task's now
        return holder is not None and (not is_container_id(own) or holder.startswith(own))

    def gateways(self) -> tuple[str, ...]:
        """This engine's network gateway (once made) and Docker's default bridge's: addresses of
        the engine's host (access/host_addresses.py). Asked on requests' paths, so it never
        waits for the network lock (a reference read is atomic) and a failed read of the bridge
        is not tried again for a minute."""
        network = self._network
        own = (network[1].split("/")[0],) if network is not None and network[1] else ()
        if self._bridge_gateways is None and time.monotonic() >= self._bridge_retry_at:
            try:  # Docker's default bridge (docker0): read once, it does not move
                info = self.api.inspect_network(docker_network.DEFAULT_BRIDGE)
                configs = (info.get("IPAM") or {}).get("Config") or []
                self._bridge_gateways = tuple(c["Gateway"].split("/")[0] for c in configs
                                              if c.get("Gateway"))
            except Exception:  # noqa: BLE001 - no default bridge, or the engine is away
                self._bridge_retry_at = time.monotonic() + 60
        return own + (self._bridge_gateways or ())

    def _forget_network(self) -> None:
        with self._network_lock:
            self._network = None
            self._attached = None  # joined again with the network made again
        self._pause_image = None  # checked again with the network: it may have gone too

    def own_container(self) -> str | None:
        """The emulator's own container (id or name) where it runs in one on this engine: it
        joins its tasks' network and leaves it before the network's removal, not as a
        leftover."""
        if self._own_container == "auto":
            from .own_container import own_container_id

            self._own_container = own_container_id()
        return self._own_container

    # -- sandboxes ---------------------------------------------------------------------------

    def create_sandbox(self, name: str, labels: dict[str, str], mode: str,
                       ports: list[PortBinding]) -> TaskSandbox:
        if mode == "awsvpc":
            return self.queue.call(SETUP, self._awsvpc_sandbox, name, labels, ports)
        if mode == "bridge":
            return TaskSandbox(network=self.ensure_network()[0], ip_address=None)
        if mode in ("host", "none"):
            return TaskSandbox(network=mode, ip_address=None)
        raise ValueError(f"unknown network mode {mode!r}")

    def _awsvpc_sandbox(self, name: str, labels: dict[str, str],
                        ports: list[PortBinding]) -> TaskSandbox:
        import docker.errors  # (imported on first use, as the runtime does: start-up time)

        try:
            return self._pause_sandbox(name, labels, ports)
        except docker.errors.NotFound:  # our network was removed behind our back: make it again
            self._forget_network()
            return self._pause_sandbox(name, labels, ports)

    def _pause_sandbox(self, name: str, labels: dict[str, str],
                       ports: list[PortBinding]) -> TaskSandbox:
        network, _ = self.ensure_network()
        if self._pause_image is None:
            # (imported here: tarfile, hashlib and platform are a few per cent of the start-up)
            from .pause_image import ensure_pause_image

            self._pause_image = ensure_pause_image(self.api)
        return docker_network.create_pause_sandbox(self.api, name, self.labels(labels), network,
                                                   ports, self._pause_image, self._holders_on(network))

    def _holders_on(self, network: str) -> GuardedHolders | None:
        """The guard's holders where `network` is the default bridge (only ever with one)."""
        return self.holders if network == docker_network.DEFAULT_BRIDGE else None

    def name_sandbox(self, sandbox: TaskSandbox, aliases: list[str]) -> None:
        # The default bridge has no names to give (Docker refuses aliases there): nothing to do.
        if sandbox.sandbox_id and not self.default_bridge:
            self.queue.call(SETUP, docker_network.rejoin, self.api, sandbox.sandbox_id,
                            self.ensure_network()[0], aliases)

    def remove_sandbox(self, sandbox: TaskSandbox) -> None:
        if sandbox.sandbox_id:
            self.queue.call(TEARDOWN, docker_network.remove_pause_sandbox, self.api, sandbox)
            self.released(sandbox.sandbox_id)

    def guard_holder(self, container_id: str) -> None:
        """Admit a namespace holder this process did not start (a persisted emulator's adopted
        task's: the guard and its admissions went with the previous process), if it is on the
        default bridge; raises ContainerStartError where the guard refuses it."""
        if self._task_network != "default-bridge" or self._bridge_refused is not None:
            return  # (no Docker call: an engine that does not answer holds its tasks' runners)
        holders = self.holders if self.default_bridge else None
        if holders is None:
            return
        import docker.errors

        holders.expect(container_id)
        try:
            info = self.api.inspect_container(container_id)
        except docker.errors.NotFound:
            holders.forget(container_id)  # gone: its task learns it from Docker's events
            return
        if (info.get("HostConfig") or {}).get("NetworkMode") != docker_network.DEFAULT_BRIDGE:
            holders.forget(container_id)
            return
        docker_network.admit_or_remove(self.api, holders, container_id, info, remove=False)

    def released(self, container_id: str) -> None:
        """`container_id` was removed or died: the guard frees its address, if it held one."""
        holders = self.holders
        if holders is not None:
            holders.release(container_id)


def _unguarded(address: str) -> bool:
    """The default bridge without a guard (closed): nobody's address is guarded."""
    return False

