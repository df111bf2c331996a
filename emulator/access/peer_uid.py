"""Which local user owns the other end of a TCP connection: Linux's sock_diag netlink
(INET_DIAG), asked for the one socket with the connection's four addresses and ports.

A unix socket tells its peer with SO_PEERCRED (runtime/engine_locality.py); TCP has no such
option, but on one machine the peer's socket is in the kernel's table, with the uid that created
it. One exact lookup costs one netlink round trip (tens of microseconds), against a scan of
/proc/net/tcp whose cost grows with every socket on the machine.

What the answer means (PeerUid.of):
- an int: the uid of the live socket at the other end;
- GONE: a socket of this host, but no longer a process's (closed, half-way out, or in TIME_WAIT:
  the kernel reports those with uid 0, which proves nothing);
- None: not told: no socket here has those addresses (a peer on another machine, or in another
  network namespace, or one whose addresses NAT rewrote, unless its first source was our own
  address), or this system has no sock_diag (not Linux).
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import socket
import struct
import threading

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
_NO_COOKIE = 0xFFFFFFFF
_ALL_STATES = 0xFFFFFFFF
_LISTEN = 10  # TCP_LISTEN: an exact lookup falls back to a listener, which is no peer
_HEADER = struct.Struct("=IHHII")  # nlmsghdr
_REQUEST = struct.Struct("=BBBBI")  # inet_diag_req_v2 up to its inet_diag_sockid
_PORTS = struct.Struct("!HH")
_TAIL = struct.Struct("=III")  # idiag_if, idiag_cookie[2]
_OWNER = struct.Struct("=II")  # inet_diag_msg's idiag_uid, idiag_inode
_OWNER_AT = _HEADER.size + 4 + 48 + 12  # family..retrans, the sockid, expires/rqueue/wqueue
GONE = "gone"


class PeerUid:
    """One netlink socket, asked under a lock (the selector thread asks, once per connection)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._seq = itertools.count(1)

    def works(self) -> bool:
        """Whether this system answers at all: asked about a connection of our own."""
        try:
            with socket.socket() as listener:
                listener.bind(("127.0.0.1", 0))
                listener.listen(1)
                with socket.create_connection(listener.getsockname(), timeout=2):
                    served, _ = listener.accept()
                    with served:
                        uid = self.of(served)
                    # (the uid a socket is made with is its maker's effective one)
                    return isinstance(uid, int) and uid == os.geteuid()
        except OSError:
            return False

    def of(self, conn: socket.socket) -> int | str | None:
        """The uid owning the peer of `conn` (see the module's docstring), or None."""
        try:
            local = conn.getsockname()
            peer = conn.getpeername()
        except OSError:
            return GONE
        if conn.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        family, peer_ip, local_ip = conn.family, peer[0], local[0]
        # A link-local peer's socket is bound to its interface (the scope id), and the kernel
        # matches a socket's interface too: without it, such a peer is never found.
        interface = peer[3] if family == socket.AF_INET6 else 0
        if family == socket.AF_INET6:
            mapped = ipaddress.IPv6Address(peer_ip.split("%")[0]).ipv4_mapped
            if mapped is not None:  # an IPv4 client of a dual-stack listener
                family, peer_ip = socket.AF_INET, str(mapped)
                local_ip = str(ipaddress.IPv6Address(local_ip.split("%")[0]).ipv4_mapped)
        # The peer's socket: its own address is our peer's, its remote one is ours.
        peer_ip, local_ip = peer_ip.split("%")[0], local_ip.split("%")[0]
        uid = self._ask(family, peer_ip, peer[1], local_ip, local[1], interface)
        if uid is None and peer_ip != local_ip:
            # Docker's MASQUERADE (-s <bridge subnet> ! -o <bridge>) rewrites a connection this
            # host makes to its own bridge address, from that address (the source the kernel
            # picks), to come from another of its addresses, keeping the port: the socket is
            # found at its first source. (Only a connection from this host is asked about.)
            uid = self._ask(family, local_ip, peer[1], local_ip, local[1], interface)
        return uid

    def _ask(self, family, src: str, sport: int, dst: str, dport: int,
             interface: int = 0) -> int | str | None:
        request = (_REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, _ALL_STATES)
                   + _PORTS.pack(sport, dport)
                   + socket.inet_pton(family, src).ljust(16, b"\0")
                   + socket.inet_pton(family, dst).ljust(16, b"\0")
                   + _TAIL.pack(interface, _NO_COOKIE, _NO_COOKIE))
        with self._lock:
            seq = next(self._seq) & 0xFFFFFFFF
            message = _HEADER.pack(_HEADER.size + len(request), SOCK_DIAG_BY_FAMILY,
                                   NLM_F_REQUEST, seq, 0) + request
            try:
                answer = self._exchange(message, seq)
            except OSError:
                self._close()
                return None
        if answer is None:
            return None
        _, kind, _, _, _ = _HEADER.unpack_from(answer)
        if kind == NLMSG_ERROR:  # ENOENT: no such socket here; anything else: not told either
            return None
        if len(answer) < _OWNER_AT + _OWNER.size:
            return None
        state = answer[_HEADER.size + 1]
        found_ports = _PORTS.unpack_from(answer, _HEADER.size + 4)
        if state == _LISTEN or found_ports != (sport, dport):
            return None
        uid, inode = _OWNER.unpack_from(answer, _OWNER_AT)
        return uid if inode else GONE

    def _exchange(self, message: bytes, seq: int) -> bytes | None:
        if self._sock is None:
            self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
            self._sock.settimeout(1.0)
        self._sock.send(message)
        while True:  # an answer to an earlier question that timed out is skipped
            answer = self._sock.recv(8192)
            if len(answer) < _HEADER.size:
                return None
            if _HEADER.unpack_from(answer)[3] == seq:
                return answer

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

