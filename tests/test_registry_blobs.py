"""Registry blobs over raw HTTP: monolithic and chunked uploads, resumable status, Range GET,
cross-repository mount, delete, truncated and mismatched uploads, concurrent pushes."""

from __future__ import annotations

import os
import socket
import threading

from test_registry_helpers import digest_of, error_codes, reg, registry, stored  # noqa: F401


def test_version_check_answers_with_the_api_version_header(reg):
    response = reg.request("GET", "/v2/")
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_monolithic_post_then_head_and_get(reg):
    data = os.urandom(300_000)
    digest = digest_of(data)
    response = reg.request("POST", f"/v2/app/blobs/uploads/?digest={digest}", data=data)
    assert response.status_code == 201
    assert response.headers["Location"] == f"/v2/app/blobs/{digest}"
    assert response.headers["Docker-Content-Digest"] == digest

    head = reg.request("HEAD", f"/v2/app/blobs/{digest}")
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(data))
    assert head.headers["Docker-Content-Digest"] == digest
    assert head.content == b""
    got = reg.request("GET", f"/v2/app/blobs/{digest}")
    assert got.content == data
    assert got.headers["Content-Type"] == "application/octet-stream"


def test_post_then_put_in_one_piece(reg):
    data = b"layer bytes" * 1000
    start = reg.request("POST", "/v2/team/app/blobs/uploads/")
    assert start.status_code == 202
    location = start.headers["Location"]
    assert location.startswith("/v2/team/app/blobs/uploads/")
    assert start.headers["Docker-Upload-UUID"] in location
    done = reg.request("PUT", f"{location}?digest={digest_of(data)}", data=data)
    assert done.status_code == 201
    assert reg.request("GET", f"/v2/team/app/blobs/{digest_of(data)}").content == data


def test_chunked_upload_with_content_range_and_resumable_status(reg):
    data = os.urandom(250_000)
    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    first = reg.request("PATCH", location, data=data[:100_000],
                        headers={"Content-Range": "0-99999"})
    assert first.status_code == 202
    assert first.headers["Range"] == "0-99999"

    # A chunk that does not start where the upload ends is refused with 416 and the real end.
    skipped = reg.request("PATCH", location, data=data[150_000:],
                          headers={"Content-Range": f"150000-{len(data) - 1}"})
    assert skipped.status_code == 416
    assert skipped.headers["Range"] == "0-99999"
    assert error_codes(skipped) == ["BLOB_UPLOAD_INVALID"]

    # The client asks where the upload stands and resumes from there.
    status = reg.request("GET", location)
    assert status.status_code == 204
    assert status.headers["Range"] == "0-99999"
    resume_at = int(status.headers["Range"].split("-")[1]) + 1
    second = reg.request("PATCH", status.headers["Location"], data=data[resume_at:200_000],
                         headers={"Content-Range": f"{resume_at}-199999"})
    assert second.headers["Range"] == "0-199999"
    # The last chunk comes with the closing PUT.
    done = reg.request("PUT", f"{location}?digest={digest_of(data)}", data=data[200_000:],
                       headers={"Content-Range": f"200000-{len(data) - 1}"})
    assert done.status_code == 201
    assert reg.request("GET", f"/v2/app/blobs/{digest_of(data)}").content == data
    assert error_codes(reg.request("GET", location)) == ["BLOB_UPLOAD_UNKNOWN"]


def test_streamed_patch_without_content_range(reg):
    """Docker streams a layer as one chunked-encoded PATCH with no Content-Range."""
    data = os.urandom(3 * 1024 * 1024 + 17)
    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    chunks = (data[i:i + 65536] for i in range(0, len(data), 65536))
    patched = reg.request("PATCH", location, data=chunks)
    assert patched.status_code == 202
    assert patched.headers["Range"] == f"0-{len(data) - 1}"
    assert reg.request("PUT", f"{location}?digest={digest_of(data)}").status_code == 201
    assert reg.request("GET", f"/v2/app/blobs/{digest_of(data)}").content == data


def test_content_range_that_disagrees_with_content_length(reg):
    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    response = reg.request("PATCH", location, data=b"x" * 10, headers={"Content-Range": "0-19"})
    assert response.status_code == 400
    assert error_codes(response) == ["SIZE_INVALID"]
    bad = reg.request("PATCH", location, data=b"x", headers={"Content-Range": "bytes five"})
    assert error_codes(bad) == ["BLOB_UPLOAD_INVALID"]
    assert reg.request("GET", location).headers["Range"] == "0-0"


def test_digest_mismatch_stores_nothing_and_ends_the_upload(reg, registry):
    data, other = b"what was sent", b"what was named"
    response = reg.request("POST", f"/v2/app/blobs/uploads/?digest={digest_of(other)}", data=data)
    assert response.status_code == 400
    assert error_codes(response) == ["DIGEST_INVALID"]

    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    reg.request("PATCH", location, data=data)
    closing = reg.request("PUT", f"{location}?digest={digest_of(other)}")
    assert error_codes(closing) == ["DIGEST_INVALID"]
    assert error_codes(reg.request("GET", location)) == ["BLOB_UPLOAD_UNKNOWN"]
    for digest in (digest_of(data), digest_of(other)):
        assert reg.request("HEAD", f"/v2/app/blobs/{digest}").status_code == 404
    assert not stored(registry.storage, "blobs", "tmp")


def test_closing_put_without_digest(reg):
    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    response = reg.request("PUT", location, data=b"abc")
    assert response.status_code == 400
    assert error_codes(response) == ["DIGEST_INVALID"]


