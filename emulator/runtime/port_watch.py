"""The kernel's word that a bridge port went: this network namespace's link notifications
(rtnetlink's RTMGRP_LINK), read on a thread of the guard's own.

The default bridge's guard (bridge_guard.py) must let go of a holder's address the moment its
port goes: Docker deletes a stopped container's veth and then gives its address (the lowest free
one) and the MAC made from it to the next container it starts, maybe another emulator's, whose
frames every guard that still holds the address drops. The emulator's own word that the holder
died (Docker's die event) comes after it (events are handled one at a time), or never (dockerd
restarted and lost it, a consumer stalled); the kernel's deletion of the port comes first, and
cannot be missed: a notification lost to a full receive buffer is told as such, and the bridge's
ports are then read again whole.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from typing import Callable

from emulator import netlink

from . import bridge_ports
from .bridge_ports import _IFINFO, IFLA_MASTER, RTM_NEWLINK, _u32

log = logging.getLogger("emulator.runtime")

RTM_DELLINK = 17
RTMGRP_LINK = 0x1
POLL_S = 0.5  # how soon a closed guard's thread sees it
RETRY_S = 1.0  # before a watch that failed is made again
RECEIVE_BUFFER = 1 << 20  # a burst of container starts and stops fits


class LinkEvents:
    """A subscription to the link notifications of this process's network namespace."""

    def __init__(self):
        self._sock = netlink.open_socket(socket.NETLINK_ROUTE, timeout=POLL_S)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            self._sock.bind((0, RTMGRP_LINK))
        except OSError:
            self._sock.close()
            raise

    def left(self, bridge: int) -> set[int] | None:
        """The interfaces that were deleted or left the bridge (interface index `bridge`) in the
        next batch of notifications (empty after POLL_S without one); None where some were lost
        (the receive buffer overflowed): the bridge's ports must be read again."""
        try:
            data = self._sock.recv(1 << 16)
        except socket.timeout:
            return set()
        except OSError as error:
            if error.errno == errno.ENOBUFS:
                return None
            raise
        return _left(data, bridge)

    def close(self) -> None:
        self._sock.close()


def _left(data: bytes, bridge: int) -> set[int]:
    """The links that `data` (one receive of notifications) says are gone or not on `bridge`."""
    left = set()
    for kind, body in netlink.messages(data):
        if kind not in (RTM_NEWLINK, RTM_DELLINK) or len(body) < _IFINFO.size:
            continue
        family, _, index, _, _ = _IFINFO.unpack_from(body)
        if family != socket.AF_UNSPEC:
            continue  # the bridge's own word on its ports' settings (AF_BRIDGE): not the link's
        # (A port leaving its bridge is told as a new link without the bridge as its master.)
        master = _u32(netlink.attributes(body, _IFINFO.size).get(IFLA_MASTER))
        if kind == RTM_DELLINK or master != bridge:
            left.add(index)
    return left


def watch(bridge: str, on_left: Callable[[set[int] | None], bool]) -> threading.Thread:
    """Tell `on_left` of each batch of links that left `bridge` (None: notifications were lost;
    it reads the bridge's ports itself), on a daemon thread, until it returns False (its guard
    closed). Raises OSError where the subscription cannot be made."""
    first = LinkEvents()

    def loop() -> None:
        events = first
        while True:
            try:
                while True:
                    left = events.left(bridge_ports.bridge_index(bridge))
                    if not on_left(left):
                        return
            except Exception:  # noqa: BLE001 - said, and watched again
                log.warning("the default bridge's guard lost its watch of %s's ports: watching "
                            "again in %s s (meanwhile Docker's exit events release addresses)",
                            bridge, RETRY_S, exc_info=True)
            finally:
                events.close()
            time.sleep(RETRY_S)
            if not on_left(set()):  # its guard closed meanwhile
                return
            try:
                events = LinkEvents()
            except OSError:
                continue  # the sleep above, and again
            if not on_left(None):  # what went meanwhile: the bridge's ports are read
                events.close()
                return

    thread = threading.Thread(target=loop, name=f"guard-ports-{bridge}", daemon=True)
    thread.start()
    return thread
