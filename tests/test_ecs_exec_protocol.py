"""The data channel's wire format and its refusals, without the plugin: the ClientMessage layout
(header, padded type, UUID byte order, digest) and a WebSocket client of our own that brings a
wrong token or an unknown session."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import struct
import uuid
from urllib.parse import urlsplit

import pytest

from emulator.exec import messages as m
from emulator.exec import websocket


def test_a_message_is_laid_out_as_the_plugin_reads_it():
    message_id = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    wire = m.encode(m.ClientMessage(m.OUTPUT_STREAM, 7, b"hi", m.OUTPUT, flags=1,
                                    created_date=1234, message_id=message_id))
    assert len(wire) == 120 + 2
    assert struct.unpack(">I", wire[:4]) == (116,)
    assert wire[4:36] == b"output_stream_data".ljust(32, b" ")
    assert struct.unpack(">IQqQ", wire[36:64]) == (1, 1234, 7, 1)
    # The least significant half of the UUID first (messageparser.go putUuid/getUuid).
    assert wire[64:80] == bytes.fromhex("8899aabbccddeeff0011223344556677")
    assert wire[80:112] == hashlib.sha256(b"hi").digest()
    assert struct.unpack(">II", wire[112:120]) == (m.OUTPUT, 2)
    assert m.decode(wire).message_id == message_id
    assert m.decode(wire).payload == b"hi"


def test_decode_refuses_what_the_plugin_refuses():
    wire = bytearray(m.encode(m.output(0, b"payload")))
    wire[-1] ^= 1
    with pytest.raises(m.MessageError):
        m.decode(bytes(wire))  # the digest no longer matches
    with pytest.raises(m.MessageError):
        m.decode(bytes(wire[:50]))


def test_acknowledgement_names_the_message():
    original = m.ClientMessage(m.INPUT_STREAM, 5, b"x", m.OUTPUT)
    ack = m.decode(m.encode(m.acknowledgement(original)))
    assert ack.message_type == m.ACKNOWLEDGE and ack.flags == 3
    assert ack.json() == {"AcknowledgedMessageType": "input_stream_data",
                          "AcknowledgedMessageId": str(original.message_id),
                          "AcknowledgedMessageSequenceNumber": 5, "IsSequentialMessage": True}


def _connect(stream_url: str) -> socket.socket:
    parts = urlsplit(stream_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    assert f"Sec-WebSocket-Accept: {websocket.accept_key(key)}".encode() in answer
    return sock


def _closed_with(sock: socket.socket) -> int | None:
    """The close code the server sent (None if it only dropped the connection)."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    if len(data) >= 4 and data[0] & 0x0F == websocket.CLOSE:
        return struct.unpack(">H", data[2:4])[0]
    return None


def test_a_wrong_token_or_an_unknown_session_is_closed(clean_emulator):
    ecs = clean_emulator.client("ecs")
    host = clean_emulator.endpoint_url.split("://")[1]
    unknown = _connect(f"ws://{host}/v1/data-channel/ecs-execute-command-0?role=x")
    assert _closed_with(unknown) == 1008

    from emulator.exec.sessions import ExecTarget

    sessions = clean_emulator.emulator.ecs.exec_sessions
    session = sessions.open(ExecTarget("c", "t", "app", "0" * 64, "true"), host)
    # A connection that knows the session's id but not its token takes nothing: the session
    # is still there for the plugin, and one connection with the token takes it.
    for sent in ("wrong", None):
        sock = _connect(session["streamUrl"])
        token = json.dumps({"MessageSchemaVersion": "1.0", "TokenValue": sent}).encode()
        sock.sendall(websocket.frame(websocket.TEXT, token, mask=os.urandom(4)))
        assert _closed_with(sock) == 1008
    waiting = _connect(session["streamUrl"])  # says nothing yet: claims nothing either
    assert not sessions.active()
    plugin = _connect(session["streamUrl"])
    plugin.sendall(websocket.frame(websocket.TEXT, json.dumps(
        {"MessageSchemaVersion": "1.0", "TokenValue": session["tokenValue"]}).encode(),
        mask=os.urandom(4)))
    assert wait_for_value(lambda: [s.id for s in sessions.active()]) == [session["sessionId"]]
    waiting.sendall(websocket.frame(websocket.TEXT, json.dumps(
        {"TokenValue": session["tokenValue"]}).encode(), mask=os.urandom(4)))
    assert _closed_with(waiting) == 1008  # taken: one connection only
    plugin.close()
    # A plain GET of a data channel is no WebSocket: refused, not served by moto.
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(session["streamUrl"].replace("ws://", "http://"), timeout=5)
    assert excinfo.value.code == 400
    assert ecs.list_clusters()["clusterArns"] == []


class _FakeExec:
    """The container's end, scripted: what was written to it, output to give, an exit code."""

    def __init__(self, rows, cols):
        import queue

        self.sizes = [(rows, cols)]
        self.written = []
        self.output = queue.Queue()

    def resize(self, rows, cols):
        self.sizes.append((rows, cols))

    def write(self, data):
        self.written.append(data)

    def read(self, timeout):
        import queue

        try:
            return self.output.get(timeout=timeout)
        except queue.Empty:
            return b""

    def exit_code(self):
        return 3

    def close(self):
        self.output.put(None)


