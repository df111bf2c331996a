"""Large bodies through the HTTP server (emulator/http_bodies.py): chunked request bodies decoded
as they arrive, and blobs sent with sendfile; the bytes must come out as they went in."""

from __future__ import annotations

import io
import os
import socket

import pytest
from cheroot.errors import MaxSizeExceeded

from emulator.http_bodies import ChunkedInput
from test_registry_helpers import digest_of, reg, registry  # noqa: F401


def _chunked(*chunks: bytes, extension: bytes = b"", trailers: bytes = b"") -> bytes:
    framed = b"".join(b"%X%s\r\n%s\r\n" % (len(c), extension, c) for c in chunks)
    return framed + b"0\r\n" + trailers + b"\r\n"


def _input(raw: bytes, maxlen: int = 0) -> ChunkedInput:
    return ChunkedInput(io.BufferedReader(io.BytesIO(raw)), maxlen)


def test_reads_span_chunks_and_stop_at_the_end():
    body = _input(_chunked(b"abc", b"defgh", b"ij"))
    assert body.read(4) == b"abcd"
    assert body.read(100) == b"efghij"
    assert body.read(1) == b""


def test_read_all_readline_and_iteration():
    assert _input(_chunked(b"one\ntw", b"o\nthree")).read() == b"one\ntwo\nthree"
    body = _input(_chunked(b"one\ntw", b"o\nthree"))
    assert body.readline() == b"one\n"
    assert list(body) == [b"two\n", b"three"]
    assert _input(_chunked(b"abcdef\n")).readline(4) == b"abcd"


def test_extensions_and_trailers_are_skipped_and_nothing_after_the_body_is_read():
    raw = _chunked(b"hello", extension=b";name=value", trailers=b"X-Check: 1\r\n")
    reader = io.BufferedReader(io.BytesIO(raw + b"GET /next"))
    assert ChunkedInput(reader).read() == b"hello"
    assert reader.read() == b"GET /next"


@pytest.mark.parametrize("raw", [
    b"zz\r\nabc\r\n0\r\n\r\n",     # not a hex size
    b"3\r\nabcXY0\r\n\r\n",        # no CRLF after the data
    b"10\r\nabc",                  # the connection closes inside a chunk
    b"-3\r\nabc\r\n0\r\n\r\n",     # a negative size
    b"3",                          # a cut size line
    b"2\r;x\r\n{}\r\n0\r\n\r\n",     # a bare CR in a size line (RFC 9112 §2.2)
    b"2\r\n{}\r\n0\n\r\n",          # a size line ending in a bare LF
    b"2\n{}\r\n0\r\n\r\n",          # the same, first
    b"2\r\n{}\r\n0\r\nX: 1\r\r\n\r\n",  # a bare CR in a trailer line
    b"2\r\n{}\r\n0\r\nX: 1\n\r\n",    # a trailer line ending in a bare LF
    b"2\r\n{}\r\n0\r\n\n",          # the empty line that ends the body, a bare LF
    b"+2\r\n{}\r\n0\r\n\r\n",       # a sign, which int() takes
    b"0x2\r\n{}\r\n0\r\n\r\n",      # a "0x", which int(..., 16) takes
    b"0_2\r\n{}\r\n0\r\n\r\n",      # an underscore, which int() takes
    b" 2\r\n{}\r\n0\r\n\r\n",       # a space before the size
])
def test_malformed_framing_is_a_value_error(raw):
    with pytest.raises(ValueError):
        _input(raw).read()


def test_a_refused_body_is_never_read_on_as_chunks():
    """After the framing is refused, what follows is not parsed as sizes and data ("abc" was
    read as a chunk of 0xabc bytes, and "0\r\n" returned as the body's)."""
    body = _input(b"zz\r\nabc\r\n0\r\n\r\n")
    with pytest.raises(ValueError) as first:
        body.read()
    with pytest.raises(ValueError) as again:
        body.read()
    assert again.value is first.value


def test_whitespace_before_an_extension_is_taken():
    """RFC 9112 §7.1's chunk-ext begins with BWS: "2 ;x" is a size of 2."""
    assert _input(b"2 \t;x=1\r\n{}\r\n0\r\n\r\n").read() == b"{}"


def test_a_body_over_the_limit_is_refused():
    with pytest.raises(MaxSizeExceeded):
        _input(_chunked(b"x" * 10, b"y" * 10), maxlen=15).read()


def test_large_chunks_and_tiny_chunks_on_one_keep_alive_connection(reg):
    data = os.urandom(3 * 1024 * 1024 + 17)
    big, tiny = data[:2 * 1024 * 1024 + 5], data[2 * 1024 * 1024 + 5:]
    pieces = [big] + [tiny[i:i + 7] for i in range(0, 3500, 7)] + [tiny[3500:]]
    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    with socket.create_connection(("127.0.0.1", reg.port), timeout=30) as sock:
        stream = sock.makefile("rb")
        sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode()
                     + _chunked(*pieces, extension=b";x=1", trailers=b"X-Done: yes\r\n"))
        assert _status_and_skip(stream) == 202
        # the same connection goes on: the body, trailers included, was read to its end
        sock.sendall(f"PUT {location}?digest={digest_of(data)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Length: 0\r\n\r\n".encode())
        assert _status_and_skip(stream) == 201
    assert reg.request("GET", f"/v2/app/blobs/{digest_of(data)}").content == data


def test_an_upload_of_malformed_chunking_is_a_400_and_the_connection_closes(reg):
    """A bare CR in a chunk-size line (RFC 9112 §2.2) was taken as the end of the line: the
    registry answers BLOB_UPLOAD_INVALID, and nothing after the body is read as a request."""
    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    with socket.create_connection(("127.0.0.1", reg.port), timeout=30) as sock:
        sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode()
                     + b"3\r;x\r\nabc\r\n0\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    assert answer.startswith(b"HTTP/1.1 400 ") and b"BLOB_UPLOAD_INVALID" in answer, answer
    assert answer.count(b"HTTP/1.1") == 1, "the request after the body was answered"


def test_large_blob_whole_in_ranges_and_head(reg):
    data = os.urandom(5 * 1024 * 1024 + 3)
    digest = reg.push_blob("app", data)
    path = f"/v2/app/blobs/{digest}"
    whole = reg.request("GET", path)
    assert whole.headers["Content-Length"] == str(len(data))
    assert whole.content == data
    part = reg.request("GET", path, headers={"Range": "bytes=1000000-3500000"})
    assert part.status_code == 206
    assert part.content == data[1000000:3500001]
    assert part.headers["Content-Range"] == f"bytes 1000000-3500000/{len(data)}"
    assert reg.request("GET", path, headers={"Range": "bytes=-70000"}).content == data[-70000:]
    head = reg.request("HEAD", path)
    assert head.headers["Content-Length"] == str(len(data))
    assert head.content == b""


def test_sendfile_leaves_the_connection_ready_for_the_next_request(reg):
    data = os.urandom(200_000)
    digest = reg.push_blob("app", data)
    with socket.create_connection(("127.0.0.1", reg.port), timeout=30) as sock:
        stream = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(f"GET /v2/app/blobs/{digest} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                         .encode())
            assert _status_and_skip(stream) == 200
            assert stream.read(len(data)) == data


def _status_and_skip(stream) -> int:
    """Read a response's status line and headers (the body, if any, is the caller's); the
    status."""
    status = int(stream.readline().split()[1])
    while stream.readline() not in (b"\r\n", b""):
        pass
    return status
