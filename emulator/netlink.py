"""Netlink framing, shared by the modules that ask Linux's kernel over a netlink socket
(runtime/bridge_ports.py: rtnetlink; access/peer_uid.py: sock_diag): a request's header, the
answers' messages (a dump's many, up to its end), the kernel's errors, and attributes. Each
caller keeps its own protocol (what it asks, and what an answer's body means) and its own socket.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
import time

NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_ATTR = struct.Struct("=HH")  # nlattr (rtattr): length, type
_RECEIVE = 1 << 16  # a dump's part is at most a page or two: one datagram holds it whole


class NetlinkError(OSError):
    """The kernel answered a request with an error (its errno); a plain OSError is the socket's
    own (a timeout), after which an answer may still come on that socket."""


def open_socket(protocol: int, timeout: float | None = None) -> socket.socket:
    """A netlink socket of `protocol` (NETLINK_ROUTE, NETLINK_SOCK_DIAG...); OSError where this
    system has none (not Linux)."""
    family = getattr(socket, "AF_NETLINK", None)
    if family is None:
        raise OSError(errno.EAFNOSUPPORT, "no netlink on this system")
    sock = socket.socket(family, socket.SOCK_DGRAM, protocol)
    sock.settimeout(timeout)
    return sock


class ThreadSockets:
    """One netlink socket of `protocol` per thread, opened on first use (a listener's selector
    thread asks on its own, so none waits on another's question), closed after a socket error
    (an answer may still come on it) to be opened afresh."""

    def __init__(self, protocol: int, timeout: float | None):
        self._protocol, self._timeout = protocol, timeout
        self._local = threading.local()

    def get(self) -> socket.socket:
        sock = getattr(self._local, "sock", None)
        if sock is None:
            sock = self._local.sock = open_socket(self._protocol, self._timeout)
        return sock

    def close(self) -> None:
        sock = getattr(self._local, "sock", None)
        if sock is not None:
            sock.close()
            self._local.sock = None


def exchange(sock: socket.socket, kind: int, flags: int, payload: bytes, seq: int = 1,
             deadline: float | None = None) -> list[tuple[int, bytes]]:
    """Send one request (message type `kind`; NLM_F_REQUEST is added to `flags`) on `sock`; the
    (type, body) of each answer: a dump's every one up to its end, else the first (none for an
    acknowledgement). Raises NetlinkError with the kernel's errno, or OSError from the socket.
    Answers to another sequence number (an earlier question that timed out) are skipped.
    `deadline` (time.monotonic()): a dump not over by then raises TimeoutError; the rest of it
    stays on the socket, which then serves no other dump (close it)."""
    flags |= NLM_F_REQUEST
    sock.send(HEADER.pack(HEADER.size + len(payload), kind, flags, seq, 0) + payload)
    answers = []
    while True:
        for reply, body in messages(sock.recv(_RECEIVE), seq):
            if reply in (NLMSG_DONE, NLMSG_ERROR):
                # A dump that failed part-way says so in its NLMSG_DONE's first 4 bytes
                error = struct.unpack_from("=i", body)[0] if len(body) >= 4 else 0
                if error < 0:
                    raise NetlinkError(-error, os.strerror(-error))
                return answers  # the dump's end, or an acknowledgement
            answers.append((reply, body))
            if not flags & NLM_F_DUMP:
                return answers
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("the kernel's answer was not over in time")


def messages(data: bytes, seq: int | None = None):
    """The (type, body) of each netlink message in `data` answering `seq` (None: every one,
    as notifications are)."""
    at = 0
    while at + HEADER.size <= len(data):
        length, kind, _, number, _ = HEADER.unpack_from(data, at)
        if length < HEADER.size:
            return  # malformed: nothing after it can be framed
        if seq is None or number == seq:
            yield kind, data[at + HEADER.size:at + length]
        at += (length + 3) & ~3


def attribute(kind: int, value: bytes) -> bytes:
    """One attribute, padded to 4 bytes as the kernel reads them."""
    length = _ATTR.size + len(value)
    return _ATTR.pack(length, kind) + value + b"\0" * (-length % 4)


def attributes(body: bytes, offset: int) -> dict[int, bytes]:
    """The attributes of an answer's `body` from `offset` (past its fixed part): type -> value,
    the type without its NLA_F_ flags."""
    found = {}
    while offset + _ATTR.size <= len(body):
        length, kind = _ATTR.unpack_from(body, offset)
        if length < _ATTR.size:
            break
        found[kind & 0x3FFF] = body[offset + _ATTR.size:offset + length]
        offset += (length + 3) & ~3
    return found
