"""The Session Manager data channel's binary message (the plugin's `ClientMessage`) and the
payloads it carries, as aws/session-manager-plugin's src/message package lays them out.

One message, big-endian throughout:

  offset  size  field
       0     4  header length: 116, the offset of the payload length field
       4    32  message type, UTF-8, padded with spaces ("output_stream_data", "acknowledge", ...)
      36     4  schema version (1)
      40     8  created date, epoch milliseconds (the plugin refuses 0)
      48     8  sequence number (signed)
      56     8  flags (bit 0 SYN, bit 1 FIN; acknowledgements carry 3)
      64    16  message id: a UUID stored as its low 8 bytes, then its high 8 bytes
      80    32  SHA-256 of the payload (checked by the receiver when the payload is not empty)
     112     4  payload type (1 output, 3 terminal size, 5-7 handshake, 10 flag, ...)
     116     4  payload length
     120     n  payload
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
import uuid
from dataclasses import dataclass, field

HEADER_LENGTH = 116
_LAYOUT = struct.Struct(">I32sIQqQ16s32sII")  # everything up to the payload: 120 bytes

INPUT_STREAM = "input_stream_data"
OUTPUT_STREAM = "output_stream_data"
ACKNOWLEDGE = "acknowledge"
CHANNEL_CLOSED = "channel_closed"
START_PUBLICATION = "start_publication"
PAUSE_PUBLICATION = "pause_publication"

# Payload types (the plugin's message.PayloadType).
OUTPUT = 1
ERROR = 2
SIZE = 3
PARAMETER = 4
HANDSHAKE_REQUEST = 5
HANDSHAKE_RESPONSE = 6
HANDSHAKE_COMPLETE = 7
FLAG = 10
STDERR = 11
EXIT_CODE = 12

TERMINATE_SESSION = 2  # a FLAG payload's value: the user ended the session

ACKNOWLEDGEMENT_FLAGS = 3


class MessageError(ValueError):
    """Bytes that are not a well-formed ClientMessage."""


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class ClientMessage:
    """One message of the Session Manager protocol on an exec data channel."""
    message_type: str
    sequence_number: int = 0
    payload: bytes = b""
    payload_type: int = 0
    flags: int = 0
    schema_version: int = 1
    created_date: int = field(default_factory=now_ms)
    message_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def json(self) -> dict:
        try:
            value = json.loads(self.payload)
        except (ValueError, UnicodeDecodeError):
            raise MessageError(f"{self.message_type} carries a payload that is not JSON") from None
        if not isinstance(value, dict):
            raise MessageError(f"{self.message_type} carries a payload that is not an object")
        return value


def encode(message: ClientMessage) -> bytes:
    kind = message.message_type.encode()
    if len(kind) > 32:
        raise MessageError(f"message type {message.message_type!r} is longer than 32 bytes")
    header = _LAYOUT.pack(
        HEADER_LENGTH,
        kind.ljust(32, b" "),
        message.schema_version,
        message.created_date,
        message.sequence_number,
        message.flags,
        _uuid_to_wire(message.message_id),
        hashlib.sha256(message.payload).digest(),
        message.payload_type,
        len(message.payload),
    )
    return header + message.payload


def decode(data: bytes) -> ClientMessage:
    """A message as the plugin (or we) sent it; MessageError when it is cut short or its digest
    does not match, which the plugin's own Validate() refuses too."""
    if len(data) < _LAYOUT.size:
        raise MessageError(f"a message of {len(data)} bytes is shorter than its header")
    (header_length, kind, schema_version, created_date, sequence_number, flags, message_id,
     digest, payload_type, payload_length) = _LAYOUT.unpack_from(data)
    start = header_length + 4
    payload = data[start:start + payload_length]
    if header_length != HEADER_LENGTH or len(payload) != payload_length:
        raise MessageError("the message's header and payload lengths disagree with its size")
    if payload_length and hashlib.sha256(payload).digest() != digest:
        raise MessageError("the payload does not match its SHA-256 digest")
    return ClientMessage(
        message_type=kind.strip(b"\x00 ").decode("utf-8", "replace"),
        sequence_number=sequence_number,
        payload=payload,
        payload_type=payload_type,
        flags=flags,
        schema_version=schema_version,
        created_date=created_date,
        message_id=_uuid_from_wire(message_id),
    )


def _uuid_to_wire(value: uuid.UUID) -> bytes:
    # The plugin writes the UUID's least significant long first (messageparser.go, putUuid).
    raw = value.bytes
    return raw[8:] + raw[:8]


def _uuid_from_wire(raw: bytes) -> uuid.UUID:
    return uuid.UUID(bytes=raw[8:] + raw[:8])


# -- the messages the service side sends ----------------------------------------------------------

def acknowledgement(of: ClientMessage) -> ClientMessage:
    """What the receiver of a stream message answers, naming it by type, id and sequence number."""
    content = {
        "AcknowledgedMessageType": of.message_type,
        "AcknowledgedMessageId": str(of.message_id),
        "AcknowledgedMessageSequenceNumber": of.sequence_number,
        "IsSequentialMessage": True,
    }
    return ClientMessage(ACKNOWLEDGE, 0, _json(content), flags=ACKNOWLEDGEMENT_FLAGS)


def acknowledged_sequence(message: ClientMessage) -> int:
    value = message.json().get("AcknowledgedMessageSequenceNumber")
    if not isinstance(value, int):
        raise MessageError("an acknowledgement without AcknowledgedMessageSequenceNumber")
    return value


def output(sequence_number: int, payload: bytes, payload_type: int = OUTPUT) -> ClientMessage:
    return ClientMessage(OUTPUT_STREAM, sequence_number, payload, payload_type)


def handshake_request(sequence_number: int, agent_version: str, session_type: str) -> ClientMessage:
    """The agent's opening ask: the session type sets how the plugin attaches the terminal."""
    request = {
        "AgentVersion": agent_version,
        "RequestedClientActions": [{
            "ActionType": "SessionType",
            "ActionParameters": {"SessionType": session_type, "Properties": None},
        }],
    }
    return output(sequence_number, _json(request), HANDSHAKE_REQUEST)


def handshake_complete(sequence_number: int, took_ns: int) -> ClientMessage:
    # HandshakeTimeToComplete is a Go time.Duration: nanoseconds.
    content = {"HandshakeTimeToComplete": took_ns, "CustomerMessage": ""}
    return output(sequence_number, _json(content), HANDSHAKE_COMPLETE)


def channel_closed(session_id: str, destination: str, text: str = "") -> ClientMessage:
    """Sent when the session ends. An empty Output makes the plugin print "Exiting session with
    sessionId: ..." and exit 0, which is what AWS sends when the command exits."""
    message_id = uuid.uuid4()
    content = {
        "MessageId": str(message_id),
        "CreatedDate": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "DestinationId": destination,
        "SessionId": session_id,
        "MessageType": CHANNEL_CLOSED,
        "SchemaVersion": 1,
        "Output": text,
    }
    return ClientMessage(CHANNEL_CLOSED, 0, _json(content), message_id=message_id)


def terminal_size(message: ClientMessage) -> tuple[int, int] | None:
    """(rows, columns) of a SIZE payload, or None if it names no usable size."""
    try:
        size = message.json()
    except MessageError:
        return None
    rows, cols = size.get("rows"), size.get("cols")
    if isinstance(rows, int) and isinstance(cols, int) and rows > 0 and cols > 0:
        return rows, cols
    return None


def _json(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
