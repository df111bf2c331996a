"""New connections per second on the operator's listener and on a listener for containers
(admission by peer address, idle limits per listener and per address), with N idle connections
from another address already waiting. In process, no Docker: the listener for containers asks a
stand-in that admits everyone (the decision from Docker's cached view costs the same lookup).

    .venv/bin/python scripts/bench/admission.py [--idle 0 30 250] [--seconds 2]

Each connection sends one request with `Connection: close` and reads the answer: accept, the
admission and idle-limit check, one request, close. No peer: the figures compare the two
listeners of this server, before and after a change (PYTHONPATH=<a checkout>).
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the stand-ins of the tests

from emulator import http_server  # noqa: E402
from emulator.access.gate import Gate, listen_for_containers  # noqa: E402
from tests.gate_doors import AdmitEveryone, ok_app  # noqa: E402


def connections_per_second(server, idle_count: int, seconds: float) -> float:
    threading.Thread(target=server.serve, daemon=True).start()
    port = server.bind_addr[1]
    idle = [socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
            for _ in range(idle_count)]
    time.sleep(0.3)
    count, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while sock.recv(4096):
                pass
        count += 1
    for sock in idle:
        sock.close()
    server.stop()
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", type=int, nargs="+", default=[0, 30, 250])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    print("| idle connections | operator's listener, conn/s | listener for containers, conn/s |")
    print("|---|---|---|")
    for idle in args.idle:
        plain = http_server.Server(("127.0.0.1", 0), ok_app, numthreads=4, timeout=65)
        plain.prepare()
        guarded = listen_for_containers(("127.0.0.1", 0), Gate(ok_app, AdmitEveryone(), True))
        print(f"| {idle} | {connections_per_second(plain, idle, args.seconds):.0f} | "
              f"{connections_per_second(guarded, idle, args.seconds):.0f} |")


if __name__ == "__main__":
    main()
