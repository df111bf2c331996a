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
    sock = _connect(session["streamUrl"])
    token = json.dumps({"MessageSchemaVersion": "1.0", "TokenValue": "wrong"}).encode()
    sock.sendall(websocket.frame(websocket.TEXT, token, mask=os.urandom(4)))
    assert _closed_with(sock) == 1008
    # A plain GET of a data channel is no WebSocket: refused, not served by moto.
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(session["streamUrl"].replace("ws://", "http://"), timeout=5)
    assert excinfo.value.code == 400
    assert ecs.list_clusters()["clusterArns"] == []
