"""Hostile HTTP against a real emulator process (so its memory can be read from /proc): idle and
trickling connections do not hold the workers, framing that could smuggle a request is refused,
and bodies that are refused are not read into memory."""

from __future__ import annotations

import io
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import botocore.config
import pytest
import requests

from emulator import http_connections, http_heads
from emulator import http_server
from tests.test_cli import clean_env, free_port

MiB = 1024 * 1024
ECS_TARGET = "AmazonEC2ContainerServiceV20141113.ListClusters"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """An emulator process on a free port, its output in a file (a pipe would fill up)."""
    port = free_port()
    log = tmp_path_factory.mktemp("hostile") / "server.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", str(port),
                                    "--quiet"], env=clean_env(), stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/_emulator/health", timeout=30)
            break
        # The port listens before the emulator is built (emulator/early_listener.py): on a busy
        # machine the first answer may take a while, or time out, rather than be refused.
        except (requests.ConnectionError, requests.Timeout):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    yield process, port, url
    process.terminate()
    process.wait(timeout=60)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def ecs_client(url: str):
    # No retries and a short read timeout: a frozen server fails the call instead of waiting.
    config = botocore.config.Config(retries={"max_attempts": 1}, read_timeout=5,
                                    connect_timeout=5)
    return boto3.client("ecs", endpoint_url=url, region_name="us-east-1", config=config,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def exchange(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send `data` on a new connection; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


# -- workers ------------------------------------------------------------------------------------

def test_idle_and_trickling_connections_leave_the_api_answering(served):
    process, port, url = served
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    trickling, slow_bodies = [], []
    for _ in range(250):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        trickling.append(sock)
    for _ in range(50):  # a whole head, then a small body that never comes whole
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: " + ECS_TARGET.encode()
                     + b"\r\nContent-Length: 100\r\n\r\n{")
        slow_bodies.append(sock)
    try:
        ecs = ecs_client(url)
        for round_ in range(3):  # the trickling connections send a header line between calls
            assert ecs.list_clusters()["clusterArns"] == []
            assert requests.get(f"{url}/_emulator/health", timeout=5).json()["status"] == "ok"
            for sock in trickling:
                sock.sendall(f"X-Line-{round_}: slow\r\n".encode())
            for sock in slow_bodies:
                sock.sendall(b" ")
        # A head that does not arrive whole within the deadline is answered 408 and closed.
        time.sleep(http_connections.HEAD_DEADLINE + 1.5)
        trickling[0].settimeout(5)
        answer = trickling[0].recv(4096)
        assert answer.startswith(b"HTTP/1.1 408 ") and b"Connection: close" in answer
        assert trickling[0].recv(4096) == b""
        slow_bodies[0].settimeout(5)
        assert slow_bodies[0].recv(4096).startswith(b"HTTP/1.1 408 ")
    finally:
        for sock in idle + trickling + slow_bodies:
            sock.close()
    assert ecs_client(url).list_clusters()["clusterArns"] == []


def test_a_listener_with_four_workers_serves_past_hundreds_of_idle_connections():
    """The container-facing listeners (gateway, 169.254.170.2) have 4 workers; the same Server."""
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    server = http_server.Server(("127.0.0.1", 0), app, numthreads=4, timeout=65)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    port = server.bind_addr[1]
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    try:
        for sock in idle[:100]:
            sock.sendall(b"GET / HTTP/1.1\r\n")
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "ok"
    finally:
        for sock in idle:
            sock.close()
        server.stop()


class _FewIdle(http_connections.ConnectionManager):
    idle_limit = 4
    per_peer_limit = 2


class _FewIdleServer(http_server.Server):
    ConnectionManagerClass = _FewIdle


def test_past_the_idle_limits_the_longest_idle_connection_is_closed_first():
    server = _FewIdleServer(("127.0.0.1", 0), lambda environ, start_response: [], numthreads=2,
                            timeout=65)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    port = server.bind_addr[1]
    opened = {}
    try:
        # Three from one address (one over its limit), two from a second, one from a third
        # (one over the listener's limit), each accepted before the next.
        for name, source in [("a1", "127.0.0.2"), ("a2", "127.0.0.2"), ("a3", "127.0.0.2"),
                             ("b1", "127.0.0.3"), ("b2", "127.0.0.3"), ("c1", "127.0.0.4")]:
            opened[name] = socket.create_connection(("127.0.0.1", port), timeout=5,
                                                    source_address=(source, 0))
            time.sleep(0.05)
        time.sleep(0.2)
        ended = select.select(list(opened.values()), [], [], 0)[0]
        assert {name for name, sock in opened.items() if sock in ended} == {"a1", "a2"}
        assert all(opened[name].recv(10) == b"" for name in ("a1", "a2"))
    finally:
        for sock in opened.values():
            sock.close()
        server.stop()


# -- framing ------------------------------------------------------------------------------------

SMUGGLED = b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.mark.parametrize("headers", [
    b"Content-Length: -5\r\n",
    b"Content-Length: +5\r\n",
    b"Content-Length: 5 5\r\n",
    b"Content-Length: 5\r\nContent-Length: 44\r\n",
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
], ids=["negative", "signed", "two-numbers", "twice", "with-chunked", "chunked-first"])
def test_ambiguous_framing_is_refused_and_the_connection_closed(served, headers):
    _, port, _ = served
    request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: " + ECS_TARGET.encode() + b"\r\n"
               + headers + b"\r\n0\r\n\r\n" + SMUGGLED)
    answer = exchange(port, request)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert answer.count(b"HTTP/1.1") == 1, "the smuggled request was answered"


