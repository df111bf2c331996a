"""BatchGetImage's acceptedMediaTypes: an image pulled by tag whose stored manifest format the
caller does not accept comes converted between Docker's schema 2 and OCI, as on ECR
(registry/manifest_conversion.py); what cannot be converted is a failure. Images are pushed
through the ECR API alone (test_ecr_helpers.py)."""

import json

from test_ecr_helpers import (  # noqa: F401 (ecr is a fixture)
    OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, digest_of, ecr, push_image, upload_blob,
)

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
SCHEMA_1 = "application/vnd.docker.distribution.manifest.v1+json"
FOREIGN = {"mediaType": DOCKER_FOREIGN, "size": 1234, "digest": digest_of(b"windows base"),
           "urls": ["https://mcr.example/windows-base"]}  # not in the registry: at its URLs


def _docker_image(ecr, repository: str, tag: str) -> tuple[str, dict]:
    """Push a Docker schema 2 image (one layer, one foreign layer): (its digest, manifest)."""
    config, layer = b'{"architecture":"amd64","os":"windows"}', b"gzipped layer"
    manifest = {
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": len(config),
                   "digest": upload_blob(ecr, repository, config)},
        "layers": [FOREIGN, {"mediaType": DOCKER_LAYER, "size": len(layer),
                             "digest": upload_blob(ecr, repository, layer)}],
    }
    put = ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest, indent=3),
                        imageTag=tag)["image"]
    assert put["imageManifestMediaType"] == DOCKER_MANIFEST
    return put["imageId"]["imageDigest"], manifest


def test_a_docker_image_pulled_by_tag_as_oci(ecr):
    ecr.create_repository(repositoryName="win")
    stored, manifest = _docker_image(ecr, "win", "v1")
    got = ecr.batch_get_image(repositoryName="win", imageIds=[{"imageTag": "v1"}],
                              acceptedMediaTypes=[SCHEMA_1, OCI_MANIFEST])
    assert got["failures"] == []
    image = got["images"][0]
    converted = json.loads(image["imageManifest"])
    assert image["imageManifestMediaType"] == converted["mediaType"] == OCI_MANIFEST
    assert converted["config"] == {**manifest["config"], "mediaType": OCI_CONFIG}
    assert converted["layers"] == [
        {**FOREIGN, "mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"},
        {**manifest["layers"][1], "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}]
    # The converted manifest is other bytes: its own digest, as the registry would store it.
    converted_digest = digest_of(image["imageManifest"].encode())
    assert image["imageId"] == {"imageDigest": converted_digest, "imageTag": "v1"}
    assert converted_digest != stored
    put = ecr.put_image(repositoryName="win", imageManifest=image["imageManifest"],
                        imageTag="as-oci")["image"]
    assert put["imageId"]["imageDigest"] == converted_digest
    # A converted get is a pull; one that accepts what is stored gets it untouched.
    detail = ecr.describe_images(repositoryName="win", imageIds=[{"imageDigest": stored}])
    assert "lastRecordedPullTime" in detail["imageDetails"][0]
    same = ecr.batch_get_image(repositoryName="win", imageIds=[{"imageTag": "v1"}],
                               acceptedMediaTypes=[OCI_MANIFEST, DOCKER_MANIFEST])["images"][0]
    assert same["imageId"]["imageDigest"] == stored
    assert same["imageManifestMediaType"] == DOCKER_MANIFEST
    assert json.loads(same["imageManifest"]) == manifest


def test_an_oci_image_pulled_by_tag_as_docker(ecr):
    ecr.create_repository(repositoryName="app")
    config = upload_blob(ecr, "app", b'{"architecture":"amd64","os":"linux"}')
    layer = upload_blob(ecr, "app", b"plain tar")
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": 38, "digest": config},
        "layers": [{"mediaType": OCI_LAYER, "size": 9, "digest": layer,
                    "annotations": {"org.opencontainers.image.title": "rootfs"}}],
        "annotations": {"org.opencontainers.image.created": "2026-12-06T00:00:00Z"},
    }
    ecr.put_image(repositoryName="app", imageManifest=json.dumps(manifest), imageTag="v1")
    image = ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}],
                                acceptedMediaTypes=[DOCKER_MANIFEST])["images"][0]
    assert image["imageManifestMediaType"] == DOCKER_MANIFEST
    assert image["imageId"]["imageDigest"] == digest_of(image["imageManifest"].encode())
    # Docker's schema 2 has no manifest annotations; a descriptor keeps its own.
    assert json.loads(image["imageManifest"]) == {
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {**manifest["config"], "mediaType": DOCKER_CONFIG},
        "layers": [{**manifest["layers"][0],
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar"}]}


def test_what_is_not_converted_is_a_failure(ecr):
    ecr.create_repository(repositoryName="mixed")
    image = push_image(ecr, "mixed", "image")  # OCI
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": image, "size": 10}]})
    ecr.put_image(repositoryName="mixed", imageManifest=index, imageTag="index")
    zstd = upload_blob(ecr, "mixed", b"zstd frames")
    empty = upload_blob(ecr, "mixed", b"{}")
    subject = {"subject": {"mediaType": OCI_MANIFEST, "digest": image, "size": 10}}
    for tag, config_type, layer_type, extra in (
            ("zstd", OCI_CONFIG, "application/vnd.oci.image.layer.v1.tar+zstd", {}),
            ("chart", "application/vnd.cncf.helm.config.v1+json",
             "application/vnd.cncf.helm.chart.content.v1.tar+gzip", {}),
            ("referrer", OCI_CONFIG, OCI_LAYER, subject)):  # Docker's format has no subject
        ecr.put_image(repositoryName="mixed", imageTag=tag, imageManifest=json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config_type, "size": 2, "digest": empty},
            "layers": [{"mediaType": layer_type, "size": 11, "digest": zstd}], **extra}))
    ids = [{"imageDigest": image},  # by digest: the stored bytes or nothing
           {"imageDigest": image, "imageTag": "image"},
           {"imageTag": "index"}, {"imageTag": "zstd"}, {"imageTag": "chart"},
           {"imageTag": "referrer"}]
    got = ecr.batch_get_image(repositoryName="mixed", imageIds=ids,
                              acceptedMediaTypes=[DOCKER_MANIFEST, SCHEMA_1])
    assert got["images"] == []
    assert [(f["imageId"], f["failureCode"]) for f in got["failures"]] == [
        (i, "ImageNotFound") for i in ids]
    assert "by digest is not converted" in got["failures"][0]["failureReason"]
    assert "cannot be converted" in got["failures"][2]["failureReason"]
    # ECR makes schema 1 from schema 2; the emulator does not, and says so.
    _docker_image(ecr, "mixed", "docker")
    refused = ecr.batch_get_image(repositoryName="mixed", imageIds=[{"imageTag": "docker"}],
                                  acceptedMediaTypes=[SCHEMA_1])
    assert refused["images"] == []
    assert refused["failures"][0]["failureCode"] == "ImageNotFound"
    assert "schema 1" in refused["failures"][0]["failureReason"]
