"""One task cannot starve the listeners others need (engine/task_images.py, front_doors.py)."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest
from flask import Flask

from tests.test_task_credentials import python_image  # noqa: F401  (a fixture)
from tests.test_task_metadata import output_of, register, run, stop
from tests.waiting import wait_for


# A task whose container names images of a registry on its own address that accepts connections
# and never answers (a listening socket nobody accepts on: the kernel completes the handshake),
# from 8 threads at once, each its own connection, no retries, until SECONDS_ have passed or the
# task is stopped; it prints its answers by code so far every half second.
FLOOD = r'''
import json, os, socket, threading, time
import boto3
from botocore.config import Config
ip = socket.gethostbyname(socket.gethostname())
silent = socket.socket(); silent.bind(("0.0.0.0", 5000)); silent.listen(1024)
codes, lock = {}, threading.Lock()
def flood(n):
    ecs = boto3.client("ecs", config=Config(retries={"total_max_attempts": 1}, read_timeout=30))
    i, until = 0, time.monotonic() + float(os.environ["SECONDS_"])
    while time.monotonic() < until:
        i += 1
        try:
            ecs.register_task_definition(family="f", containerDefinitions=[
                {"name": "x", "image": f"{ip}:5000/f{n}-{i}:1", "memory": 32}])
            code = "OK"
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        with lock:
            codes[code] = codes.get(code, 0) + 1
print("FLOODING", flush=True)
threads = [threading.Thread(target=flood, args=(n,), daemon=True) for n in range(8)]
[t.start() for t in threads]
while any(t.is_alive() for t in threads):
    time.sleep(0.5)
    with lock:
        print("CODES", json.dumps(codes), flush=True)
time.sleep(300)
'''
# Another task names images of a registry on its own address that refuses connections (its
# check is answered at once), a few times while the flood goes on: each answer's code and message.
PROBE = r"""
import json, socket, time
import boto3
from botocore.config import Config
ip = socket.gethostbyname(socket.gethostname())
ecs = boto3.client("ecs", config=Config(retries={"total_max_attempts": 1}))
for k in range(4):
    try:
        ecs.register_task_definition(family="p", containerDefinitions=[
            {"name": "x", "image": f"{ip}:5001/p{k}:1", "memory": 32}])
        print("ANSWER OK", flush=True)
    except Exception as error:
        print("ANSWER", error.response["Error"]["Code"], error.response["Error"]["Message"],
              flush=True)
    time.sleep(0.3)
print("END", flush=True)
time.sleep(300)
"""
CREDENTIALS = [{"name": "AWS_ACCESS_KEY_ID", "value": "test"},
               {"name": "AWS_SECRET_ACCESS_KEY", "value": "test"}]


@pytest.mark.docker
def test_a_task_naming_silent_registries_holds_one_image_check_and_leaves_others_theirs(
        ecs, cluster, python_image, docker_client):
    """engine/task_images.py: one check in flight per task, the rest of its calls throttled at
    once; another task's calls are checked meanwhile, never told to try again for the flood."""
    flood = run(ecs, cluster, register(
        ecs, {"name": "flood", "image": python_image, "memory": 128,
              "command": ["python3", "-c", FLOOD],
              "environment": CREDENTIALS + [{"name": "SECONDS_", "value": "90"}]},
        family="flood"))
    output_of(docker_client, flood, "flood", "FLOODING", timeout=60)
    probe = run(ecs, cluster, register(
        ecs, {"name": "probe", "image": python_image, "memory": 64,
              "command": ["python3", "-c", PROBE], "environment": CREDENTIALS},
        family="probe"))
    answers = [line for line in output_of(docker_client, probe, "probe", "END").splitlines()
               if line.startswith("ANSWER ")]
    # The flood went on all along (it stops when its task does, at most 90 s): its answers.
    flooded = output_of(docker_client, flood, "flood", "CODES ")
    codes = json.loads(flooded.rsplit("CODES ", 1)[1].splitlines()[0])
    stop(ecs, cluster, flood, docker_client)
    stop(ecs, cluster, probe, docker_client)
    # The probe's registry refused Docker's connection: that is the answer, every time.
    assert len(answers) == 4 and all(
        line.startswith("ANSWER AccessDeniedException ") and "try again" not in line and
        "without credentials" in line for line in answers), answers
    # The flood: a check at a time (each refused after the 5 s deadline), the rest throttled.
    assert set(codes) <= {"ThrottlingException", "AccessDeniedException"}, codes
    assert codes.get("AccessDeniedException", 0) < codes["ThrottlingException"], codes


