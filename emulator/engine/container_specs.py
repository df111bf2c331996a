"""ECS container definitions -> runtime ContainerSpecs: every field a user expects to work.

Pure translation, no I/O: the runner passes in what it resolved (image, environment, volume
names, the sandbox) and gets specs to create.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.runtime.base import ContainerSpec, HealthCheck, Mount, PortBinding, TaskSandbox
from emulator.runtime.labels import PREFIX as LABEL_PREFIX

MIB = 1024 * 1024
DEFAULT_STOP_TIMEOUT_S = 30  # the ECS agent's default (ECS_CONTAINER_STOP_TIMEOUT)


@dataclass(frozen=True)
class TaskShape:
    """What the translation needs to know about the task as a whole."""

    task_id: str
    family: str
    revision: int
    network_mode: str
    task_cpu: int | None  # CPU units
    task_memory: int | None  # MiB
    publish_ip: str  # where bridge-mode host ports are bound (127.0.0.1 by default)
    volumes: dict[str, str | None]  # ECS volume name -> runtime source (volume name or host path)
    volume_kinds: dict[str, str]  # ECS volume name -> "bind" or "volume"
    pid_mode: str | None = None  # the task definition's pidMode: host or task
    ipc_mode: str | None = None  # the task definition's ipcMode: host, task or none
    container_count: int = 1  # the task's containers, which share its pids budget


def container_name(shape: TaskShape, name: str) -> str:
    return f"ecs-{shape.family}-{shape.revision}-{name}-{shape.task_id[:12]}"


def build(
    shape: TaskShape,
    definition: dict,
    *,
    image: str,
    environment: dict[str, str],
    labels: dict[str, str],
    sandbox: TaskSandbox,
    runtime_ids: dict[str, str],
) -> ContainerSpec:
    """`runtime_ids` maps the task's container names already created to their runtime ids
    (volumesFrom and links need them)."""
    linux = definition.get("linuxParameters", {})
    spec = ContainerSpec(
        name=container_name(shape, definition["name"]),
        image=image,
        labels={**_own_labels(definition), **labels},
        command=definition.get("command"),
        entrypoint=definition.get("entryPoint"),
        environment=environment,
        working_dir=definition.get("workingDirectory"),
        user=definition.get("user"),
        hostname=definition.get("hostname") if shape.network_mode == "bridge" else None,
        network=sandbox.network,
        network_aliases=[definition["name"]] if shape.network_mode == "bridge" else [],
        ports=_ports(shape, definition),
        mounts=_mounts(shape, definition, linux),
        volumes_from=[
            runtime_ids[v["sourceContainer"]] + (":ro" if v.get("readOnly") else "")
            for v in definition.get("volumesFrom", [])
            if v.get("sourceContainer") in runtime_ids
        ],
        links=[_link(shape, link) for link in definition.get("links", [])],
        extra_hosts={h["hostname"]: h["ipAddress"] for h in definition.get("extraHosts", [])},
        dns=definition.get("dnsServers", []),
        dns_search=definition.get("dnsSearchDomains", []),
        ulimits=[(u["name"], u["softLimit"], u["hardLimit"]) for u in definition.get("ulimits", [])],
        cap_add=linux.get("capabilities", {}).get("add", []),
        cap_drop=_capabilities_dropped(definition, linux),
        devices=[
            f"{d['hostPath']}:{d.get('containerPath', d['hostPath'])}:"
            + "".join(p[0] for p in d.get("permissions", ["read", "write", "mknod"]))
            for d in linux.get("devices", [])
        ],
        init=bool(linux.get("initProcessEnabled")),
        shm_size_bytes=linux["sharedMemorySize"] * MIB if "sharedMemorySize" in linux else None,
        read_only=bool(definition.get("readonlyRootFilesystem")),
        privileged=bool(definition.get("privileged")),
        sysctls={s["namespace"]: s["value"] for s in definition.get("systemControls", [])},
        tty=bool(definition.get("pseudoTerminal")),
        stdin_open=bool(definition.get("interactive")),
        healthcheck=_health_check(definition.get("healthCheck")),
        stop_timeout_s=definition.get("stopTimeout", DEFAULT_STOP_TIMEOUT_S),
        security_opt=definition.get("dockerSecurityOptions", []),
        pid_mode=_namespace_mode(shape.pid_mode, sandbox, runtime_ids),
        ipc_mode="host" if shape.ipc_mode == "host" else ("none" if shape.ipc_mode == "none" else None),
    )
    if definition.get("disableNetworking"):
        spec.network, spec.ports, spec.network_aliases = "none", [], []
    _apply_limits(spec, shape, definition)
    return spec


def _own_labels(definition: dict) -> dict[str, str]:
    """The definition's dockerLabels but the emulator's own (RegisterTaskDefinition refuses
    them; one registered before it did, or persisted so, must not say who owns the container)."""
    return {key: value for key, value in definition.get("dockerLabels", {}).items()
            if not key.startswith(LABEL_PREFIX)}


# Docker gives every container NET_RAW. With it a task on a shared bridge can forge ARP replies
# and take a neighbour's address: its calls to 169.254.170.2 and the gateway, and the emulator's
# gate, which tells a task by its address (access/callers.py). A task keeps it only when its
# definition adds it (or ALL, or runs privileged); the user's own drop list is kept as given
# (ECS: drop first, then add).
_KEEPS_NET_RAW = {"NET_RAW", "ALL"}


def _capabilities_dropped(definition: dict, linux: dict) -> list[str]:
    capabilities = linux.get("capabilities", {})
    dropped = list(capabilities.get("drop", []))
    named = {c.upper().removeprefix("CAP_") for c in [*capabilities.get("add", []), *dropped]}
    if definition.get("privileged") or named & _KEEPS_NET_RAW:
        return dropped
    return dropped + ["NET_RAW"]


def _namespace_mode(mode: str | None, sandbox: TaskSandbox, runtime_ids: dict[str, str]) -> str | None:
    """pidMode: "host" is the host's; "task" shares one namespace among the task's containers:
    the sandbox's (awsvpc) or the first container created."""
    if mode == "host":
        return "host"
    if mode == "task":
        holder = sandbox.sandbox_id or next(iter(runtime_ids.values()), None)
        return f"container:{holder}" if holder else None
    return None


