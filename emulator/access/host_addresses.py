"""Which addresses and names are this host's: an address of its interfaces is the HOST's when
a caller comes from it (access/callers.py); none of those, nor the running emulators' Docker
Engines' gateways, nor a name that resolves to one, is where a task may send the emulator's
process or its Docker Engine (moto's outbound calls, image registries, endpoints a task names:
aws/moto_containment.py, host_access.py).

Whether a connection was made on this host (from_this_host) is told here for the listeners
(local_users.py, once per connection as it arrives) and for callers.py (where that was not told).
Apart from callers.py, which tells tasks apart: these answers need no task and no view of a
network, and modules with no caller to tell ask them (server.py, engine/engines.py,
metadata/link_local.py, browsers.py). What this module keeps is process-wide: the running
emulators' engines' gateways, which are this host's too (add_gateways, known_gateways).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Callable, Iterable

from emulator.access.name_resolution import Resolver, Unresolved


def is_local_address(address: str, scope: int = 0) -> bool:
    """Whether `address` is one of this host's (a link-local one: on the interface `scope`).
    Only a local address can be bound; a bind and a close cost microseconds, and addresses come
    and go, so the answer is not kept."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        probe = socket.socket(family, socket.SOCK_STREAM)
    except OSError:  # no such family here (IPv6 turned off): no address of it is ours
        return False
    try:
        probe.bind((address, 0, 0, scope) if family == socket.AF_INET6 else (address, 0))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _ip(address: str):
    """`address` as an ipaddress (an IPv4 client of a dual-stack listener as IPv4), or None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # a Unix socket, or no peer at all
        return None
    return getattr(ip, "ipv4_mapped", None) or ip


def from_this_host(peer: str, arrived_on: str | None = None, scope: int = 0) -> bool:
    """Whether a connection from `peer` that arrived on our address `arrived_on` was made on
    this host: the peer is loopback or one of this host's addresses (a link-local one on the
    interface `scope`), or the connection came to a loopback address (which nothing from
    elsewhere reaches: a peer address that is none of ours there was rewritten on the way, as
    Docker's MASQUERADE does). The listeners tell it once per connection as it arrives
    (local_users.py); without `arrived_on` (not told), the peer's address alone decides."""
    ip = _ip(peer)
    if ip is not None and (ip.is_loopback or is_local_address(str(ip), scope)):
        return True
    ours = _ip(arrived_on) if arrived_on else None
    return ours is not None and ours.is_loopback


# Names that are this host from a container (Docker Desktop, OrbStack, Lima, Podman); from
# the emulator's own container too, where they are not this process's addresses.
HOST_NAMES = frozenset(("host.docker.internal", "gateway.docker.internal", "host.orb.internal",
                        "host.lima.internal", "host.containers.internal"))
# The gateways of the Docker Engines' networks (each engine's runtime.gateways()): addresses of
# an engine's host, which from inside the emulator's own container a bind does not find. One
# source per running emulator (app.py adds it at the start, takes it away at the stop), for a
# process may run several (a test's: the session's emulator and a `running_emulator`'s). Each
# emulator's gateways count for every other's checks: an engine's are read only while it is on
# this machine (engines.readable), so they are this host's whichever emulator asks. A single
# slot, the last emulator's, left out the others' while it ran and all but docker0 once it
# stopped.
_gateway_sources: list[Callable[[], Iterable[str]]] = []
_gateway_sources_lock = threading.Lock()
# The lookups of the names tasks give (name_reaches_this_host): their own, apart from moto's
# deliveries' (aws/moto_containment.py); bounded, for a caller with no bound of its own. The
# image checks bound theirs, and resolve INLINE (name_resolution.py says why).
RESOLVER = Resolver(thread_name="task-name-lookup")
INLINE = Resolver(inline=True)


def add_gateways(source: Callable[[], Iterable[str]]) -> None:
    with _gateway_sources_lock:
        if source not in _gateway_sources:  # an emulator started twice adds its source once
            _gateway_sources.append(source)


def remove_gateways(source: Callable[[], Iterable[str]]) -> None:
    with _gateway_sources_lock:
        if source in _gateway_sources:
            _gateway_sources.remove(source)


def known_gateways() -> list[str]:
    """The running emulators' engines' gateways; a source that cannot say hides no other's."""
    with _gateway_sources_lock:
        sources = list(_gateway_sources)
    found: list[str] = []
    for source in sources:
        try:
            found.extend(source())
        except Exception:  # noqa: BLE001 - an engine that cannot say: its gateway is not known
            continue
    return found


def reaches_this_host(address: str) -> bool:
    """Whether a connection to `address` would reach this host (loopback, link-local,
    unspecified, multicast, an address of its interfaces; IPv4-mapped ones too), or is not an
    address at all: what the emulator's process or its Docker Engine must not be sent to on a
    task's word."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast
            or is_local_address(str(ip)) or _is_gateway(ip))


def _is_gateway(ip) -> bool:
    for gateway in known_gateways():
        try:  # each on its own: one odd value must not hide the others
            if ipaddress.ip_address(str(gateway).split("/")[0]) == ip:
                return True
        except ValueError:
            continue
    return False


def name_reaches_this_host(host: str, port: int | None = None,
                           resolver: Resolver = RESOLVER) -> list[str]:
    """The addresses of this host that `host` (a name or an address) resolves to; [] for
    none, or when no such name exists. A task names it (an image's registry), so it is
    resolved within `resolver`'s bounds: past them, or when its name servers failed,
    Unresolved (what it would reach is not known, and the asker must not take it for
    elsewhere, nor keep that answer)."""
    if host.strip("[]").rstrip(".").lower() in HOST_NAMES:
        return [host]  # what it resolves to from here need not be what a container reaches
    try:
        found = resolver.addresses(host.strip("[]"), port)
    except Unresolved:
        raise
    except (OSError, UnicodeError, ValueError):  # no such name, or no valid one
        return []
    return sorted({address for address in found if reaches_this_host(address)})
