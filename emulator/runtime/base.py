"""The narrow interface between the task engine and a container runtime, in Docker's terms.

The engine translates ECS task and container definitions into these specs; a runtime (Docker, or
the fake in unit tests) carries them out. Nothing here knows about ECS.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol


class RuntimeError_(Exception):
    """A runtime operation failed; `message` is fit to show a user (e.g. a container's reason)."""

    ecs_code = ""  # the error name ECS puts before the message in a container's reason

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    @property
    def reason(self) -> str:
        """As ECS shows it: "CannotPullContainerError: <message>"."""
        return f"{self.ecs_code}: {self.message}" if self.ecs_code else self.message


class RuntimeClosed(RuntimeError_):
    """The runtime was closed (its engine removed from the emulator, or the emulator stops):
    nothing more is asked of its engine."""


class ImagePullError(RuntimeError_):
    ecs_code = "CannotPullContainerError"


class ContainerCreateError(RuntimeError_):
    ecs_code = "CannotCreateContainerError"


class ImageGoneError(ContainerCreateError):
    """Create found no such image, though this runtime had made it available: it was removed
    since. Making it available again and retrying is what a user expects."""


class ContainerStartError(RuntimeError_):
    ecs_code = "CannotStartContainerError"


class ContainerGoneError(ContainerStartError):
    """Start found no such container: it was removed (by a teardown, or from outside)."""


def gone(error: BaseException) -> bool:
    """Whether `error` says that what a call named is gone or going (Docker's 404, its 409 for a
    removal already under way) or that the runtime was closed: what the runner of a task torn
    down under it (a reset, its engine removed) meets, not a fault."""
    return isinstance(error, (RuntimeClosed, ContainerGoneError)) \
        or getattr(error, "status_code", None) in (404, 409)


def unanswered(error: BaseException) -> bool:
    """Whether `error` is a call to the engine that got no answer: its connection refused or
    cut, or its wait run out (what a call meets on an engine being stopped or removed)."""
    import requests

    return isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout))


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    protocol: str = "tcp"
    host_ip: str | None = None  # None: do not publish
    host_port: int | None = None  # None or 0: an ephemeral port chosen by Docker


@dataclass(frozen=True)
class Mount:
    type: str  # "bind", "volume" or "tmpfs"
    target: str
    source: str | None = None
    read_only: bool = False
    tmpfs_size_bytes: int | None = None
    tmpfs_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class HealthCheck:
    test: list[str]  # Docker form: ["CMD-SHELL", "..."] or ["CMD", ...]
    interval_s: float = 30
    timeout_s: float = 5
    retries: int = 3
    start_period_s: float = 0


@dataclass
class ContainerSpec:
    name: str
    image: str
    labels: dict[str, str]
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    # network: a network name, "container:<id>" (share a namespace), "host" or "none"
    network: str = "bridge"
    network_aliases: list[str] = field(default_factory=list)
    ports: list[PortBinding] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    volumes_from: list[str] = field(default_factory=list)  # "<container id>[:ro]"
    links: list[str] = field(default_factory=list)
    extra_hosts: dict[str, str] = field(default_factory=dict)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    cpu_shares: int | None = None
    nano_cpus: int | None = None
    memory_bytes: int | None = None
    memory_reservation_bytes: int | None = None
    memory_swap_bytes: int | None = None  # memory + swap, Docker's MemorySwap (-1: unlimited)
    memory_swappiness: int | None = None
    pids_limit: int | None = None  # processes and threads at once in its cgroup
    ulimits: list[tuple[str, int, int]] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)  # "host:container:perms"
    init: bool = False
    shm_size_bytes: int | None = None
    read_only: bool = False
    privileged: bool = False
    sysctls: dict[str, str] = field(default_factory=dict)
    tty: bool = False
    stdin_open: bool = False
    healthcheck: HealthCheck | None = None
    stop_timeout_s: int | None = None
    security_opt: list[str] = field(default_factory=list)
    pid_mode: str | None = None
    ipc_mode: str | None = None


@dataclass(frozen=True)
class PublishedPort:
    container_port: int
    protocol: str
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class ContainerState:
    id: str
    status: str  # Docker's: created, running, exited, dead, ...
    running: bool
    exit_code: int | None
    oom_killed: bool
    health: str | None  # starting, healthy, unhealthy, or None without a health check
    error: str
    ip_address: str | None
    published: tuple[PublishedPort, ...] = ()
    started_at: str | None = None
    finished_at: str | None = None
    image_id: str | None = None  # the local image id (sha256:...)


@dataclass(frozen=True)
class TaskSandbox:
    """Where a task's containers attach: for awsvpc, a pause container holding the namespace."""

    network: str  # what ContainerSpec.network should say for the task's containers
    ip_address: str | None
    sandbox_id: str | None = None  # the pause container's id (awsvpc) or None
    mac_address: str | None = None


@dataclass(frozen=True)
class NetworkMembers:
    """Who is on the emulator's network: its subnets, and each address's container id."""

    subnets: tuple[str, ...]
    addresses: dict[str, str]  # IP address -> container id
    # Docker's default bridge, shared with containers not the emulator's: an address there that
    # is no live task's is a stranger's (access/callers.py), not the emulator network's
    shared: bool = False
    # The host interface of a bridge network's bridge as Docker names it (br-<id>, or the
    # network's bridge.name option); None where there is none (another driver)
    bridge: str | None = None
    # On a shared one: whether the default bridge's anti-spoofing guard holds an address for
    # its admitted holder (bridge_guard.py); a task's address must be, to be the task's
    guarded: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class RuntimeEvent:
    container_id: str
    action: str  # start, die, oom, kill, destroy, health_status
    labels: dict[str, str]
    exit_code: int | None = None
    health: str | None = None  # for health_status: healthy / unhealthy
    time: float = 0.0
    signal: str | None = None  # for kill: the signal's number, as Docker tells it ("15")