def _truncated(reg, method: str, path: str, declared: int, sent: bytes):
    """Send fewer body bytes than Content-Length says, then stop sending."""
    with socket.create_connection(("127.0.0.1", reg.port), timeout=30) as sock:
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {declared}\r\n"
                "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
        sock.sendall(head.encode() + sent)
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


def test_truncated_uploads_are_refused_and_leave_nothing(reg, registry):
    data = os.urandom(100_000)
    reply = _truncated(reg, "POST", f"/v2/app/blobs/uploads/?digest={digest_of(data)}",
                       len(data), data[:40_000])
    assert b" 400 " in reply.split(b"\r\n", 1)[0] and b"SIZE_INVALID" in reply
    assert reg.request("HEAD", f"/v2/app/blobs/{digest_of(data)}").status_code == 404

    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    reg.request("PATCH", location, data=data[:1000], headers={"Content-Range": "0-999"})
    reply = _truncated(reg, "PATCH", location, 5000, data[1000:3000])
    assert b"SIZE_INVALID" in reply
    # The partial chunk was rolled back: the upload resumes where it stood.
    assert reg.request("GET", location).headers["Range"] == "0-999"
    reg.request("PATCH", location, data=data[1000:],
                headers={"Content-Range": f"1000-{len(data) - 1}"})
    assert reg.request("PUT", f"{location}?digest={digest_of(data)}").status_code == 201
    assert reg.request("GET", f"/v2/app/blobs/{digest_of(data)}").content == data
    assert not stored(registry.storage, "tmp")


def test_range_requests(reg):
    data = bytes(range(256)) * 40
    digest = reg.push_blob("app", data)
    part = reg.request("GET", f"/v2/app/blobs/{digest}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    tail = reg.request("GET", f"/v2/app/blobs/{digest}", headers={"Range": "bytes=-10"})
    assert tail.content == data[-10:]
    beyond = reg.request("GET", f"/v2/app/blobs/{digest}",
                         headers={"Range": f"bytes={len(data) + 5}-"})
    assert beyond.status_code == 416


def test_cross_repository_mount(reg):
    data = b"shared base layer"
    digest = reg.push_blob("base", data)
    mounted = reg.request("POST", f"/v2/app/blobs/uploads/?mount={digest}&from=base")
    assert mounted.status_code == 201
    assert mounted.headers["Location"] == f"/v2/app/blobs/{digest}"
    assert reg.request("GET", f"/v2/app/blobs/{digest}").content == data

    # A source without the blob, or in another account, gives an upload session instead.
    missing = reg.request("POST", f"/v2/other/blobs/uploads/?mount={digest}&from=nothing")
    assert missing.status_code == 202 and "/blobs/uploads/" in missing.headers["Location"]
    elsewhere = reg.request(
        "POST", f"/v2/111122223333/eu-west-1/app/blobs/uploads/?mount={digest}&from=base")
    assert elsewhere.status_code == 202
    assert reg.request("HEAD", f"/v2/other/blobs/{digest}").status_code == 404


def test_blobs_are_per_repository_and_deletable(reg):
    digest = reg.push_blob("app", b"only in app")
    assert reg.request("HEAD", f"/v2/other/blobs/{digest}").status_code == 404
    assert error_codes(reg.request("GET", f"/v2/other/blobs/{digest}")) == ["BLOB_UNKNOWN"]
    deleted = reg.request("DELETE", f"/v2/app/blobs/{digest}")
    assert deleted.status_code == 202
    assert reg.request("HEAD", f"/v2/app/blobs/{digest}").status_code == 404
    assert error_codes(reg.request("DELETE", f"/v2/app/blobs/{digest}")) == ["BLOB_UNKNOWN"]


def test_cancelled_upload_is_gone(reg, registry):
    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    reg.request("PATCH", location, data=b"abc")
    assert reg.request("DELETE", location).status_code == 204
    assert error_codes(reg.request("PATCH", location, data=b"d")) == ["BLOB_UPLOAD_UNKNOWN"]
    assert not stored(registry.storage, "uploads")


def test_an_upload_belongs_to_its_repository(reg):
    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    upload_id = location.rsplit("/", 1)[1]
    response = reg.request("PATCH", f"/v2/other/blobs/uploads/{upload_id}", data=b"x")
    assert response.status_code == 404
    assert error_codes(response) == ["BLOB_UPLOAD_UNKNOWN"]


def test_concurrent_pushes_of_the_same_layer(reg, registry):
    data = os.urandom(2 * 1024 * 1024)
    digest = digest_of(data)
    statuses = []

    def push(name):
        client = type(reg)(reg.handle)  # a session of its own per thread
        location = client.request("POST", f"/v2/{name}/blobs/uploads/").headers["Location"]
        chunks = (data[i:i + 8192] for i in range(0, len(data), 8192))
        client.request("PATCH", location, data=chunks)
        statuses.append(client.request("PUT", f"{location}?digest={digest}").status_code)

    threads = [threading.Thread(target=push, args=(f"app{i % 3}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 6
    for i in range(3):
        assert reg.request("GET", f"/v2/app{i}/blobs/{digest}").content == data
    assert not stored(registry.storage, "tmp")
    assert not stored(registry.storage, "uploads")


def test_a_malformed_chunked_body_is_refused_not_a_server_error(reg, registry):
    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    with socket.create_connection(("127.0.0.1", reg.port), timeout=30) as sock:
        sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                     "zz-not-a-size\r\nabc\r\n0\r\n\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert b" 400 " in reply.split(b"\r\n", 1)[0]
    assert b"BLOB_UPLOAD_INVALID" in reply
    assert reg.request("GET", location).headers["Range"] == "0-0"
