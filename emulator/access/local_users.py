"""Which local users the operator's listener serves: the emulator's own user and root, not every
account on the machine.

"This host" is trusted with everything: unsigned calls act as the account's root, and a task
definition may mount any host path or run privileged (access/host_access.py). Another local user
who could reach 127.0.0.1 would get all of that, which through Docker is root on the machine.
So each new connection's peer is looked up once (access/peer_uid.py; a keep-alive connection's
later requests cost nothing more), and a connection from another uid gets one AWS-shaped 403
AccessDeniedException, to its first request, and is closed: no request of its reaches the
emulator.

Not told, and served as before: a peer the kernel here has no socket for (another machine, when
the operator binds 0.0.0.0; another network namespace: the tasks of an emulator in its own
container), and everyone where sock_diag does not answer (not Linux). A loopback peer whose
socket is gone (it sent its request and closed) is refused: it must have been here.
ECS_EMULATOR_LOCAL_USERS=any serves every local user, as before; a list of uids or user names
serves those too.
"""

from __future__ import annotations

import logging
import os
import pwd

from emulator import http_connections, http_server
from emulator.access import gate
from emulator.access.peer_uid import GONE, PeerUid

log = logging.getLogger(__name__)

ANY = "any"
_LOOPBACK_PREFIXES = ("127.", "::1", "::ffff:127.")
_WARNED_LIMIT = 64  # uids whose refusal was logged (one line each)


def served_uids(setting: str) -> frozenset[int] | None:
    """The uids ECS_EMULATOR_LOCAL_USERS serves (None: any): the emulator's own and root, and
    the uids or user names it lists besides "own"."""
    if setting.strip().lower() == ANY:
        return None
    uids = {os.geteuid(), 0}
    for word in filter(None, (part.strip() for part in setting.split(","))):
        if word.lower() == "own":
            continue
        uids.add(int(word) if word.isdigit() else pwd.getpwnam(word).pw_uid)
    return frozenset(uids)


def refusal_message(uid: int) -> str:
    who = f"local user {uid} is" if uid >= 0 else "a connection whose local user is gone is"
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


class LocalUsers:
    """Tells whether a new connection's peer is a local user this listener does not serve."""

    def __init__(self, setting: str, peer_uid: PeerUid | None = None):
        self._served = served_uids(setting)
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

    def refused(self, sock, address: str) -> int | None:
        """The uid to refuse `sock`'s peer as (-1: a loopback peer whose socket is gone), or
        None to serve it."""
        if self._peer_uid is None:
            return None
        uid = self._peer_uid.of(sock)
        if uid is None:
            return -1 if address.startswith(_LOOPBACK_PREFIXES) else None
        if uid == GONE:
            return -1
        if uid in self._served:
            return None
        if uid not in self._warned and len(self._warned) < _WARNED_LIMIT:
            self._warned.add(uid)
            log.warning("refused a connection from local user %d: %s", uid,
                        "ECS_EMULATOR_LOCAL_USERS=any serves every local user")
        return uid


class _Telling(http_connections.ConnectionManager):
    """The operator's connections: the peer's user is told once, when the connection comes."""

    def _arrived(self, conn) -> None:
        uid = self.server.local_users.refused(conn.socket, conn.remote_addr or "")
        if uid is not None:
            conn.refused_uid = uid
        super()._arrived(conn)


class OperatorServer(http_server.Server):
    """The operator's listener: a connection of a local user it does not serve has its first
    request answered 403 and is closed, on the selector thread, with no worker involved."""

    ConnectionManagerClass = _Telling

    def __init__(self, *args, local_users: LocalUsers, **kwargs):
        super().__init__(*args, **kwargs)
        self.local_users = local_users

    def process_conn(self, conn) -> None:
        uid = getattr(conn, "refused_uid", None)
        if uid is None:
            return super().process_conn(conn)
        http_connections.answer_and_close(conn, _answer(uid))
