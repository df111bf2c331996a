"""What Docker's container list (GET /containers/json) tells of a running container, as a
ContainerState: a restarted emulator adopting its tasks (persistence/adoption.py) reads one list
instead of an inspect per container. The list lacks what only a finished container has (its
exit code, the OOM verdict, when it ended), so for any other container the answer is None and
the caller inspects it.
"""

from __future__ import annotations

import re

from .base import ContainerState, PublishedPort

# The list's Status says a health check's verdict as the docker CLI shows it: "Up 3 minutes
# (healthy)", "(unhealthy)", "(health: starting)".
_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


def listed_state(entry: dict, listed: dict[str, dict]) -> ContainerState | None:
    """The state of a running container from its list entry; `listed` (id -> entry) gives the
    sandbox whose address and ports a container sharing its namespace has."""
    if entry.get("State") != "running":
        return None
    network_source = entry
    mode = (entry.get("HostConfig") or {}).get("NetworkMode") or ""
    if mode.startswith("container:"):
        joined = mode.split(":", 1)[1]
        network_source = next((other for other_id, other in listed.items()
                               if other_id == joined or other_id.startswith(joined)), None)
        if network_source is None:
            return None
    health = _HEALTH.search(entry.get("Status") or "")
    return ContainerState(
        id=entry["Id"], status="running", running=True, exit_code=None, oom_killed=False,
        health=health and health.group(1).replace("health: ", ""), error="",
        ip_address=_address(network_source), published=_published(network_source),
        image_id=entry.get("ImageID"))


def _address(entry: dict) -> str | None:
    networks = (entry.get("NetworkSettings") or {}).get("Networks") or {}
    return next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), None)


def _published(entry: dict) -> tuple[PublishedPort, ...]:
    return tuple(PublishedPort(int(port["PrivatePort"]), port.get("Type") or "tcp",
                               port.get("IP") or "", int(port["PublicPort"]))
                 for port in entry.get("Ports") or [] if port.get("PublicPort"))
