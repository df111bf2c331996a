"""Request and response bodies through cheroot (emulator/http_server.py): bounded reads of API
bodies, and registry layers of gigabytes, in and out.

read_body      an API request's body, refused (BodyTooLarge) before anything is read when its
               Content-Length is over the limit, or as soon as a chunked one passes it.

ChunkedInput   wsgi.input for a request with Transfer-Encoding: chunked, as docker sends a layer.
               cheroot's own ChunkedRFile reads each chunk whole into memory and builds read()'s
               answer by concatenation, copying a 1 MiB read of 32 KiB chunks about 16 times
               over; this reads straight from the connection, never more than it was asked for.
FileWrapper    wsgi.file_wrapper (PEP 3333), which Flask's send_file uses when the server offers
               one: `send` puts the file on the socket with sendfile(2), without copying it
               through Python; iterated (a Range response, TLS) it reads 1 MiB at a time instead
               of werkzeug's 8 KiB.
"""

from __future__ import annotations

import socket

from emulator import cheroot_import  # noqa: F401  (before cheroot; see there)
from cheroot.errors import MaxSizeExceeded

_MAX_CHUNK_LINE = 4096  # a chunk-size line, extensions included
_MAX_TRAILER_LINES = 100
_HEXDIGITS = b"0123456789abcdefABCDEF"
BLOCK = 1024 * 1024
SENDFILE_MIN = 64 * 1024  # smaller bodies go with the headers in one send (http_server.py)


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"The request body is larger than {limit} bytes.")
        self.limit = limit


def declared_length(environ: dict) -> int:
    """The request's Content-Length (0 without one; the server has refused malformed ones)."""
    length = environ.get("CONTENT_LENGTH")
    return int(length) if length and length.isdigit() else 0


