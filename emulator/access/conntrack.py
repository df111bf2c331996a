"""Where a connection Docker's MASQUERADE rewrote came from: the kernel's connection tracking
(ctnetlink), asked for the entry whose reply direction is the connection as our listener sees
it; the entry's original direction holds the source the client's socket has.

A process of this host that calls a gateway address (docker0's 172.17.0.1) leaves from that
address, and Docker's rule (`-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`) rewrites the source
on the way over the loopback interface; access/peer_uid.py then finds the client's socket with
one exact lookup of the original addresses, as for any other connection, instead of proving it
from a dump of every socket connected to us (which a client that leaves the kernel's table
without a word can mislead). Asking needs CAP_NET_ADMIN (the emulator run as root, as the
bridge guard also needs); without it, or without connection tracking, nothing is told here.
"""

from __future__ import annotations

import errno
import socket
import struct

from emulator import netlink

NETLINK_NETFILTER = 12
_GET = (1 << 8) | 1  # NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET
_NFGEN = struct.Struct("=BBH")  # nfgenmsg: family, version, resource id
_NESTED = 0x8000
CTA_TUPLE_ORIG, CTA_TUPLE_REPLY = 1, 2
CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 2
CTA_IP_V4_SRC, CTA_IP_V4_DST, CTA_IP_V6_SRC, CTA_IP_V6_DST = 1, 2, 3, 4
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3
_PORT = struct.Struct("!H")
_TIMEOUT = 0.25


def _tuple(family: int, src: tuple[str, int], dst: tuple[str, int]) -> bytes:
    v4 = family == socket.AF_INET
    addresses = (netlink.attribute(CTA_IP_V4_SRC if v4 else CTA_IP_V6_SRC,
                                   socket.inet_pton(family, src[0]))
                 + netlink.attribute(CTA_IP_V4_DST if v4 else CTA_IP_V6_DST,
                                     socket.inet_pton(family, dst[0])))
    proto = (netlink.attribute(CTA_PROTO_NUM, bytes([socket.IPPROTO_TCP]))
             + netlink.attribute(CTA_PROTO_SRC_PORT, _PORT.pack(src[1]))
             + netlink.attribute(CTA_PROTO_DST_PORT, _PORT.pack(dst[1])))
    return (netlink.attribute(CTA_TUPLE_IP | _NESTED, addresses)
            + netlink.attribute(CTA_TUPLE_PROTO | _NESTED, proto))


def _source_to(family: int, original: bytes, ours: tuple[str, int]) -> tuple[str, int] | None:
    """The source of an entry's original direction, if that direction is TCP to `ours` (an
    entry whose destination was rewritten too names no socket of this connection's)."""
    v4 = family == socket.AF_INET
    parts = netlink.attributes(original, 0)
    addresses = netlink.attributes(parts.get(CTA_TUPLE_IP, b""), 0)
    ports = netlink.attributes(parts.get(CTA_TUPLE_PROTO, b""), 0)
    try:
        source = socket.inet_ntop(family, addresses[CTA_IP_V4_SRC if v4 else CTA_IP_V6_SRC])
        destination = socket.inet_ntop(family, addresses[CTA_IP_V4_DST if v4 else CTA_IP_V6_DST])
        (source_port,), (destination_port,) = (_PORT.unpack(ports[CTA_PROTO_SRC_PORT][:2]),
                                                _PORT.unpack(ports[CTA_PROTO_DST_PORT][:2]))
        protocol = ports[CTA_PROTO_NUM][0]
    except (KeyError, IndexError, ValueError, struct.error):
        return None
    if protocol != socket.IPPROTO_TCP or (destination, destination_port) != ours:
        return None
    return source, source_port


class Unanswered(OSError):
    """Connection tracking did not answer this question (see Conntrack.works)."""


class Conntrack:
    """Asks on one netlink socket per thread; `works` is False where it cannot ask at all."""

    def __init__(self):
        self._sockets = netlink.ThreadSockets(NETLINK_NETFILTER, _TIMEOUT)
        self.works = True

    def original_source(self, family: int, ours: tuple[str, int],
                        peer: tuple[str, int]) -> tuple[str, int] | None:
        """The source (address, port) the client's socket has, for a TCP connection our socket
        `ours` has with `peer` (as the listener sees it); None if connection tracking has no
        such entry (or it names no socket of this connection's). Raises Unanswered where it was
        not told this time (after which `works` may say it never will be)."""
        if not self.works:
            raise Unanswered("connection tracking is not asked here")
        request = (_NFGEN.pack(family, 0, 0)
                   + netlink.attribute(CTA_TUPLE_REPLY | _NESTED, _tuple(family, ours, peer)))
        try:
            answers = netlink.exchange(self._sockets.get(), _GET, 0, request)
        except netlink.NetlinkError as error:
            if error.errno == errno.ENOENT:
                return None  # asked: no such entry
            # EPERM/EACCES (not root), EOPNOTSUPP/EPROTONOSUPPORT (no ctnetlink here)...: the
            # dump's proof takes over, now and from now on
            self.works = False
            raise Unanswered(str(error)) from error
        except OSError as error:
            self._sockets.close()
            if not isinstance(error, TimeoutError):
                self.works = False  # no netlink socket for it here
            raise Unanswered(str(error)) from error
        for _, body in answers:
            found = netlink.attributes(body, _NFGEN.size).get(CTA_TUPLE_ORIG)
            if found is None:
                continue
            return _source_to(family, found, ours)
        return None
