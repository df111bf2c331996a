"""A full disk under the registry. Docker used to get a bare 500 after five retries; now every way
a blob or manifest arrives answers 403 DENIED (the code docker neither retries nor hides) with a
message that says the storage is full, where it is and what to do, leaves nothing partial, and
gives the room back. Storage over the in-memory driver with a capacity; HTTP over a 2 MiB tmpfs
(tests/test_ecr_docker.py pushes with docker onto one)."""

from __future__ import annotations

import http.client
import json
import os

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.registry.driver.inmemory import InMemoryDriver
from emulator.registry.errors import StorageFull, UploadUnknown
from emulator.registry.names import repo_ref
from emulator.registry.storage import RegistryStorage
from test_ecr_helpers import error_code
from test_registry_helpers import (  # noqa: F401 (fixtures)
    OCI_MANIFEST, digest_of, error_codes, image_manifest, reg, registry, stored, tiny_disk,
)

APP = repo_ref("123456789012", "us-east-1", "app")
LAYER = os.urandom(3000)


@pytest.fixture
def small():
    """Storage that holds 2,000 bytes in all."""
    return RegistryStorage(InMemoryDriver(capacity=2000))


def _assert_full(error: StorageFull) -> None:
    assert "storage is full" in error.message and "in-memory storage" in error.message
    assert "ECS_EMULATOR_DATA_DIR" in error.message


def test_an_upload_past_the_capacity_is_dropped_and_the_room_given_back(small):
    upload = small.start_upload(APP)
    small.append_upload(APP, upload.upload_id, [LAYER[:1500]])
    with pytest.raises(StorageFull) as full:
        small.append_upload(APP, upload.upload_id, [LAYER[1500:]])
    _assert_full(full.value)
    with pytest.raises(StorageFull):  # a retry is told why the upload is gone
        small.upload_status(APP, upload.upload_id)
    assert not stored(small, "uploads", "tmp", "blobs")
    assert small.put_blob(APP, digest_of(LAYER[:1800]), [LAYER[:1800]]).size == 1800


def test_a_last_chunk_or_a_whole_blob_past_the_capacity(small):
    upload = small.start_upload(APP)
    with pytest.raises(StorageFull):
        small.finish_upload(APP, upload.upload_id, digest_of(LAYER), [LAYER])
    small.reset()  # forgets the discarded upload too
    with pytest.raises(UploadUnknown):
        small.upload_status(APP, upload.upload_id)
    with pytest.raises(StorageFull):
        small.put_blob(APP, digest_of(LAYER), [LAYER[:1000], LAYER[1000:]])
    assert not stored(small, "uploads", "tmp", "blobs")


def test_a_manifest_that_finds_no_room_leaves_no_tag(small):
    config = b'{"os":"linux"}'
    small.put_blob(APP, digest_of(config), [config])
    small.put_blob(APP, digest_of(LAYER[:1500]), [LAYER[:1500]])
    body = json.dumps(image_manifest(digest_of(config), len(config),
                                     [(digest_of(LAYER[:1500]), 1500)])).encode()
    with pytest.raises(StorageFull):
        small.put_manifest(APP, "v1", body, OCI_MANIFEST)
    assert small.list_tags(APP) == [] and small.list_manifests(APP) == []
    assert not stored(small, "tmp")


def _chunks(data: bytes, size: int = 64 * 1024):
    return (data[i:i + size] for i in range(0, len(data), size))


def _assert_denied_as_full(response, data_dir) -> None:
    assert response.status_code == 403, response.text
    [error] = response.json()["errors"]
    assert error["code"] == "DENIED"
    assert "storage is full" in error["message"] and str(data_dir) in error["message"]
    assert "ECS_EMULATOR_DATA_DIR" in error["message"]


def test_http_pushes_onto_a_full_disk(reg, registry, tiny_disk):
    data = os.urandom(3 * 1024 * 1024)
    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    _assert_denied_as_full(reg.request("PATCH", location, data=_chunks(data)), tiny_disk)
    _assert_denied_as_full(reg.request("GET", location), tiny_disk)  # what a retry sees

    monolithic = reg.request("POST", f"/v2/app/blobs/uploads/?digest={digest_of(data)}",
                             data=data)
    _assert_denied_as_full(monolithic, tiny_disk)
    assert not stored(registry.storage, "uploads", "tmp", "blobs")
    # The room came back: a blob that fits is stored.
    assert reg.push_blob("app", data[:1024 * 1024]) == digest_of(data[:1024 * 1024])


def test_a_refused_layer_is_read_to_its_end_before_the_answer(reg, tiny_disk):
    """A client that writes a whole chunked layer before reading (as docker does) gets the 403,
    not a reset as it still writes (which docker retries): the rest of the body is read first."""
    location = reg.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    data = os.urandom(32 * 1024 * 1024)  # far more than the socket buffers hold
    # http.client, as Go's client, fails on a reset while writing (requests would hide it).
    connection = http.client.HTTPConnection("127.0.0.1", reg.port, timeout=30)
    try:
        connection.request("PATCH", location, body=_chunks(data, 1024 * 1024),
                           encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 403
        assert b"storage is full" in response.read()
    finally:
        connection.close()


def test_ecr_layer_parts_onto_a_full_disk(clean_emulator, tiny_disk):
    """UploadLayerPart models LimitExceededException: the same words, in ECR's shape."""
    # No retries here (botocore retries LimitExceededException, with backoff); the second call
    # below is what a retry sees.
    ecr = clean_emulator.client("ecr", config=Config(retries={"max_attempts": 1,
                                                              "mode": "standard"}))
    ecr.create_repository(repositoryName="big")
    upload_id = ecr.initiate_layer_upload(repositoryName="big")["uploadId"]
    part = os.urandom(700 * 1024)  # the API takes bodies up to 1 MiB; the disk holds 2 MiB
    with pytest.raises(ClientError) as full:
        for first in range(0, 4 * len(part), len(part)):
            ecr.upload_layer_part(repositoryName="big", uploadId=upload_id, partFirstByte=first,
                                  partLastByte=first + len(part) - 1, layerPartBlob=part)
    assert error_code(full) == "LimitExceededException"
    assert full.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "storage is full" in full.value.response["Error"]["Message"]
    # The upload is gone, and what is left of it says why, rather than "upload not found".
    with pytest.raises(ClientError) as again:
        ecr.upload_layer_part(repositoryName="big", uploadId=upload_id, partFirstByte=0,
                              partLastByte=0, layerPartBlob=b"x")
    assert error_code(again) == "LimitExceededException"
    with pytest.raises(ClientError) as completing:
        ecr.complete_layer_upload(repositoryName="big", uploadId=upload_id,
                                  layerDigests=[digest_of(part)])
    assert error_code(completing) == "UploadNotFoundException"
    assert "storage is full" in completing.value.response["Error"]["Message"]
    assert not [p for p in tiny_disk.rglob("*") if p.is_file() and "/uploads/" in str(p)]