# Signals whose default action ends a process (KILL, TERM, INT, QUIT): the ones a kill event
# means "ended from outside" for. HUP, USR1... are how one talks to a process (a reload).
ENDING_SIGNALS = frozenset({"9", "15", "2", "3"})


def signal_number(sig: str | int | None) -> str | None:
    """`sig` as Docker's events spell it ("15"), from a number or a name ("SIGTERM", "TERM")."""
    if sig is None or str(sig).isdigit():
        return None if sig is None else str(sig)
    name = str(sig).upper()
    name = name if name.startswith("SIG") else "SIG" + name
    member = signal.Signals.__members__.get(name)
    return str(member.value) if member is not None else str(sig)


@dataclass(frozen=True)
class RegistryAuth:
    username: str
    password: str
    server: str


class Runtime(Protocol):
    """What the engine asks of a container runtime. Calls block; the engine runs them off the lock."""

    def ensure_image(self, image: str, auth: RegistryAuth | None,
                     progress: Callable[[str], None] | None = None) -> None:
        """Return once `image` is on the engine, pulling it if need be (ImagePullError if it
        cannot be had). `progress` is told each step of a pull, the first as it begins, and
        never for an image the engine has: a task shows a pull only while one runs."""
        ...

    def unserved_image(self, image: str) -> str | None:
        """Why `image` is not one any registry serves to anyone (a local build, a private image,
        a registry not reached), else None: what a task's own ECS calls may run."""
        ...

    def image_digest(self, image: str) -> str | None:
        """The digest the image is known by: its registry manifest's digest where it came from a
        registry (what ECS shows as a container's imageDigest), else its own id."""
        ...

    def create_sandbox(self, name: str, labels: dict[str, str], mode: str,
                       ports: list[PortBinding]) -> TaskSandbox: ...

    def remove_sandbox(self, sandbox: TaskSandbox) -> None: ...

    def name_sandbox(self, sandbox: TaskSandbox, aliases: list[str]) -> None:
        """Give a ready pause sandbox on the emulator's network the names (aliases) of the one
        bridge container that will join it, so others reach that container by name (nothing on
        the default bridge, which has no names)."""
        ...

    @property
    def default_bridge(self) -> bool:
        """Whether tasks attach to Docker's default bridge (ECS_EMULATOR_TASK_NETWORK)."""
        ...

    def guard_holder(self, container_id: str) -> None:
        """Admit to the default bridge's anti-spoofing guard a running namespace holder that
        this process did not start (an adopted task's); nothing off that bridge. Raises
        RuntimeError_ where the guard refuses it."""
        ...

    def create_container(self, spec: ContainerSpec) -> str: ...

    def start_container(self, container_id: str) -> None: ...

    def stop_container(self, container_id: str, timeout_s: int) -> None: ...

    def kill_container(self, container_id: str, signal: str = "SIGKILL") -> None: ...

    def remove_container(self, container_id: str) -> None: ...

    def inspect_container(self, container_id: str) -> ContainerState | None: ...

    def listed_containers(self) -> list[dict]:
        """This instance's containers, running or not, as one call to the runtime's container
        list gives them (Docker's GET /containers/json entries: Id, State, Labels...)."""
        ...

    def listed_state(self, entry: dict, listed: dict[str, dict]) -> ContainerState | None:
        """A running container's state from the runtime's own container list (what `owned`
        gives; `listed`: every entry by id), saving an inspect; None when only an inspect can
        tell (a container that is not running)."""
        ...

    def ensure_volume(self, name: str, labels: dict[str, str], driver: str | None = None,
                      driver_opts: dict[str, str] | None = None) -> str: ...

    def remove_volume(self, name: str) -> None: ...

    def volume_labels(self, name: str) -> dict[str, str] | None:
        """The labels of the Docker volume `name`; None when there is none."""
        ...

    def gateways(self) -> tuple[str, ...]:
        """The gateways of this engine's Docker networks the runtime knows (its own network's,
        once made, and Docker's default bridge's): addresses of the engine's host."""
        ...

    def events(self, until_stopped, since: float | None = None) -> Iterator[RuntimeEvent]: ...

    def logs(self, container_id: str, since: float | None = None,
             follow: bool = False) -> Iterator[tuple[float, str, str]]: ...

    def stats(self, container_id: str) -> dict: ...

    def remove_labelled(self, labels: dict[str, str]) -> int: ...

    def explain(self, error: Exception) -> str:
        """An unexpected failure of a call, said for a user (a task's stoppedReason)."""
        ...

    def host_resources(self) -> tuple[int, int]:
        """(CPU units, memory MiB) of the engine's host."""
        ...

    def daemon_info(self) -> dict:
        """`docker info` of the engine: its daemon's ID, Name and OperatingSystem among them."""
        ...

    def why_not_local(self, published: bool = False) -> str | None:
        """None where the engine is proven to be in this process's network namespace (its
        published ports are this host's: engine_locality.py), or, asked for its `published`
        ports only, to publish them on this host (a rootless engine here); else why not."""
        ...

    def ensure_network(self) -> tuple[str, str]:
        """This instance's bridge network, made on first use: (name, gateway IP)."""
        ...

    def network_members(self) -> NetworkMembers:
        """Who is on this instance's network now: its subnets, and each address's container."""
        ...

    def remove_orphans(self) -> int:
        """Remove what emulators on this host whose process has ended left; how many."""
        ...

    def close(self, why: str = "the emulator is stopping") -> None: ...

    @property
    def closed(self) -> bool:
        """Whether `close` was called: calls under way may fail any way their engine's end
        makes them."""
        ...