# -- the front doors: endless answers, clients that never read ----------------------------------

class _EndlessTask:
    """A task's port that answers every request with an endless chunked body, until the front
    door closes the connection."""

    CHUNK = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(sock,), daemon=True).start()

    def _answer(self, sock):
        with sock:
            head = b""
            while b"\r\n\r\n" not in head and (data := sock.recv(65536)):
                head += data
            try:
                sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                while True:
                    sock.sendall(self.CHUNK)
            except OSError:  # the front door closed it
                return

    def close(self):
        self._listener.close()


@pytest.fixture
def doors():
    """The front doors' forwarding on a server with the front doors' threads: /endless.../ (one
    front door each) to a task with an endless answer, /page/ to a task that answers a page."""
    from emulator import front_door_routes, front_doors, http_server
    from tests.test_front_door_streaming import _Task

    endless, page = _EndlessTask(), _Task()
    page.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    app = Flask(__name__)

    @app.route("/<door>/<path:path>", methods=["GET"])
    def forward(door, path):
        port = endless.port if door.startswith("endless") else page.port
        return front_door_routes._forward([("127.0.0.1", port)], f"service {door}", path,
                                          door=door)

    server = http_server.Server(("127.0.0.1", 0), app, numthreads=front_doors.THREADS,
                                timeout=65)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    yield server.bind_addr[1]
    server.stop()
    endless.close()
    page.close()


def test_a_new_front_door_always_finds_threads_however_the_others_hold_theirs():
    """Doors whose tasks never end their answers keep every stream they are given: in any order
    of takes, the doors forwarding leave the next one threads, and SPARE_THREADS are never
    held (they answer everything else)."""
    from emulator import front_door_routes

    streams = front_door_routes._Streams(threads=24)
    taken = {}
    for door in "abcd":  # each takes all it may before the next comes: the worst order
        while streams.take(door):
            taken[door] = taken.get(door, 0) + 1
    assert taken == {"a": 8, "b": 7, "c": 5, "d": 2}
    assert streams.take("e") is None  # 22: every thread but the spare ones
    # Interleaved, the shares shrink as doors come: three doors leave the fourth as many.
    streams = front_door_routes._Streams(threads=24)
    releases = {door: [] for door in "abc"}
    for _ in range(8):
        for door in "abc":
            if (release := streams.take(door)) is not None:
                releases[door].append(release)
    assert {door: len(held) for door, held in releases.items()} == {"a": 5, "b": 5, "c": 5}
    assert streams.take("d") is not None
    # A door whose streams all ended is a new door again; a release counts once.
    for release in releases["a"]:
        release()
        release()
    assert streams.open("a") == 0 and streams.open("b") == 5
    assert streams.take("a") is not None


def _get(port: int, path: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    client.request("GET", path)
    return client, client.getresponse()


def test_endless_answers_unread_take_one_front_doors_share_not_every_thread(doors):
    """Clients that read an endless answer's head and then nothing hold their threads (until the
    65 s send timeout): one front door gets STREAMS_PER_DOOR of them, the next is told 503 at
    once; a second such door gets a smaller share, and a third front door still answers."""
    from emulator import front_door_routes, front_doors

    assert front_doors.THREADS >= 2 * front_door_routes.STREAMS_PER_DOOR
    held = [_get(doors, f"/endless/{n}") for n in range(front_doors.THREADS)]
    second = []
    try:
        statuses = [answer.status for _, answer in held]
        assert statuses == [200] * front_door_routes.STREAMS_PER_DOOR + [503] * (
            front_doors.THREADS - front_door_routes.STREAMS_PER_DOOR)
        assert b"is already forwarding 8 requests" in held[-1][1].read()
        second = [_get(doors, f"/endless-b/{n}") for n in range(8)]
        assert [answer.status for _, answer in second] == [200] * 7 + [503]
        # Another front door answers, on the threads the endless ones could not take.
        client, answer = _get(doors, "/page/index.html")
        assert (answer.status, answer.read()) == (200, b"hello")
        client.close()
        # A reader that keeps reading streams on (a long download is fine): 4 MiB of it.
        got = 0
        while got < 4 << 20:
            got += len(held[0][1].read1(1 << 20))
    finally:
        for client, _ in held + second:
            client.close()
    # Closed by their clients, the streams give their places back.
    def served() -> int:
        client, answer = _get(doors, "/endless/again")
        client.close()
        return answer.status
    assert wait_for(served, lambda status: status == 200, timeout=10) == 200
