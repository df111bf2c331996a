"""The emulator's own container, when it runs in one (the image at the repository's root), and
its address on the task network.

Task containers call the emulator (metadata, credentials, AWS_ENDPOINT_URL). On a host, the
emulator listens on its network's gateway; in a container that address is the host's, not ours.
So the emulator's container joins the task network (`docker network connect`) and tasks call it
at its own address there; the network removal in docker_cleanup disconnects it first.
"""

from __future__ import annotations

import re
import socket

_CONTAINER_ID = re.compile(r"/containers/([0-9a-f]{64})/")


def is_container_id(container: str) -> bool:
    """A Docker container id (or its 12-digit prefix), not a name."""
    return len(container) >= 12 and all(digit in "0123456789abcdef" for digit in container)


def own_container_id(mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """Our container's id: Docker bind-mounts /etc/hostname and friends from
    /var/lib/docker/containers/<id>/; the host name (the id's first 12 digits unless --hostname
    changed it) where no such mount shows."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as lines:
            found = _CONTAINER_ID.search(lines.read())
    except OSError:
        found = None
    return found.group(1) if found else socket.gethostname()


def attach(api, network: str, container: str) -> str:
    """Connect `container` to `network` unless it is, and return its IPv4 address there."""
    import docker.errors

    address = _address(api, network, container)
    if address:
        return address
    try:
        api.connect_container_to_network(container, network)
    except docker.errors.APIError as error:
        if "already exists" not in str(error):  # a concurrent connect won
            raise
    address = _address(api, network, container)
    if not address:
        raise RuntimeError(f"container {container} has no address on network {network}")
    return address


def _address(api, network: str, container: str) -> str | None:
    networks = api.inspect_container(container)["NetworkSettings"]["Networks"] or {}
    return (networks.get(network) or {}).get("IPAddress") or None
