"""The server side of a WebSocket (RFC 6455), as much of it as a data channel needs: the opening
handshake's answer, frames in (masked, possibly fragmented) and out, ping and close.

It runs on a plain socket that the HTTP server handed over (see http_server.py's take-over); the
standard library has no WebSocket and the emulator adds no dependency for one.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import struct
import threading

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 16 * 1024 * 1024  # far above what a data channel sends; guards our memory

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class WebSocketClosed(Exception):
    """The peer closed the connection, cleanly or not."""


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()


def handshake_response(key: str) -> bytes:
    return ("HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode()


def frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """One final frame. A server sends unmasked frames; a client (tests) passes a mask key."""
    length = len(payload)
    first = 0x80 | opcode
    mask_bit = 0x80 if mask else 0
    if length < 126:
        header = struct.pack(">BB", first, mask_bit | length)
    elif length < 1 << 16:
        header = struct.pack(">BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack(">BBQ", first, mask_bit | 127, length)
    if mask:
        return header + mask + _xor(payload, mask)
    return header + payload


def _xor(data: bytes, key: bytes) -> bytes:
    if not data:
        return data
    n = len(data)
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


class WebSocket:
    """One connection. receive() is called by one thread; send() by any (it takes a lock)."""

    def __init__(self, sock: socket.socket, pending: bytes = b""):
        self.sock = sock
        self._buffer = bytearray(pending)  # bytes read past the HTTP request, if any
        self._send_lock = threading.Lock()
        self.closed = False

    def receive(self) -> tuple[int, bytes]:
        """The next whole message as (TEXT or BINARY, payload); raises WebSocketClosed."""
        opcode, parts = None, []
        while True:
            fin, code, payload = self._read_frame()
            if code == PING:
                self._send(PONG, payload)
            elif code == PONG:
                continue
            elif code == CLOSE:
                self.close(payload[:2] if len(payload) >= 2 else b"")
                raise WebSocketClosed("the peer closed the connection")
            else:
                if code != CONTINUATION:
                    opcode, parts = code, []
                parts.append(payload)
                if sum(map(len, parts)) > MAX_MESSAGE:
                    self.close(struct.pack(">H", 1009))
                    raise WebSocketClosed("message too big")
                if fin and opcode is not None:
                    return opcode, b"".join(parts)

    def send_binary(self, payload: bytes) -> None:
        self._send(BINARY, payload)

    def send_text(self, text: str) -> None:
        self._send(TEXT, text.encode())

    def close(self, code: bytes = struct.pack(">H", 1000)) -> None:
        """Send a close frame (once) and shut the connection."""
        with self._send_lock:
            if self.closed:
                return
            self.closed = True
            try:
                self.sock.sendall(frame(CLOSE, code))
            except OSError:
                pass
        self.abort()

    def abort(self) -> None:
        """Drop the connection without a close frame (the peer is gone, or we are stopping)."""
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            if self.closed:
                raise WebSocketClosed("the connection is closed")
            try:
                self.sock.sendall(frame(opcode, payload))
            except OSError as error:
                raise WebSocketClosed(str(error)) from None

    def _read_frame(self) -> tuple[bool, int, bytes]:
        first, second = self._read(2)
        fin, opcode = bool(first & 0x80), first & 0x0F
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack(">H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack(">Q", self._read(8))
        if length > MAX_MESSAGE:
            self.close(struct.pack(">H", 1009))
            raise WebSocketClosed("frame too big")
        mask = self._read(4) if second & 0x80 else None
        payload = self._read(length)
        return fin, opcode, _xor(payload, mask) if mask else payload

    def _read(self, count: int) -> bytes:
        while len(self._buffer) < count:
            try:
                chunk = self.sock.recv(max(65536, count - len(self._buffer)))
            except OSError as error:
                raise WebSocketClosed(str(error)) from None
            if not chunk:
                raise WebSocketClosed("the connection ended")
            self._buffer += chunk
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data
