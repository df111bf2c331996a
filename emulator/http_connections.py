"""Connections wait in the selector, never on a worker thread, until a whole request head is in.

cheroot hands a connection to a worker as soon as it is accepted or a byte arrives, and the
worker then blocks reading the request line and headers: sixteen clients that connect and send
nothing (or send a header line every few seconds) hold all sixteen workers, and the API stops
answering. Here the selector thread reads what a connection sends, without blocking, into the
connection's read-ahead buffer, and passes the connection to a worker only once the head has
arrived whole; the worker reads those bytes first (HeadFirstIO), so cheroot parses as before.

A request's body waits with its head when it is small (BODY_PREFETCH; most API calls), so a
client that sends it slowly holds no worker either; a larger body streams on a worker (registry
layers of gigabytes go straight to disk).

Limits on what waits (every one answered the way nginx answers it, then the connection closes):
- a head (and small body) must arrive whole within HEAD_DEADLINE seconds of its first byte (408);
- a head may not exceed HEAD_LIMIT bytes (431);
- a connection that sends nothing is closed after the server's keep-alive timeout;
- a listener keeps at most `idle_limit` connections waiting (a listener containers reach also at
  most `per_peer_limit` from one address): a new connection past that closes the longest idle
  one first (an idle keep-alive connection is one a client must expect to find closed).
Waiting connections cost a file descriptor and at most HEAD_LIMIT + BODY_PREFETCH bytes each,
no thread.

A new connection goes through `_arrived`, where a listener containers reach decides first whether
the peer is served at all (access/gate.py), before a byte is read.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import socket
import time

from emulator import cheroot_import  # noqa: F401  (before cheroot; see there)
from cheroot import connections

log = logging.getLogger(__name__)

HEAD_LIMIT = 32 * 1024  # request line and headers together, as nginx's 4 x 8 KiB buffers
HEAD_DEADLINE = 10.0  # seconds from a request's first byte to its head's last (and small body's)
# A body up to this size (by its Content-Length) is waited for in the selector too, so that a
# client sending it slowly holds no worker either; larger bodies stream on a worker.
BODY_PREFETCH = 64 * 1024
# Connections a listener keeps waiting for their next request (the operator's listener; the
# ones containers reach keep fewer, access/gate.py).
IDLE_LIMIT = 1000
_HEAD_END = re.compile(rb"\n\r?\n")  # CRLF, or a bare LF that the worker's parser refuses
# What a request's first byte can be: a method's letter, or an empty line before it.
_REQUEST_START = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\r\n")
_LENGTH = re.compile(rb"\ncontent-length[ \t]*:[ \t]*([0-9]{1,9})[ \t]*\r?\n")
_ODD_BODY = re.compile(rb"\n(?:expect|transfer-encoding)[ \t]*:")  # of a lower-cased head

# What gather() finds.
WAIT, READY, CLOSED, TOO_LARGE, NOT_HTTP = "wait", "ready", "closed", "too-large", "not-http"

def _plain(status: str, text: str) -> bytes:
    body = text.encode() + b"\r\n"
    # (Server: as on every answer of the emulator's, so a client tells it from another server's)
    return (f"HTTP/1.1 {status}\r\nConnection: close\r\nServer: ecs-emulator\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


_TIMEOUT_ANSWER = _plain("408 Request Timeout",
                         f"The request did not arrive whole within {HEAD_DEADLINE:g} s.")
_NOT_HTTP_ANSWER = _plain("400 Bad Request", "This port speaks plain HTTP.")
_TOO_LARGE_ANSWER = _plain("431 Request Header Fields Too Large",
                           f"The request head is over {HEAD_LIMIT // 1024} KiB.")


class HeadFirstIO(socket.SocketIO):
    """The raw stream under a connection's reader: the bytes the selector read ahead, then the
    socket. `parked` makes it answer "nothing now" instead of reading the socket."""

    def __init__(self, sock, mode):
        super().__init__(sock, mode)
        self.ahead = bytearray()
        self.parked = False
        self.scanned = 0  # bytes of `ahead` known to hold no end of a head
        self.wanted: int | None = None  # bytes of `ahead` the waiting request takes, once known
        self.reader_empty = False  # whether the reader above is known to hold nothing
        self.head_since: float | None = None  # when the waiting head's first byte came

    def readinto(self, buffer) -> int | None:
        self.reader_empty = False
        ahead = self.ahead
        if ahead:
            size = min(len(buffer), len(ahead))
            buffer[:size] = ahead[:size]
            del ahead[:size]
            self.scanned = 0
            return size
        if self.parked:
            return None
        return super().readinto(buffer)


def gather(conn, receive: bool = True) -> str:
    """Read what the connection has sent, without blocking, and say whether a request is in:
    its whole head, and its body too when that is small (BODY_PREFETCH). `receive=False` judges
    only what is already read (no syscall): for a connection that goes to the selector next,
    which reports bytes already on the socket at once.

    Bytes the reader already holds (a request sent right behind the last one) are moved back in
    front of the read-ahead buffer first, so the request is judged on everything not yet parsed."""
    rfile = conn.rfile
    raw = getattr(rfile, "raw", None)
    if not isinstance(raw, HeadFirstIO):
        return READY  # a TLS adapter's own reader: cheroot's way
    held = b""
    if not raw.reader_empty:
        raw.parked = True
        try:
            held = rfile.peek(1)
            if held:
                raw.ahead[0:0] = rfile.read(len(held))
        finally:
            raw.parked = False
        raw.reader_empty = True
    ahead = raw.ahead
    if raw.wanted is None and held:
        _find_request(raw)
    room = (HEAD_LIMIT + 1 if raw.wanted is None else raw.wanted) - len(ahead)
    if room > 0 and receive:
        received = _receive(conn.socket, room)
        if received == b"":  # the client is gone; a partial request gets cheroot's 400
            return CLOSED if not ahead else _ready(raw)
        if received:
            ahead += received
            if raw.wanted is None:
                _find_request(raw)
    if raw.wanted is not None and len(ahead) >= raw.wanted:
        return _ready(raw)
    if not ahead:
        return WAIT
    if raw.wanted is None and ahead[0] not in _REQUEST_START:
        # Not HTTP at all (a TLS ClientHello: Docker tries https first on every registry):
        # refused at once, as a client that falls back to http expects; a worker would wait
        # for a line end that never comes.
        raw.head_since = None
        return NOT_HTTP
    if raw.head_since is None:
        raw.head_since = time.monotonic()
    return TOO_LARGE if raw.wanted is None and len(ahead) > HEAD_LIMIT else WAIT


def _ready(raw: HeadFirstIO) -> str:
    raw.head_since = raw.wanted = None
    return READY


def _find_request(raw: HeadFirstIO) -> None:
    """Set `wanted` (the bytes of `ahead` the request takes: its head, and its body when small)
    once the head's empty line is in."""
    ahead = raw.ahead
    found = _HEAD_END.search(ahead, max(raw.scanned - 2, 0))
    if found is None:
        raw.scanned = len(ahead)
        return
    end = found.end()
    head = bytes(ahead[:end]).lower()
    body = 0
    if _ODD_BODY.search(head) is None:
        # Only a plain small length: the worker's parser refuses anything odd.
        match = _LENGTH.search(head)
        body = int(match.group(1)) if match else 0
        body = body if body <= BODY_PREFETCH else 0
    raw.wanted = end + body


