"""Whether the peer of an accepted TCP connection still holds it, by a round trip only that peer
can answer (a TCP keepalive probe): for a connection on Docker's default bridge accepted before
its address's task was admitted to the anti-spoofing guard (access/gate.py).

Until the admission, a container elsewhere on the bridge that held the address (Docker hands
out the lowest free one) could have made the connection and sent its request at once. After it,
the guard lets packets to the address leave by the task's own port only, and drops a stranger's
from it: the task's kernel answers the probe if the connection is its own and resets it if not.
So a connection still open after the probe's round trip is the task's; one reset, or not
answered within PROBE_WAIT_S, is not. The task's own calls made before its admission (a bridge
container that calls at once; the admission lands tens of ms after Docker's start) are served
CHECK_AFTER_S late instead of being closed unread.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable

PROBE_AFTER_S = 1  # the probe goes out after this long without a packet from the peer
PROBE_WAIT_S = 1  # ... and an unanswered one ends the connection this long after it
CHECK_AFTER_S = PROBE_AFTER_S + PROBE_WAIT_S + 0.5
_OPEN = {1, 8}  # tcpi_state: TCP_ESTABLISHED, TCP_CLOSE_WAIT (the peer sent its FIN)


def check_later(sock: socket.socket, then: Callable[[bool], None]) -> None:
    """Probe `sock`'s peer; `then(held)` on a thread of its own CHECK_AFTER_S later (at once,
    with False, where the socket cannot be probed)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, PROBE_AFTER_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, PROBE_WAIT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 1)
    except OSError:  # closed meanwhile, or not TCP
        then(False)
        return
    timer = threading.Timer(CHECK_AFTER_S, lambda: then(_held(sock)))
    timer.daemon = True
    timer.start()


def _held(sock: socket.socket) -> bool:
    """Whether the connection is still open (the probe was answered); keepalive off again."""
    try:
        state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0)
    except OSError:
        return False
    return state in _OPEN
