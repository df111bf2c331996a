"""The `serve` command's listening socket, opened before the emulator is imported and built.

From the moment it listens, the kernel queues connections and their requests; the server takes
them when it is ready, so a client that finds the port open sends its first call while the
emulator is still importing, and is answered as soon as the emulator can (instead of polling a
refused port and then connecting and sending). Only the standard library's socket module is
needed here: the point is to come before cheroot and the emulator's own modules.

The socket is set up as cheroot's prepare_socket() sets up its own (cheroot.server): address
reuse except on an ephemeral port, no Nagle delay, both IPv4 and IPv6 on "::". Python's sockets
are not inherited by child processes (PEP 446), which is what cheroot's
prevent_socket_inheritance ensures. http_server.Server adopts it in place of binding.
"""

from __future__ import annotations

import contextlib
import socket

BACKLOG = 128  # as http_server.Server's request_queue_size
_ANY_IPV6 = {"::", "::0", "::0.0.0.0"}


def open_listener(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) and listening; OSError as binding would raise it."""
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                   socket.AI_PASSIVE)
    except socket.gaierror:  # as cheroot: an address getaddrinfo does not know is bound as given
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        infos = [(family, socket.SOCK_STREAM, 0, "", (host, port) + ((0, 0) if ":" in host
                                                                    else ()))]
    error: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if port != 0:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if family == socket.AF_INET6 and host in _ANY_IPV6:
                with contextlib.suppress(AttributeError, OSError):
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(address)
            sock.listen(BACKLOG)
            return sock
        except OSError as failure:
            sock.close()
            error = failure
    raise error or OSError(f"no address to listen on for {host}:{port}")
