"""Port mappings and links of a task definition, by network mode.

awsvpc and host give all containers of a task one network namespace: a host port is the container
port, and a port can be taken once per task. bridge maps each container's ports to host ports
(0 or omitted: dynamic) and allows links. none allows neither.
"""

from __future__ import annotations

import re

from emulator.ecs.errors import ClientException

MAX_PORT = 65535
MAX_PORT_RANGES = 100
_RANGE = re.compile(r"^(\d+)-(\d+)$")
_PORT_NAME = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,63}$")


def normalize_port_mappings(containers: list[dict], network_mode: str) -> None:
    """Check every container's portMappings; fill protocol and (where fixed) hostPort."""
    taken: dict[tuple[int, str], str] = {}  # (port, protocol) -> container, per task
    names: set[str] = set()
    for container in containers:
        mappings = container.get("portMappings", [])
        if mappings and network_mode == "none":
            raise ClientException(
                f"Port mappings are not supported when networkMode=none (container "
                f"'{container['name']}')."
            )
        own: dict[tuple[int, str], bool] = {}
        ranges = 0
        for mapping in mappings:
            mapping.setdefault("protocol", "tcp")
            _check_name(mapping, names)
            if "containerPortRange" in mapping:
                ranges += 1
                ports = _range_ports(container["name"], mapping, network_mode)
            else:
                ports = [_single_port(container["name"], mapping, network_mode)]
            for port in ports:
                key = (port, mapping["protocol"])
                if key in own:
                    raise ClientException(
                        f"Container port {port}/{key[1]} is mapped more than once in container "
                        f"'{container['name']}'."
                    )
                own[key] = True
        if ranges > MAX_PORT_RANGES:
            raise ClientException(
                f"Container '{container['name']}' has {ranges} port ranges; the maximum is "
                f"{MAX_PORT_RANGES}."
            )
        if network_mode in ("awsvpc", "host"):
            _claim_shared(container["name"], own, taken, network_mode)


def _single_port(name: str, mapping: dict, network_mode: str) -> int:
    port = mapping.get("containerPort")
    if port is None or not 1 <= port <= MAX_PORT:
        raise ClientException(f"Invalid 'containerPort' setting for container '{name}'.")
    host_port = mapping.get("hostPort")
    if network_mode in ("awsvpc", "host"):
        if host_port not in (None, port):
            raise ClientException(
                f"When networkMode={network_mode}, the host ports and container ports in port "
                "mappings must match."
            )
        mapping["hostPort"] = port
    elif host_port is not None and not 0 <= host_port <= MAX_PORT:
        raise ClientException(f"Invalid 'hostPort' setting for container '{name}'.")
    return port


def _range_ports(name: str, mapping: dict, network_mode: str) -> range:
    if network_mode not in ("bridge", "awsvpc"):
        raise ClientException(
            "containerPortRange is only supported when networkMode is bridge or awsvpc."
        )
    if "containerPort" in mapping or "hostPort" in mapping:
        raise ClientException(
            f"A port mapping of container '{name}' with a containerPortRange cannot also set "
            "containerPort or hostPort."
        )
    match = _RANGE.match(mapping["containerPortRange"])
    if match is None:
        raise ClientException(
            f"Invalid 'containerPortRange' setting for container '{name}'. Use the form "
            "'start-end', such as '8000-8100'."
        )
    start, end = int(match.group(1)), int(match.group(2))
    if not 1 <= start < end <= MAX_PORT:
        raise ClientException(
            f"Invalid 'containerPortRange' setting for container '{name}'. Ports are between 1 "
            f"and {MAX_PORT}, and the first port must be less than the last."
        )
    return range(start, end + 1)


def _check_name(mapping: dict, names: set[str]) -> None:
    name = mapping.get("name")
    if name is None:
        return
    if not _PORT_NAME.match(name):
        raise ClientException(
            f"Invalid port mapping name '{name}'. Up to 64 lowercase letters, numbers, "
            "underscores and hyphens are allowed, and it can't start with a hyphen."
        )
    if name in names:
        raise ClientException(
            f"Port mapping names must be unique within a task definition; '{name}' appears "
            "twice."
        )
    names.add(name)


def _claim_shared(name: str, own: dict, taken: dict, network_mode: str) -> None:
    for key in own:
        other = taken.get(key)
        if other is not None:
            raise ClientException(
                f"Containers '{other}' and '{name}' both map port {key[0]}/{key[1]}; with "
                f"networkMode={network_mode} the containers of a task share their ports."
            )
        taken[key] = name


# What an awsvpc container cannot set for itself: the task's network namespace (its ENI) is
# shared by every container, so ECS refuses these at registration (ContainerDefinition's docs).
_AWSVPC_REFUSED = (("hostname", "hostname is"), ("extraHosts", "Extra hosts are"),
                   ("dnsServers", "DNS servers are"), ("dnsSearchDomains", "DNS search domains are"))


def check_links(containers: list[dict], network_mode: str) -> None:
    names = {c["name"] for c in containers}
    for container in containers:
        links = container.get("links", [])
        if links and network_mode != "bridge":
            raise ClientException(f"Links are not supported when networkMode={network_mode}.")
        if network_mode == "awsvpc":
            for key, what in _AWSVPC_REFUSED:
                if container.get(key):
                    raise ClientException(
                        f"{what} not supported on container when networkMode=awsvpc.")
        for link in links:
            target = link.split(":", 1)[0]
            if target == container["name"] or target not in names:
                raise ClientException(
                    f"Invalid link '{link}' in container '{container['name']}': links must name "
                    "another container of the task definition."
                )


def tcp_mapping(spec: dict, name: str | None = None) -> tuple[dict, dict] | None:
    """(container definition, port mapping) of a task definition (`spec`) that takes HTTP: its
    first mapping over TCP, or the one named `name` where that is over TCP; None otherwise. A
    UDP mapping carries no HTTP, and its binding's host port says nothing of who holds that port
    over TCP."""
    return next(((c, m) for c in spec.get("containerDefinitions", [])
                 for m in c.get("portMappings", [])
                 if (name is None or m.get("name") == name) and m.get("protocol", "tcp") == "tcp"),
                None)
