"""One worker serves requests at once while they keep to the CPU (emulator/http_admission.py):
every request on many keep-alive and pipelining connections is answered, and answered with its
own response; a request that waits on something else does not keep the others out; and the
queue's rules themselves (the worker that finishes takes the next connection, a stale slot lets
the next one in, a shutdown passes a full house)."""

from __future__ import annotations

import socket
import threading
import time

from emulator import http_admission, http_server

CONNECTIONS = 48
REQUESTS_EACH = 20


def serve(app, numthreads: int = 16):
    server = http_server.Server(("127.0.0.1", 0), app, numthreads=numthreads, timeout=65)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    return server, server.bind_addr[1]


def echo(environ, start_response):
    """Answers each request with its own path, so a response given to the wrong request shows."""
    body = environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


def read_responses(sock: socket.socket, count: int) -> list[bytes]:
    """`count` responses of echo() (Content-Length bodies) from one connection, in order."""
    buffer, bodies = b"", []
    while len(bodies) < count:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(bodies)} of {count} responses"
            buffer += chunk
            continue
        head = buffer[:head_end].decode()
        assert head.startswith("HTTP/1.1 200 "), head
        length = int(next(line.split(":")[1] for line in head.split("\r\n")
                          if line.lower().startswith("content-length:")))
        while len(buffer) < head_end + 4 + length:
            chunk = sock.recv(65536)
            assert chunk, "connection closed inside a response"
            buffer += chunk
        bodies.append(buffer[head_end + 4:head_end + 4 + length])
        buffer = buffer[head_end + 4 + length:]
    return bodies


def request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def test_every_request_on_many_connections_gets_its_own_answer():
    """48 keep-alive connections at once, half sending one request at a time and half
    pipelining all of theirs in one write: each request answered, in order, with its own body."""
    server, port = serve(echo)
    failures: list[str] = []

    def client(number: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                paths = [f"/c{number}/r{i}" for i in range(REQUESTS_EACH)]
                if number % 2:
                    sock.sendall(b"".join(request(path) for path in paths))
                    got = read_responses(sock, len(paths))
                else:
                    got = []
                    for path in paths:
                        sock.sendall(request(path))
                        got += read_responses(sock, 1)
                if got != [path.encode() for path in paths]:
                    failures.append(f"connection {number}: {got[:3]}...")
        except Exception as error:  # noqa: BLE001  (reported below, with the connection)
            failures.append(f"connection {number}: {error!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CONNECTIONS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        server.stop()
    assert not any(thread.is_alive() for thread in threads), "clients still waiting"
    assert failures == []


def test_a_request_that_waits_does_not_keep_the_others_out():
    """A request that blocks (as on Docker, or a slow client) holds its worker, not the server:
    the others are answered while it waits, and it is answered when what it waits for comes."""
    released = threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/wait":
            assert released.wait(timeout=30), "never released"
        return echo(environ, start_response)

    server, port = serve(app, numthreads=4)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as waiting:
            waiting.sendall(request("/wait"))
            time.sleep(0.05)  # it has taken a worker and its slot
            others = [socket.create_connection(("127.0.0.1", port), timeout=10)
                      for _ in range(3)]
            try:
                for number, sock in enumerate(others):
                    sock.sendall(request(f"/other{number}"))
                for number, sock in enumerate(others):
                    assert read_responses(sock, 1) == [f"/other{number}".encode()]
            finally:
                for sock in others:
                    sock.close()
            released.set()
            assert read_responses(waiting, 1) == [b"/wait"]
    finally:
        released.set()
        server.stop()


# -- the queue's rules ---------------------------------------------------------------------------

def take_in_thread(queue: http_admission.AdmissionQueue, taken: list) -> threading.Thread:
    thread = threading.Thread(target=lambda: taken.append(queue.get()), daemon=True)
    thread.start()
    return thread


def test_the_worker_that_finishes_takes_the_next_connection_and_others_wait():
    queue = http_admission.AdmissionQueue(slots=1, stale_after=30)
    for item in ("a", "b", "c"):
        queue.put(item)
    assert queue.get() == "a"  # this thread now serves "a"
    other: list = []
    waiting = take_in_thread(queue, other)
    waiting.join(timeout=0.2)
    assert waiting.is_alive() and other == []  # one slot, held by a fresh request
    assert queue.get() == "b"  # done with "a": the same worker goes on, without a hand-over
    assert queue.qsize() == 1 and other == []
    queue.idle()  # waiting for its client: the slot does not count, and the next put wakes one
    queue.put("d")
    waiting.join(timeout=5)
    assert other == ["c"]


def test_a_request_that_holds_its_slot_too_long_lets_the_next_in():
    queue = http_admission.AdmissionQueue(slots=1, stale_after=0.05)
    queue.put("blocked")
    queue.put("next")
    assert queue.get() == "blocked"  # and this thread never comes back
    taken: list = []
    take_in_thread(queue, taken).join(timeout=5)
    assert taken == ["next"]


def test_a_shutdown_passes_a_full_house():
    queue = http_admission.AdmissionQueue(slots=1, stale_after=30)
    queue.put("serving")
    assert queue.get() == "serving"
    queue.put("queued")
    taken: list = []
    worker = take_in_thread(queue, taken)
    queue.put(http_admission._SHUTDOWN)
    worker.join(timeout=5)
    assert taken == [http_admission._SHUTDOWN] and queue.qsize() == 1


def test_a_worker_let_in_beside_a_slow_request_holds_on_and_the_slow_one_does_not():
    """After a slow request lets a second worker in, only the second holds its connection for
    the next request: two holding at once would trade the GIL at every syscall."""
    queue = http_admission.AdmissionQueue(slots=1, stale_after=0.05)
    queue.put("slow")
    queue.put("next")
    assert queue.get() == "slow"
    assert not queue.crowded()  # alone: holds on to its connection
    seen: list = []

    def second() -> None:
        seen.append(queue.get())
        seen.append(queue.crowded())

    thread = threading.Thread(target=second, daemon=True)
    thread.start()
    thread.join(timeout=5)
    assert seen == ["next", False]  # let in once "slow" went stale; the slow one does not count
    assert queue.crowded()  # "slow" is done: another worker's fresh request fills the slot


def test_the_watch_is_patient_with_a_worker_that_moves_on_and_not_with_a_stuck_one():
    """The watch wakes when the serving request turns stale; finding the worker on a newer
    request, it looks again only `patience` later, and then lets the next in if that request
    has gone stale meanwhile."""
    queue = http_admission.AdmissionQueue(slots=1, stale_after=0.2, patience=1.0)
    queue.put("first")
    queue.put("waiting")
    assert queue.get() == "first"
    taken: list = []
    watch = take_in_thread(queue, taken)  # sleeps until "first" is 0.2 s old
    time.sleep(0.15)
    queue.serving()  # a newer request on this worker's connection, fresh when the watch wakes
    watch.join(timeout=0.6)
    assert watch.is_alive() and taken == []  # not let in at 0.35 s, when the newer one went stale
    watch.join(timeout=5)  # and this worker never comes back: the next look lets it in
    assert taken == ["waiting"]
