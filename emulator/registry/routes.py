"""The registry's HTTP face: /v2/ routes, one short handler each, and the only registry module
that touches HTTP. It resolves the namespace and asks the hooks before any handler runs, streams
request bodies to storage in chunks (never request.data: layers are gigabytes) and blobs out of
storage's streams, and turns domain errors into the spec's {"errors": [...]} answers by the one
table in errors.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, request
from werkzeug.wsgi import wrap_file

from emulator.registry import Registry
from emulator.registry.errors import (
    CODES, Denied, InvalidDigest, InvalidPagination, ManifestTooLarge, ManifestUnknown,
    RegistryError, RepositoryUnknown, SizeMismatch, StorageFull, Unauthorized, UnknownRoute,
    UploadInvalid, UploadOutOfOrder, answer_for,
)
from emulator.registry.manifests import MAX_MANIFEST_BYTES, OCI_INDEX, acceptable
from emulator.registry.names import (
    is_digest_like, namespace_of_host, path_name, resolve_repository,
)

blueprint = Blueprint("registry", __name__)

BLOB = "/v2/<path:name>/blobs/<digest>"
UPLOADS = "/v2/<path:name>/blobs/uploads/"
UPLOAD = "/v2/<path:name>/blobs/uploads/<upload_id>"
MANIFEST = "/v2/<path:name>/manifests/<reference>"

_CHUNK = 1024 * 1024
# How much of a refused request's body is read before the answer (_drain_body): a few seconds
# of a local client's writing.
_DRAIN_BYTES, _DRAIN_S = 512 * 1024 * 1024, 5.0
# What a request does to its repository, by handler and method (see RegistryHooks.permits).
_READ = {"GET": "pull", "HEAD": "pull"}
_ACTIONS = {
    "get_manifest": _READ, "list_tags": _READ, "list_referrers": _READ,
    "get_blob": {"GET": "read-blob", "HEAD": "check-blob"},
    "put_manifest": {"PUT": "push"},
    "start_upload": {"POST": "upload"}, "upload_status": {"GET": "upload"},
    "upload_chunk": {"PATCH": "upload"}, "finish_upload": {"PUT": "upload"},
    "cancel_upload": {"DELETE": "upload"},
    "delete_manifest": {"DELETE": "delete"}, "delete_blob": {"DELETE": "delete"},
}


# -- every request ------------------------------------------------------------------------------

@blueprint.before_request
def resolve_and_authorize():
    registry = _registry()
    name = (request.view_args or {}).get("name", "")
    g.repo = resolve_repository(request.host, name, registry.default_account,
                                registry.default_region)
    authorization = request.headers.get("Authorization")
    if registry.auth:
        # Nothing of the body is read before this: an unauthenticated upload costs no memory,
        # and the server closes the connection rather than read what is left of it.
        if not registry.hooks.authorize(g.repo.account, g.repo.region, authorization):
            raise Unauthorized("authentication required")
        action = _ACTIONS.get((request.endpoint or "").rpartition(".")[2], {}).get(
            request.method)
        if g.repo.name and action and not registry.hooks.permits(
                g.repo.account, g.repo.region, g.repo.name, action, authorization):
            raise Denied(f"The credentials may not {action} in the repository '{g.repo.name}' "
                         f"of registry '{g.repo.account}': no repository or registry policy grants it to "
                         "their account.")
    if g.repo.name and not registry.hooks.repository_exists(g.repo.account, g.repo.region,
                                                           g.repo.name):
        raise RepositoryUnknown(
            f"The repository with name '{g.repo.name}' does not exist in the registry with id "
            f"'{g.repo.account}'", name=g.repo.name)
    return None


@blueprint.after_request
def api_version(response: Response) -> Response:
    response.headers["Docker-Distribution-API-Version"] = "registry/2.0"
    return response


@blueprint.errorhandler(RegistryError)
def registry_error(exc: RegistryError):
    answer = answer_for(exc)
    body = {"errors": [{"code": answer.code, "message": exc.message or CODES[answer.code],
                        "detail": exc.detail}]}
    response = _json(body, answer.status)
    if isinstance(exc, StorageFull):
        # Only a refusal made part-way through a body the client is still writing; one made
        # before the body (no credentials, no permission) reads none of it, as said above.
        _drain_body()
    if isinstance(exc, UploadOutOfOrder):
        args = request.view_args or {}
        response.headers["Location"] = _upload_url(args["name"], args["upload_id"])
        response.headers["Range"] = _range(exc.size)
    elif isinstance(exc, Unauthorized):
        realm = request.host_url.rstrip("/")
        response.headers["WWW-Authenticate"] = f'Basic realm="{realm}",service="ecr.amazonaws.com"'
    return response


# -- base and catalog ---------------------------------------------------------------------------

@blueprint.get("/v2/")
def version_check():
    return _json({})


@blueprint.get("/v2/_catalog")
def catalog():
    registry = _registry()
    # The caller's own repositories only (with registry auth off, every account's).
    owner = registry.hooks.catalog_account(request.headers.get("Authorization")) \
        if registry.auth else None
    if namespace_of_host(request.host):
        if owner is not None and owner != g.repo.account:
            return _page([], "/v2/_catalog", "repositories", {})
        repos = registry.storage.list_repositories(g.repo.account, g.repo.region)
        names = [repo.name for repo in repos]
    else:  # a plain host reaches other namespaces as /v2/<account>/<region>/<name>
        repos = registry.storage.list_repositories(owner)
        names = sorted(path_name(r, g.repo.account, g.repo.region) for r in repos)
    return _page(names, "/v2/_catalog", "repositories", {})


# -- blobs --------------------------------------------------------------------------------------

@blueprint.get(BLOB)
def get_blob(name: str, digest: str):
    info, stream = _registry().storage.open_blob(g.repo, digest)
    return blob_response(info.size, stream, {"Docker-Content-Digest": digest})


@blueprint.delete(BLOB)
def delete_blob(name: str, digest: str):
    _registry().storage.delete_blob(g.repo, digest)
    return _empty(202, {"Docker-Content-Digest": digest})


# -- uploads ------------------------------------------------------------------------------------

def _may_read(source) -> bool:
    registry = _registry()
    return not registry.auth or registry.hooks.permits(
        source.account, source.region, source.name, "read-blob",
        request.headers.get("Authorization"))


@blueprint.post(UPLOADS, strict_slashes=False)
def start_upload(name: str):
    storage, args = _registry().storage, request.args
    source = _mount_source(args.get("from")) if "mount" in args else None
    # Mounts stay within one account and region, as images do, and need the right to read the
    # source repository's blobs (a push right on this one grants nothing there); otherwise a
    # plain upload, as the spec has it for a mount the registry will not serve.
    if source is not None and (source.account, source.region) == (g.repo.account, g.repo.region) \
            and _may_read(source):
        info = storage.mount_blob(g.repo, source, args["mount"])
        if info is not None:
            return _blob_created(name, info.digest)
    if "digest" in args:
        info = storage.put_blob(g.repo, args["digest"], _body(), request.content_length)
        return _blob_created(name, info.digest)
    status = storage.start_upload(g.repo)
    return _upload_response(name, status.upload_id, status.size, 202)


@blueprint.get(UPLOAD)
def upload_status(name: str, upload_id: str):
    status = _registry().storage.upload_status(g.repo, upload_id)
    return _upload_response(name, upload_id, status.size, 204)


@blueprint.patch(UPLOAD)
def upload_chunk(name: str, upload_id: str):
    start, length = _content_range()
    status = _registry().storage.append_upload(g.repo, upload_id, _body(), start, length)
    return _upload_response(name, upload_id, status.size, 202)


@blueprint.put(UPLOAD)
def finish_upload(name: str, upload_id: str):
    digest = request.args.get("digest")
    if not digest:
        raise InvalidDigest("the digest query parameter is required to close an upload")
    start, length = _content_range()
    info = _registry().storage.finish_upload(g.repo, upload_id, digest, _body(), start, length)
    return _blob_created(name, info.digest)


@blueprint.delete(UPLOAD)
def cancel_upload(name: str, upload_id: str):
    _registry().storage.cancel_upload(g.repo, upload_id)
    return _empty(204)


# -- manifests and tags -------------------------------------------------------------------------

@blueprint.get(MANIFEST)
def get_manifest(name: str, reference: str):
    registry, repo = _registry(), g.repo
    info, body = registry.storage.get_manifest(repo, reference)
    if not acceptable(info.media_type, request.headers.get("Accept")):
        raise ManifestUnknown(f"manifest {reference} is {info.media_type}, which the request's "
                              "Accept header does not allow", reference=reference)
    registry.hooks.before_pull(repo.account, repo.region, repo.name, info.digest)
    if request.method == "GET":
        registry.hooks.after_pull(repo.account, repo.region, repo.name, info.digest,
                                  request.headers.get("Authorization"))
    response = Response(body, 200)
    response.headers.update({"Content-Type": info.media_type, "Docker-Content-Digest": info.digest,
                             "ETag": f'"{info.digest}"'})
    return response


@blueprint.put(MANIFEST)
def put_manifest(name: str, reference: str):
    registry, repo = _registry(), g.repo

    def before_tag(tag: str, digest: str) -> None:
        registry.hooks.before_tag(repo.account, repo.region, repo.name, tag, digest)

    info = registry.storage.put_manifest(repo, reference, _small_body(MAX_MANIFEST_BYTES),
                                         request.headers.get("Content-Type"), before_tag)
    tag = None if is_digest_like(reference) else reference
    registry.hooks.after_manifest_put(repo.account, repo.region, repo.name, info.digest, tag,
                                      info.media_type, info.size)
    headers = {"Location": f"/v2/{name}/manifests/{info.digest}",
               "Docker-Content-Digest": info.digest}
    if info.subject:
        headers["OCI-Subject"] = info.subject
    return _empty(201, headers)


@blueprint.delete(MANIFEST)
def delete_manifest(name: str, reference: str):
    registry, repo = _registry(), g.repo
    deleted = registry.storage.delete_manifest(repo, reference)
    registry.hooks.after_delete(repo.account, repo.region, repo.name, deleted.digest,
                                deleted.tags, deleted.manifest_removed)
    return _empty(202)


@blueprint.get("/v2/<path:name>/tags/list")
def list_tags(name: str):
    tags = _registry().storage.list_tags(g.repo)
    return _page(tags, f"/v2/{name}/tags/list", "tags", {"name": name})


@blueprint.get("/v2/<path:name>/referrers/<digest>")
def list_referrers(name: str, digest: str):
    artifact_type = request.args.get("artifactType") or None
    manifests = _registry().storage.referrers(g.repo, digest, artifact_type)
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    response = _json(body, content_type=OCI_INDEX)
    if artifact_type:
        response.headers["OCI-Filters-Applied"] = "artifactType"
    return response


@blueprint.route("/v2/<path:rest>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def unknown_route(rest: str):
    """Any other /v2/ path: the registry's own 404, never another service's answer."""
    raise UnknownRoute(f"{request.method} /v2/{rest} is not a route of the registry API")


# -- helpers ------------------------------------------------------------------------------------

def _registry() -> Registry:
    return current_app.extensions["emulator"].registry


def _body() -> Iterator[bytes]:
    """The request body in chunks, straight from the WSGI stream (cheroot decodes chunked
    transfer encoding). Stops early if the client does: storage checks the length."""
    stream = request.environ["wsgi.input"]
    remaining = request.content_length
    if remaining is None and "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return
    while remaining is None or remaining > 0:
        try:
            chunk = stream.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
        except (ValueError, OSError) as exc:  # e.g. a malformed chunked encoding
            g.body_unreadable = True  # nothing more is read of it (_drain_body)
            raise UploadInvalid(f"the request body could not be read: {exc}") from None
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def _drain_body() -> None:
    """Read what is left of a refused request's body (a layer the disk had no room for), up to a
    bound, before the answer goes. A client still
    writing when the server answers and closes gets a reset, which docker takes for a network
    fault and retries, never showing the answer; a chunked body is not read by the server
    for us (cheroot does so only for a known length). Past the bound the connection closes as
    before: a slow or endless body does not hold the thread."""
    if request.method not in ("PATCH", "PUT", "POST") or g.get("body_unreadable"):
        return  # a broken chunked encoding: what follows would be read as sizes, and waited for
    left, deadline = _DRAIN_BYTES, time.monotonic() + _DRAIN_S
    try:
        for chunk in _body():
            left -= len(chunk)
            if left <= 0 or time.monotonic() > deadline:
                return
    except RegistryError:  # the body cannot be read (what the answer may be about)
        return


def _small_body(limit: int) -> bytes:
    parts, size = [], 0
    for chunk in _body():
        size += len(chunk)
        if size > limit:
            raise ManifestTooLarge(f"manifest is larger than {limit} bytes")
        parts.append(chunk)
    body = b"".join(parts)
    if request.content_length is not None and len(body) != request.content_length:
        raise SizeMismatch(f"received {len(body)} bytes, expected {request.content_length}")
    return body


def _content_range() -> tuple[int | None, int | None]:
    """(first byte, length) of a chunk from Content-Range ("<start>-<end>", inclusive), or
    (None, Content-Length) without one."""
    raw = request.headers.get("Content-Range")
    if raw is None:
        return None, request.content_length
    text = raw.strip().removeprefix("bytes").strip(" =")
    start, sep, end = text.partition("-")
    if not sep or not start.isdigit() or not end.isdigit() or int(end) < int(start):
        raise UploadInvalid(f"invalid Content-Range {raw!r}; expected <start>-<end>")
    length = int(end) - int(start) + 1
    if request.content_length is not None and request.content_length != length:
        raise SizeMismatch(f"Content-Range {raw!r} is {length} bytes, Content-Length says "
                           f"{request.content_length}")
    return int(start), length


def _mount_source(source: str | None):
    if not source:
        return g.repo
    registry = _registry()
    return resolve_repository(request.host, source, registry.default_account,
                              registry.default_region)


def _page(items: list[str], path: str, key: str, extra: dict) -> Response:
    raw_n, last = request.args.get("n"), request.args.get("last")
    if last:
        items = [item for item in items if item > last]
    if raw_n is None or raw_n == "":
        return _json({**extra, key: items})
    if not raw_n.isdigit():
        raise InvalidPagination(f"n must be a non-negative integer, not {raw_n!r}")
    n = int(raw_n)
    response = _json({**extra, key: items[:n]})
    if 0 < n < len(items):
        response.headers["Link"] = f'<{path}?n={n}&last={quote(items[n - 1], safe="")}>; rel="next"'
    return response


def blob_response(size: int, stream, headers: dict | None = None) -> Response:
    """A blob streamed from storage, answering Range and conditional requests (HEAD sends the
    headers only); the stream is closed when the response is. ECR's download URLs use it too."""
    response = Response(wrap_file(request.environ, stream), 200, direct_passthrough=True,
                        mimetype="application/octet-stream")
    response.content_length = size
    response.cache_control.no_cache = True
    response.headers.update(headers or {})
    try:
        return response.make_conditional(request, accept_ranges=True, complete_length=size)
    except Exception:  # a Range outside the blob: werkzeug's 416, and the stream closed
        stream.close()
        raise


def _blob_created(name: str, digest: str) -> Response:
    return _empty(201, {"Location": f"/v2/{name}/blobs/{digest}",
                        "Docker-Content-Digest": digest})


def _upload_response(name: str, upload_id: str, size: int, status: int) -> Response:
    return _empty(status, {"Location": _upload_url(name, upload_id), "Range": _range(size),
                           "Docker-Upload-UUID": upload_id})


def _upload_url(name: str, upload_id: str) -> str:
    return f"/v2/{name}/blobs/uploads/{upload_id}"


def _range(size: int) -> str:
    # "0-<last byte>"; an empty upload says "0-0", as CNCF distribution does and clients expect.
    return f"0-{max(size - 1, 0)}"


def _json(body: dict, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(json.dumps(body), status, headers={"Content-Type": content_type})


def _empty(status: int, headers: dict | None = None) -> Response:
    response = Response(b"", status)
    del response.headers["Content-Type"]
    response.headers.update(headers or {})
    response.headers["Content-Length"] = "0"
    return response