def _ports(shape: TaskShape, definition: dict) -> list[PortBinding]:
    # awsvpc ports are published by the sandbox (the namespace's holder); host mode needs none.
    if shape.network_mode != "bridge":
        return []
    return [
        PortBinding(
            container_port=p["containerPort"],
            protocol=p.get("protocol", "tcp"),
            host_ip=shape.publish_ip,
            host_port=p.get("hostPort") or None,
        )
        for p in definition.get("portMappings", [])
        if "containerPort" in p
    ]


def sandbox_ports(shape: TaskShape, definitions: list[dict]) -> list[PortBinding]:
    """awsvpc: every containerPort of the task, published on the sandbox at the publish address."""
    if shape.network_mode != "awsvpc":
        return []
    return [
        PortBinding(p["containerPort"], p.get("protocol", "tcp"), shape.publish_ip, None)
        for definition in definitions
        for p in definition.get("portMappings", [])
        if "containerPort" in p
    ]


# What a container cannot keep in another's network namespace: Docker refuses a hostname, links,
# DNS settings and extra hosts with network_mode container:<id>; network sysctls and disabled
# networking belong to a namespace of its own.
_OWN_NAMESPACE = ("hostname", "links", "dnsServers", "dnsSearchDomains", "extraHosts",
                  "systemControls", "disableNetworking")


