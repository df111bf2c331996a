"""Blob uploads and downloads over plain HTTP (http.client), the way registry clients send them:

monolithic  POST /v2/<name>/blobs/uploads/, then PUT <location>?digest= with the whole body
chunked     POST, then PATCHes of --part bytes with Content-Range and Content-Length, following
            the Location of each answer, then PUT ?digest= with no body
streamed    POST, then one PATCH whose body has Transfer-Encoding: chunked in 32 KiB chunks (what
            docker's push sends), then PUT ?digest=
download    GET /v2/<name>/blobs/<digest>, read into one preallocated buffer

Bodies go out from memory with as few copies as the client can manage (sendall of memoryview
slices, writev for chunk framing), so that the client costs the same whichever server it talks
to and as little as it can of the two shared cores.
"""

from __future__ import annotations

import hashlib
import http.client
from collections.abc import Iterable
from urllib.parse import urlsplit

OCTETS = {"Content-Type": "application/octet-stream"}
STREAM_CHUNK = 32 * 1024  # Go's io.Copy buffer, hence the chunks of docker's PATCH


def digest_of(parts: Iterable[bytes]) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part)
    return f"sha256:{hasher.hexdigest()}"


def monolithic(connection: http.client.HTTPConnection, repo: str, data: memoryview,
               digest: str) -> None:
    location = _start(connection, repo)
    _call(connection, "PUT", _with_digest(location, digest), data, 201,
          {**OCTETS, "Content-Length": str(len(data))})


def chunked(connection: http.client.HTTPConnection, repo: str, data: memoryview, digest: str,
            part: int) -> None:
    location = _start(connection, repo)
    for start in range(0, len(data), part):
        piece = data[start:start + part]
        headers = {**OCTETS, "Content-Length": str(len(piece)),
                   "Content-Range": f"{start}-{start + len(piece) - 1}"}
        location = _call(connection, "PATCH", location, piece, 202, headers)
    _call(connection, "PUT", _with_digest(location, digest), b"", 201, {"Content-Length": "0"})


def streamed(connection: http.client.HTTPConnection, repo: str, parts: Iterable[memoryview],
             digest: str) -> None:
    """One PATCH of `parts`, each sent as 32 KiB chunks of the chunked transfer encoding."""
    location = _start(connection, repo)
    connection.putrequest("PATCH", location, skip_accept_encoding=True)
    for key, value in {**OCTETS, "Transfer-Encoding": "chunked"}.items():
        connection.putheader(key, value)
    connection.endheaders()
    for part in parts:
        for start in range(0, len(part), STREAM_CHUNK):
            piece = part[start:start + STREAM_CHUNK]
            _send_parts(connection.sock, [b"%X\r\n" % len(piece), piece, b"\r\n"])
    connection.sock.sendall(b"0\r\n\r\n")
    location = _answer(connection, "PATCH", 202)
    _call(connection, "PUT", _with_digest(location, digest), b"", 201, {"Content-Length": "0"})


def sized_stream(connection: http.client.HTTPConnection, repo: str,
                 parts: Iterable[memoryview], size: int, digest: str) -> None:
    """A monolithic PUT whose body comes from `parts` (`size` bytes), for bodies too large to
    hold in the client's memory."""
    location = _start(connection, repo)
    connection.putrequest("PUT", _with_digest(location, digest), skip_accept_encoding=True)
    for key, value in {**OCTETS, "Content-Length": str(size)}.items():
        connection.putheader(key, value)
    connection.endheaders()
    for part in parts:
        connection.sock.sendall(part)
    _answer(connection, "PUT", 201)


def download(connection: http.client.HTTPConnection, repo: str, digest: str,
             into: memoryview) -> int:
    connection.request("GET", f"/v2/{repo}/blobs/{digest}")
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"GET blob: {response.status} {response.read()[:300]!r}")
    received = 0
    while received < len(into):
        count = response.readinto(into[received:])
        if not count:
            break
        received += count
    if response.read(1):
        raise RuntimeError("GET blob: longer than expected")
    return received


def _start(connection: http.client.HTTPConnection, repo: str) -> str:
    return _call(connection, "POST", f"/v2/{repo}/blobs/uploads/", b"", 202,
                 {"Content-Length": "0"})


def _call(connection: http.client.HTTPConnection, method: str, url: str, body, status: int,
          headers: dict[str, str]) -> str:
    """One request; the path and query of the answer's Location."""
    connection.request(method, url, body=body, headers=headers)
    return _answer(connection, method, status)


def _answer(connection: http.client.HTTPConnection, method: str, status: int) -> str:
    response = connection.getresponse()
    body = response.read()
    if response.status != status:
        raise RuntimeError(f"{method}: {response.status}, expected {status}: {body[:300]!r}")
    location = urlsplit(response.headers.get("Location", ""))
    return location.path + (f"?{location.query}" if location.query else "")


def _with_digest(location: str, digest: str) -> str:
    return f"{location}{'&' if '?' in location else '?'}digest={digest}"


def _send_parts(sock, parts: list) -> None:
    """writev: the chunk's framing and data in one system call, without joining them."""
    sent, total = sock.sendmsg(parts), sum(len(p) for p in parts)
    if sent < total:
        sock.sendall(b"".join(bytes(p) for p in parts)[sent:])
