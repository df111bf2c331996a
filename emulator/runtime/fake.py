"""FakeRuntime: the Runtime interface in memory, for the engine's unit tests (no Docker).

Containers "run" until a test says otherwise through the hooks (fake_scripting.py):

    fake = FakeRuntime()
    fake.exit_on_start("app", 3)          # by image, container name or ECS container-name label
    fake.fail_pull("private/img", "pull access denied")
    cid = fake.find("web")                # the id of the container named "web" (ECS name label)
    fake.set_health(cid, "healthy"); fake.exit(cid, 1); fake.oom(cid); fake.write_log(cid, "hi")

Every call is recorded in `fake.calls` as (method, args...). Each change a real engine would
report is sent to the subscribers of `events()` and kept in `fake.history`.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from typing import Callable, Iterator

from .base import (
    ContainerCreateError,
    ContainerGoneError,
    ContainerSpec,
    ContainerStartError,
    ENDING_SIGNALS,
    ContainerState,
    ImagePullError,
    NetworkMembers,
    PortBinding,
    PublishedPort,
    RegistryAuth,
    RuntimeError_,
    RuntimeEvent,
    TaskSandbox,
    signal_number,
)
from .fake_scripting import SIGKILL_EXIT, FakeContainer, FakeScripting, _now_iso
from .labels import CONTAINER_NAME, INSTANCE, ROLE


class FakeRuntime(FakeScripting):
    def __init__(self, images: tuple[str, ...] = (), pull_all: bool = True,
                 host_cpu_units: int = 4096, host_memory_mib: int = 8192,
                 gateway: str = "127.0.0.1", instance_id: str = "fake"):
        self.instance_id = instance_id
        self.images: set[str] = set(images)
        self.pull_all = pull_all  # False: only images in `images` can be had
        self.unserved: dict[str, str] = {}  # image -> why no registry serves it to anyone
        self.host = (host_cpu_units, host_memory_mib)
        self.gateway = gateway
        # Tasks on Docker's default bridge (ECS_EMULATOR_TASK_NETWORK=default-bridge): shared
        # with strangers, no aliases
        self.default_bridge = False
        # There: addresses its anti-spoofing guard does not hold (every other one it does)
        self.unguarded: set[str] = set()
        self.closed = False
        self.not_local: str | None = None  # why_not_local(): None, proven in this namespace
        # `docker info` as engine_identity.py reads it: each fake its own daemon unless told
        self.info = {"ID": f"FAKE:{uuid.uuid4().hex[:12]}", "Name": "fake",
                     "OperatingSystem": "Fake Linux",
                     "DockerRootDir": "/var/lib/docker"}
        self.containers: dict[str, FakeContainer] = {}
        self.volumes: dict[str, dict] = {}
        self.calls: list[tuple] = []
        self.history: list[RuntimeEvent] = []
        self.stats_samples: dict[str, dict] = {}
        self._failures: dict[str, dict[str, str]] = {"pull": {}, "create": {}, "start": {}}
        self._on_start: list[tuple[str, Callable[[str], None]]] = []
        self._changed = threading.Condition(threading.RLock())
        self._subscribers: list[list[RuntimeEvent]] = []
        self._ips = itertools.count(2)
        self._ports = itertools.count(49153)

    # -- Runtime: images, sandboxes ---------------------------------------------------------

    def ensure_image(self, image: str, auth: RegistryAuth | None,
                     progress: Callable[[str], None] | None = None) -> None:
        with self._changed:
            self.calls.append(("ensure_image", image, auth))
            if image in self._failures["pull"]:
                raise ImagePullError(f"Error response from daemon: {self._failures['pull'][image]}")
            if image not in self.images:
                if not self.pull_all:
                    raise ImagePullError(f"Error response from daemon: manifest for {image} not found")
                if progress:
                    progress(f"Status: Downloaded newer image for {image}")
                self.images.add(image)

    def unserved_image(self, image: str) -> str | None:
        with self._changed:
            return self.unserved.get(image)

    def explain(self, error: Exception) -> str:
        return str(error)

    def image_digest(self, image: str) -> str | None:
        """A stable made-up digest for every image the fake holds."""
        import hashlib

        with self._changed:
            if image not in self.images:
                return None
        return "sha256:" + hashlib.sha256(image.encode()).hexdigest()

    def ensure_network(self) -> tuple[str, str]:
        return ("bridge" if self.default_bridge else f"ecs-emulator-{self.instance_id}",
                self.gateway)

    def network_members(self) -> NetworkMembers:
        """The fake's running containers that have an address (10.0/16 and 10.1/16)."""
        with self._changed:
            return NetworkMembers(
                subnets=("10.0.0.0/16", "10.1.0.0/16"),
                addresses={c.ip_address: c.id for c in self.containers.values()
                           if c.ip_address and c.status == "running"},
                shared=self.default_bridge,
                guarded=(lambda ip: ip not in self.unguarded) if self.default_bridge else None)

    def create_sandbox(self, name: str, labels: dict[str, str], mode: str,
                       ports: list[PortBinding]) -> TaskSandbox:
        with self._changed:
            self.calls.append(("create_sandbox", name, mode, tuple(ports)))
            if mode in ("bridge", "host", "none"):
                network = self.ensure_network()[0] if mode == "bridge" else mode
                return TaskSandbox(network=network, ip_address=None)
            if mode != "awsvpc":
                raise ValueError(f"unknown network mode {mode!r}")
            sandbox = FakeContainer(
                id=uuid.uuid4().hex + uuid.uuid4().hex, name=name, image="ecs-emulator/pause",
                labels={**labels, INSTANCE: self.instance_id, ROLE: "pause"},
                network=self.ensure_network()[0], status="running", started_at=_now_iso(),
                ip_address=self._next_ip("10.0"),
                published=self._publish(ports, "127.0.0.1"))
            self.containers[sandbox.id] = sandbox
            return TaskSandbox(network=f"container:{sandbox.id}", ip_address=sandbox.ip_address,
                               sandbox_id=sandbox.id, mac_address="02:42:0a:00:00:02")

    def name_sandbox(self, sandbox: TaskSandbox, aliases: list[str]) -> None:
        """As Docker: the sandbox leaves the network and joins again, with a new address; on
        the default bridge, which has no aliases, nothing is done."""
        if self.default_bridge:
            return
        with self._changed:
            self.calls.append(("name_sandbox", sandbox.sandbox_id, tuple(aliases)))
            container = self.containers.get(sandbox.sandbox_id or "")
            if container is None:
                raise RuntimeError_(f"No such container: {sandbox.sandbox_id}")
            container.aliases = tuple(aliases)
            container.ip_address = self._next_ip("10.0")

    def guard_holder(self, container_id: str) -> None:
        """Recorded; a holder whose address is in `unguarded` is refused, as a guard would."""
        with self._changed:
            self.calls.append(("guard_holder", container_id))
            container = self.containers.get(container_id)
            if self.default_bridge and container is not None \
                    and container.ip_address in self.unguarded:
                raise ContainerStartError("its address on the default bridge could not be "
                                          "guarded: refused")

    def remove_sandbox(self, sandbox: TaskSandbox) -> None:
        with self._changed:
            self.calls.append(("remove_sandbox", sandbox.sandbox_id))
            if sandbox.sandbox_id:
                self.containers.pop(sandbox.sandbox_id, None)

    # -- Runtime: containers --------------------------------------------------------------------

    def create_container(self, spec: ContainerSpec) -> str:
        with self._changed:
            self.calls.append(("create_container", spec))
            labels = {**spec.labels, INSTANCE: self.instance_id}
            probe = FakeContainer(id="", name=spec.name, image=spec.image, labels=labels,
                                  network=spec.network, spec=spec)
            message = self._failure("create", probe)
            if message:
                raise ContainerCreateError(message)
            if spec.image not in self.images:
                raise ContainerCreateError(f"No such image: {spec.image}")
            if any(c.name == spec.name for c in self.containers.values()):
                raise ContainerCreateError(
                    f'Conflict. The container name "/{spec.name}" is already in use')
            probe.id = uuid.uuid4().hex + uuid.uuid4().hex
            if spec.network not in ("host", "none") and not spec.network.startswith("container:"):
                probe.ip_address = self._next_ip("10.1")
                probe.published = self._publish(spec.ports, None)
            self.containers[probe.id] = probe
            return probe.id

    def start_container(self, container_id: str) -> None:
        with self._changed:
            self.calls.append(("start_container", container_id))
            container = self.containers.get(container_id)
            if container is None:  # as Docker: a 404 on start is a start error
                raise ContainerGoneError(f"No such container: {container_id}")
            message = self._failure("start", container)
            if message:
                raise ContainerStartError(message)
            if container.status == "running":
                return
            container.status, container.exit_code = "running", None
            container.started_at, container.finished_at = _now_iso(), None
            if container.spec and container.spec.healthcheck:
                container.health = "starting"
            self._emit(container, "start")
            actions = [action for key, action in self._on_start if self._matches(container, key)]
        for action in actions:
            action(container_id)

    def stop_container(self, container_id: str, timeout_s: int) -> None:
        with self._changed:
            self.calls.append(("stop_container", container_id, timeout_s))
            container = self.containers.get(container_id)
            if container is None or container.status != "running":
                return
            self._emit(container, "kill", signal="15")  # as dockerd: a kill event per signal
            if container.ignores_sigterm:
                self._emit(container, "kill", signal="9")
                self.exit(container_id, SIGKILL_EXIT)
            else:
                self.exit(container_id, container.stop_exit_code)

    def kill_container(self, container_id: str, signal: str = "SIGKILL") -> None:
        with self._changed:
            self.calls.append(("kill_container", container_id, signal))
            container = self.containers.get(container_id)
            if container is None or container.status != "running":
                return
            number = signal_number(signal)
            self._emit(container, "kill", signal=number)
            if number in ENDING_SIGNALS:  # others (HUP, USR1): the process handles them, lives on
                self.exit(container_id, 128 + int(number))

    def remove_container(self, container_id: str) -> None:
        with self._changed:
            self.calls.append(("remove_container", container_id))
            container = self.containers.get(container_id)
            if container is None:
                return
            if container.status == "running":
                self.kill_container(container_id)
            del self.containers[container_id]
            self._emit(container, "destroy")

    def listed_containers(self) -> list[dict]:
        with self._changed:
            self.calls.append(("listed_containers",))
            return self._container_entries()

    def owned(self) -> tuple[list[dict], list[dict]]:
        """This instance's containers and volumes as Docker's lists show them (the fields
        adoption reads: persistence/adoption.py)."""
        with self._changed:
            containers = self._container_entries()
            volumes = [{"Name": name, "Labels": dict(v["labels"])}
                       for name, v in self.volumes.items()
                       if v["labels"].get(INSTANCE) == self.instance_id]
        return containers, volumes

    def _container_entries(self) -> list[dict]:
        return [{"Id": c.id, "Labels": dict(c.labels), "State": c.status,
                 "HostConfig": {"NetworkMode": c.network}}
                for c in self.containers.values() if c.labels.get(INSTANCE) == self.instance_id]

    def listed_state(self, entry: dict, listed: dict[str, dict]) -> ContainerState | None:
        return None  # the fake keeps no list apart from its containers: inspect them

    def inspect_container(self, container_id: str) -> ContainerState | None:
        with self._changed:
            container = self.containers.get(container_id)
            if container is None:
                return None
            network_source = container
            if container.network.startswith("container:"):
                network_source = self.containers.get(container.network.split(":", 1)[1], container)
            return ContainerState(
                id=container.id, status=container.status, running=container.status == "running",
                exit_code=container.exit_code, oom_killed=container.oom_killed,
                health=container.health, error="", ip_address=network_source.ip_address,
                published=network_source.published, started_at=container.started_at,
                finished_at=container.finished_at, image_id=f"sha256:{container.image}")

    # -- Runtime: volumes, streams, numbers, cleanup -------------------------------------------

    def ensure_volume(self, name: str, labels: dict[str, str], driver: str | None = None,
                      driver_opts: dict[str, str] | None = None) -> str:
        with self._changed:
            self.calls.append(("ensure_volume", name))
            self.volumes.setdefault(name, {"labels": {**labels, INSTANCE: self.instance_id},
                                           "driver": driver or "local",
                                           "driver_opts": dict(driver_opts or {})})
            return name

    def volume_labels(self, name: str) -> dict[str, str] | None:
        with self._changed:
            volume = self.volumes.get(name)
            return None if volume is None else dict(volume["labels"])

    def gateways(self) -> tuple[str, ...]:
        return (self.gateway,)  # its one network's

    def remove_volume(self, name: str) -> None:
        with self._changed:
            self.calls.append(("remove_volume", name))
            in_use = [c for c in self.containers.values() if c.spec
                      and any(m.source == name for m in c.spec.mounts)]
            if in_use:
                raise RuntimeError_(f"remove {name}: volume is in use - [{in_use[0].id}]")
            self.volumes.pop(name, None)

    def events(self, until_stopped, since: float | None = None) -> Iterator[RuntimeEvent]:
        with self._changed:
            inbox = [e for e in self.history if since is not None and e.time >= since]
            self._subscribers.append(inbox)
        try:
            while not until_stopped.is_set():
                with self._changed:
                    if not inbox:
                        self._changed.wait(timeout=0.05)
                    batch, inbox[:] = list(inbox), []
                for event in batch:
                    if until_stopped.is_set():
                        return
                    yield event
        finally:
            with self._changed:
                self._subscribers = [s for s in self._subscribers if s is not inbox]

    def logs(self, container_id: str, since: float | None = None,
             follow: bool = False) -> Iterator[tuple[float, str, str]]:
        position = 0
        while True:
            with self._changed:
                container = self.containers.get(container_id)
                if container is None:
                    return
                lines = container.log[position:]
                position = len(container.log)
                finished = container.status != "running"
                if not lines and follow and not finished:
                    self._changed.wait(timeout=0.05)
            for line in lines:
                if since is None or line[0] >= since:
                    yield line
            if not follow or (finished and not lines):
                return

    def stats(self, container_id: str) -> dict:
        with self._changed:
            container = self.containers.get(container_id)
            if container is None:
                return {}
            if container_id in self.stats_samples:
                return self.stats_samples[container_id]
            limit = (container.spec.memory_bytes if container.spec else None) or self.host[1] << 20
            return {
                "read": _now_iso(), "name": f"/{container.name}", "id": container.id,
                "cpu_stats": {"cpu_usage": {"total_usage": 2_000_000}, "system_cpu_usage": 10**10,
                              "online_cpus": self.host[0] // 1024},
                "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000},
                                 "system_cpu_usage": 10**10 - 10**9,
                                 "online_cpus": self.host[0] // 1024},
                "memory_stats": {"usage": 8 << 20, "limit": limit, "stats": {}},
                "networks": {"eth0": {"rx_bytes": 0, "tx_bytes": 0}},
            }

    def host_resources(self) -> tuple[int, int]:
        return self.host

    def daemon_info(self) -> dict:
        return dict(self.info)

    def why_not_local(self, published: bool = False) -> str | None:
        return self.not_local

    def remove_labelled(self, labels: dict[str, str]) -> int:
        wanted = {INSTANCE: self.instance_id, **labels}
        with self._changed:
            self.calls.append(("remove_labelled", dict(labels)))
            doomed = [c.id for c in self.containers.values()
                      if all(c.labels.get(k) == v for k, v in wanted.items())]
            for container_id in doomed:
                self.remove_container(container_id)
            volumes = [n for n, v in self.volumes.items()
                       if all(v["labels"].get(k) == v_ for k, v_ in wanted.items())]
            for name in volumes:
                del self.volumes[name]
            return len(doomed) + len(volumes)

    def remove_orphans(self) -> int:
        return 0

    def close(self, why: str = "the emulator is stopping") -> None:
        self.closed = True  # what a test of an engine's removal asks

    # -- helpers ----------------------------------------------------------------------------------

    def _get(self, container_id: str) -> FakeContainer:
        container = self.containers.get(container_id)
        if container is None:
            raise RuntimeError_(f"No such container: {container_id}")
        return container

    @staticmethod
    def _matches(container: FakeContainer, key: str) -> bool:
        return key in (container.image, container.name, container.labels.get(CONTAINER_NAME))

    def _failure(self, kind: str, container: FakeContainer) -> str | None:
        for key, message in self._failures[kind].items():
            if self._matches(container, key):
                return message
        return None

    def _next_ip(self, prefix: str) -> str:
        n = next(self._ips)
        return f"{prefix}.{n // 250}.{n % 250 + 2}"

    def _publish(self, ports: list[PortBinding], default_ip: str | None) -> tuple[PublishedPort, ...]:
        published = []
        for port in ports:
            ip = port.host_ip or default_ip
            if ip is not None:
                published.append(PublishedPort(port.container_port, port.protocol or "tcp", ip,
                                               port.host_port or next(self._ports)))
        return tuple(published)

    def _emit(self, container: FakeContainer, action: str, exit_code: int | None = None,
              health: str | None = None, signal: str | None = None) -> None:
        event = RuntimeEvent(container_id=container.id, action=action, labels=dict(container.labels),
                             exit_code=exit_code, health=health, time=time.time(), signal=signal)
        self.history.append(event)
        for inbox in self._subscribers:
            inbox.append(event)
        self._changed.notify_all()