def read_body(environ: dict, limit: int) -> bytes:
    """The whole body, at most `limit` bytes; over it, BodyTooLarge (and the server closes the
    connection rather than read the rest)."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = declared_length(environ)
    if length > limit:
        raise BodyTooLarge(limit)
    if length:
        return stream.read(length)
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise BodyTooLarge(limit)
        return body
    return b""


class BadChunking(ValueError):
    """A chunked body's framing is malformed (or cut off): the request is answered 400 and the
    connection closed, since where the body ends, and the next request begins, is not known."""


class ChunkedInput:
    """The decoded body of a chunked request, read from `rfile` (the connection's reader) as
    the application asks for it. Malformed framing raises BadChunking, and is kept in `refused`
    (the server answers 400 whether or not the application caught it); a body over `maxlen`
    bytes (0: no limit) raises MaxSizeExceeded."""

    def __init__(self, rfile, maxlen: int = 0):
        self.rfile = rfile
        self.maxlen = maxlen
        self.bytes_read = 0
        self._left = 0          # bytes of the current chunk not read yet
        self._chunks = 0        # chunks begun (each but the first follows a CRLF)
        self._done = False
        self.refused: BadChunking | None = None

    def _refuse(self, message: str) -> BadChunking:
        self.refused = BadChunking(message)
        return self.refused

    def read(self, size: int | None = None) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(BLOCK), b""))
        parts = []
        while size > 0 and self._in_chunk():
            piece = self.rfile.read(min(size, self._left))
            if not piece:
                raise self._refuse("the connection closed inside a chunk")
            self._left -= len(piece)
            size -= len(piece)
            parts.append(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readline(self, size: int | None = None) -> bytes:
        limit = -1 if size is None or size < 0 else size
        parts = []
        while limit != 0 and self._in_chunk():
            most = self._left if limit < 0 else min(limit, self._left)
            piece = self.rfile.readline(most)
            if not piece:
                raise self._refuse("the connection closed inside a chunk")
            self._left -= len(piece)
            limit -= len(piece) if limit > 0 else 0
            parts.append(piece)
            if piece.endswith(b"\n"):
                break
        return b"".join(parts)

    def readlines(self, sizehint: int = 0) -> list[bytes]:
        lines, total = [], 0
        for line in self:
            lines.append(line)
            total += len(line)
            if 0 < sizehint <= total:
                break
        return lines

    def __iter__(self):
        return iter(self.readline, b"")

    def close(self) -> None:
        """Nothing to release: the connection's reader belongs to the connection."""

    @property
    def finished(self) -> bool:
        """Whether the whole body has been read, up to its last chunk and trailers."""
        return self._done

    def _in_chunk(self) -> bool:
        """Whether body bytes are left, reading the next chunk's size line when needed. Once
        refused, the rest is never read as chunks (it would be read as sizes and data)."""
        if self.refused is not None:
            raise self.refused
        if self._left:
            return True
        if self._done:
            return False
        if self._chunks and self.rfile.read(2) != b"\r\n":
            raise self._refuse("bad chunked transfer coding: a chunk does not end with CRLF")
        line = self._line()
        # chunk-size is 1*HEXDIG, then BWS before any extension (RFC 9112 §7.1); int() would
        # also take a sign, "0x", "_" and spaces before it, which a proxy may read otherwise.
        digits = line[:-2].split(b";", 1)[0].rstrip(b" \t")
        if not digits or digits.strip(_HEXDIGITS):
            raise self._refuse(f"bad chunked transfer size: {line[:40]!r}")
        size = int(digits, 16)
        self._chunks += 1
        self.bytes_read += size
        if self.maxlen and self.bytes_read > self.maxlen:
            raise MaxSizeExceeded("Request Entity Too Large", self.maxlen)
        if size == 0:
            self._skip_trailers()
            self._done = True
            return False
        self._left = size
        return True

    def _line(self) -> bytes:
        """A chunk-size or trailer line, which ends in CRLF and holds no other CR (RFC 9112
        §7.1, §2.2): a bare CR or LF that a proxy in front of us read otherwise would let a
        request be smuggled in the body."""
        line = self.rfile.readline(_MAX_CHUNK_LINE)
        if not line.endswith(b"\n"):
            raise self._refuse("bad chunked transfer coding: a chunk-size line is cut or too long")
        if not line.endswith(b"\r\n") or line.count(b"\r") != 1:
            raise self._refuse("bad chunked transfer coding: a line does not end in CRLF alone")
        return line

    def _skip_trailers(self) -> None:
        """Read trailer fields up to the empty line that ends the body (none, usually)."""
        for _ in range(_MAX_TRAILER_LINES):
            if self._line() == b"\r\n":
                return
        raise self._refuse("bad chunked transfer coding: too many trailer lines")


class FileWrapper:
    """wsgi.file_wrapper: iterable over a file's blocks, and seekable, as werkzeug's _RangeWrapper
    wants for Range requests; the server calls `send` instead when it can."""

    def __init__(self, file, block_size: int = 8192):
        self.file = file
        self.block_size = max(block_size, BLOCK)

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        data = self.file.read(self.block_size)
        if not data:
            raise StopIteration
        return data

    def seekable(self) -> bool:
        return self.file.seekable()

    def seek(self, *args) -> int:
        return self.file.seek(*args)

    def tell(self) -> int:
        return self.file.tell()

    def close(self) -> None:
        self.file.close()

    def sendable(self, length: int | None) -> bool:
        """Whether `send` may carry a body of `length` bytes: a real file, and large enough that
        sending the headers on their own costs nothing worth counting."""
        if length is None or length < SENDFILE_MIN:
            return False
        try:
            self.file.fileno()
        except (AttributeError, OSError, ValueError):
            return False
        return True

    def send(self, sock: socket.socket, length: int) -> int:
        """sendfile(2) `length` bytes from the file's position; the bytes sent (fewer only if
        the file ended early)."""
        return sock.sendfile(self.file, self.file.tell(), length)
