"""ContainerSpec -> the arguments of Docker's container create, as plain data (no Docker call).

Networking follows Docker's rules: a container that joins another's namespace ("container:<id>")
may not publish or expose ports (its sandbox publishes them), and aliases and links go in the
endpoint settings of a user-defined network, or HostConfig.Links on the default bridge.
"""

from __future__ import annotations

from .base import ContainerSpec, Mount, PortBinding
from .labels import docker_name

BUILTIN_NETWORKS = ("bridge", "default", "host", "none")
# Docker's json-file driver: the engine reads these to ship logs; rotation bounds the disk used.
LOG_CONFIG = {"Type": "json-file", "Config": {"max-size": "20m", "max-file": "3"}}
_NS_PER_S = 1_000_000_000


def is_user_defined(network: str) -> bool:
    return network not in BUILTIN_NETWORKS and not network.startswith("container:")


def port_key(port: PortBinding) -> str:
    return f"{port.container_port}/{port.protocol or 'tcp'}"


def port_bindings(ports: list[PortBinding]) -> dict[str, list[dict[str, str]]]:
    """HostConfig.PortBindings: one entry per published binding; host port "" means ephemeral."""
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in ports:
        if port.host_ip is None:
            continue
        bindings.setdefault(port_key(port), []).append(
            {"HostIp": port.host_ip, "HostPort": str(port.host_port) if port.host_port else ""})
    return bindings


def _binds_volumes_tmpfs(mounts: list[Mount]) -> tuple[list[str], dict, dict[str, str]]:
    """Bind and named-volume mounts as Binds (Docker creates a missing host path, as on ECS);
    an unnamed volume as an anonymous one; tmpfs with its mount options."""
    binds, volumes, tmpfs = [], {}, {}
    for mount in mounts:
        if mount.type == "tmpfs":
            options = list(mount.tmpfs_options)
            if mount.tmpfs_size_bytes:
                options.append(f"size={mount.tmpfs_size_bytes}")
            if mount.read_only:
                options.append("ro")
            tmpfs[mount.target] = ",".join(options)
        elif mount.source:
            binds.append(f"{mount.source}:{mount.target}" + (":ro" if mount.read_only else ""))
        elif mount.type == "volume":
            volumes[mount.target] = {}
        else:
            raise ValueError(f"a {mount.type} mount at {mount.target} needs a source")
    return binds, volumes, tmpfs


def _healthcheck(spec: ContainerSpec) -> dict | None:
    check = spec.healthcheck
    if check is None:
        return None
    return {
        "Test": list(check.test),
        "Interval": int(check.interval_s * _NS_PER_S),
        "Timeout": int(check.timeout_s * _NS_PER_S),
        "Retries": int(check.retries),
        "StartPeriod": int(check.start_period_s * _NS_PER_S),
    }


def host_config(spec: ContainerSpec) -> dict:
    """HostConfig, in the Engine API's own names; unset fields are left to Docker's defaults."""
    joins_namespace = spec.network.startswith("container:") or spec.network == "host"
    binds, _, tmpfs = _binds_volumes_tmpfs(spec.mounts)
    config: dict = {
        "NetworkMode": spec.network,
        "LogConfig": LOG_CONFIG,
        "RestartPolicy": {"Name": "no"},
        "Binds": binds or None,
        "Tmpfs": tmpfs or None,
        "PortBindings": None if joins_namespace else (port_bindings(spec.ports) or None),
        "VolumesFrom": list(spec.volumes_from) or None,
        "ExtraHosts": [f"{host}:{ip}" for host, ip in spec.extra_hosts.items()] or None,
        "Dns": list(spec.dns) or None,
        "DnsSearch": list(spec.dns_search) or None,
        "CpuShares": spec.cpu_shares,
        "NanoCpus": spec.nano_cpus,
        "Memory": spec.memory_bytes,
        "MemoryReservation": spec.memory_reservation_bytes,
        "MemorySwap": spec.memory_swap_bytes,
        "MemorySwappiness": spec.memory_swappiness,
        "PidsLimit": spec.pids_limit,
        "Ulimits": [{"Name": n, "Soft": soft, "Hard": hard} for n, soft, hard in spec.ulimits] or None,
        "CapAdd": list(spec.cap_add) or None,
        "CapDrop": list(spec.cap_drop) or None,
        "Devices": [_device(d) for d in spec.devices] or None,
        "Init": True if spec.init else None,
        "ShmSize": spec.shm_size_bytes,
        "ReadonlyRootfs": spec.read_only or None,
        "Privileged": spec.privileged or None,
        "Sysctls": dict(spec.sysctls) or None,
        "SecurityOpt": list(spec.security_opt) or None,
        "PidMode": spec.pid_mode,
        "IpcMode": spec.ipc_mode,
    }
    if spec.links and not is_user_defined(spec.network):
        config["Links"] = list(spec.links)
    return {key: value for key, value in config.items() if value is not None}


def _device(device: str) -> dict[str, str]:
    """"host[:container[:perms]]" as Docker's device mapping."""
    parts = device.split(":")
    host = parts[0]
    container = parts[1] if len(parts) > 1 and parts[1] else host
    perms = parts[2] if len(parts) > 2 and parts[2] else "rwm"
    return {"PathOnHost": host, "PathInContainer": container, "CgroupPermissions": perms}


def networking_config(spec: ContainerSpec) -> dict | None:
    """EndpointsConfig for a user-defined network: aliases and links live there."""
    if not is_user_defined(spec.network):
        return None
    endpoint: dict = {}
    if spec.network_aliases:
        endpoint["Aliases"] = list(spec.network_aliases)
    if spec.links:
        endpoint["Links"] = [link if ":" in link else f"{link}:{link}" for link in spec.links]
    return {"EndpointsConfig": {spec.network: endpoint}}


def create_body(spec: ContainerSpec) -> dict:
    """The JSON body of POST /containers/create (the name goes in the query)."""
    joins_namespace = spec.network.startswith("container:") or spec.network == "host"
    _, volumes, _ = _binds_volumes_tmpfs(spec.mounts)
    body: dict = {
        "Image": spec.image,
        "Cmd": list(spec.command) if spec.command is not None else None,
        "Entrypoint": list(spec.entrypoint) if spec.entrypoint is not None else None,
        "Env": [f"{key}={value}" for key, value in spec.environment.items()],
        "WorkingDir": spec.working_dir,
        "User": spec.user,
        "Hostname": spec.hostname,
        "Labels": dict(spec.labels),
        "Tty": spec.tty,
        "OpenStdin": spec.stdin_open,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "ExposedPorts": None if joins_namespace else ({port_key(p): {} for p in spec.ports} or None),
        "Volumes": volumes or None,
        "Healthcheck": _healthcheck(spec),
        "StopTimeout": spec.stop_timeout_s,
        "HostConfig": host_config(spec),
        "NetworkingConfig": networking_config(spec),
    }
    return {key: value for key, value in body.items() if value is not None}


def container_name(spec: ContainerSpec) -> str:
    return docker_name(spec.name)