class _Plugin:
    """The client end of a channel, driven by hand: our messages in, theirs out."""

    def __init__(self, sock):
        self.ws = websocket.WebSocket(sock)
        self.sequence = 0

    def send(self, payload_type, payload: bytes, sequence=None):
        number = self.sequence if sequence is None else sequence
        if sequence is None:
            self.sequence += 1
        message = m.ClientMessage(m.INPUT_STREAM, number, payload, payload_type)
        self.ws.sock.sendall(websocket.frame(websocket.BINARY, m.encode(message),
                                             mask=os.urandom(4)))
        return message

    def ack(self, message):
        self.ws.sock.sendall(websocket.frame(websocket.BINARY, m.encode(m.acknowledgement(message)),
                                             mask=os.urandom(4)))

    def next(self, skip_acks=True) -> m.ClientMessage:
        while True:
            _, data = self.ws.receive()
            message = m.decode(data)
            if not (skip_acks and message.message_type == m.ACKNOWLEDGE):
                return message


def test_the_channel_keeps_order_and_sends_again_what_was_not_acknowledged():
    import threading

    from emulator.exec.channel import DataChannel
    from emulator.exec.sessions import ExecTarget, Session

    ours, theirs = socket.socketpair()
    session = Session(id="ecs-execute-command-1", token="secret",
                      target=ExecTarget("c", "t", "app", "r" * 64, "sh"))
    started, ended = [], threading.Event()

    def start_exec(rows, cols):
        started.append(_FakeExec(rows, cols))
        return started[-1]

    channel = DataChannel(websocket.WebSocket(ours), session, start_exec, lambda c: ended.set())
    threading.Thread(target=channel.serve, daemon=True).start()
    plugin = _Plugin(theirs)  # its token checked already (ExecService)

    request = plugin.next()
    assert (request.payload_type, request.sequence_number) == (m.HANDSHAKE_REQUEST, 0)
    action = request.json()["RequestedClientActions"][0]
    assert action["ActionParameters"]["SessionType"] == "InteractiveCommands"
    plugin.ack(request)
    plugin.send(m.HANDSHAKE_RESPONSE, json.dumps({"ClientVersion": "1.2", "ProcessedClientActions": [
        {"ActionType": "SessionType", "ActionStatus": 1}]}).encode())
    complete = plugin.next()
    assert (complete.payload_type, complete.sequence_number) == (m.HANDSHAKE_COMPLETE, 1)
    plugin.ack(complete)

    # Keystrokes (sequence 2) arrive before the size (1), and again: taken once, in order.
    plugin.send(m.OUTPUT, b"ls\r", sequence=2)
    plugin.send(m.SIZE, b'{"cols": 120, "rows": 40}', sequence=1)
    plugin.send(m.OUTPUT, b"ls\r", sequence=2)
    plugin.sequence = 3
    plugin.send(m.SIZE, b'{"cols": 100, "rows": 30}')
    fake = wait_for_value(lambda: started[0] if started else None)
    wait_for_value(lambda: len(fake.sizes) == 2 or None)
    assert fake.sizes == [(40, 120), (30, 100)] and fake.written == [b"ls\r"]

    # Output the plugin does not acknowledge comes again, with the same sequence number.
    fake.output.put(b"file\r\n")
    first = plugin.next()
    again = plugin.next()
    assert (first.payload, first.sequence_number) == (b"file\r\n", 2)
    assert m.encode(again) == m.encode(first)
    plugin.ack(first)

    fake.output.put(None)  # the command ends
    closed = plugin.next()
    assert closed.message_type == m.CHANNEL_CLOSED
    assert closed.json()["SessionId"] == session.id and closed.json()["Output"] == ""
    assert ended.wait(5) and channel.exit_code == 3 and bytes(channel.transcript) == b"file\r\n"


def wait_for_value(fetch, timeout=5.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fetch()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


@pytest.mark.parametrize("configuration, log_configuration, expected", [
    (None, {"logDriver": "awslogs", "options": {"awslogs-group": "app", "awslogs-region": "eu-west-1"}},
     ("app", "eu-west-1", None, None)),
    ({"logging": "DEFAULT"}, {"logDriver": "json-file"}, None),
    ({"logging": "NONE"}, {"logDriver": "awslogs", "options": {"awslogs-group": "app"}}, None),
    ({"logging": "OVERRIDE", "logConfiguration": {"s3BucketName": "b", "s3KeyPrefix": "p"}},
     {"logDriver": "awslogs", "options": {"awslogs-group": "app"}}, (None, "us-east-1", "b", "p")),
])
def test_where_a_session_is_logged(configuration, log_configuration, expected):
    from emulator.ecs.execute_command import log_destination
    from emulator.ecs.model import Cluster
    from emulator.ecs.store import EcsStore
    from emulator.ecs.task_model import TaskContainer

    store = EcsStore(account="123456789012", region="us-east-1")
    config = {"executeCommandConfiguration": configuration} if configuration else None
    cluster = Cluster(name="c", arn="arn:c", configuration=config)
    container = TaskContainer(name="app", arn="arn:app",
                              definition={"logConfiguration": log_configuration})
    found = log_destination(store, cluster, container)
    if expected is None:
        assert found is None
    else:
        assert (found.log_group, found.region, found.s3_bucket, found.s3_key_prefix) == expected
