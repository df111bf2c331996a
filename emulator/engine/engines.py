"""The Docker Engines tasks run on, each a container instance of the clusters that use it.

The default engine is the one DOCKER_HOST (or the default socket) names; with no other
configured, nothing changes from a one-engine emulator. ECS_EMULATOR_ENGINES adds more
(config.py), and so does the control endpoint while the emulator runs (engine_routes.py), which
also removes one (engine_removal.py). Each engine has its own runtime (the same emulator instance
id, so its labels and clean-up are the same), its own health monitor (engine_health.py) and
outage handling (engine_outage.py), and its own event stream, watched by the task engine.

Which engine runs a task: an EC2 task's container instance's (placement.py chose it among the
engines' instances, by the task's strategies and constraints); any other task's (Fargate), the
engine that answers with the fewest live tasks of the task's group, then overall, as Fargate
spreads a service's tasks over availability zones (counted as tasks come and go: engine_load.py).
A task keeps its engine for its life, so all containers of a task, and its awsvpc sandbox, are on
one engine. Each engine keeps its own pool of ready awsvpc sandboxes, and its tasks are served
what the ECS agent serves a task (logs, exec, metadata, stats, credentials) from the engine they
run on.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field

from emulator.access.host_addresses import is_local_address
from emulator.config import EngineAddress, check_engine
from emulator.ecs.local_instance import DEFAULT_ENGINE, EngineHost
from emulator.engine import engine_identity
from emulator.engine.engine_health import EngineHealth, why_not_answering
from emulator.engine.ecr_images import EcrImages
from emulator.engine.engine_load import EngineLoad
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
    address: EngineAddress | None = None  # None: the default engine (DOCKER_HOST's)
    # Set when the engine is removed: its event stream's watch ends (TaskEngine.watch).
    unwatched: threading.Event = field(default_factory=threading.Event)
    # awsvpc sandboxes made ahead on this engine (sandbox_pool.py); the default engine's is the
    # task engine's own.
    sandboxes: SandboxPool | None = None


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
        # What a stopped task of a removed engine names, so its calls fail there rather than go
        # to the default engine: kept while a task names it (forget_removed).
        self.removed: dict[str, Engine] = {}
        # names being removed (engine_removal.py): not to be added again until the old engine's
        # resources are swept, or the sweep would take the new engine's
        self.removing: set[str] = set()
        self.load = EngineLoad()
        self.control_token = None  # access/control_token.ControlToken, told of each engine
        self.identities = engine_identity.Identities(self._seen)
        # Called with each engine added at run time, before its events are watched (a restarted
        # emulator's tasks that ran on it are adopted: persistence/late_engines.py).
        self.on_added: list = []
        task_engine.task_listeners.append(self.load.on_task_changed)
        self._add(DEFAULT_ENGINE, settings.docker_environment(), task_engine.runtime)
        for address in settings.engines:
            self.add(EngineAddress(*address))

    def _add(self, name: str, environment: dict, runtime,
             address: EngineAddress | None = None) -> Engine:
        health = EngineHealth(name, environment)
        outage = EngineOutage(self.task_engine, health, runtime,
                              on_engine=lambda instance: instance.auto_registered
                              and (instance.engine or DEFAULT_ENGINE) == name,
                              lost_after_s=self.settings.engine_lost_after_s)
        sandboxes = (self.task_engine.sandboxes if name == DEFAULT_ENGINE
                     else SandboxPool(lambda: runtime, self.settings.sandbox_pool,
                                      self.settings.sandbox_pool_burst))
        outage.sandboxes = sandboxes  # its sweep removes the claimed ones nobody owns
        engine = Engine(name, self._free_zone(), runtime, health, outage, address=address,
                        sandboxes=sandboxes)
        outage.shares_daemon = lambda: self.shares_daemon(engine)
        self.engines[name] = engine
        return engine

    def _free_zone(self) -> str:
        """The first zone letter no engine has (a removed engine's is free again)."""
        taken = {e.zone for e in list(self.engines.values())}
        return next((z for z in ZONES if z not in taken), ZONES[len(self.engines) % len(ZONES)])

    def add(self, address: EngineAddress, runtime=None) -> Engine:
        """Another engine (at start, from the settings)."""
        environment = address.environment()
        return self._add(address.name, environment,
                         runtime or self._make_runtime(environment), address)

    def add_running(self, address: EngineAddress) -> Engine:
        """Another engine while the emulator runs (the control endpoint, `ecs-emulator engines
        add`): watched at once, and a container instance of each cluster at its next EC2
        placement. Raises ValueError for a name taken, an address the SDK cannot take, or an
        engine that does not answer (its TLS refused, say): said now rather than seen later as
        tasks that wait for it."""
        address = check_engine(*address)
        with self._lock:
            if address.name in self.engines:
                raise ValueError(f"an engine named {address.name!r} is there already")
        problem = why_not_answering(address.environment())
        if problem is not None:
            raise ValueError(f"the Docker Engine {address.name!r} at {address.host} does not "
                             f"answer: {problem}")
        runtime = self._make_runtime(address.environment())
        info = engine_identity.ask_info(runtime)
        if info is None:
            runtime.close()
            raise ValueError(f"the Docker Engine {address.name!r} at {address.host} does not "
                             "answer `docker info`")
        try:
            with self._lock:
                if address.name in self.engines:
                    raise ValueError(f"an engine named {address.name!r} is there already")
                if address.name in self.removing:
                    raise ValueError(f"the engine named {address.name!r} is still being "
                                     "removed; add it again in a moment")
                self.identities.learn_engines(list(self.engines.values()))
                other = self.identities.learn(address.name, info, address.host)
                if other is not None:
                    self.identities.forget(address.name)
                    raise engine_identity.DuplicateEngine(engine_identity.duplicate_message(
                        address.name, other, address.host, info))
                engine = self.add(address, runtime)
                self.removed.pop(address.name, None)
        except ValueError:
            runtime.close()
            raise
        for added in list(self.on_added):
            try:
                added(engine)
            except Exception:  # the engine is added all the same; its tasks are held on
                log.exception("what was held for the Docker Engine %s failed", address.name)
        engine.health.start()
        self.task_engine.watch(engine.runtime, engine.health, address.name, engine.unwatched)
        self.tell_local_host()
        log.info("Docker Engine %s at %s added (zone %s)", address.name, address.host,
                 engine.zone)
        return engine

    def remove_running(self, name: str, force: bool = False) -> dict:
        """Take an engine away while the emulator runs (engine_removal.py says how)."""
        from emulator.engine import engine_removal

        return engine_removal.remove(self, name, force)

    def forget_removed(self, state) -> None:
        """Drop the removed engines no task names any more (their tasks forgotten after the
        retention time), so that `removed` holds no more than the engines whose tasks are still
        known, however many come and go (under the state lock)."""
        if not self.removed:
            return  # the common case: asked at every purge, no engine was ever removed
        named = {task.engine for store in state.stores() for task in store.tasks.values()}
        # add_running may take a re-added name out meanwhile (under its own lock, not this one):
        # a snapshot of the names, and pop rather than del.
        for name in [name for name in list(self.removed) if name not in named]:
            self.removed.pop(name, None)

    def tell_local_host(self) -> None:
        """The engines as the local host registers them: read and told under the state lock,
        which placements hold, so that an engine added while another is removed cannot tell a
        list read before the removal after it (the removed engine registered again)."""
        if self.local_host is not None:
            with self.task_engine.state.lock:
                self.local_host.engines = self.hosts()

    def describe(self) -> list[dict]:
        """What GET /_emulator/engines and `ecs-emulator engines` show."""
        return [describe(e) for e in list(self.engines.values())]

    def registry_of(self, name: str | None) -> str | None:
        """host[:port] the engine pulls our ECR images from, if set (its own, else the
        emulator's ECS_EMULATOR_REGISTRY_ADDRESS)."""
        engine = self.engines.get(name or DEFAULT_ENGINE) or self.removed.get(name or "")
        own = engine.address.registry if engine is not None and engine.address else None
        return own or self.settings.registry_address

    @property
    def default(self) -> Engine:
        return self.engines[DEFAULT_ENGINE]

    def registry_addresses(self) -> list[str]:
        """The engines' own registry addresses."""
        return [e.address.registry for e in list(self.engines.values())
                if e.address is not None and e.address.registry]

    def extra(self) -> list[Engine]:
        return [e for e in list(self.engines.values()) if e.name != DEFAULT_ENGINE]

    def hosts(self) -> list[EngineHost]:
        """Each engine as a container instance registers it (ecs/local_instance.py)."""
        return [EngineHost(e.name, e.zone, _resources(e), e.health.answering)
                for e in list(self.engines.values())]

    def answering(self) -> bool:
        return any(e.health.answering() for e in list(self.engines.values()))

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
        self.load.count(task)
        return self.runtime_of(task)

    def runtime_of(self, task):
        return self._engine_of(task).runtime

    def runtime_named(self, name: str | None):
        """The runtime of engine `name` (None: the default engine), as `_engine_of` finds it."""
        name = name or DEFAULT_ENGINE
        return (self.engines.get(name) or self.removed.get(name) or self.default).runtime

    def sandboxes_of(self, task) -> SandboxPool:
        return self._engine_of(task).sandboxes

    def health_of(self, task) -> EngineHealth:
        name = task.engine or DEFAULT_ENGINE
        if name not in self.engines and name not in self.removed:
            return _NOT_CONFIGURED  # a restarted emulator's task of an engine not configured
        return self._engine_of(task).health

    def _engine_of(self, task) -> Engine:
        name = task.engine or DEFAULT_ENGINE
        # A removed engine's task keeps its engine (its closed client fails its calls) rather
        # than having them sent to the default engine.
        return self.engines.get(name) or self.removed.get(name) or self.default

    def _choose(self, store, task) -> str:
        if task.container_instance_arn is not None:
            instance = store.container_instances.get(task.container_instance_arn)
            return (instance.engine if instance is not None else None) or DEFAULT_ENGINE
        candidates = [e for e in list(self.engines.values()) if e.health.answering()] or \
            [self.default]
        if len(candidates) == 1:
            return candidates[0].name
        order = {name: index for index, name in enumerate(list(self.engines))}
        return min(candidates, key=lambda e: (*self.load.load(e.name, task.group),
                                              order[e.name])).name

    # -- which daemon each is (engine_identity.py) ------------------------------------------------

    def _seen(self, docker_host: str, info: dict) -> None:
        if self.control_token is not None:
            self.control_token.engine_seen(on_this_machine(docker_host), info)

    def shares_daemon(self, engine: Engine) -> str | None:
        """Another engine on `engine`'s daemon, if any (its removal must not sweep there)."""
        self.identities.learn_late(engine)
        return self.identities.shares_daemon(engine.name)

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Watch each engine; with engines beside the default one, first ask which daemon each
        is (engine_identity.py): two names for one daemon stop the start."""
        if self.extra():
            with self._lock:
                self.identities.learn_engines(list(self.engines.values()))
        for engine in self.engines.values():
            engine.health.on_up.append(lambda outage, e=engine: self.identities.learn_late(e))
            engine.health.start(after=self.task_engine.docker_start)

    def stop(self) -> None:
        for engine in self.engines.values():
            engine.health.stop()
            engine.outage.close()
            engine.runtime.close()  # its connections and image event stream (used no more)

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


class _NotConfigured:
    """The health of an engine this run does not know (persistence/late_engines.py): its
    tasks' runners ask nothing of the default engine in its stead."""

    @staticmethod
    def answering() -> bool:
        return False

    @staticmethod
    def wait_until_answering(timeout: float, cancelled=None) -> bool:
        return False


_NOT_CONFIGURED = _NotConfigured()


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


def describe(engine: Engine) -> dict:
    address = engine.address
    found = {"name": engine.name, "dockerHost": engine.health.address, "zone": engine.zone,
             "answering": engine.health.answering()}
    if address is not None and (address.tls_verify or address.cert_path):
        found.update(tlsVerify=address.tls_verify, certPath=address.cert_path)
    if address is not None and address.registry:
        found["registryAddress"] = address.registry
    return found


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
    for hook in engine.hooks:
        if isinstance(hook, EcrImages):
            hook.engines = engines  # each engine pulls our images at its registry address
    engines.control_token = getattr(emulator, "control_token", None)
    emulator.flask_extensions[EXTENSION] = engines
    emulator.starters.append(engines.start)
    emulator.closers.append(engines.stop)
    return engines
