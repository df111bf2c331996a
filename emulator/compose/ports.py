"""Compose `ports` -> ECS portMappings.

Short syntax: "80", "8080:80", "127.0.0.1:8080:80" (the address is dropped, as the ECS CLI does),
ranges "8000-8001:80-81", a "/udp" or "/tcp" suffix; long syntax: {target, published, protocol}.
A port given without a host port gets none (ECS then picks one, or uses the container port in
awsvpc mode).
"""

from __future__ import annotations

from emulator.compose.files import ComposeError


def port_mappings(service_name: str, ports: list) -> list[dict]:
    mappings: list[dict] = []
    for entry in ports:
        if isinstance(entry, dict):
            mappings.append(_long(entry))
        else:
            mappings.extend(_short(service_name, str(entry)))
    return mappings


def _long(entry: dict) -> dict:
    if entry.get("target") is None:
        raise ComposeError(f"a port mapping needs a target (container port): {entry}")
    mapping = {"containerPort": int(entry["target"]), "protocol": entry.get("protocol", "tcp")}
    if entry.get("published") not in (None, ""):
        mapping["hostPort"] = int(str(entry["published"]).split("-")[0])
    return mapping


def _short(service_name: str, text: str) -> list[dict]:
    protocol = "tcp"
    spec = text
    for suffix in ("/tcp", "/udp"):
        if spec.lower().endswith(suffix):
            protocol, spec = suffix[1:], spec[: -len(suffix)]
    parts = spec.rsplit(":", 2) if spec.count(":") <= 2 else None
    if not parts:
        raise ComposeError(f"expected format [hostPort]:containerPort. Could not parse "
                           f"portmappings: {text}")
    container = _range(parts[-1], text)
    host = _range(parts[-2], text) if len(parts) >= 2 and parts[-2] else None
    if host is not None and len(host) != len(container):
        if len(container) != 1:
            raise ComposeError(f"port ranges do not match in {text} (service {service_name})")
        host = host[:1]  # "8000-8010:80": the first free host port of the range; take its start
    mappings = []
    for index, container_port in enumerate(container):
        mapping = {"containerPort": container_port, "protocol": protocol}
        if host is not None:
            mapping["hostPort"] = host[index]
        mappings.append(mapping)
    return mappings


def _range(text: str, whole: str) -> list[int]:
    try:
        if "-" in text:
            first, last = (int(p) for p in text.split("-", 1))
            if last < first:
                raise ValueError
            return list(range(first, last + 1))
        return [int(text)]
    except ValueError:
        raise ComposeError(f"Could not convert port into integer in portmappings: {whole}") \
            from None