@pytest.mark.parametrize("head, message", [
    (b"GET /_emulator/health HTTP/1.1\r\n Host: 127.0.0.1\r\n\r\n", b"Illegal header line."),
    (b"GET /_emulator/health HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n", b"Illegal header line."),
    (b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\n\r\n", b"HTTP requires CRLF"),
    (b"POST / HTTP/1.1\n\r\n", b"HTTP requires CRLF"),
    # whole before it is read (http_heads.HeadReader.buffered_lines leaves it to readline)
    (b"GET /_emulator/health HTTP/1.1\r\nX-A: b\nHost: 127.0.0.1\r\n\r\n",
     b"HTTP requires CRLF"),
    (b"POST / HTTP/1.2\r\n\r\n", None),
    (b"GET /_emulator/health HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n", b"Illegal header line."),
    (b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: b\r\n c\r\n\r\n",
     b"Illegal header line."),
    # RFC 9112 §2.2: a bare CR inside a line (a proxy may have ended the line there)
    (b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: b\rX-B: c\r\n\r\n",
     http_heads.BARE_CR.encode()),
    (b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: b\r\r\n\r\n",
     http_heads.BARE_CR.encode()),
    (b"GET /_emulator/he\ralth HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", http_heads.BARE_CR.encode()),
    (b"GET /_emulator/health\r HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", http_heads.BARE_CR.encode()),
], ids=["continuation-first", "no-colon", "bare-lf-header", "bare-lf-request-line",
        "bare-lf-inside-a-whole-head", "http-1.2", "space-before-colon", "obs-fold",
        "bare-cr-inside-a-header", "bare-cr-before-crlf", "bare-cr-in-a-path",
        "bare-cr-before-the-version"])
def test_malformed_heads_are_refused_never_a_500(served, head, message):
    """The head parsing of emulator/http_heads.py answers what cheroot answers, and 400 where
    cheroot failed (a continuation line before any header) or accepted what RFC 9112 lets a
    server refuse: whitespace before a colon (§5.1 says 400), a folded line (§5.2)."""
    _, port, _ = served
    answer = exchange(port, head)
    assert answer.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 505 ")), answer
    assert message is None or message in answer


@pytest.mark.parametrize("buffered", [True, False], ids=["whole-head", "line-by-line"])
@pytest.mark.parametrize("line", [b"X-A: b\rc", b"X-A\r: b", b"X-A: b\r"])
def test_a_bare_cr_in_a_header_line_is_refused_on_both_paths(buffered, line):
    """Both ways of reading a head refuse a bare CR (RFC 9112 §2.2): the whole head read at once
    (which leaves such a head to the line by line way) and the line by line way itself."""
    head = b"Host: x\r\n" + line + b"\r\nX-B: d\r\n\r\n"
    raw = io.BufferedReader(io.BytesIO(head)) if buffered else io.BytesIO(head)
    reader = http_heads.HeadReader(raw, http_connections.HEAD_LIMIT)
    with pytest.raises(ValueError, match=http_heads.BARE_CR):
        http_heads.HeaderReader()(reader)
    clean = head.replace(line, b"X-A: b")
    assert http_heads.HeaderReader()(http_heads.HeadReader(
        io.BufferedReader(io.BytesIO(clean)) if buffered else io.BytesIO(clean),
        http_connections.HEAD_LIMIT))[b"X-A"] == b"b"


@pytest.mark.parametrize("version, connection, kept", [
    (b"HTTP/1.1", b"", True),
    (b"HTTP/1.1", b"Connection: close\r\n", False),
    (b"HTTP/1.0", b"", False),
    (b"HTTP/1.0", b"Connection: Keep-Alive\r\n", True),
], ids=["1.1", "1.1-close", "1.0", "1.0-keep-alive"])
def test_response_heads_say_whether_the_connection_stays(served, version, connection, kept):
    """The response head (emulator/http_heads.py) as cheroot's: a Date and a Server, the
    Connection header HTTP/1.0 and 1.1 expect, and the connection closed when it says so."""
    _, port, _ = served
    body = b"{}"
    request = (b"POST / " + version + b"\r\nHost: 127.0.0.1\r\nX-Amz-Target: "
               + ECS_TARGET.encode() + b"\r\nContent-Type: application/x-amz-json-1.1\r\n"
               + connection + b"Content-Length: 2\r\n\r\n" + body)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        head = answer.split(b"\r\n\r\n")[0].split(b"\r\n")
        names = {line.split(b":")[0].lower(): line for line in head[1:]}
        assert head[0] == b"HTTP/1.1 200 OK" and b"date" in names and b"server" in names
        if version == b"HTTP/1.0":
            assert (b"keep-alive" in names) is kept
            assert (names.get(b"connection") == b"Connection: Keep-Alive") is kept
        else:
            assert (names.get(b"connection") == b"Connection: close") is not kept
        sock.settimeout(2 if kept else 10)
        try:
            closed = sock.recv(65536) == b""  # (the whole answer came in one piece)
        except socket.timeout:
            closed = False
        assert closed is not kept


def test_transfer_encoding_before_http_1_1_is_refused(served):
    """cheroot ignores Transfer-Encoding below HTTP/1.1 and reads no body: on a kept
    connection the body would be parsed as the next request."""
    _, port, _ = served
    answer = exchange(port, b"POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: Keep-Alive\r\n"
                            b"X-Amz-Target: " + ECS_TARGET.encode() + b"\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n" + SMUGGLED)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer
    assert answer.count(b"HTTP/1.1") == 1, "the smuggled request was answered"


def test_header_names_with_underscores_are_dropped(served):
    """X_Amz_Target and X-Amz-Target would both be HTTP_X_AMZ_TARGET in the environ: the one
    with an underscore is dropped, as cheroot's DropUnderscoreHeaderReader and nginx drop it."""
    _, port, _ = served
    answer = exchange(port, b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                            b"X-Amz-Target: " + ECS_TARGET.encode() + b"\r\n"
                            b"X_Amz_Target: AmazonEC2ContainerServiceV20141113.Nothing\r\n"
                            b"Content-Type: application/x-amz-json-1.1\r\n"
                            b"Content-Length: 2\r\nContent_Length: 0\r\n\r\n{}")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"clusterArns" in answer, answer


def test_s3_user_metadata_with_underscores_is_kept(served):
    _, _, url = served
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="underscored-metadata")
    s3.put_object(Bucket="underscored-metadata", Key="k", Body=b"x", Metadata={"my_key": "v"})
    metadata = s3.head_object(Bucket="underscored-metadata", Key="k")["Metadata"]
    # (WSGI's environ has no way to keep the underscore: moto sees my-key)
    assert list(metadata.values()) == ["v"]


