"""Fixtures and helpers shared by the ECR tests (tests/test_ecr_*.py); no tests here.

`ecr` is an ECR client on clean state (every response checked against the model); `push_image`
builds a small OCI image and pushes it through the ECR API alone (layer upload and PutImage), as
CI tools without docker do.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


@pytest.fixture
def ecr(clean_emulator):
    return clean_emulator.client("ecr")


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def upload_blob(ecr, repository: str, data: bytes, part_size: int | None = None) -> str:
    """InitiateLayerUpload, UploadLayerPart (in parts of `part_size`), CompleteLayerUpload."""
    digest = digest_of(data)
    upload_id = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    step = part_size or len(data)
    for first in range(0, len(data), step):
        part = data[first:first + step]
        ecr.upload_layer_part(repositoryName=repository, uploadId=upload_id, partFirstByte=first,
                              partLastByte=first + len(part) - 1, layerPartBlob=part)
    try:
        ecr.complete_layer_upload(repositoryName=repository, uploadId=upload_id,
                                  layerDigests=[digest])
    except ClientError as error:
        if error.response["Error"]["Code"] != "LayerAlreadyExistsException":
            raise
    return digest


def image_manifest(ecr, repository: str, layers: list[bytes], label: str = "x") -> str:
    """Upload a config and layers; the manifest text that names them."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"l": label}},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    descriptors = [{"mediaType": OCI_LAYER, "digest": upload_blob(ecr, repository, layer),
                    "size": len(layer)} for layer in layers]
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": upload_blob(ecr, repository, config),
                   "size": len(config)},
        "layers": descriptors,
    })


def push_image(ecr, repository: str, tag: str | None = None, layers: list[bytes] = (b"layer",),
               label: str = "x") -> str:
    """Push an image through the ECR API; its digest."""
    manifest = image_manifest(ecr, repository, list(layers), label)
    params = {"repositoryName": repository, "imageManifest": manifest}
    if tag is not None:
        params["imageTag"] = tag
    return ecr.put_image(**params)["image"]["imageId"]["imageDigest"]
