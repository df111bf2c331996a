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
from SO_PEERCRED) is not in this network namespace, or cannot be read to be, or is not the
dockerd itself: a socket proxy here (socat, a docker-socket-proxy, `ssh -L` to a unix socket)
is in this namespace while the engine it forwards to is anywhere. Where an init listened for a
socket-activated dockerd (systemd's docker.socket), the dockerd must be found holding that
socket, which only root (or the dockerd's user) can read; any other user takes it where every
dockerd it sees is in this namespace. A peer pid of 0 (the socket's server in no pid namespace
of ours: the host's socket mounted into our container) is never proven. And `docker info` must
agree: an engine here runs on this kernel. A rootless dockerd's bridge is in RootlessKit's
namespace, but RootlessKit forwards its published ports to this host: asked for those only
(the front doors: published=True), it is taken as here.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Callable

DEFAULT_SOCKET = "/var/run/docker.sock"  # the Docker SDK's, for DOCKER_HOST unset or unix://
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
DAEMON = "dockerd"
# What listens for a socket-activated dockerd and hands it the socket: the peer SO_PEERCRED names
INITS = frozenset(("systemd", "init"))
_LISTENING = 0x10000  # /proc/net/unix's flag of a listening socket (__SO_ACCEPTCON)


def why_not_local(docker_host: str, info: dict,
                  peer_of: Callable[[str], tuple[socket.socket, int]] | None = None,
                  proc: str = "/proc", published: bool = False) -> str | None:
    """None where the engine at `docker_host` (its `docker info`: `info`) is proven to be in
    this process's network namespace; else why not. `peer_of(path)`: a socket connected to the
    unix socket at `path` and its peer's pid (tests give their own). `published`: asked for
    its published ports only (the front doors), which a rootless dockerd here has RootlessKit
    forward to this host, though its bridge is in RootlessKit's namespace (so never for the
    default bridge)."""
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
        if pid == 0:  # SO_PEERCRED's pid of a peer in no pid namespace of ours
            return (f"the Docker Engine's socket {path} is served from outside this process's "
                    "pid namespace (a socket mounted into this container from elsewhere): its "
                    "default bridge is not proven to be this host's")
        rootless = published and is_rootless(info)
        if not rootless and not same_network_namespace(pid, connected, proc):
            return (f"the Docker Engine at {path} (pid {pid}) is not proven to be in this "
                    "process's network namespace: its default bridge is not proven to be "
                    "this host's")
        why = _why_not_the_daemon(pid, path, proc, connected)
    finally:
        connected.close()
    if why is None and info.get("KernelVersion") not in (None, os.uname().release):
        why = (f"the Docker Engine at {path} says it runs on kernel {info['KernelVersion']}, "
               f"not this host's {os.uname().release}: it is not the dockerd here")
    return why


def is_rootless(info: dict) -> bool:
    """Whether `docker info` says the engine is rootless (its SecurityOptions hold
    name=rootless)."""
    return any("name=rootless" in str(option).split(",")
               for option in info.get("SecurityOptions") or ())


def _why_not_the_daemon(pid: int, path: str, proc: str,
                        connected: socket.socket) -> str | None:
    """None where the process serving `path` (the peer `pid`) is a dockerd: itself, or an init
    that listened for a socket-activated one, which holds the socket; else why not."""
    name = process_name(pid, proc)
    if name == DAEMON:
        return None
    if name in INITS:
        holder = _daemon_holding(path, proc, connected)
        if holder is None:
            return None
        return (f"the Docker Engine's socket {path} is held by {name} (pid {pid}) for a "
                f"socket-activated dockerd, which is not proven to serve it ({holder}): its "
                "default bridge is not proven to be this host's")
    return (f"the Docker Engine's socket {path} is served by {name or 'an unknown process'} "
            f"(pid {pid}), not by a dockerd: a socket proxy may forward to an engine in "
            "another network namespace or machine, whose default bridge is not this host's")


def process_name(pid: int, proc: str = "/proc") -> str | None:
    """The program `pid` runs: its executable's file name where we may read it (root, or its
    user), else its command name (comm: readable by all, but the process may set it)."""
    try:
        return os.path.basename(os.readlink(f"{proc}/{pid}/exe")).removesuffix(" (deleted)")
    except OSError:
        pass
    try:
        with open(f"{proc}/{pid}/comm", encoding="utf-8", errors="replace") as comm:
            return comm.read().strip() or None
    except OSError:
        return None


def _daemon_holding(path: str, proc: str, connected: socket.socket) -> str | None:
    """None where a dockerd of this namespace holds the listening socket at `path`; else why
    not proven (no such socket listed; no dockerd, or none whose descriptors we may read).

    A user not root may read no dockerd's descriptors (systemd started it as root): then the
    socket is taken as a dockerd's of this namespace where every dockerd this process sees is
    in this namespace (`connected`, a socket made here, listed among its namespace's unix
    sockets, which anyone may read): a docker:dind's dockerd, seen here from its host, is in
    its container's."""
    wanted = os.path.realpath(path)
    inodes = set()
    try:  # this namespace's unix sockets: the listening one bound at `path`
        with open(f"{proc}/net/unix") as listing:
            next(listing, None)
            for fields in (line.split() for line in listing):
                if (len(fields) > 7 and int(fields[3], 16) & _LISTENING
                        and os.path.realpath(fields[7]) == wanted):
                    inodes.add(f"socket:[{fields[6]}]")
    except (OSError, ValueError) as error:
        return f"the unix sockets could not be read: {error}"
    if not inodes:
        return f"no socket listens at {path} in this network namespace"
    unreadable = None
    daemons = [pid for pid in os.listdir(proc)
               if pid.isdigit() and process_name(int(pid), proc) == DAEMON]
    for pid in daemons:
        try:
            descriptors = os.listdir(f"{proc}/{pid}/fd")
        except OSError as error:
            unreadable = f"dockerd {pid}'s descriptors cannot be read here: {error.strerror}"
            continue
        if any(_link(f"{proc}/{pid}/fd/{fd}") in inodes for fd in descriptors):
            # (its descriptors readable, so is its namespace: handed on, a socket may serve
            # a dockerd of another)
            namespace = _link(f"{proc}/{pid}/ns/net")
            if namespace is not None and namespace == _link(f"{proc}/self/ns/net"):
                return None
            return f"dockerd {pid}, which holds it, is in another network namespace"
    if unreadable is None:
        return "no dockerd holds it"
    elsewhere = [pid for pid in daemons
                 if not same_network_namespace(int(pid), connected, proc)]
    if not elsewhere:
        return None
    return (f"{unreadable}; and dockerd {elsewhere[0]} is not proven to be in this network "
            "namespace")


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


def _link(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:  # closed since it was listed
        return None


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
