"""Resolving a name a caller chose, in bounded time to a bounded number of addresses.

getaddrinfo has no timeout: it waits on the resolver's name servers, which a hostile name's may
stretch as long as they like; and a name may have thousands of addresses, each of which the
asker then checks (host_addresses.reaches_this_host). Either would hold the request that asked.
A Resolver looks a name up on a thread of its own and waits SECONDS for it at most, refuses a
name with more than MAX_ADDRESSES addresses, and lets at most `lookups` lookups still wait on
their name servers after their time: beyond any of these it raises Unresolved. Each user has a
Resolver of its own, so that names stalled by one (a task's image references) do not refuse
another's (moto's deliveries): aws/moto_containment.py, host_addresses.name_reaches_this_host.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

SECONDS = 5.0
MAX_ADDRESSES = 16
LOOKUPS = 4


class Unresolved(OSError):
    """A name whose addresses were not told within a Resolver's bounds (the message says
    which)."""


class Resolver:
    def __init__(self, lookups: int = LOOKUPS, thread_name: str = "name-lookup"):
        self.seconds = SECONDS
        self.max_addresses = MAX_ADDRESSES
        self.lookups = lookups
        self._slots = threading.BoundedSemaphore(lookups)
        self._thread_name = thread_name

    def addresses(self, host: str, port: int | None) -> list[str]:
        """The distinct addresses `host` (a name, or an address literal: no lookup) resolves
        to, in getaddrinfo's order. Unresolved past the bounds; getaddrinfo's own errors where
        it does not resolve (socket.gaierror; UnicodeError or ValueError for what is no valid
        name: "a..b", a label over 63 characters)."""
        addresses = list(dict.fromkeys(info[4][0] for info in self._getaddrinfo(host, port)))
        if len(addresses) > self.max_addresses:
            raise Unresolved(f"{host} resolves to {len(addresses)} addresses, more than "
                             f"{self.max_addresses}")
        return addresses

    def _getaddrinfo(self, host: str, port: int | None) -> list:
        try:  # an address literal needs no lookup, nor a slot stalled names may hold
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            pass
        else:
            return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                      flags=socket.AI_NUMERICHOST)
        deadline = time.monotonic() + self.seconds
        if not self._slots.acquire(timeout=self.seconds):
            raise Unresolved(f"{host}: {self.lookups} names are still being resolved")
        found: list = []

        def lookup():
            try:
                found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                found.append(error)
            finally:
                self._slots.release()

        thread = threading.Thread(target=lookup, name=self._thread_name, daemon=True)
        try:
            thread.start()
        except BaseException:  # the slot is the thread's to give back: it never ran
            self._slots.release()
            raise
        thread.join(max(0.0, deadline - time.monotonic()))
        if not found:
            raise Unresolved(f"{host} was not resolved in {self.seconds:g} s")
        if isinstance(found[0], BaseException):
            raise found[0]
        return found[0]
