"""Front door streams: whether the other front doors still answer while one front door's
clients hold endless answers without reading them (emulator/front_door_routes.py).

    .venv/bin/python scripts/bench/front_door_streams.py
    PYTHONPATH=DIR .venv/bin/python scripts/bench/front_door_streams.py   # DIR: another commit's
                                                     # emulator/ (`git archive main emulator`)

In process: the front doors' forwarding (front_door_routes._forward) on the emulator's HTTP
server with the front doors' threads (front_doors.THREADS), behind which one "task" answers every
request with an endless chunked body and another answers a small page. Opens as many requests
to the endless one as the server has threads, reads their heads and then nothing (a client that
never finishes reading), and then asks the page: prints the endless requests' statuses, and the
page's status and seconds (no answer within 10 s: the front doors had stopped for everyone).
"""

from __future__ import annotations

import http.client
import inspect
import os
import socket
import threading
import time

from flask import Flask

from emulator import front_door_routes, front_doors, http_server

PAGE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
CHUNK = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"


def task(endless: bool) -> int:
    """A task's port on 127.0.0.1: its number."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer(sock):
        with sock:
            head = b""
            while b"\r\n\r\n" not in head and (data := sock.recv(65536)):
                head += data
            try:
                if not endless:
                    sock.sendall(PAGE)
                    return
                sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                while True:
                    sock.sendall(CHUNK)
            except OSError:
                return

    def accept():
        while True:
            sock, _ = listener.accept()
            threading.Thread(target=answer, args=(sock,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def main() -> None:
    ports = {"endless": task(True), "page": task(False)}
    keyed = "door" in inspect.signature(front_door_routes._forward).parameters
    app = Flask(__name__)

    @app.route("/<door>/<path:path>")
    def forward(door, path):
        extra = {"door": door} if keyed else {}
        return front_door_routes._forward([("127.0.0.1", ports[door])], door, path, **extra)

    server = http_server.Server(("127.0.0.1", 0), app, numthreads=front_doors.THREADS,
                                timeout=65)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    port = server.bind_addr[1]
    held = []
    for n in range(front_doors.THREADS):
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        client.request("GET", f"/endless/{n}")
        held.append((client, client.getresponse().status))
    print(f"front doors' threads {front_doors.THREADS}; endless requests answered "
          f"{[status for _, status in held]}")
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    client.request("GET", "/page/index.html")
    began = time.monotonic()
    try:
        status = client.getresponse().status
        print(f"another front door: {status} in {time.monotonic() - began:.3f} s")
    except OSError as error:
        print(f"another front door: no answer in {time.monotonic() - began:.1f} s "
              f"({type(error).__name__})")
    os._exit(0)  # the server's threads are still stuck in the unread streams


if __name__ == "__main__":
    main()
