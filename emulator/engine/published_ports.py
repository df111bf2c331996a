"""Where this process reaches a port Docker published for a task's container (the front doors
dial it: emulator/front_door_routes.py), or nowhere.

A binding's host port is a port of the engine's host, held by Docker there. It is this host's
only where the engine is proven to be in this process's network namespace, or to be a rootless
dockerd here whose ports RootlessKit forwards to this host (engine_locality.py), or runs its
containers in a VM on this machine that forwards their published ports to this host's loopback
(Docker Desktop, OrbStack...: control_token.reaches_loopback). An engine on another machine
(tcp:// or ssh:// to it) publishes on that machine: its address is dialled. Any other (a
docker:dind reached at tcp://127.0.0.1 or through its socket mounted here, a dockerd in another
network namespace, a socket forwarded from elsewhere) publishes where this process cannot tell:
port N here is whoever holds it here, never the task, so nothing is dialled.

where() may take seconds (a socket connect, a look at every process, a `docker info`): callers
ask it outside any lock of the emulator's.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
import urllib.parse
import weakref

from emulator.access.control_token import reaches_loopback
from emulator.engine.engines import on_this_machine

HERE = ""  # where(): the ports are this host's
_ANY = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}
_lock = threading.Lock()
REASK = 30.0  # seconds a refusal of _why_not_local is kept
_known: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # runtime -> (why, when asked)
_told: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # runtime -> the reason logged
log = logging.getLogger(__name__)


def where(runtime, docker_host: str | None) -> str | None:
    """HERE, the host name of the machine whose ports the engine (`runtime`, reached at
    `docker_host`) publishes on, or None where that is not known to be reachable (the reason
    logged once for the engine)."""
    if docker_host is None:
        return None  # an engine this run does not know
    try:
        info = runtime.daemon_info()
        elsewhere = _why_not_local(runtime)
    except Exception as error:  # not answering: its tasks are not reached either
        _tell(runtime, docker_host, f"it does not answer ({error})")
        return None
    if elsewhere is None:
        return HERE
    if on_this_machine(docker_host):
        if reaches_loopback(True, info):
            return HERE
        _tell(runtime, docker_host, elsewhere)
        return None
    return urllib.parse.urlsplit("//" + docker_host.partition("://")[2]).hostname


def _why_not_local(runtime) -> str | None:
    """runtime.why_not_local(published=True), kept for good once it is None (proven: that
    does not change while the engine runs, and the proof may cost a look at every process); a
    refusal only for REASK seconds, as it may be passing (a process read as it exited)."""
    with _lock:
        found, at = _known.get(runtime, ("", None))
        if at is not None and (found is None or time.monotonic() - at < REASK):
            return found
    found = runtime.why_not_local(published=True)  # (raises while the engine does not answer)
    with _lock:
        _known[runtime] = (found, time.monotonic())
    return found


def _tell(runtime, docker_host: str, why: str) -> None:
    """Log why the front doors reach no task of the engine: once per engine and reason, as
    each request asks again."""
    with _lock:
        if _told.get(runtime) == why:
            return
        _told[runtime] = why
    log.warning("the front doors do not reach the published ports of tasks on the Docker "
                "Engine at %s: %s", docker_host, why)


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
