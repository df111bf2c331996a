"""Resolving a name a caller chose, in bounded time to a bounded number of addresses.

getaddrinfo has no timeout: it waits on the resolver's name servers, which a hostile name's may
stretch as long as they like; and a name may have thousands of addresses, each of which the
asker then checks (host_addresses.reaches_this_host). Either would hold the request that asked.
A Resolver refuses a name with more than MAX_ADDRESSES addresses (TooManyAddresses: the name's
own, so for good) and a name its name servers failed to tell (EAI_AGAIN, EAI_FAIL: Unresolved,
to be asked again). A bounded one also looks the name up on a thread of its own, waits SECONDS
for it at most, and refuses new names while `lookups` lookups go on past their time (their
threads are held until their name servers let go).

Each user has a Resolver of its own, so that names stalled by one do not refuse another's: moto's
deliveries (aws/moto_containment.py) and the tasks' registry names (host_addresses.py). The
latter are resolved INLINE in production: the image checks' limits (engine/task_images.py,
within_limits) already run them on a thread of their own, bound the time, and keep the task's
place until the lookup truly ends, so each task holds one lookup at most; a second bound inside
would give the task's place back while its lookup still held one of a few places every task
shares.
"""

from __future__ import annotations

import ipaddress
import socket
import threading

SECONDS = 5.0
MAX_ADDRESSES = 16
LOOKUPS = 4
# getaddrinfo's errors that say the name servers failed, not that the name does not exist.
NAME_SERVER_FAILURES = frozenset(getattr(socket, name) for name in ("EAI_AGAIN", "EAI_FAIL")
                                 if hasattr(socket, name))


class Unresolved(OSError):
    """A name whose addresses were not told within a Resolver's bounds (the message says
    which); asked again, it may be."""
    retryable = True


class TooManyAddresses(Unresolved):
    """A name with more addresses than a Resolver checks: asked again, it has as many."""
    retryable = False


def is_address(host: str) -> bool:
    """Whether `host` is an IP address literal (an IPv6 one may carry a %zone): no lookup."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        return False


class Resolver:
    """`inline`: on the caller's thread, with no time bound (for a caller that bounds it
    itself, and keeps its own place until the lookup ends); else bounded as said above."""

    def __init__(self, lookups: int = LOOKUPS, thread_name: str = "name-lookup",
                 inline: bool = False):
        self.seconds = SECONDS
        self.max_addresses = MAX_ADDRESSES
        self.lookups = lookups
        self.inline = inline
        self._thread_name = thread_name
        self._guard = threading.Lock()
        self._stalled = 0  # lookups whose callers gave up on them, still waiting

    def addresses(self, host: str, port: int | None) -> list[str]:
        """The distinct addresses `host` (a name, or an address literal: no lookup) resolves
        to, in getaddrinfo's order. Unresolved past the bounds or when the name servers
        failed; getaddrinfo's own errors where it does not resolve (socket.gaierror; UnicodeError
        or ValueError for what is no valid name: "a..b", a label over 63 characters)."""
        try:
            found = self._getaddrinfo(host, port)
        except socket.gaierror as error:
            if error.errno in NAME_SERVER_FAILURES:
                raise Unresolved(f"{host}: its name servers failed ({error.strerror})") from None
            raise
        addresses = list(dict.fromkeys(info[4][0] for info in found))
        if len(addresses) > self.max_addresses:
            raise TooManyAddresses(f"{host} resolves to {len(addresses)} addresses, more than "
                                   f"{self.max_addresses}")
        return addresses

    def _getaddrinfo(self, host: str, port: int | None) -> list:
        if is_address(host):  # no lookup, nor a place stalled names may hold
            return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                      flags=socket.AI_NUMERICHOST)
        if self.inline:
            return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with self._guard:
            if self._stalled >= self.lookups:
                raise Unresolved(f"{host}: {self._stalled} names are still being resolved "
                                 "past their time")
        found: list = []
        gave_up = [False]

        def lookup():
            try:
                found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                found.append(error)
            finally:
                with self._guard:
                    if gave_up[0]:
                        self._stalled -= 1

        thread = threading.Thread(target=lookup, name=self._thread_name, daemon=True)
        thread.start()
        thread.join(self.seconds)
        with self._guard:  # found is filled before lookup() takes the guard: no count is lost
            if not found:
                gave_up[0] = True
                self._stalled += 1
        if gave_up[0]:
            raise Unresolved(f"{host} was not resolved in {self.seconds:g} s")
        if isinstance(found[0], BaseException):
            raise found[0]
        return found[0]