def pooled_bridge_ports(shape: TaskShape, definitions: list[dict]) -> list[PortBinding] | None:
    """A bridge task that may start in a sandbox made ahead of time (engine/sandbox_pool.py):
    the ports its one container publishes there; None when it may not. One container only: ECS's
    bridge mode gives each container a namespace of its own, so a task of several would claim
    several sandboxes. pidMode task would put the pause process in its PID namespace; a fixed
    host port belongs to one sandbox alone."""
    if shape.network_mode != "bridge" or len(definitions) != 1 or shape.pid_mode == "task":
        return None
    definition = definitions[0]
    if any(definition.get(key) for key in _OWN_NAMESPACE):
        return None
    ports = _ports(shape, definition)
    return None if any(p.host_port for p in ports) else ports


def _mounts(shape: TaskShape, definition: dict, linux: dict) -> list[Mount]:
    mounts = []
    for point in definition.get("mountPoints", []):
        name = point.get("sourceVolume")
        if name not in shape.volumes:
            continue
        mounts.append(
            Mount(
                type=shape.volume_kinds[name],
                source=shape.volumes[name],
                target=point["containerPath"],
                read_only=bool(point.get("readOnly")),
            )
        )
    for tmpfs in linux.get("tmpfs", []):
        mounts.append(
            Mount(
                type="tmpfs",
                target=tmpfs["containerPath"],
                tmpfs_size_bytes=tmpfs["size"] * MIB,
                tmpfs_options=tuple(tmpfs.get("mountOptions", [])),
            )
        )
    return mounts


def _link(shape: TaskShape, link: str) -> str:
    name, _, alias = link.partition(":")
    return f"{container_name(shape, name)}:{alias or name}"


def _health_check(check: dict | None) -> HealthCheck | None:
    if not check:
        return None
    return HealthCheck(
        test=list(check["command"]),
        interval_s=check.get("interval", 30),
        timeout_s=check.get("timeout", 5),
        retries=check.get("retries", 3),
        start_period_s=check.get("startPeriod", 0),
    )


# Tasks share this host's kernel (on Fargate each has a VM of its own), and Docker sets no limit
# on a container's processes: a fork bomb in a task (as root in it, which RLIMIT_NPROC does not
# bind) would take every pid and thread of this host, the emulator's and the engine's too. ECS
# has no field for it; this many at once (threads count) for a whole task is far above what a
# task's code needs. Docker limits a container, not a task, so the task's containers split it.
TASK_PIDS_LIMIT = 4096
# What each container keeps however many share the budget. ECS allows 10 containers a task, so
# with the budget above it never bites; it is there so that a smaller budget cannot leave a
# container too few to start its process tree.
CONTAINER_PIDS_FLOOR = 256


def container_pids_limit(shape: TaskShape) -> int:
    """One container's share of its task's pids budget: never under the floor, nor, because of
    the floor, over the whole budget."""
    share = TASK_PIDS_LIMIT // max(shape.container_count, 1)
    return max(share, min(CONTAINER_PIDS_FLOOR, TASK_PIDS_LIMIT))


def _apply_limits(spec: ContainerSpec, shape: TaskShape, definition: dict) -> None:
    spec.pids_limit = container_pids_limit(shape)
    cpu = definition.get("cpu")
    if cpu:
        spec.cpu_shares = max(int(cpu), 2)
    if "memory" in definition:
        spec.memory_bytes = int(definition["memory"]) * MIB
    elif shape.task_memory:
        # A task-level limit bounds every container that sets none of its own.
        spec.memory_bytes = shape.task_memory * MIB
    if "memoryReservation" in definition:
        spec.memory_reservation_bytes = int(definition["memoryReservation"]) * MIB
    if shape.task_cpu:
        spec.nano_cpus = int(shape.task_cpu * 1_000_000_000 / 1024)
    linux = definition.get("linuxParameters", {})
    if "maxSwap" in linux and spec.memory_bytes:
        # ECS's maxSwap is swap on top of memory; Docker's MemorySwap is memory plus swap.
        spec.memory_swap_bytes = spec.memory_bytes + linux["maxSwap"] * MIB
    if "swappiness" in linux:
        spec.memory_swappiness = linux["swappiness"]
