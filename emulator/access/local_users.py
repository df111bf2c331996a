"""Which local users the emulator's listeners serve: the emulator's own user and root, not every
account on the machine.

"This host" is trusted with everything: unsigned calls act as the account's root, and a task
definition may mount any host path or run privileged (access/host_access.py). Another local user
who could reach 127.0.0.1, or the gateway listeners containers reach (a host process arrives
there from one of the host's own addresses, and is HOST to the gate), would get all of that,
which through Docker is root on the machine. So each new connection that comes from this host
(its peer is loopback or an address of this host, or it arrived on a loopback address) has its
peer looked up once (access/peer_uid.py; a keep-alive connection's later requests cost nothing
more), and a connection from another uid is answered one AWS-shaped 403 AccessDeniedException
at once and closed: no request of its reaches the emulator, and it waits nowhere (the
operator's keep-alive connections keep their room). A task's connection comes from an address
of its container's network namespace, none of this host's: it costs no lookup.

A connection from this host whose peer socket the kernel's exact lookup misses is told only
where one dump of the sockets connected to us proves it (access/peer_uid.py): a socket bound to
a device (found by its own addresses, told as its maker's), or, on a gateway listener, one whose
source Docker's MASQUERADE rewrote on the way (run as root: its first source asked of connection
tracking and that socket told; otherwise served only if every socket that may be it is
live and of a served user; a dump's cost grows with the sockets connected to the port, so a
listener gives dumps a bounded share of its time: peer_uid.py). Anything else is refused: its
socket is gone (it sent its request and closed), or it was rewritten on its way to a loopback
address (the rule rewrites a source on docker0's subnet, which any local user may bind), so who
made it cannot be told; a socket is never taken for one that only shares its source port. Not
told, and served as before: a peer of another machine (when the operator binds 0.0.0.0), of
another network namespace (the tasks of an emulator in its own container), and everyone where
sock_diag does not answer (not Linux). The kernel tells who made the socket that connected: a
forwarder or proxy run by root (socat, an SSH tunnel as root) lets whoever it forwards for in;
one run by another account (an HTTP_PROXY of a user's own) is refused.
ECS_EMULATOR_LOCAL_USERS=any serves every local user, as before; a list of uids or user names
serves those too.
"""

from __future__ import annotations

import logging

from emulator import http_connections, http_server
from emulator.access import gate
from emulator.access.host_addresses import from_this_host
from emulator.access.peer_uid import GONE, PeerUid
from emulator.config import ANY_LOCAL_USER, served_local_uids

log = logging.getLogger(__name__)

ANY = ANY_LOCAL_USER
_WARNED_LIMIT = 64  # uids whose refusal was logged (one line each)


def refusal_message(uid: int) -> str:
    who = (f"local user {uid} is" if uid >= 0
           else "a connection of this host whose local user cannot be told is")
    return (f"This emulator serves its own user and root only; {who} not served (the "
            f"emulator's ECS_EMULATOR_LOCAL_USERS setting chooses who is).")


def _answer(uid: int) -> bytes:
    """The gate's refusal (access/gate.py), as the bytes on the wire."""
    said = []
    body = b"".join(gate.refuse(lambda status, headers: said.append((status, headers)),
                                refusal_message(uid)))
    status, headers = said[0]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


def _addresses(sock) -> tuple[str | None, int]:
    """The address `sock` arrived on, and its peer's interface (an IPv6 scope id; 0: none)."""
    try:
        peer = sock.getpeername()
        return sock.getsockname()[0], peer[3] if len(peer) > 3 else 0
    except (OSError, AttributeError):  # gone already (or no socket: unit tests)
        return None, 0


class LocalUsers:
    """Tells whether a new connection's peer is a local user these listeners do not serve, and
    turns such a connection away (turned_away: both the operator's listener and the ones
    containers reach call it as each connection arrives)."""

    def __init__(self, setting: str, peer_uid: PeerUid | None = None):
        self._served = served_local_uids(setting)
        self._peer_uid = None
        if self._served is not None:
            peer_uid = peer_uid or PeerUid()
            if peer_uid.works():
                self._peer_uid = peer_uid
            else:
                log.warning("this system does not tell which local user a TCP connection comes "
                            "from (no sock_diag): every local user is served as this host")
        self._warned: set[int] = set()

    @property
    def telling(self) -> bool:
        return self._peer_uid is not None

    def refused(self, sock, address: str, here: bool | None = None) -> int | None:
        """The uid to refuse `sock`'s peer (at `address`) as (-1: a connection of this host
        whose peer socket is not found, or gone), or None to serve it; `here`: whether the
        connection was made on this host, if told already."""
        if self._peer_uid is None:
            return None
        if here is None:
            here = from_this_host(address, *_addresses(sock))
        if not here:
            return None
        uid = self._peer_uid.of(sock)
        if uid is None or uid == GONE:
            return -1
        if isinstance(uid, frozenset):  # several sockets may be this one: each must be served
            uid = min(uid - self._served, default=None)
            if uid is None:
                return None
        if uid in self._served:
            return None
        if uid not in self._warned and len(self._warned) < _WARNED_LIMIT:
            self._warned.add(uid)
            log.warning("refused a connection from local user %d: %s", uid,
                        "ECS_EMULATOR_LOCAL_USERS=any serves every local user")
        return uid

    def turned_away(self, conn) -> bool:
        """Whether `conn` (a new connection, on the selector thread) is refused: if so it has
        been answered 403 and closed, before anything it sent was read as a request."""
        address = conn.remote_addr or ""
        if self._peer_uid is None:
            return False
        # Told once per connection: the gate's admission and each request's caller use it too.
        conn.this_host = here = from_this_host(address, *_addresses(conn.socket))
        uid = self.refused(conn.socket, address, here)
        if uid is None:
            return False
        http_connections.answer_and_close(conn, _answer(uid), unread=True)
        return True


class _Telling(http_connections.ConnectionManager):
    """The operator's connections: the peer's user is told once, when the connection comes."""

    def _arrived(self, conn) -> None:
        if not self.server.local_users.turned_away(conn):
            super()._arrived(conn)


class OperatorServer(http_server.Server):
    """The operator's listener: a connection of a local user it does not serve is answered 403
    and closed as it arrives, on the selector thread, with no worker involved."""

    ConnectionManagerClass = _Telling

    def __init__(self, *args, local_users: LocalUsers, **kwargs):
        super().__init__(*args, **kwargs)
        self.local_users = local_users
