"""The Docker Engines tasks run on, each a container instance of the clusters that use it.

The default engine is the one DOCKER_HOST (or the default socket) names; with no other
configured, nothing changes from a one-engine emulator. ECS_EMULATOR_ENGINES adds more
(config.py), and so does the control endpoint while the emulator runs (engine_routes.py). Each engine has its own runtime (the same emulator instance id, so its labels and
clean-up are the same), its own health monitor (engine_health.py) and outage handling
(engine_outage.py), and its own event stream, watched by the task engine.

Which engine runs a task: an EC2 task's container instance's (placement.py chose it among the
engines' instances, by the task's strategies and constraints); any other task's (Fargate), the
engine that answers with the fewest live tasks of the task's group, then overall, as Fargate
spreads a service's tasks over availability zones. A task keeps its engine for its life, so all
containers of a task, and its awsvpc sandbox, are on one engine. Each engine keeps its own pool
of ready awsvpc sandboxes, and its tasks are served what the ECS agent serves a task (logs,
exec, metadata, stats, credentials) from the engine they run on.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import urllib.parse
from dataclasses import dataclass

from emulator.access.callers import is_local_address
from emulator.ecs.local_instance import DEFAULT_ENGINE, EngineHost
from emulator.engine.engine_health import EngineHealth
from emulator.engine.engine_outage import EngineOutage
from emulator.engine.sandbox_pool import SandboxPool

log = logging.getLogger("emulator.engine")

ZONES = "abcdefghijklmnopqrstuvwxyz"
EXTENSION = "ecs_emulator_engines"  # the Flask extension the control routes find Engines by


@dataclass
class Engine:
    name: str
    zone: str  # the letter after the region: us-east-1<zone>
    runtime: object
    health: EngineHealth
    outage: EngineOutage
    sandboxes: SandboxPool  # awsvpc sandboxes made ahead on this engine (sandbox_pool.py)


class Engines:
    def __init__(self, task_engine, settings, make_runtime):
        """`make_runtime(environment)`: a runtime for the engine that DOCKER_HOST (and its TLS
        variables) in `environment` names."""
        self.task_engine = task_engine
        self.settings = settings
        self._make_runtime = make_runtime
        self._lock = threading.Lock()
        self.local_host = None  # ecs/local_instance.LocalHost, told of engines added later
        self.engines: dict[str, Engine] = {}
        self._add(DEFAULT_ENGINE, settings.docker_environment(), task_engine.runtime)
        for name, host in settings.engines:
            self.add(name, host)

    def _add(self, name: str, environment: dict, runtime) -> Engine:
        health = EngineHealth(name, environment)
        outage = EngineOutage(self.task_engine, health, runtime,
                              on_engine=lambda instance: instance.auto_registered
                              and (instance.engine or DEFAULT_ENGINE) == name,
                              lost_after_s=self.settings.engine_lost_after_s)
        # The default engine's pool is the task engine's own; another's is made here.
        sandboxes = (self.task_engine.sandboxes if name == DEFAULT_ENGINE
                     else SandboxPool(lambda: runtime, self.settings.sandbox_pool))
        engine = Engine(name, ZONES[len(self.engines) % len(ZONES)], runtime, health, outage,
                        sandboxes)
        self.engines[name] = engine
        return engine

    def add(self, name: str, docker_host: str) -> Engine:
        """Another engine (at start, from the settings)."""
        environment = {"DOCKER_HOST": docker_host}
        return self._add(name, environment, self._make_runtime(environment))

    def add_running(self, name: str, docker_host: str) -> Engine:
        """Another engine while the emulator runs (the control endpoint, `ecs-emulator engines
        add`): watched at once, and a container instance of each cluster at its next EC2
        placement. Raises ValueError for a name taken or an address the SDK cannot take."""
        from emulator.config import check_engine

        name, docker_host = check_engine(name, docker_host)
        with self._lock:
            if name in self.engines:
                raise ValueError(f"an engine named {name!r} is there already")
            engine = self.add(name, docker_host)
        engine.health.start()
        self.task_engine.watch(engine.runtime, engine.health, name)
        if self.local_host is not None:
            self.local_host.engines = self.hosts()
        log.info("Docker Engine %s at %s added (zone %s)", name, docker_host, engine.zone)
        return engine

    def describe(self) -> list[dict]:
        """What GET /_emulator/engines and `ecs-emulator engines` show."""
        return [{"name": e.name, "dockerHost": e.health.address, "zone": e.zone,
                 "answering": e.health.answering()} for e in self.engines.values()]

    @property
    def default(self) -> Engine:
        return self.engines[DEFAULT_ENGINE]

    def extra(self) -> list[Engine]:
        return [e for e in self.engines.values() if e.name != DEFAULT_ENGINE]

    def hosts(self) -> list[EngineHost]:
        """Each engine as a container instance registers it (ecs/local_instance.py)."""
        return [EngineHost(e.name, e.zone, _resources(e), e.health.answering)
                for e in self.engines.values()]

    def answering(self) -> bool:
        return any(e.health.answering() for e in self.engines.values())

    def readable(self, name: str):
        """The runtime of engine `name` while it answers, if it is on this machine, else None:
        whose network the access checks read (access/callers.py), without waiting on an engine
        that is gone."""
        engine = self.engines.get(name)
        if engine is None or not on_this_machine(engine.health.address):
            return None
        return engine.runtime if engine.health.answering() else None

    def on_this_machine(self, task) -> bool:
        """Whether the task's engine runs here, so that its containers reach this host's
        addresses (169.254.170.2, the gateways we listen on) with their own."""
        return on_this_machine(self._engine_of(task).health.address)

    # -- which engine runs a task (under the state lock) ---------------------------------------

    def runtime_for(self, store, task):
        """The runtime of the engine that runs `task`, chosen now if it has none yet."""
        if task.engine is None:
            task.engine = self._choose(store, task)
            if task.container_instance_arn is None:
                task.availability_zone = f"{store.region}{self.engines[task.engine].zone}"
        return self.runtime_of(task)

    def runtime_of(self, task):
        return self._engine_of(task).runtime

    def runtime_named(self, name: str | None):
        """The runtime of engine `name` (None: the default engine)."""
        return self.engines.get(name or DEFAULT_ENGINE, self.default).runtime

    def sandboxes_of(self, task) -> SandboxPool:
        return self._engine_of(task).sandboxes

    def health_of(self, task) -> EngineHealth:
        return self._engine_of(task).health

    def _engine_of(self, task) -> Engine:
        return self.engines.get(task.engine or DEFAULT_ENGINE, self.default)

    def _choose(self, store, task) -> str:
        if task.container_instance_arn is not None:
            instance = store.container_instances.get(task.container_instance_arn)
            return (instance.engine if instance is not None else None) or DEFAULT_ENGINE
        candidates = [e for e in self.engines.values() if e.health.answering()] or \
            [self.default]
        if len(candidates) == 1:
            return candidates[0].name
        live = [t for t in store.tasks.values()
                if t.engine is not None and not t.stop_requested and t is not task]
        order = list(self.engines)

        def load(engine: Engine):
            return (sum(1 for t in live if t.engine == engine.name and t.group == task.group),
                    sum(1 for t in live if t.engine == engine.name), order.index(engine.name))

        return min(candidates, key=load).name

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        for engine in self.engines.values():
            engine.health.start()

    def stop(self) -> None:
        for engine in self.engines.values():
            engine.health.stop()

    def remove_everything(self) -> None:
        """The extra engines' containers, networks and volumes of this emulator (the task engine
        removes the default engine's)."""
        for engine in self.extra():
            try:
                engine.runtime.remove_labelled({})
            except Exception:  # gone: the next emulator's orphan clean-up removes them
                log.exception("could not remove this emulator's resources on engine %s",
                              engine.name)
            engine.runtime.close()


