"""Whether a Docker Engine's networks are this process's: the dockerd at the other end of its
socket is in this process's network namespace (for Docker's default bridge), or a network's
own bridge is (for the emulator's networks: bridge_is_here).

Every engine calls its default bridge docker0 and gives it 172.17.0.1, so an engine whose bridge
is not this host's (docker:dind reached through a socket mounted here or a port published on
127.0.0.1, a dockerd in another network namespace) looks just like this host's own: the
emulator would read that engine's docker0 while listening on this host's, and a container on
this host's docker0 at a task's address over there would be served as that task. So tasks go
on the default bridge only where this is proven, and fall back to the emulator's own network
where it is not: `docker info` says the engine runs in a container, the engine is reached over
TCP or SSH (whatever answers may forward elsewhere), or the peer of its unix socket (its pid,
from SO_PEERCRED) is not in this network namespace, or cannot be read to be.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Callable

DEFAULT_SOCKET = "/var/run/docker.sock"  # the Docker SDK's, for DOCKER_HOST unset or unix://
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def why_not_local(docker_host: str, info: dict,
                  peer_of: Callable[[str], tuple[socket.socket, int]] | None = None,
                  proc: str = "/proc") -> str | None:
    """None where the engine at `docker_host` (its `docker info`: `info`) is proven to be in
    this process's network namespace; else why not. `peer_of(path)`: a socket connected to the
    unix socket at `path` and its peer's pid (tests give their own)."""
    system = str(info.get("OperatingSystem") or "")
    if "(containerized)" in system:
        return (f"the Docker Engine runs in a container ({system}): its default bridge is in "
                "that container's network namespace")
    scheme, _, rest = (docker_host or "unix://").partition("://")
    if scheme != "unix":
        return (f"the Docker Engine is reached over {scheme}://, which may forward to an engine "
                "in another network namespace or machine: its default bridge is not proven to "
                "be this host's")
    path = rest or DEFAULT_SOCKET
    try:
        connected, pid = (peer_of or _peer_of)(path)
    except (OSError, AttributeError) as error:  # no SO_PEERCRED (macOS): not proven
        return f"the Docker Engine's socket {path} could not be asked who serves it ({error})"
    try:
        if not same_network_namespace(pid, connected, proc):
            return (f"the Docker Engine at {path} (pid {pid}) is not proven to be in this "
                    "process's network namespace: its default bridge is not proven to be "
                    "this host's")
    finally:
        connected.close()
    return None


def _peer_of(path: str) -> tuple[socket.socket, int]:
    connected = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connected.settimeout(2)
        connected.connect(path)
        return connected, peer_pid(connected)
    except OSError:
        connected.close()
        raise


def peer_pid(connected: socket.socket) -> int:
    """The pid of the process that serves a connected unix socket (the one that listened: the
    dockerd, or the init that holds a socket-activated one's socket for it)."""
    return _UCRED.unpack(connected.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                              _UCRED.size))[0]


def same_network_namespace(pid: int, connected: socket.socket, proc: str = "/proc") -> bool:
    """Whether process `pid` is in this process's network namespace. Its namespace link says so
    where we may read it (root, or the same user); otherwise (an unprivileged user asking about
    a root dockerd) `connected`, a unix socket made here, is listed among the unix sockets of
    the pid's namespace (/proc/<pid>/net/unix lists only its own namespace's). Neither
    readable: not proven."""
    try:
        return os.readlink(f"{proc}/{pid}/ns/net") == os.readlink(f"{proc}/self/ns/net")
    except OSError:
        pass
    inode = str(os.fstat(connected.fileno()).st_ino)
    try:
        with open(f"{proc}/{pid}/net/unix") as listing:
            next(listing, None)  # the header
            return any(line.split()[6:7] == [inode] for line in listing)
    except OSError:
        return False


def bridge_is_here(name: str | None) -> bool:
    """Whether this network namespace has the bridge interface `name`. Docker names a network's
    bridge after the network's own id (br-<12 hex>), so a user-defined network's is found here
    only where its engine is in this namespace; another engine's network of the same subnet (a
    docker:dind's, whose first network is 172.18.0.0/16 as this host's is) has another."""
    if not name or "/" in name:
        return False
    try:  # asks this process's own namespace (/sys/class/net shows its mounter's)
        socket.if_nametoindex(name)
        return True
    except OSError:
        return False