def test_junk_header_names_do_not_crowd_out_the_names_clients_send():
    """The tables of transformed header names are bounded, and a client that fills them with
    junk does not leave every later name to be transformed on every request."""
    reader = http_heads.HeaderReader()
    for batch in range(3):
        junk = b"".join(b"X-Junk-%d-%d: 1\r\n" % (batch, n) for n in range(300))
        reader(io.BytesIO(junk + b"\r\n"))
    reader(io.BytesIO(b"X-Fresh-Name: 1\r\n\r\n"))
    assert len(http_heads._titled) <= http_heads._NAMES_KEPT
    assert b"X-Fresh-Name" in http_heads._titled


def test_an_unread_chunked_body_is_not_taken_for_the_next_request(served):
    """A registry 401 reads no body; the chunked body's bytes must not be parsed as a request."""
    _, port, _ = served
    body = b"5\r\n" + SMUGGLED[:5] + b"\r\n" + b"%x\r\n" % (len(SMUGGLED) - 5) + SMUGGLED[5:] \
        + b"\r\n0\r\n\r\n"
    answer = exchange(port, b"PATCH /v2/app/blobs/uploads/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert answer.count(b"HTTP/1.1") == 1


@pytest.mark.parametrize("framing", [
    b"2\r;x\r\n{}\r\n0\r\n\r\n",           # a bare CR in a chunk-size line
    b"2\n{}\r\n0\r\n\r\n",                # a chunk-size line ending in a bare LF
    b"2\r\n{}\r\n0\r\nX: 1\r\r\n\r\n",     # a bare CR in a trailer line
], ids=["bare-cr", "bare-lf", "trailer-bare-cr"])
def test_chunk_lines_that_do_not_end_in_crlf_are_refused(served, framing):
    """A proxy in front of us that reads a bare CR or LF otherwise frames the body otherwise:
    the request is answered 400 and the connection closed, never 200 and read on."""
    _, port, _ = served
    answer = exchange(port, b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            b"X-Amz-Target: " + ECS_TARGET.encode() + b"\r\n"
                            b"Content-Type: application/x-amz-json-1.1\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n" + framing + SMUGGLED)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert answer.count(b"HTTP/1.1") == 1, "the smuggled request was answered"


def test_a_well_framed_chunked_api_request_is_answered(served):
    _, port, _ = served
    answer = exchange(port, b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                            b"X-Amz-Target: " + ECS_TARGET.encode() + b"\r\n"
                            b"Content-Type: application/x-amz-json-1.1\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n"
                            b"2 ;x=1\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"clusterArns" in answer, answer


# -- bodies -------------------------------------------------------------------------------------

def send_large(port: int, head: bytes, size: int) -> bytes:
    """Send `head`, then up to `size` bytes of body while the server takes them; the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        block, sent = b"x" * MiB, 0
        try:
            while sent < size:
                sock.sendall(block[:min(MiB, size - sent)])
                sent += MiB
        except OSError:  # the server answered and closed: it does not want the rest
            pass
        sock.settimeout(10)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
        return answer


def test_refused_bodies_are_not_read_into_memory(served):
    process, port, _ = served
    before = rss_mib(process.pid)
    ecs = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: " + ECS_TARGET.encode()
           + b"\r\nContent-Type: application/x-amz-json-1.1\r\n")
    signed_iam = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded"
                  b"\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/"
                  b"aws4_request, SignedHeaders=host, Signature=0\r\n")
    cases = [
        (ecs + b"Content-Length: %d\r\n\r\n" % (200 * MiB), 200 * MiB, b"413 ",
         b"RequestEntityTooLargeException"),
        (ecs + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % (200 * MiB), 200 * MiB, b"413 ",
         b"RequestEntityTooLargeException"),
        (ecs + b"Content-Length: 999999999999\r\n\r\n", 8 * MiB, b"413 ", b"TooLarge"),
        (signed_iam + b"Content-Length: %d\r\n\r\n" % (200 * MiB), 200 * MiB, b"413 ",
         b"<Code>RequestEntityTooLarge</Code>"),
        # moto's services: a JSON protocol's code as ours; S3's own, with 400.
        (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: Logs_20140328.PutLogEvents\r\n"
         b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\n\r\n" % (200 * MiB),
         200 * MiB, b"413 ", b'"__type": "RequestEntityTooLargeException"'),
        (b"PUT /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: AWS4-HMAC-SHA256 "
         b"Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, "
         b"Signature=0\r\nContent-Length: %d\r\n\r\n" % (200 * MiB), 200 * MiB, b"400 ",
         b"<Code>EntityTooLarge</Code>"),
        (b"PUT /v2/app/blobs/uploads/x?digest=sha256:00 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         b"Content-Length: %d\r\n\r\n" % (1024 * MiB), 1024 * MiB, b"401 ", b"UNAUTHORIZED"),
    ]
    for head, size, status, code in cases:
        answer = send_large(port, head, size)
        assert answer.startswith(b"HTTP/1.1 " + status), (head, answer[:200])
        assert code in answer
        assert b"Connection: close" in answer
    grown = rss_mib(process.pid) - before
    assert grown < 40, f"RSS grew by {grown:.0f} MiB"
    # Still serving, on new connections.
    assert ecs_client(f"http://127.0.0.1:{port}").list_clusters()["clusterArns"] == []


def test_a_small_unread_body_keeps_the_connection(served):
    """A refused request with a short body is answered and the connection stays usable."""
    _, port, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"PATCH /v2/app/blobs/uploads/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10"
                     b"\r\n\r\n0123456789" + SMUGGLED)
        answer = b""
        while answer.count(b"HTTP/1.1 ") < 2 or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401 ") and b"HTTP/1.1 200 OK" in answer


def test_a_head_over_the_limit_is_431_and_closed(served):
    _, port, _ = served
    answer = exchange(port, b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                      + b"a" * (http_connections.HEAD_LIMIT + 10) + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ") and answer.count(b"HTTP/1.1") == 1
    # The emulator's, as every answer of its own says: the command line tells it by that.
    assert b"\r\nServer: ecs-emulator\r\n" in answer


def test_pipelined_requests_are_each_answered(served):
    """Requests sent back to back in one packet: the second waits in the reader, not lost."""
    _, port, _ = served
    body = b"{}"
    ecs = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: " + ECS_TARGET.encode()
           + b"\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n" + body)
    closing = SMUGGLED.replace(b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\nConnection: close\r\n")
    answer = exchange(port, ecs + ecs + closing)
    assert answer.count(b"HTTP/1.1 200 OK") == 3


def test_a_tls_hello_is_refused_at_once_not_held_to_the_deadline(served):
    """Docker tries https first on every registry and falls back to http when refused: a
    ClientHello (no line end in it) must be refused as not HTTP, not held until the head
    deadline (that cost every `docker login` and push 10 s)."""
    _, port, _ = served
    hello = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]) + b"\x00" * 32
    answer = exchange(port, hello, timeout=http_connections.HEAD_DEADLINE / 2)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400 ")


def test_a_request_without_headers_before_a_pipelined_one_is_read_as_it_is(served):
    """A head that ends where it starts (no header line) is not read past into the request
    behind it: the buffered way leaves it to the line by line way, which reads it as cheroot
    does, and each request gets its own answer."""
    _, port, _ = served
    closing = SMUGGLED.replace(b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\nConnection: close\r\n")
    answer = exchange(port, b"GET /_emulator/health HTTP/1.1\r\n\r\n" + closing)
    assert b"Illegal header line." not in answer
    assert answer.count(b"HTTP/1.1 ") == 2, answer


def test_a_body_read_by_the_responses_own_iteration_is_still_a_400():
    """An application that reads the body lazily, inside the iterable it returns: malformed
    framing found there is answered 400 and the connection closed, not a 200 cut off."""
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            yield environ["wsgi.input"].read()
        return body()

    server = http_server.Server(("127.0.0.1", 0), app, numthreads=2, timeout=10)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    try:
        answer = exchange(server.bind_addr[1], b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                               b"Transfer-Encoding: chunked\r\n\r\n"
                                               b"zz\r\nabc\r\n0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert b"200 OK" not in answer
    finally:
        server.stop()


@pytest.mark.parametrize("request_bytes", [
    b"GET /_emulator/he\ralth HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",       # our bare-CR 400
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1x\r\n\r\n",  # our framing 400
    b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",    # cheroot's 414
], ids=["bare-cr", "content-length", "uri-too-long"])
def test_short_refusals_say_whose_they_are_and_that_the_connection_closes(served, request_bytes):
    """cheroot's short answers carried no Server header (the command line took the emulator's
    own refusals for another server's) and no Connection: close though the connection closed."""
    _, port, _ = served
    answer = exchange(port, request_bytes)
    head = answer.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 4"), answer[:200]
    assert b"\r\nServer: ecs-emulator" in head, head
    assert b"\r\nConnection: close" in head, head
