"""Where this process reaches a port Docker published for a task's container (the front doors
dial it: emulator/front_door_routes.py), or nowhere.

A binding's host port is a port of the engine's host, held by Docker there. It is this host's
only where the engine is proven to be in this process's network namespace (engine_locality.py),
or runs its containers in a VM on this machine that forwards their published ports to this
host's loopback (Docker Desktop, OrbStack...: control_token.reaches_loopback), or is reached at
this host's unix socket and runs on this kernel, not in a container (_unix_socket_here). An engine on
another machine (tcp:// or ssh:// to it) publishes on that machine: its address is dialled. Any
other (a docker:dind reached at tcp://127.0.0.1, a dockerd in another network namespace, a
socket forwarded from elsewhere) publishes where this process cannot tell: port N here is
whoever holds it here, never the task, so nothing is dialled.
"""

from __future__ import annotations

import ipaddress
import threading
import urllib.parse
import weakref

from emulator.access.control_token import reaches_loopback
from emulator.engine.engines import on_this_machine

HERE = ""  # where(): the ports are this host's
_ANY = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}
_lock = threading.Lock()
_known: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # runtime -> why_not_local()


def where(runtime, docker_host: str | None) -> str | None:
    """HERE, the host name of the machine whose ports the engine (`runtime`, reached at
    `docker_host`) publishes on, or None where that is not known to be reachable."""
    if docker_host is None:
        return None  # an engine this run does not know
    try:
        info = runtime.daemon_info()
        elsewhere = _why_not_local(runtime)
    except Exception:  # not answering: its tasks are not reached either
        return None
    if elsewhere is None or _unix_socket_here(docker_host, info):
        return HERE
    if on_this_machine(docker_host):
        return HERE if reaches_loopback(True, info) else None
    return urllib.parse.urlsplit("//" + docker_host.partition("://")[2]).hostname


def _unix_socket_here(docker_host: str, info: dict) -> bool:
    """An engine on this host's unix socket that says it runs on this kernel, not in a container
    (docker:dind says "(containerized)"): its ports are this host's even where its namespace
    cannot be proven (a non-root user's socket-activated dockerd, whose socket systemd holds;
    a rootless one, whose ports RootlessKit forwards here), or every front door of the most
    common Linux set-up would answer 503."""
    import os

    return (docker_host.startswith("unix://")
            and "(containerized)" not in str(info.get("OperatingSystem") or "")
            and info.get("KernelVersion") in (None, os.uname().release))


def _why_not_local(runtime) -> str | None:
    """runtime.why_not_local(), asked once per engine: the answer does not change while the
    engine runs, and may cost a look at every process (a socket-activated dockerd's)."""
    with _lock:
        if runtime in _known:
            return _known[runtime]
    found = runtime.why_not_local()  # (raises while the engine does not answer: not kept)
    with _lock:
        _known[runtime] = found
    return found


def address(binding: dict, host: str) -> str | None:
    """The address to dial for `binding` (its bindIP) of an engine publishing on `host`
    (where()'s), or None when this process cannot reach it (a remote machine's loopback)."""
    bound = binding.get("bindIP") or ""
    if host == HERE:
        return _ANY.get(bound, bound)
    if bound in _ANY:
        return host
    try:
        return None if ipaddress.ip_address(bound).is_loopback else bound
    except ValueError:
        return None
