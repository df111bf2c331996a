"""The front door's forwarding of a task's answer (emulator/front_door_routes.py) when the task
misbehaves: an answer broken off, a chunked one broken off, an answer that is not HTTP, a HEAD,
one without a Content-Type; and the headers passed each way (emulator/front_door_headers.py).

A scripted "task" (a socket that sends fixed bytes) behind the front door's forwarding on the
emulator's own HTTP server (emulator/http_server.py), asked by a real HTTP client: what a client
of an Express service sees, without the seconds a real task costs."""

from __future__ import annotations

import http.client
import socket
import threading

import pytest
from flask import Flask

from emulator import front_door_routes, http_server


class _Task:
    """A task's port: each connection reads the request head, then gets `answer` and is closed
    (or, with `hold`, kept open until the front door closes it: `closed` is set then)."""

    def __init__(self):
        self.answer, self.hold = b"", False
        self.heads: list[bytes] = []  # each request head the task got
        self.closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with sock:
                head = b""
                while b"\r\n\r\n" not in head and (data := sock.recv(65536)):
                    head += data
                self.heads.append(head)
                sock.sendall(self.answer)
                if self.hold:
                    sock.settimeout(5)
                    if sock.recv(1) == b"":
                        self.closed.set()

    def close(self):
        self._listener.close()


@pytest.fixture(scope="module")
def door():
    task = _Task()
    app = Flask(__name__)

    @app.route("/<path:path>", methods=front_door_routes.METHODS)
    def forward(path):
        return front_door_routes._forward([("127.0.0.1", task.port)], "service", path)

    server = http_server.Server(("127.0.0.1", 0), app, numthreads=2)
    server.logged = []
    server.error_log = lambda msg="", level=20, traceback=False: server.logged.append(msg)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    yield task, server
    server.stop()
    task.close()


def _ask(door, answer: bytes, method="GET", hold=False):
    task, server = door
    task.answer, task.hold = answer, hold
    task.closed.clear()
    client = http.client.HTTPConnection("127.0.0.1", server.bind_addr[1], timeout=5)
    client.request(method, "/page")
    return client, client.getresponse()