@functools.lru_cache(maxsize=64)
def on_this_machine(docker_host: str) -> bool:
    """A local socket, or tcp:// or ssh:// to an address of this host (asked once per address:
    a name may take a DNS look-up)."""
    scheme, _, rest = docker_host.partition("://")
    if scheme in ("unix", "npipe"):
        return True
    host = urllib.parse.urlsplit(f"//{rest}").hostname
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)} if host else set()
    except OSError:
        return False
    return bool(addresses) and all(is_local_address(a.split("%")[0]) for a in addresses)


def _resources(engine: Engine):
    cache: list = []

    def resources() -> tuple[int, int]:
        """(CPU units, memory MiB), asked once; ECS's defaults while the engine is gone."""
        if not cache:
            try:
                cache.append(engine.runtime.host_resources())
            except Exception:
                from emulator.ecs import container_instances

                log.warning("cannot ask the Docker Engine %s for its resources", engine.name)
                return container_instances.DEFAULT_CPU_UNITS, container_instances.DEFAULT_MEMORY_MIB
        return cache[0]

    return resources


def install(emulator, settings, make_runtime) -> Engines:
    """Watch the emulator's engines and make them its container instances."""
    engine = emulator.engine
    engines = Engines(engine, settings, make_runtime)
    engine.engines = engines
    engine.health = engines.default.health
    emulator.scheduler.engine_answers = engines.answering
    local_host = emulator.ecs.local_host
    if local_host is not None:
        engines.local_host = local_host
        local_host.connected = engines.default.health.answering
        if engines.extra():
            local_host.engines = engines.hosts()
    emulator.flask_extensions[EXTENSION] = engines
    emulator.starters.append(engines.start)
    emulator.closers.append(engines.stop)
    return engines
