"""The registry's storage contract without HTTP (what ECR's API calls), over both storage drivers,
and namespace resolution."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import tracemalloc

import pytest

from emulator.registry.errors import (
    BlobUnknown, DigestMismatch, InvalidName, ManifestBlobUnknown, ManifestUnknown,
    RepositoryUnknown, SizeMismatch, UploadOutOfOrder, UploadUnknown,
)
from emulator.registry.names import repo_ref, resolve_repository
from emulator.registry.driver.filesystem import FilesystemDriver
from emulator.registry.driver.inmemory import InMemoryDriver
from emulator.registry.storage import RegistryStorage
from test_registry_helpers import (
    DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, digest_of, image_manifest,
    stored,
)

APP = repo_ref("123456789012", "us-east-1", "app")
NESTED = repo_ref("123456789012", "us-east-1", "app/api")
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@pytest.fixture(params=["filesystem", "inmemory"])
def storage(request, tmp_path):
    if request.param == "filesystem":
        return RegistryStorage(FilesystemDriver(tmp_path / "registry"))
    return RegistryStorage(InMemoryDriver())


def _image(storage, repo, tag, layers=(b"layer",)):
    config = b'{"os":"linux"}'
    descriptors = []
    for data in (config, *layers):
        storage.put_blob(repo, digest_of(data), [data])
        descriptors.append((digest_of(data), len(data)))
    (config_digest, config_size), *layer_descriptors = descriptors
    body = json.dumps(image_manifest(config_digest, config_size, layer_descriptors)).encode()
    return storage.put_manifest(repo, tag, body, OCI_MANIFEST), body


def test_upload_by_parts_as_ecr_sends_them(storage):
    data = b"0123456789" * 1000
    upload = storage.start_upload(APP)
    assert storage.append_upload(APP, upload.upload_id, [data[:4000]], start=0,
                                 length=4000).size == 4000
    with pytest.raises(UploadOutOfOrder) as out_of_order:
        storage.append_upload(APP, upload.upload_id, [data[5000:]], start=5000)
    assert out_of_order.value.size == 4000
    storage.append_upload(APP, upload.upload_id, [data[4000:]], start=4000)
    assert storage.upload_status(APP, upload.upload_id).size == len(data)
    info = storage.finish_upload(APP, upload.upload_id, digest_of(data))
    assert (info.digest, info.size) == (digest_of(data), len(data))
    blob, stream = storage.open_blob(APP, info.digest)
    with stream:
        assert (blob.size, stream.read()) == (len(data), data)
    with pytest.raises(UploadUnknown):
        storage.upload_status(APP, upload.upload_id)


def test_a_short_part_is_rolled_back(storage):
    upload = storage.start_upload(APP)
    storage.append_upload(APP, upload.upload_id, [b"abc"])
    with pytest.raises(SizeMismatch):
        storage.append_upload(APP, upload.upload_id, [b"de"], start=3, length=10)
    assert storage.upload_status(APP, upload.upload_id).size == 3
    storage.append_upload(APP, upload.upload_id, [b"def"])
    assert storage.finish_upload(APP, upload.upload_id, digest_of(b"abcdef")).size == 6


def test_sha512_blobs_and_a_digest_mismatch(storage, tmp_path):
    data = b"sha512 content"
    sha512 = "sha512:" + hashlib.sha512(data).hexdigest()
    assert storage.put_blob(APP, sha512, [data]).digest == sha512
    upload = storage.start_upload(APP)
    storage.append_upload(APP, upload.upload_id, [b"not it"])
    with pytest.raises(DigestMismatch):
        storage.finish_upload(APP, upload.upload_id, digest_of(b"other"))
    assert not storage.blob_exists(APP, digest_of(b"not it"))
    assert not stored(storage, "uploads", "tmp")


def test_manifests_tags_and_listing(storage):
    first, body = _image(storage, APP, "v1")
    assert first.tags == ("v1",) and first.layers_size == len(b"layer")
    again = storage.put_manifest(APP, "latest", body, None)
    assert again.digest == first.digest and again.tags == ("latest", "v1")
    assert again.pushed_at == first.pushed_at
    second, _ = _image(storage, APP, "v2", layers=(b"other layer",))
    listed = storage.list_manifests(APP)
    assert [(m.digest, m.tags) for m in listed] == [(first.digest, ("latest", "v1")),
                                                    (second.digest, ("v2",))]
    assert storage.list_tags(APP) == ["latest", "v1", "v2"]
    info, got = storage.get_manifest(APP, first.digest)
    assert got == body and info.media_type == OCI_MANIFEST


def test_a_manifest_with_missing_references_stores_nothing(storage):
    storage.create_repository(APP)
    body = json.dumps(image_manifest(digest_of(b"cfg"), 3, [])).encode()
    with pytest.raises(ManifestBlobUnknown) as refused:
        storage.put_manifest(APP, "v1", body, OCI_MANIFEST)
    assert refused.value.detail["digests"] == [digest_of(b"cfg")]
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": digest_of(b"child"), "size": 5}]}).encode()
    with pytest.raises(ManifestBlobUnknown):
        storage.put_manifest(APP, "multi", index, OCI_INDEX)
    assert storage.list_tags(APP) == [] and storage.list_manifests(APP) == []
    assert not stored(storage, "blobs")


def test_before_tag_can_refuse_and_nothing_changes(storage):
    info, body = _image(storage, APP, "v1")

    def immutable(tag, digest):
        raise RuntimeError(f"{tag} is immutable")

    other, _ = _image(storage, APP, "v2", layers=(b"x",))
    with pytest.raises(RuntimeError):
        storage.put_manifest(APP, "v1", storage.get_manifest(APP, other.digest)[1], None,
                             before_tag=immutable)
    assert storage.stat_manifest(APP, "v1").digest == info.digest


def test_deletes(storage):
    info, _ = _image(storage, APP, "v1")
    storage.put_manifest(APP, "v2", storage.get_manifest(APP, "v1")[1], None)
    untagged = storage.delete_manifest(APP, "v1")
    assert (untagged.digest, untagged.tags, untagged.manifest_removed) == \
        (info.digest, ("v1",), False)
    removed = storage.delete_manifest(APP, info.digest)
    assert (removed.tags, removed.manifest_removed) == (("v2",), True)
    with pytest.raises(ManifestUnknown):
        storage.stat_manifest(APP, "v2")
    with pytest.raises(BlobUnknown):
        storage.delete_blob(APP, digest_of(b"never"))


def test_repositories_nest_and_delete_apart(storage):
    _image(storage, APP, "v1")
    _image(storage, NESTED, "v1")
    elsewhere = repo_ref("111122223333", "eu-west-1", "app")
    storage.create_repository(elsewhere)
    assert storage.list_repositories() == [elsewhere, APP, NESTED]
    assert storage.list_repositories("123456789012", "us-east-1") == [APP, NESTED]
    storage.delete_repository(APP)
    assert storage.list_repositories() == [elsewhere, NESTED]
    assert storage.list_tags(NESTED) == ["v1"]
    with pytest.raises(RepositoryUnknown):
        storage.list_tags(APP)
    assert storage.list_tags(elsewhere) == []
    storage.reset()
    assert storage.list_repositories() == [] and not stored(storage)


def test_resolution_by_host_then_path_then_default():
    default = ("123456789012", "us-east-1")
    by_host = resolve_repository("111122223333.dkr.ecr.eu-west-1.localhost:4566", "team/app",
                                 *default)
    assert (by_host.account, by_host.region, by_host.name) == ("111122223333", "eu-west-1",
                                                              "team/app")
    by_path = resolve_repository("127.0.0.1:4566", "111122223333/eu-west-1/team/app", *default)
    assert by_path == by_host
    plain = resolve_repository("localhost:4566", "111122223333/app", *default)
    assert (plain.account, plain.region, plain.name) == (*default, "111122223333/app")
    # With an ECR host, the path is the repository name as it stands.
    assert resolve_repository("111122223333.dkr.ecr.eu-west-1.x", "222233334444/us-east-2/a",
                              *default).name == "222233334444/us-east-2/a"
    with pytest.raises(InvalidName):
        resolve_repository("localhost", "111122223333/eu-west-1/../x", *default)


def test_abandoned_uploads_expire(storage, monkeypatch):
    """A killed push leaves its upload behind; uploads idle past the expiry are removed when
    the next upload starts (as distribution purges old uploads), busy or fresh ones stay."""
    from emulator.registry import blobstore

    abandoned = storage.start_upload(APP)
    storage.append_upload(APP, abandoned.upload_id, [b"half a layer"])
    fresh = storage.start_upload(APP)
    _backdate(storage.driver, f"uploads/{abandoned.upload_id}/data",
              blobstore.UPLOAD_EXPIRY_S + 60)
    monkeypatch.setattr(blobstore, "PURGE_EVERY_S", 0)
    storage.start_upload(APP)
    with pytest.raises(UploadUnknown):
        storage.upload_status(APP, abandoned.upload_id)
    assert storage.upload_status(APP, fresh.upload_id).size == 0


def _backdate(driver, path: str, seconds: float) -> None:
    """Make a file look untouched for `seconds` (what a day of waiting would do)."""
    if isinstance(driver, FilesystemDriver):
        old = os.stat(driver.root / path).st_mtime - seconds
        os.utime(driver.root / path, (old, old))
    else:
        driver._files[path].modified -= seconds


def test_concurrent_uploads_each_end_as_their_own_blob(storage):
    blobs = [bytes([i]) * (300_000 + i) for i in range(6)]
    results = {}

    def push(index: int) -> None:
        upload = storage.start_upload(APP)
        data = blobs[index]
        for first in range(0, len(data), 65536):
            storage.append_upload(APP, upload.upload_id, [data[first:first + 65536]], start=first)
        results[index] = storage.finish_upload(APP, upload.upload_id, digest_of(data))

    threads = [threading.Thread(target=push, args=(i,)) for i in range(len(blobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, data in enumerate(blobs):
        assert results[index].size == len(data)
        _, stream = storage.open_blob(APP, digest_of(data))
        with stream:
            assert stream.read() == data
    assert not stored(storage, "uploads", "tmp")


def test_a_large_blob_streams_through_in_flat_memory(tmp_path):
    """64 MiB in and out of the filesystem driver while Python holds a few MiB at most."""
    storage = RegistryStorage(FilesystemDriver(tmp_path / "registry"))
    chunk, count = os.urandom(1024 * 1024), 64
    hasher = hashlib.sha256()
    for _ in range(count):
        hasher.update(chunk)
    digest = "sha256:" + hasher.hexdigest()
    tracemalloc.start()
    try:
        upload = storage.start_upload(APP)
        storage.append_upload(APP, upload.upload_id, (chunk for _ in range(count // 2)))
        storage.append_upload(APP, upload.upload_id, (chunk for _ in range(count // 2)))
        info = storage.finish_upload(APP, upload.upload_id, digest)
        _, stream = storage.open_blob(APP, digest)
        with stream:
            read = sum(len(block) for block in iter(lambda: stream.read(1024 * 1024), b""))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.size == read == count * len(chunk)
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"


def test_a_data_directory_of_an_earlier_version_reads_as_before(tmp_path):
    """Earlier versions made empty directories for an empty repository and wrote plain files;
    persistence (ECS_EMULATOR_PERSIST) relies on these being read back after an upgrade."""
    root = tmp_path / "registry"
    data = b"layer"
    layer = digest_of(data)
    config = b'{"os":"linux"}'
    body = json.dumps(image_manifest(digest_of(config), len(config), [(layer, len(data))]))
    base = root / "repositories" / "123456789012" / "us-east-1"
    for sub in ("_layers", "_manifests/revisions", "_manifests/tags"):
        (base / "empty" / sub).mkdir(parents=True)
    app = base / "app"
    for digest, content in ((layer, data), (digest_of(config), config),
                            (digest_of(body.encode()), body.encode())):
        hex_ = digest.partition(":")[2]
        (root / "blobs" / "sha256" / hex_[:2]).mkdir(parents=True, exist_ok=True)
        (root / "blobs" / "sha256" / hex_[:2] / hex_).write_bytes(content)
        (app / "_layers" / "sha256").mkdir(parents=True, exist_ok=True)
        (app / "_layers" / "sha256" / hex_).touch()
    manifest = digest_of(body.encode())
    (app / "_manifests" / "revisions" / "sha256").mkdir(parents=True)
    (app / "_manifests" / "revisions" / "sha256" / manifest.partition(":")[2]).write_text(
        json.dumps({"digest": manifest, "media_type": OCI_MANIFEST, "size": len(body),
                    "pushed_at": 1.0, "tags": []}))
    (app / "_manifests" / "tags").mkdir()
    (app / "_manifests" / "tags" / "v1").write_text(manifest)

    storage = RegistryStorage(FilesystemDriver(root))
    empty = repo_ref("123456789012", "us-east-1", "empty")
    assert storage.list_repositories() == [APP, empty]
    assert storage.list_tags(empty) == [] and storage.list_manifests(empty) == []
    info, got = storage.get_manifest(APP, "v1")
    assert (info.digest, info.tags, got) == (manifest, ("v1",), body.encode())
    assert storage.stat_blob(APP, layer).size == len(data)
    storage.delete_manifest(APP, manifest)
    storage.delete_blob(APP, layer)
    storage.delete_blob(APP, digest_of(config))
    assert storage.repository_exists(APP) and storage.list_tags(APP) == []


def test_every_domain_error_has_one_answer_with_a_known_code():
    from emulator.registry import errors

    domain = [kind for kind in vars(errors).values() if isinstance(kind, type)
              and issubclass(kind, errors.RegistryError) and kind is not errors.RegistryError]
    for kind in domain:
        answer = errors.answer_for(kind.__new__(kind))
        assert answer.code in errors.CODES and 400 <= answer.status < 500, kind
    assert errors.answer_for(errors.StorageFull("/data", "full")) == errors.Answer("DENIED", 403)


def test_blob_media_types_are_read_once_until_a_manifest_changes(storage, monkeypatch):
    """BatchCheckLayerAvailability's media types: as the oldest manifest naming a blob says,
    read from the manifests once and kept until one of the repository's is put or deleted."""
    info, _ = _image(storage, APP, "v1")
    config, layer = digest_of(b'{"os":"linux"}'), digest_of(b"layer")
    assert storage.blob_media_types(APP) == {config: OCI_CONFIG, layer: OCI_LAYER}
    reads = []
    for driver in {id(storage.driver): storage.driver, id(storage._blobs.driver):
                   storage._blobs.driver}.values():
        real = driver.get_content
        monkeypatch.setattr(driver, "get_content",
                            lambda path, real=real: reads.append(path) or real(path))
    assert storage.blob_media_types(APP) == {config: OCI_CONFIG, layer: OCI_LAYER}
    assert reads == []  # kept: nothing read again

    newer = b"newer layer"
    storage.put_blob(APP, digest_of(newer), [newer])
    body = json.dumps(image_manifest(config, 14, [(layer, 5), (digest_of(newer), len(newer))],
                                     media_type=DOCKER_MANIFEST, config_type=DOCKER_CONFIG,
                                     layer_type=DOCKER_LAYER)).encode()
    storage.put_manifest(APP, "v2", body, DOCKER_MANIFEST)
    assert storage.blob_media_types(APP) == {config: OCI_CONFIG, layer: OCI_LAYER,
                                             digest_of(newer): DOCKER_LAYER}
    storage.delete_manifest(APP, info.digest)
    assert storage.blob_media_types(APP) == {config: DOCKER_CONFIG, layer: DOCKER_LAYER,
                                             digest_of(newer): DOCKER_LAYER}