def test_a_whole_answer_keeps_the_tasks_content_length(door):
    client, got = _ask(door, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    assert (got.status, got.getheader("Content-Length"), got.read()) == (200, "5", b"hello")
    client.close()


def test_an_answer_cut_short_of_its_length_reaches_the_client_short(door):
    client, got = _ask(door, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
    assert got.getheader("Content-Length") == "100"
    with pytest.raises(http.client.IncompleteRead):
        got.read()
    client.close()
    assert not door[1].logged


def test_a_chunked_answer_broken_off_ends_without_its_last_chunk_nor_a_logged_error(door):
    client, got = _ask(door, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"4\r\npart\r\n10\r\nbroken")
    assert got.getheader("Content-Length") is None
    with pytest.raises(http.client.IncompleteRead) as broken:
        got.read()
    assert broken.value.partial.startswith(b"part")
    client.close()
    assert not door[1].logged


def test_a_bad_chunk_size_ends_the_answer_early_without_a_logged_error(door):
    client, got = _ask(door, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"zz\r\nnot a chunk\r\n0\r\n\r\n")
    with pytest.raises(http.client.IncompleteRead):
        got.read()
    client.close()
    assert not door[1].logged


def test_a_task_that_answers_something_other_than_http_gets_502(door):
    client, got = _ask(door, b"SSH-2.0-OpenSSH_9.6\r\n")
    assert (got.status, got.read()) == (502, b"502 Bad Gateway\n")
    client.close()


def test_a_head_keeps_its_length_and_the_connection_and_closes_the_tasks(door):
    client, got = _ask(door, b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", "HEAD",
                       hold=True)
    assert (got.status, got.getheader("Content-Length"), got.read()) == (200, "1234", b"")
    assert got.getheader("Connection") is None  # kept alive: the next request on it
    assert door[0].closed.wait(5)
    client.request("HEAD", "/again")
    assert client.getresponse().status == 200
    client.close()


def _head_fields(head: bytes) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for line in head.split(b"\r\n")[1:]:
        if line:
            name, _, value = line.decode("latin-1").partition(":")
            fields.setdefault(name.lower(), []).append(value.strip())
    return fields


def test_an_untyped_answer_gets_no_type_and_no_answer_is_sniffed(door):
    """Every front door shares one origin: an answer without a Content-Type must not become
    HTML there (Flask's default), and the browser is told not to guess."""
    client, got = _ask(door, b"HTTP/1.0 200 OK\r\n\r\n<script>alert(1)</script>")
    assert got.status == 200 and got.getheader("Content-Type") is None
    assert got.getheader("X-Content-Type-Options") == "nosniff"
    assert got.read() == b"<script>alert(1)</script>"
    client.close()
    client, got = _ask(door, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"X-Content-Type-Options: whatever\r\nContent-Length: 2\r\n\r\n{}")
    assert got.getheader("Content-Type") == "application/json"
    assert got.headers.get_all("X-Content-Type-Options") == ["nosniff"]
    assert got.read() == b"{}"
    client.close()
    # A Content-Type the answer itself makes hop-by-hop, or whose value holds a NUL, is
    # dropped: the answer is untyped then, never Flask's text/html.
    for typed in (b"Connection: Content-Type\r\nContent-Type: text/plain\r\n",
                  b"Content-Type: text/plain\0\r\n"):
        client, got = _ask(door, b"HTTP/1.1 200 OK\r\n" + typed +
                           b"Content-Length: 2\r\n\r\nhi")
        assert got.status == 200 and got.getheader("Content-Type") is None, typed
        assert got.read() == b"hi"
        client.close()


def test_the_task_sees_the_front_doors_forwarding_headers_not_the_clients(door):
    task, server = door
    task.answer, task.hold = b"HTTP/1.1 204 No Content\r\n\r\n", False
    port = server.bind_addr[1]
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    client.request("GET", "/page?q=1", headers={
        "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "443", "X-Forwarded-Host": "bank.example", "X-Real-IP": "10.0.0.1",
        "Forwarded": "for=10.0.0.1;host=bank.example", "X-Kept": "yes"})
    assert client.getresponse().status == 204
    client.close()
    head = task.heads[-1]
    assert head.startswith(b"GET /page?q=1 HTTP/1.1\r\n")
    fields = _head_fields(head)
    # as an ALB: the client's address appended, the front door's scheme and port
    assert fields["x-forwarded-for"] == ["203.0.113.9, 127.0.0.1"]
    assert fields["x-forwarded-proto"] == ["http"]
    assert fields["x-forwarded-port"] == [str(port)]
    assert fields["host"] == [f"127.0.0.1:{port}"]  # the client's, as an ALB keeps it
    for claimed in ("x-forwarded-host", "x-real-ip", "forwarded"):
        assert claimed not in fields, head
    assert fields["x-kept"] == ["yes"]


def test_a_header_name_that_is_not_a_token_is_refused_and_never_forwarded(door):
    task, server = door
    task.answer = b"HTTP/1.1 204 No Content\r\n\r\n"
    forwarded = len(task.heads)
    with socket.create_connection(("127.0.0.1", server.bind_addr[1]), timeout=5) as sock:
        sock.sendall(b"GET /page HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Name: x\r\n"
                     b"Connection: close\r\n\r\n")
        answer = b""
        while data := sock.recv(65536):
            answer += data
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert b"The header name 'Bad Name' is not a token." in answer
    assert len(task.heads) == forwarded


def _raw(server, request: bytes) -> bytes:
    """The front door's whole answer to the raw `request` (which asks the connection closed)."""
    with socket.create_connection(("127.0.0.1", server.bind_addr[1]), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    return answer


@pytest.mark.parametrize("value", [b"a\rb", b"a\r X-Injected: 1", b"a\x00b"])
def test_a_header_value_with_cr_or_nul_is_refused_and_never_forwarded(door, value):
    """A bare CR or a NUL in a value: http.client would refuse it (a 500), or pass it on to a
    task whose server may read a header the client never sent there. A bare CR is refused by the
    server's head reader already (RFC 9112 §2.2, every server of ours), a NUL by the front door."""
    task, server = door
    task.answer = b"HTTP/1.1 204 No Content\r\n\r\n"
    forwarded = len(task.heads)
    answer = _raw(server, b"GET /page HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: " + value +
                  b"\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    refusal = (b"A bare CR in a request line or header line." if b"\r" in value
               else b"The value of the header 'X-A' holds CR, LF or NUL.")
    assert refusal in answer, answer
    assert len(task.heads) == forwarded


def test_headers_the_connection_header_lists_are_hop_by_hop_each_way(door):
    """RFC 9110 §7.6.1: a header named in Connection is for the next hop only, the front door:
    neither the client's reaches the task nor the task's the client."""
    task, server = door
    task.answer = (b"HTTP/1.1 200 OK\r\nConnection: X-Task-Hop\r\nX-Task-Hop: inner\r\n"
                   b"X-Task-Kept: yes\r\nContent-Length: 0\r\n\r\n")
    client = http.client.HTTPConnection("127.0.0.1", server.bind_addr[1], timeout=5)
    client.request("GET", "/page", headers={"X-Hop": "secret", "X-Kept": "yes",
                                            "Connection": "X-Hop"})
    got = client.getresponse()
    got.read()
    client.close()
    fields = _head_fields(task.heads[-1])
    assert "x-hop" not in fields and fields["x-kept"] == ["yes"]
    assert got.status == 200
    assert got.getheader("X-Task-Hop") is None and got.getheader("X-Task-Kept") == "yes"


def test_every_x_forwarded_for_of_the_client_is_kept(door):
    """Two X-Forwarded-For headers (two proxies before us, each adding its own): both reach the
    task, joined in order, the client's address after them."""
    task, server = door
    task.answer = b"HTTP/1.1 204 No Content\r\n\r\n"
    _raw(server, b"GET /page HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 1.1.1.1\r\n"
                 b"X-Forwarded-For: 2.2.2.2\r\nConnection: close\r\n\r\n")
    fields = _head_fields(task.heads[-1])
    assert fields["x-forwarded-for"] == ["1.1.1.1, 2.2.2.2, 127.0.0.1"]


def test_a_folded_header_of_the_task_is_unfolded_and_a_bad_one_dropped(door):
    """obs-fold (RFC 9112 §5.2) in the task's answer: http.client keeps the value's line break,
    which Werkzeug refuses (once a 500 with a traceback, and the task's socket left open). A
    value with a NUL is dropped, the rest of the answer passed on."""
    client, got = _ask(door, b"HTTP/1.1 200 OK\r\nX-Folded: one\r\n two\r\nX-Nul: a\x00b\r\n"
                             b"Content-Length: 2\r\n\r\nok")
    assert got.status == 200 and got.getheader("X-Folded") == "one two"
    assert got.getheader("X-Nul") is None
    assert got.read() == b"ok"
    client.close()
    assert door[1].logged == []
