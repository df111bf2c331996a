"""The Docker Engines as container instances, registered in each cluster that needs them.

ECS runs EC2-launch-type tasks on container instances; here tasks run on the Docker Engines the
emulator drives (one by default; engine/engines.py). So when an EC2 task (or a service's) comes
to a cluster that has no ACTIVE or DRAINING instance of an engine (and none the user registered),
each engine registers itself there as an agent would: its CPU
and memory as the runtime reports them, the attributes the ECS agent advertises, and an EC2
instance id that stays the same across clusters and restarts. With the setting
ECS_EMULATOR_AUTO_CONTAINER_INSTANCE off, nothing registers by itself and users register
(fake) instances with RegisterContainerInstance instead.

The host's resources are learnt from the runtime once, on first use, and kept: placement runs
under the state lock and must not ask Docker on every call.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import platform
import socket
import threading
from dataclasses import dataclass
from typing import Callable

from emulator.ecs import container_instances
from emulator.ecs.model import Cluster, ContainerInstance
from emulator.ecs.store import EcsStore

log = logging.getLogger("emulator.ecs")

DEFAULT_ENGINE = "default"  # the Docker Engine DOCKER_HOST names

AGENT_VERSION = "1.89.0"  # an agent recent enough for every capability listed below
LEGACY = "com.amazonaws.ecs.capability."
CAPABILITY = "ecs.capability."
DOCKER_API_VERSIONS = [f"1.{minor}" for minor in range(17, 45)]
LOGGING_DRIVERS = ["json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk",
                   "awsfirelens", "none"]
# Capabilities an agent on a current ECS-optimized AMI advertises (names as in
# task_definition_attributes, which computes what a task definition requires of an instance).
CAPABILITIES = [
    "task-eni", "container-health-check", "container-ordering", "execution-role-awslogs",
    "execution-role-ecr-pull", "private-registry-authentication.secretsmanager",
    "secrets.asm.environment-variables", "secrets.ssm.environment-variables",
    "secrets.asm.bootstrap.log-driver", "secrets.ssm.bootstrap.log-driver", "env-files.s3",
    "pid-ipc-namespace-sharing", "efs", "efsAuth", "docker-plugin.local",
    "firelens.fluentd", "firelens.fluentbit", "firelens.options.config.file",
    "firelens.options.config.s3", "network.container-port-range", "container-restart-policy",
    "task-cpu-mem-limit", "increased-task-cpu-limit", "full-sync",
]
LEGACY_CAPABILITIES = ["privileged-container", "ecr-auth", "task-iam-role",
                       "task-iam-role-network-host"]
_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


class LocalHost:
    """Registers the local Docker host in clusters; knows the host's resources (cached)."""

    def __init__(self, host_resources: Callable[[], tuple[int, int]], enabled: bool = True):
        self.enabled = enabled
        self._host_resources = host_resources
        # Whether the engine answers (set by engine/engines.py): a new instance shows it as
        # agentConnected, as one registered while the engine is down would be disconnected.
        self.connected: Callable[[], bool] = lambda: True
        # Every engine, when the emulator has several (engine/engines.py); None: the one.
        self.engines: list[EngineHost] | None = None
        self._resources: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def resources(self) -> tuple[int, int]:
        """(CPU units, memory MiB) of the host: asked of the runtime once, then remembered.
        Without a reachable engine, ECS's defaults for an instance (not remembered)."""
        with self._lock:
            if self._resources is None:
                try:
                    cpu, memory = self._host_resources()
                except Exception as error:  # no Docker Engine yet: tasks will fail to start
                    # anyway; one line says so (a trace would bury the start-up line)
                    log.warning("cannot ask the container runtime for the host's resources "
                                "(%s): ECS's defaults for now", error)
                    return container_instances.DEFAULT_CPU_UNITS, container_instances.DEFAULT_MEMORY_MIB
                self._resources = (cpu, memory)
            return self._resources

    def ensure(self, store: EcsStore, cluster: Cluster) -> ContainerInstance | None:
        """Register each Docker Engine in `cluster` if it is on and the cluster has no instance
        the user registered, and none of that engine's that takes or keeps tasks; the first
        new instance, or None."""
        if not self.enabled:
            return None
        kept = [i for i in store.container_instances_of(cluster.name)
                if i.status in ("ACTIVE", "DRAINING")]
        if any(not i.auto_registered for i in kept):
            return None
        present = {i.engine or DEFAULT_ENGINE for i in kept}
        first = None
        for host in self.engines or [EngineHost(DEFAULT_ENGINE, "a", self.resources,
                                                lambda: self.connected())]:
            if host.name not in present:
                instance = self._register(store, cluster, host)
                first = first or instance
        return first

    def _register(self, store: EcsStore, cluster: Cluster, host: "EngineHost") -> ContainerInstance:
        cpu, memory = host.resources()
        instance = container_instances.register(
            store,
            cluster,
            ec2_instance_id=ec2_instance_id(host.name),
            resources=[
                {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
            ],
            version_info={"agentVersion": AGENT_VERSION, "agentHash": "ecs-emulator"},
            attributes=agent_attributes(store.region, cpu, host.zone, host.attributes),
        )
        instance.auto_registered = True
        instance.engine = host.name
        instance.agent_connected = host.connected()
        return instance


@dataclass(frozen=True)
class EngineHost:
    """One Docker Engine as a container instance: its name, its availability zone's letter,
    its (CPU units, memory MiB), whether it answers, and custom attributes."""

    name: str
    zone: str
    resources: Callable[[], tuple[int, int]]
    connected: Callable[[], bool]
    attributes: tuple[tuple[str, str], ...] = ()


def ec2_instance_id(engine: str = DEFAULT_ENGINE) -> str:
    """An EC2-shaped id (i- and 17 hex digits) derived from the host's name (and the engine's,
    but for the default engine's, which keeps the id it always had): stable."""
    seed = f"ecs-emulator:{socket.gethostname()}"
    if engine != DEFAULT_ENGINE:
        seed += f":{engine}"
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return "i-0" + digest[:16]


@functools.cache
def cpu_architecture() -> str:
    """This host's CPU architecture as ECS names it (containers run on it)."""
    return _ARCHITECTURES.get(platform.machine().lower(), "x86_64")


def agent_attributes(region: str, cpu_units: int, zone: str = "a",
                     custom: tuple[tuple[str, str], ...] = ()) -> list[dict]:
    """The attributes an ECS agent on this host would report, and the engine's own."""
    values = {
        "ecs.os-type": "linux",
        "ecs.os-family": "LINUX",
        "ecs.cpu-architecture": cpu_architecture(),
        "ecs.availability-zone": f"{region}{zone}",  # where the emulator says tasks run
        "ecs.instance-type": instance_type(cpu_units),
        **dict(custom),
    }
    names = [LEGACY + f"docker-remote-api.{v}" for v in DOCKER_API_VERSIONS]
    names += [LEGACY + f"logging-driver.{d}" for d in LOGGING_DRIVERS]
    names += [LEGACY + c for c in LEGACY_CAPABILITIES]
    names += [CAPABILITY + c for c in CAPABILITIES]
    return ([{"name": n, "value": v} for n, v in values.items()]
            + [{"name": n} for n in names])


def instance_type(cpu_units: int) -> str:
    """An m5 size with the host's number of vCPUs (the nearest at or above it), so expressions
    such as `attribute:ecs.instance-type =~ m5.*` have something real-looking to match."""
    vcpus = max(1, cpu_units // 1024)
    for size, count in (("large", 2), ("xlarge", 4), ("2xlarge", 8), ("4xlarge", 16),
                        ("8xlarge", 32), ("12xlarge", 48), ("16xlarge", 64)):
        if vcpus <= count:
            return f"m5.{size}"
    return "m5.24xlarge"
