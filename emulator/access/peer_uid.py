"""Which local user owns the other end of a TCP connection: Linux's sock_diag netlink
(INET_DIAG), asked for the one socket with the connection's four addresses and ports.

A unix socket tells its peer with SO_PEERCRED (runtime/engine_locality.py); TCP has no such
option, but on one machine the peer's socket is in the kernel's table, with the uid that created
it. One exact lookup costs one netlink round trip (tens of microseconds), against a scan of
/proc/net/tcp whose cost grows with every socket on the machine.

The exact lookup misses two kinds of socket of this host: one bound to a device
(SO_BINDTODEVICE, which any user may set: `curl --interface lo`), which the kernel matches only
when asked on that device; and one whose source Docker's MASQUERADE rewrote on the way (a
connection from docker0's address to another address of this host). A rewritten one's first
source is asked of connection tracking where the emulator may ask it (root: access/conntrack.py),
and that one socket is looked up exactly, or found by its own addresses in a dump if it is
device-bound: nothing is guessed. Where it may not ask, both are found by one dump
of every TCP socket connected to our address and port (a dump lists device-bound sockets too),
which must prove which socket is this connection's; guessing by the source port alone would let
anyone who reads a served connection's port (`ss -tn`) borrow its uid. The candidates: a socket
whose own address and port are our peer's (the same connection, device-bound), and, off
loopback only, every socket whose first source has no server-side socket here (rewritten on the
way: one of them is this connection's). Their owners are all returned; the caller serves the
connection only if it serves every one of them. A dump's cost grows with the sockets connected
to our port, and a listener's selector thread waits on it: each thread's dumps take a bounded
share of its time (_DUMP_SHARE); past it, a connection that needs one is not told.

What the answer means (PeerUid.of):
- an int: the uid of the live socket at the other end;
- a frozenset of ints: the owners of every live candidate of the dump (more than one owner);
- GONE: a socket of this host, but no longer a process's (closed, half-way out, or in TIME_WAIT:
  the kernel reports those with uid 0, which proves nothing), or a candidate that may be this
  connection's and is; and any answer of the dump while our own socket is no longer ESTABLISHED
  once the dump is read (its client sent a FIN or reset: it may have sent its request and gone,
  its socket out of the dump altogether);
- None: not told: no socket here has those addresses (a peer on another machine, or in another
  network namespace, or one whose addresses NAT rewrote on a loopback listener), or this system
  has no sock_diag (not Linux).

Closed candidates that are earlier connections' are passed over (a client that closes each
connection first, as urllib and curl do, leaves one behind each call until our side closes it):
one in FIN_WAIT2 (our side took its FIN), LAST_ACK or CLOSING (our side sent its own) cannot be
this connection's while ours is still ESTABLISHED after the dump, as states only move on; one in
FIN_WAIT1 or CLOSE (a FIN or reset sent, which may be held back: a client can keep its FIN
queued behind data our side has not read) only if it has received more bytes than this
connection's peer has acknowledged of ours (its kernel's count, in the dump): everything this
connection's client received came from our socket and was acknowledged back, and a connection
just arrived has been sent nothing, so such a socket had an earlier connection's answer.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import socket
import struct
import threading
import time

from emulator import netlink
from emulator.access.conntrack import Conntrack, Unanswered

log = logging.getLogger(__name__)

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
INET_DIAG_REQ_BYTECODE = 1
_BC_JMP, _BC_S_COND, _BC_D_COND = 1, 7, 8  # inet_diag bytecode: jump; the socket's source /
# destination is (an address and port)
_NO_COOKIE = 0xFFFFFFFF
_ALL_STATES = 0xFFFFFFFF
_LISTEN = 10  # TCP_LISTEN: an exact lookup falls back to a listener, which is no peer
# A dump leaves out what cannot be this connection's socket, nor prove another's pair: a
# listener, a connection not yet answered (SYN_SENT), one already over (TIME_WAIT).
_DUMPED = _ALL_STATES & ~(1 << _LISTEN | 1 << 2 | 1 << 6)
_REQUEST = struct.Struct("=BBBBI")  # inet_diag_req_v2 up to its inet_diag_sockid
_PORTS = struct.Struct("!HH")
_TAIL = struct.Struct("=III")  # idiag_if, idiag_cookie[2]
_OWNER = struct.Struct("=II")  # inet_diag_msg's idiag_uid, idiag_inode
_OWNER_AT = 4 + 48 + 12  # in an answer: family..retrans, the sockid, expires/rqueue/wqueue
_OP = struct.Struct("=BBH")  # inet_diag_bc_op: code, yes, no (jumps, in bytes from this op)
_HOSTCOND = struct.Struct("=BBxxi")  # inet_diag_hostcond: family, prefix_len, port
_TIMEOUT = 0.25  # seconds a netlink answer is awaited (the kernel answers in microseconds)
_ESTABLISHED = 1
# A client's states that say the server's side has taken its FIN (FIN_WAIT2) or sent its own
# (CLOSING, LAST_ACK): never this connection's while our socket is still ESTABLISHED
_CLOSED_BEFORE_OURS = frozenset({5, 9, 11})
_IN_FLIGHT = frozenset({4, 7})  # FIN_WAIT1, CLOSE: may be ours, its FIN or reset on its way
# A dump asks each socket's tcp_info too (INET_DIAG_INFO): its bytes received tell an earlier
# connection's closing client (it had our answer) from this one's (sent nothing yet)
_INET_DIAG_INFO = 2
_WITH_INFO = 1 << (_INET_DIAG_INFO - 1)
_MESSAGE_SIZE = 72  # inet_diag_msg, before the attributes
_BYTES = struct.Struct("=Q")
# Our side's state whose client is in the kernel's table but for a silent abort of its own
# (ESTABLISHED: CLOSE_WAIT's client may be on its way out of it as the dump reads, and this
# connection, ESTABLISHED, is never one)
_CLIENT_KEPT = frozenset({_ESTABLISHED})
_PAIRS_ESTABLISHED = frozenset({_ESTABLISHED, 4})  # a client's ESTABLISHED, FIN_WAIT1
_ACKED_AT, _RECEIVED_AT = 120, 128  # tcp_info's tcpi_bytes_acked, tcpi_bytes_received
# A dump's cost grows with the sockets connected to our port (about 2 ms of CPU with 10 on a
# loaded 2-core machine, 20 ms with 1,000, 120 ms with 5,000), and it runs on a listener's
# selector thread, which every other connection of that listener waits on: a local flood of
# connections that each need one must not stall it. So one thread's dumps take at most
# _DUMP_SHARE of its time, up to _DUMP_BURST_S of its own CPU time at once (a tight loop of
# this host's calls to a gateway address, about 500 a second, passes for a second or more, then
# about 250 a second); past that a connection that needs a dump is not told (refused as such:
# never served unproven). A dump is cut short past _DUMP_STALL_S of wall time.
_DUMP_SHARE = 0.5
_DUMP_BURST_S = 1.0
_DUMP_STALL_S = 1.0
GONE = "gone"


def _loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


class PeerUid:
    """Asks the kernel on one netlink socket per thread (a selector thread asks, once per
    connection)."""

    def __init__(self):
        self._local = threading.local()  # each thread's dump budget
        self._sockets = netlink.ThreadSockets(NETLINK_SOCK_DIAG, _TIMEOUT)
        self._seq = itertools.count(1)
        self._warned = False  # that dumps ran out of time (logged once)
        self._conntrack = Conntrack()

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
        source, rewritten = (peer_ip, peer[1]), not _loopback(local_ip)
        if uid is None and rewritten:
            # Rewritten on the way (MASQUERADE)? Connection tracking knows the client's source;
            # once it can be asked, nothing is guessed: only the named socket counts
            try:
                found = self._conntrack.original_source(family, (local_ip, local[1]), source)
                rewritten = False
            except Unanswered:  # not told: the dump proves it as where it cannot be asked
                found = None
            if found is not None and found != source:
                source = found
                uid = self._ask(family, source[0], source[1], local_ip, local[1])
                if uid is not None and not _established(conn):
                    return GONE
        if uid is None:
            uid = self._dumped(family, source, (local_ip, local[1]),
                               lambda: _bytes_acked(conn), rewritten)
            if uid is None and source != (peer_ip, peer[1]):
                return GONE  # made here (tracked), its socket no longer in the kernel's table
            if uid is not None and not _established(conn):
                return GONE  # its client has sent a FIN or reset: it may be gone from the dump
        return uid

    def _dumped(self, family, peer: tuple[str, int], ours: tuple[str, int], acked=lambda: 0,
                rewritten: bool = True):
        """_proven within this thread's time for dumps (None: not told, when that is spent or
        the dump overruns it)."""
        budget = self._budget()
        deadline = budget.deadline()
        if deadline is None:
            if not self._warned:
                self._warned = True
                log.warning("connections of this host that only a dump of the sockets could "
                            "tell took over %d%% of a listener's time: the next are refused "
                            "until it is free again", _DUMP_SHARE * 100)
            return None
        try:
            return self._proven(family, peer, ours, deadline, acked, rewritten)
        finally:
            budget.spend()

    def _proven(self, family, peer: tuple[str, int], ours: tuple[str, int],
                deadline: float | None = None, acked=lambda: 0, rewritten: bool = True):
        """The owners of the sockets that may be this connection's, from one dump (see the
        module's docstring), or None if none may be (or the dump is not over by `deadline`).
        `acked`: how many bytes of ours this connection's peer has acknowledged (asked after the
        dump)."""
        sockets = self._dump(family, ours, deadline)
        if sockets is None:
            return None
        served_from = {remote for local, remote, *_ in sockets if local == ours}
        # Nothing reaches a loopback address rewritten; and where connection tracking told the
        # client's source, `peer` is that source: only its own socket counts
        rewritten = rewritten and not _loopback(ours[0])
        owners, candidates = set(), 0
        for local, remote, uid, inode, state, received in sockets:
            if remote != ours:
                continue
            if local == peer or (rewritten and local not in served_from):
                # Only a client that may still pair with an ESTABLISHED socket of ours counts
                # against them (_answerable): one that took our FIN, or sent its own that we
                # took, is another's (an attacker's closed ones must not pad the count)
                candidates += state in _PAIRS_ESTABLISHED
                if inode:
                    owners.add(uid)
                elif local == peer:
                    return GONE  # this connection's own socket, closed
                elif state in _CLOSED_BEFORE_OURS:
                    continue  # an earlier connection's (PeerUid.of asks that ours is ESTABLISHED)
                elif state in _IN_FLIGHT and received is not None and received > acked():
                    continue  # it had more from us than this connection had: an earlier one's
                else:
                    return GONE
        if not owners:
            return None
        if rewritten and candidates < _answerable(sockets, ours):
            return GONE  # a client left the kernel's table without a word: it may be this one's
        return next(iter(owners)) if len(owners) == 1 else frozenset(owners)

    def _dump(self, family, ours: tuple[str, int], deadline: float | None = None):
        """Every TCP socket of `family` whose source or destination is `ours`: (its own address
        and port, its remote ones, its uid, its inode, its TCP state, the bytes it has received
        (None if the kernel did not say)) each; None if not told (or not over by `deadline`)."""
        address = socket.inet_pton(family, ours[0])
        prefix = len(address) * 8
        cond = _HOSTCOND.size + len(address)
        first = _OP.size + cond
        # "destination is ours, or source is": as ss(8) writes an or. A condition met goes on to
        # the next op, one not met jumps one op further; a jump to the end accepts, past it
        # refuses. (The kernel checks that every jump lands on an op along that chain.)
        bytecode = (_OP.pack(_BC_D_COND, first, first + 4)
                    + _HOSTCOND.pack(family, prefix, ours[1]) + address
                    + _OP.pack(_BC_JMP, 4, first + 4)
                    + _OP.pack(_BC_S_COND, first, first + 4)
                    + _HOSTCOND.pack(family, prefix, ours[1]) + address)
        request = (_REQUEST.pack(family, socket.IPPROTO_TCP, _WITH_INFO, 0, _DUMPED)
                   + bytes(48)
                   + netlink.attribute(INET_DIAG_REQ_BYTECODE, bytecode))
        answers = self._exchange_all(request, netlink.NLM_F_DUMP, deadline)
        if answers is None:
            return None
        found = []
        for answer in answers:
            if len(answer) < _OWNER_AT + _OWNER.size:
                return None
            sport, dport = _PORTS.unpack_from(answer, 4)
            size = len(address)
            local = (socket.inet_ntop(family, answer[8:8 + size]), sport)
            remote = (socket.inet_ntop(family, answer[24:24 + size]), dport)
            uid, inode = _OWNER.unpack_from(answer, _OWNER_AT)
            info = netlink.attributes(answer, _MESSAGE_SIZE).get(_INET_DIAG_INFO, b"")
            received = (_BYTES.unpack_from(info, _RECEIVED_AT)[0]
                        if len(info) >= _RECEIVED_AT + _BYTES.size else None)
            found.append((local, remote, uid, inode, answer[1], received))
        return found

    def _ask(self, family, src: str, sport: int, dst: str, dport: int,
             interface: int = 0) -> int | str | None:
        request = (_REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, _ALL_STATES)
                   + _PORTS.pack(sport, dport)
                   + socket.inet_pton(family, src).ljust(16, b"\0")
                   + socket.inet_pton(family, dst).ljust(16, b"\0")
                   + _TAIL.pack(interface, _NO_COOKIE, _NO_COOKIE))
        answers = self._exchange_all(request, 0)
        if not answers:  # ENOENT: no such socket here; anything else: not told either
            return None
        answer = answers[0]
        if len(answer) < _OWNER_AT + _OWNER.size:
            return None
        state = answer[1]
        found_ports = _PORTS.unpack_from(answer, 4)
        if state == _LISTEN or found_ports != (sport, dport):
            return None
        uid, inode = _OWNER.unpack_from(answer, _OWNER_AT)
        return uid if inode else GONE

    def _exchange_all(self, request: bytes, flags: int,
                      deadline: float | None = None) -> list[bytes] | None:
        """The bodies of the kernel's answers to `request` (a dump's every one), on this
        thread's netlink socket; None if not told (the kernel's error: ENOENT, no such socket;
        a dump not over by `deadline`)."""
        try:
            sock = self._sockets.get()
            answers = netlink.exchange(sock, SOCK_DIAG_BY_FAMILY, flags, request,
                                       next(self._seq) & 0xFFFFFFFF, deadline)
        except netlink.NetlinkError:
            return None
        except OSError:  # no sock_diag here, no answer in time, or a dump cut short (the rest
            # of it would hold the socket): asked afresh next time
            self._sockets.close()
            return None
        return [body for _, body in answers]

    def _budget(self) -> "_DumpBudget":
        budget = getattr(self._local, "budget", None)
        if budget is None:
            budget = self._local.budget = _DumpBudget()
        return budget



class _DumpBudget:
    """How long one thread's dumps may still take: _DUMP_SHARE of the time that passes, at most
    _DUMP_BURST_S at once. What a dump takes is counted as the thread's own time (the kernel's
    work for it included), so a machine too loaded to run us promptly does not spend it."""

    def __init__(self, clock=time.monotonic, work=time.thread_time):
        self._clock, self._work = clock, work
        self._left = _DUMP_BURST_S
        self._at = clock()
        self._started = work()

    def deadline(self) -> float | None:
        """When (self._clock) a dump that starts now must be over; None: no time left now."""
        now = self._clock()
        self._left = min(_DUMP_BURST_S, self._left + (now - self._at) * _DUMP_SHARE)
        self._at, self._started = now, self._work()
        return now + _DUMP_STALL_S if self._left > 0 else None

    def spend(self) -> None:
        """Take the thread's time since deadline() from what is left."""
        self._left -= self._work() - self._started
        self._at = self._clock()


def _answerable(sockets, ours: tuple[str, int]) -> int:
    """How many connections of ours from a rewritten source (none of the dump's sockets has
    their remote address) must still have a client socket on the other side: ours ESTABLISHED
    (its client has not taken a FIN of ours, so it is still in the kernel's table, unless it
    left without a word: a timer's abort of its own, which sends nothing)."""
    clients = {local for local, *_ in sockets}
    return sum(1 for local, remote, _, _, state, _ in sockets
               if local == ours and remote not in clients and state in _CLIENT_KEPT)


def _bytes_acked(conn: socket.socket) -> int:
    """How many bytes we sent on `conn` its peer has acknowledged (tcp_info); 0 if not told."""
    try:
        info = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _ACKED_AT + _BYTES.size)
    except OSError:
        return 0
    return _BYTES.unpack_from(info, _ACKED_AT)[0] if len(info) >= _ACKED_AT + _BYTES.size else 0


def _established(conn: socket.socket) -> bool:
    """Whether our side of `conn` is still ESTABLISHED (tcp_info's first byte: its state)."""
    try:
        return conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] == _ESTABLISHED
    except OSError:
        return False