def _receive(sock: socket.socket, size: int) -> bytes | None:
    """What the socket holds now (b"" at its end), or None when nothing has come."""
    if sock.gettimeout() is not None:
        # A socket with a timeout is non-blocking underneath, so one read(2) answers at once
        # (sock.recv would poll first, and toggling the timeout costs two more syscalls).
        try:
            return os.read(sock.fileno(), size)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return b""
    sock.settimeout(0)
    try:
        return sock.recv(size)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""
    finally:
        sock.settimeout(None)


def answer_and_close(conn, answer: bytes, unread: bool = False) -> None:
    """Send `answer` (what fits at once) and close. `unread`: what the client has sent so far
    is read and dropped first (one read), so the close ends the connection in order (FIN)
    instead of resetting it, which could drop the answer before the client reads it."""
    try:
        conn.socket.settimeout(0)
        if unread:
            _drop_received(conn.socket)
        conn.socket.send(answer)
        conn.socket.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    conn.close()


def _drop_received(sock: socket.socket) -> None:
    try:
        sock.recv(HEAD_LIMIT + BODY_PREFETCH)
    except (BlockingIOError, InterruptedError):
        pass


class ConnectionManager(connections.ConnectionManager):
    """cheroot's manager, keeping every connection in the selector until its head is whole."""

    idle_limit: int | None = IDLE_LIMIT  # connections waiting in the selector, at most
    per_peer_limit: int | None = None  # of them from one address, at most

    def put(self, conn) -> None:
        """A worker is done with `conn`'s request and keeps the connection open."""
        conn.last_used = time.time()
        # Its response has just gone out, so the next request is seldom on the socket yet:
        # not read for here (a read(2) that finds nothing), the selector sees it come.
        self._route(conn, registered=False, receive=False)

    def _route(self, conn, registered: bool, receive: bool = True) -> None:
        state = gather(conn, receive)
        if state == WAIT:
            if not registered:
                self._selector.register(conn.socket.fileno(), connections.selectors.EVENT_READ,
                                        data=conn)
            return
        if registered:
            self._selector.unregister(conn.socket.fileno())
        if state == READY:
            self.server.process_conn(conn)
        elif state == TOO_LARGE:
            answer_and_close(conn, _TOO_LARGE_ANSWER)
        elif state == NOT_HTTP:
            answer_and_close(conn, _NOT_HTTP_ANSWER)
        else:
            conn.close()

    def _run(self, expiration_interval: float) -> None:
        """cheroot's loop, but a new or readable connection goes to gather() first."""
        last_expiration_check = time.time()
        while not self._stop_requested:
            try:
                active = list(self._selector.select(timeout=expiration_interval))
            except OSError:
                self._remove_invalid_sockets()
                continue
            for _, conn in active:
                if conn is self.server:
                    new_conn = self._accept()
                    if new_conn is not None:
                        new_conn.last_used = time.time()
                        self._arrived(new_conn)
                else:
                    self._route(conn, registered=True)
            now = time.time()
            if now - last_expiration_check > expiration_interval:
                self._expire(threshold=now - self.server.timeout)
                last_expiration_check = now

    def _arrived(self, conn) -> None:
        """A new connection (on the selector thread): room is made for it among the waiting
        ones, then it waits for its request."""
        self._make_room(conn.remote_addr or "")
        self._route(conn, registered=False)

    def _make_room(self, arriving=None) -> None:
        """Close the longest idle connections past the limits, counting one more from the
        address `arriving` (a new connection's) when given. Only on the selector thread: a
        worker must not unregister a connection the selector may be handing out. Connections
        that come back from a worker or an admission thread are counted at the next tick."""
        over_all = (0 if self.idle_limit is None  # less the listening socket, plus the new one
                    else len(self._selector) - 1 + (arriving is not None) - self.idle_limit)
        if over_all <= 0 and self.per_peer_limit is None:
            return  # the common case: one len(), no scan
        idle = sorted(((conn.last_used, fd, conn) for fd, conn in self._selector.connections
                       if conn is not self.server), key=lambda item: item[0])
        doomed = {}
        if self.per_peer_limit is not None:
            by_peer: dict = {}
            for item in idle:
                by_peer.setdefault(item[2].remote_addr, []).append(item)
            for peer, own in by_peer.items():
                over = len(own) + (peer == arriving) - self.per_peer_limit
                doomed.update((fd, conn) for _, fd, conn in own[:max(over, 0)])
        over_all -= len(doomed)
        if over_all > 0:
            doomed.update((fd, conn) for _, fd, conn in
                          [item for item in idle if item[1] not in doomed][:over_all])
        for fd, conn in doomed.items():
            self._selector.unregister(fd)
            conn.close()

    def _accept(self):
        try:
            return self._from_server_socket(self.server.socket)
        except OSError as error:
            if error.errno not in (errno.EMFILE, errno.ENFILE):
                raise
            # Out of file descriptors: the longest idle connection makes room.
            log.warning("out of file descriptors (%s); closing the longest idle connection",
                        error)
            self._close_longest_idle()
            return None

    def _close_longest_idle(self) -> None:
        idle = [(conn.last_used, fd, conn) for fd, conn in self._selector.connections
                if conn is not self.server]
        if idle:
            _, fd, conn = min(idle, key=lambda item: item[0])
            self._selector.unregister(fd)
            conn.close()

    def _expire(self, threshold: float) -> None:
        """Close connections idle since before `threshold`, and answer 408 to those whose head
        has been arriving for longer than HEAD_DEADLINE."""
        now = time.monotonic()
        expired = []
        for fd, conn in self._selector.connections:
            if conn is self.server:
                continue
            since = getattr(getattr(conn.rfile, "raw", None), "head_since", None)
            if since is not None and now - since > HEAD_DEADLINE:
                expired.append((fd, conn, _TIMEOUT_ANSWER))
            elif conn.last_used < threshold:
                expired.append((fd, conn, None))
        for fd, conn, answer in expired:
            self._selector.unregister(fd)
            if answer:
                answer_and_close(conn, answer)
            else:
                conn.close()
        self._make_room()
