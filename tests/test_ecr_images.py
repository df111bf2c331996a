"""ECR images through the ECR API alone (no docker): layer uploads, PutImage, DescribeImages,
ListImages, BatchGetImage, BatchDeleteImage, download URLs, scanning, replication, and that
all of it is the registry's data (the /v2/ API sees what the ECR API pushed)."""

import json
import re

import pytest
import requests
from botocore.exceptions import ClientError

from test_ecr_helpers import (  # noqa: F401 (ecr is a fixture)
    ACCOUNT, OCI_INDEX, OCI_MANIFEST, digest_of, ecr, error_code, image_manifest, push_image,
    upload_blob,
)

MIB = 1024 * 1024


def test_layer_upload_in_parts(ecr):
    """Parts but the last are at least 5 MiB (ECR's LayerPartTooSmallException otherwise)."""
    ecr.create_repository(repositoryName="layers")
    data = bytes(range(256)) * (MIB * 5 // 256 + 40)
    digest = upload_blob(ecr, "layers", data, part_size=5 * MIB)
    available = ecr.batch_check_layer_availability(
        repositoryName="layers", layerDigests=[digest, digest_of(b"absent"), "nonsense"])
    assert available["layers"] == [{"layerDigest": digest, "layerAvailability": "AVAILABLE",
                                    "layerSize": len(data),  # in no manifest yet: Docker's type
                                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}]
    assert [f["failureCode"] for f in available["failures"]] == ["MissingLayerDigest",
                                                                 "InvalidLayerDigest"]
    url = ecr.get_download_url_for_layer(repositoryName="layers", layerDigest=digest)["downloadUrl"]
    assert requests.get(url, timeout=10).content == data
    assert requests.get(url.replace("signature=", "signature=0"), timeout=10).status_code == 403
    with pytest.raises(ClientError) as excinfo:
        ecr.get_download_url_for_layer(repositoryName="layers", layerDigest=digest_of(b"absent"))
    assert error_code(excinfo) == "LayersNotFoundException"


def test_parts_but_the_last_must_be_5_mib(ecr):
    """ECR's upload IDs are UUIDs (the model's UploadId pattern, which requests must match)."""
    ecr.create_repository(repositoryName="small")
    upload_id = ecr.initiate_layer_upload(repositoryName="small")["uploadId"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", upload_id)
    for first, part in ((0, b"a" * 1000), (1000, b"b" * 10)):
        ecr.upload_layer_part(repositoryName="small", uploadId=upload_id, partFirstByte=first,
                              partLastByte=first + len(part) - 1, layerPartBlob=part)
    with pytest.raises(ClientError) as excinfo:
        ecr.complete_layer_upload(repositoryName="small", uploadId=upload_id,
                                  layerDigests=[digest_of(b"a" * 1000 + b"b" * 10)])
    assert error_code(excinfo) == "LayerPartTooSmallException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as excinfo:  # a failed completion ends the upload
        ecr.upload_layer_part(repositoryName="small", uploadId=upload_id, partFirstByte=1010,
                              partLastByte=1010, layerPartBlob=b"c")
    assert error_code(excinfo) == "UploadNotFoundException"
    with pytest.raises(ClientError) as excinfo:  # not an ID ECR could have given
        ecr.upload_layer_part(repositoryName="small", uploadId=upload_id.replace("-", ""),
                              partFirstByte=0, partLastByte=0, layerPartBlob=b"a")
    assert error_code(excinfo) == "InvalidParameterException"


def test_a_part_of_the_advertised_size_is_taken(ecr):
    """InitiateLayerUpload advises 10 MiB parts; UploadLayerPart takes up to 20 MiB."""
    ecr.create_repository(repositoryName="big")
    upload = ecr.initiate_layer_upload(repositoryName="big")
    data = bytes(range(256)) * (upload["partSize"] // 256)
    answer = ecr.upload_layer_part(repositoryName="big", uploadId=upload["uploadId"],
                                   partFirstByte=0, partLastByte=len(data) - 1, layerPartBlob=data)
    assert answer["lastByteReceived"] == len(data) - 1
    done = ecr.complete_layer_upload(repositoryName="big", uploadId=upload["uploadId"],
                                     layerDigests=[digest_of(data)])
    assert done["layerDigest"] == digest_of(data)


def test_layer_upload_errors(ecr):
    ecr.create_repository(repositoryName="layers")
    upload_id = ecr.initiate_layer_upload(repositoryName="layers")["uploadId"]
    with pytest.raises(ClientError) as excinfo:
        ecr.complete_layer_upload(repositoryName="layers", uploadId=upload_id,
                                  layerDigests=[digest_of(b"")])
    assert error_code(excinfo) == "EmptyUploadException"
    ecr.upload_layer_part(repositoryName="layers", uploadId=upload_id, partFirstByte=0,
                          partLastByte=2, layerPartBlob=b"abc")
    with pytest.raises(ClientError) as excinfo:  # not consecutive
        ecr.upload_layer_part(repositoryName="layers", uploadId=upload_id, partFirstByte=5,
                              partLastByte=6, layerPartBlob=b"de")
    assert error_code(excinfo) == "InvalidLayerPartException"
    with pytest.raises(ClientError) as excinfo:
        ecr.complete_layer_upload(repositoryName="layers", uploadId=upload_id,
                                  layerDigests=[digest_of(b"other")])
    assert error_code(excinfo) == "InvalidLayerException"
    with pytest.raises(ClientError) as excinfo:  # a failed completion ends the upload
        ecr.upload_layer_part(repositoryName="layers", uploadId=upload_id, partFirstByte=3,
                              partLastByte=4, layerPartBlob=b"de")
    assert error_code(excinfo) == "UploadNotFoundException"


def test_put_describe_list_get(ecr):
    ecr.create_repository(repositoryName="app")
    layers = [b"a" * 1000, b"b" * 234]
    manifest = image_manifest(ecr, "app", layers)
    put = ecr.put_image(repositoryName="app", imageManifest=manifest, imageTag="v1")["image"]
    digest = put["imageId"]["imageDigest"]
    assert digest == digest_of(manifest.encode())
    assert put["imageManifestMediaType"] == OCI_MANIFEST

    detail = ecr.describe_images(repositoryName="app")["imageDetails"][0]
    assert detail["imageDigest"] == digest
    assert detail["imageTags"] == ["v1"]
    assert detail["imageSizeInBytes"] == 1234  # the layers' sizes, as ECR counts
    assert detail["imageManifestMediaType"] == OCI_MANIFEST
    assert detail["artifactMediaType"] == "application/vnd.oci.image.config.v1+json"
    assert "lastRecordedPullTime" not in detail

    got = ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    assert got["images"][0]["imageManifest"] == manifest
    assert got["images"][0]["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    refused = ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}],
                                  acceptedMediaTypes=["application/vnd.docker.distribution.manifest.v1+json"])
    assert refused["images"] == [] and refused["failures"][0]["failureCode"] == "ImageNotFound"
    assert ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "nope"}])[
        "failures"][0]["failureCode"] == "ImageNotFound"
    # A BatchGetImage is how ECR sees a pull.
    pulled = ecr.describe_images(repositoryName="app", imageIds=[{"imageDigest": digest}])
    assert "lastRecordedPullTime" in pulled["imageDetails"][0]

    # Tag the same manifest again, as CI tools do to promote an image.
    ecr.put_image(repositoryName="app", imageManifest=manifest, imageTag="prod")
    assert sorted(ecr.list_images(repositoryName="app")["imageIds"],
                  key=lambda i: i["imageTag"]) == [
        {"imageDigest": digest, "imageTag": "prod"}, {"imageDigest": digest, "imageTag": "v1"}]
    with pytest.raises(ClientError) as excinfo:
        ecr.put_image(repositoryName="app", imageManifest=manifest, imageTag="prod")
    assert error_code(excinfo) == "ImageAlreadyExistsException"
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_images(repositoryName="app", imageIds=[{"imageTag": "nope"}])
    assert error_code(excinfo) == "ImageNotFoundException"


def test_put_image_refusals(ecr):
    ecr.create_repository(repositoryName="app")
    manifest = image_manifest(ecr, "app", [b"layer"])
    with pytest.raises(ClientError) as excinfo:
        ecr.put_image(repositoryName="app", imageManifest=manifest, imageDigest=digest_of(b"x"))
    assert error_code(excinfo) == "ImageDigestDoesNotMatchException"
    with pytest.raises(ClientError) as excinfo:
        ecr.put_image(repositoryName="app", imageManifest="{not json")
    assert error_code(excinfo) == "InvalidParameterException"
    missing = json.loads(manifest)
    missing["layers"][0]["digest"] = digest_of(b"never uploaded")
    with pytest.raises(ClientError) as excinfo:
        ecr.put_image(repositoryName="app", imageManifest=json.dumps(missing))
    assert error_code(excinfo) == "LayersNotFoundException"
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": digest_of(b"no such image"), "size": 10}]})
    with pytest.raises(ClientError) as excinfo:
        ecr.put_image(repositoryName="app", imageManifest=index)
    assert error_code(excinfo) == "ReferencedImagesNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ecr.put_image(repositoryName="gone", imageManifest=manifest)
    assert error_code(excinfo) == "RepositoryNotFoundException"


def test_a_lone_surrogate_in_a_manifest_is_stored_as_a_question_mark(ecr):
    """It has no UTF-8 form (text.encode() raised, a 500): stored as Java's getBytes stores
    it, and the digest is of what is stored."""
    ecr.create_repository(repositoryName="odd")
    manifest = json.loads(image_manifest(ecr, "odd", [b"layer"]))
    manifest["annotations"] = {"note": "a\ud800b"}
    text = json.dumps(manifest, ensure_ascii=False)  # the character itself, not its escape
    image = ecr.put_image(repositoryName="odd", imageManifest=text)["image"]
    stored = json.dumps(dict(manifest, annotations={"note": "a?b"}))
    assert image["imageManifest"] == stored
    assert image["imageId"]["imageDigest"] == digest_of(stored.encode())
    got = ecr.batch_get_image(repositoryName="odd", imageIds=[image["imageId"]])["images"]
    assert [i["imageManifest"] for i in got] == [stored]


def test_a_surrogate_pair_in_a_manifest_is_one_character():
    """A body's raw CESU-8 bytes reach the handler as two surrogates: Java reads them as one
    character and stores its UTF-8; only a lone one becomes "?"."""
    from emulator.ecr import pushes

    seen = {}

    def parse(body, media_type):
        seen["body"] = body
        raise RuntimeError("stop")

    import unittest.mock as mock
    with mock.patch.object(pushes, "_parse", parse), pytest.raises(RuntimeError):
        pushes.put_image(mock.MagicMock(), "r", '{"a":"\ud83d\ude00|\ud800"}')
    assert seen["body"] == '{"a":"\U0001f600|?"}'.encode()


def test_immutable_tags_in_put_image(ecr):
    ecr.create_repository(repositoryName="fixed", imageTagMutability="IMMUTABLE")
    push_image(ecr, "fixed", "v1", label="first")
    with pytest.raises(ClientError) as excinfo:
        push_image(ecr, "fixed", "v1", label="second")
    assert error_code(excinfo) == "ImageTagAlreadyExistsException"
    push_image(ecr, "fixed", "v2", label="second")
    ecr.put_image_tag_mutability(repositoryName="fixed", imageTagMutability="MUTABLE")
    push_image(ecr, "fixed", "v1", label="third")  # may move now


def test_filters_and_pagination(ecr):
    ecr.create_repository(repositoryName="many")
    tagged = [push_image(ecr, "many", f"t{i}", label=str(i)) for i in range(4)]
    untagged = push_image(ecr, "many", None, label="bare")
    tagged_ids = ecr.list_images(repositoryName="many", filter={"tagStatus": "TAGGED"})["imageIds"]
    assert sorted(i["imageDigest"] for i in tagged_ids) == sorted(tagged)
    untagged_ids = ecr.list_images(repositoryName="many", filter={"tagStatus": "UNTAGGED"})["imageIds"]
    assert untagged_ids == [{"imageDigest": untagged}]
    details = ecr.describe_images(repositoryName="many", filter={"tagStatus": "UNTAGGED"})
    assert [d["imageDigest"] for d in details["imageDetails"]] == [untagged]
    assert "imageTags" not in details["imageDetails"][0]
    pages = ecr.get_paginator("describe_images").paginate(repositoryName="many",
                                                          PaginationConfig={"PageSize": 2})
    assert [d["imageDigest"] for p in pages for d in p["imageDetails"]] == tagged + [untagged]
    pages = ecr.get_paginator("list_images").paginate(repositoryName="many",
                                                      PaginationConfig={"PageSize": 2})
    assert sum(len(p["imageIds"]) for p in pages) == 5


def test_batch_delete(ecr, clean_emulator):
    ecr.create_repository(repositoryName="del")
    first = push_image(ecr, "del", "a", label="1")
    ecr.put_image(repositoryName="del", imageTag="b", imageManifest=ecr.batch_get_image(
        repositoryName="del", imageIds=[{"imageDigest": first}])["images"][0]["imageManifest"])
    second = push_image(ecr, "del", "c", label="2")

    # By tag: only the tag goes while another remains.
    answer = ecr.batch_delete_image(repositoryName="del", imageIds=[{"imageTag": "a"}])
    assert answer["imageIds"] == [{"imageDigest": first, "imageTag": "a"}]
    assert answer["failures"] == []
    # The last tag takes the image with it.
    ecr.batch_delete_image(repositoryName="del", imageIds=[{"imageTag": "b"}])
    assert [i["imageDigest"] for i in ecr.list_images(repositoryName="del")["imageIds"]] == [second]
    answer = ecr.batch_delete_image(repositoryName="del", imageIds=[
        {"imageDigest": second, "imageTag": "wrong"}, {"imageTag": "gone"}, {"imageDigest": second}])
    assert [f["failureCode"] for f in answer["failures"]] == ["ImageTagDoesNotMatchDigest",
                                                              "ImageNotFound"]
    assert answer["imageIds"] == [{"imageDigest": second, "imageTag": "c"}]
    assert ecr.list_images(repositoryName="del")["imageIds"] == []
    # The registry no longer serves it either.
    registry = clean_emulator.emulator.registry
    assert registry.storage.list_manifests(
        __import__("emulator.registry.names", fromlist=["x"]).repo_ref(ACCOUNT, "us-east-1", "del")) == []


def test_manifest_list_children_stay_while_listed(ecr):
    ecr.create_repository(repositoryName="multi")
    child = push_image(ecr, "multi", None, label="amd64")
    child_manifest = ecr.batch_get_image(repositoryName="multi", imageIds=[{"imageDigest": child}])[
        "images"][0]["imageManifest"]
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": child, "size": len(child_manifest),
         "platform": {"architecture": "amd64", "os": "linux"}}]})
    ecr.put_image(repositoryName="multi", imageManifest=index, imageTag="latest")
    listed = ecr.describe_images(repositoryName="multi", imageIds=[{"imageTag": "latest"}])
    assert listed["imageDetails"][0]["imageSizeInBytes"] == len(b"layer")  # the largest child
    answer = ecr.batch_delete_image(repositoryName="multi", imageIds=[{"imageDigest": child}])
    assert answer["failures"][0]["failureCode"] == "ImageReferencedByManifestList"


def test_scan_findings(ecr, clean_emulator):
    ecr.create_repository(repositoryName="scanned")
    digest = push_image(ecr, "scanned", "v1")
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_image_scan_findings(repositoryName="scanned", imageId={"imageTag": "v1"})
    assert error_code(excinfo) == "ScanNotFoundException"
    status = ecr.start_image_scan(repositoryName="scanned", imageId={"imageTag": "v1"})
    assert status["imageScanStatus"]["status"] == "IN_PROGRESS"  # ECR's answer
    with pytest.raises(ClientError) as excinfo:  # one basic scan per image per 24 hours
        ecr.start_image_scan(repositoryName="scanned", imageId={"imageTag": "v1"})
    assert error_code(excinfo) == "LimitExceededException"
    clean = ecr.describe_image_scan_findings(repositoryName="scanned", imageId={"imageTag": "v1"})
    assert clean["imageScanFindings"]["findings"] == []
    assert clean["imageScanFindings"]["findingSeverityCounts"] == {}

    finding = {"name": "CVE-2024-0001", "severity": "HIGH", "uri": "https://example.com/cve",
               "attributes": [{"key": "package_name", "value": "openssl"}]}
    planted = requests.put(f"{clean_emulator.endpoint_url}/_emulator/ecr/findings", json={
        "repositoryName": "scanned", "imageDigest": digest, "findings": [finding]}, timeout=10)
    assert planted.status_code == 200
    found = ecr.describe_image_scan_findings(repositoryName="scanned", imageId={"imageDigest": digest})
    assert found["imageScanFindings"]["findings"] == [finding]
    assert found["imageScanFindings"]["findingSeverityCounts"] == {"HIGH": 1}
    summary = ecr.describe_images(repositoryName="scanned")["imageDetails"][0]
    assert summary["imageScanStatus"]["status"] == "COMPLETE"
    assert summary["imageScanFindingsSummary"]["findingSeverityCounts"] == {"HIGH": 1}
    bad = requests.put(f"{clean_emulator.endpoint_url}/_emulator/ecr/findings", json={
        "repositoryName": "scanned", "imageDigest": digest, "findings": [{"severity": 3}]}, timeout=10)
    assert bad.status_code == 400


def test_scan_on_push(ecr):
    ecr.create_repository(repositoryName="onpush", imageScanningConfiguration={"scanOnPush": True})
    push_image(ecr, "onpush", "v1")
    detail = ecr.describe_images(repositoryName="onpush")["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "COMPLETE"
    with pytest.raises(ClientError) as excinfo:  # the scan on push counts against the quota
        ecr.start_image_scan(repositoryName="onpush", imageId={"imageTag": "v1"})
    assert error_code(excinfo) == "LimitExceededException"


def test_replication_copies_to_other_regions_and_accounts(ecr, clean_emulator):
    # Another account takes replicas only as its registry policy allows (ECR's rule).
    clean_emulator.client("ecr", account="111122223333").put_registry_policy(
        policyText=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"], "Resource": "*"}]}))
    ecr.put_replication_configuration(replicationConfiguration={"rules": [{
        "destinations": [{"region": "eu-west-1", "registryId": ACCOUNT},
                         {"region": "us-east-1", "registryId": "111122223333"}],
        "repositoryFilters": [{"filter": "prod", "filterType": "PREFIX_MATCH"}],
    }]})
    assert ecr.describe_registry()["replicationConfiguration"]["rules"][0]["destinations"][0] == {
        "region": "eu-west-1", "registryId": ACCOUNT}
    ecr.create_repository(repositoryName="prod-api")
    ecr.create_repository(repositoryName="dev-api")
    digest = push_image(ecr, "prod-api", "v1")
    push_image(ecr, "dev-api", "v1")

    west = clean_emulator.client("ecr", region="eu-west-1")
    other = clean_emulator.client("ecr", account="111122223333")
    for client in (west, other):
        assert [r["repositoryName"] for r in client.describe_repositories()["repositories"]] == ["prod-api"]
        copied = client.batch_get_image(repositoryName="prod-api", imageIds=[{"imageTag": "v1"}])
        assert copied["images"][0]["imageId"]["imageDigest"] == digest
    statuses = ecr.describe_image_replication_status(repositoryName="prod-api",
                                                     imageId={"imageTag": "v1"})["replicationStatuses"]
    assert sorted((s["region"], s["registryId"], s["status"]) for s in statuses) == [
        ("eu-west-1", ACCOUNT, "COMPLETE"), ("us-east-1", "111122223333", "COMPLETE")]
    with pytest.raises(ClientError) as excinfo:
        ecr.put_replication_configuration(replicationConfiguration={"rules": [{
            "destinations": [{"region": "us-east-1", "registryId": ACCOUNT}]}]})
    assert error_code(excinfo) == "InvalidParameterException"


def test_replication_writes_into_another_account_only_as_its_registry_policy_allows(
        ecr, clean_emulator):
    """Account A's rule names account B: B's images stay B's unless B's registry policy lets A
    replicate (an attack: A overwriting B's mutable app:latest, or deleting B's images)."""
    victim = clean_emulator.client("ecr", account="111122223333")
    victim.create_repository(repositoryName="app")
    kept = push_image(victim, "app", "latest")
    ecr.put_replication_configuration(replicationConfiguration={"rules": [{
        "destinations": [{"region": "us-east-1", "registryId": "111122223333"}],
        "deleteReplication": {"enabled": True}}]})
    ecr.create_repository(repositoryName="app")
    pushed = push_image(ecr, "app", "latest", layers=[b"the attacker's"])
    assert pushed != kept
    statuses = ecr.describe_image_replication_status(
        repositoryName="app", imageId={"imageTag": "latest"})["replicationStatuses"]
    assert [(s["registryId"], s["status"]) for s in statuses] == [("111122223333", "FAILED")]
    listed = victim.list_images(repositoryName="app")["imageIds"]
    assert listed == [{"imageDigest": kept, "imageTag": "latest"}]
    # Nor does a deletion replicated to B: the source deletes its twin of B's image (the same
    # manifest, so the same digest).
    assert push_image(ecr, "app", "twin") == kept
    ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": kept}])
    assert victim.list_images(repositoryName="app")["imageIds"] == listed
    # A policy for another account, or for ReplicateImage alone where the repository is to be
    # made, lets nothing in either.
    victim.put_registry_policy(policyText=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
        "Action": "ecr:*", "Resource": "*"}, {
        "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "ecr:ReplicateImage",
        "Resource": "*"}]}))
    ecr.create_repository(repositoryName="new")
    push_image(ecr, "new", "v1")
    assert victim.describe_repositories()["repositories"][0]["repositoryName"] == "app"
    assert len(victim.describe_repositories()["repositories"]) == 1


def test_replication_applies_creation_template_and_deletes(ecr, clean_emulator):
    west = clean_emulator.client("ecr", region="eu-west-1")
    # The destination's template shapes the repository replication creates there.
    west.create_repository_creation_template(prefix="prod", appliedFor=["REPLICATION"],
                                             imageTagMutability="IMMUTABLE")
    ecr.put_replication_configuration(replicationConfiguration={"rules": [{
        "destinations": [{"region": "eu-west-1", "registryId": ACCOUNT}],
        "deleteReplication": {"enabled": True}}]})
    ecr.create_repository(repositoryName="prod/api")
    digest = push_image(ecr, "prod/api", "v1")
    replica = west.describe_repositories(repositoryNames=["prod/api"])["repositories"][0]
    assert replica["imageTagMutability"] == "IMMUTABLE"
    ecr.batch_delete_image(repositoryName="prod/api", imageIds=[{"imageDigest": digest}])
    assert west.list_images(repositoryName="prod/api")["imageIds"] == []


def test_registry_serves_what_the_api_pushed(ecr, clean_emulator):
    """The ECR API and the /v2/ API share one storage: no second copy of image data."""
    ecr.create_repository(repositoryName="shared")
    manifest = image_manifest(ecr, "shared", [b"content"])
    ecr.put_image(repositoryName="shared", imageManifest=manifest, imageTag="v1")
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    headers = {"Authorization": f"Basic {token}", "Accept": OCI_MANIFEST}
    base = clean_emulator.endpoint_url
    served = requests.get(f"{base}/v2/shared/manifests/v1", headers=headers, timeout=10)
    assert served.status_code == 200 and served.text == manifest
    assert requests.get(f"{base}/v2/shared/manifests/v1", timeout=10).status_code == 401
    assert requests.get(f"{base}/v2/unknown/manifests/v1", headers=headers,
                        timeout=10).status_code == 404


def test_referrers(ecr):
    ecr.create_repository(repositoryName="signed")
    subject = push_image(ecr, "signed", "v1")
    subject_size = len(ecr.batch_get_image(repositoryName="signed", imageIds=[
        {"imageDigest": subject}])["images"][0]["imageManifest"])
    empty = upload_blob(ecr, "signed", b"{}")
    signature = upload_blob(ecr, "signed", b"signature bytes")
    referrer = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": signature, "size": 15}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": subject_size},
    })
    referrer_digest = ecr.put_image(repositoryName="signed", imageManifest=referrer)[
        "image"]["imageId"]["imageDigest"]
    found = ecr.list_image_referrers(repositoryName="signed", subjectId={"imageDigest": subject})
    assert [(r["digest"], r["artifactType"], r["artifactStatus"]) for r in found["referrers"]] == [
        (referrer_digest, "application/vnd.dev.cosign.artifact.sig.v1+json", "ACTIVE")]
    other = ecr.list_image_referrers(repositoryName="signed", subjectId={"imageDigest": subject},
                                     filter={"artifactTypes": ["application/spdx+json"]})
    assert other["referrers"] == []
    detail = ecr.describe_images(repositoryName="signed", imageIds=[{"imageDigest": referrer_digest}])
    assert detail["imageDetails"][0]["subjectManifestDigest"] == subject


def test_replication_backfill(ecr, clean_emulator):
    ecr.create_repository(repositoryName="before")
    digest = push_image(ecr, "before", "v1")
    destination = {"region": "eu-west-1", "registryId": ACCOUNT}
    with pytest.raises(ClientError) as excinfo:
        ecr.start_replication_backfill(destination=destination)
    assert error_code(excinfo) == "ValidationException"
    ecr.put_replication_configuration(replicationConfiguration={"rules": [
        {"destinations": [destination]}]})
    west = clean_emulator.client("ecr", region="eu-west-1")
    with pytest.raises(ClientError):
        west.describe_repositories(repositoryNames=["before"])  # not replicated yet
    started = ecr.start_replication_backfill(destination=destination)
    assert started["status"] == "COMPLETE"
    results = ecr.describe_replication_backfill_results(
        replicationBackfillId=started["replicationBackfillId"])
    assert results["results"] == [{"repositoryName": "before", "status": "COMPLETE",
                                    "imageId": {"imageDigest": digest, "imageTag": "v1"}}]
    assert results["progress"]["completedReplicationCount"] == 1
    assert west.list_images(repositoryName="before")["imageIds"] == [
        {"imageDigest": digest, "imageTag": "v1"}]
    listed = ecr.list_replication_backfills()["backfills"]
    assert [b["replicationBackfillId"] for b in listed] == [started["replicationBackfillId"]]
    with pytest.raises(ClientError) as excinfo:
        ecr.stop_replication_backfill(replicationBackfillId=started["replicationBackfillId"])
    assert error_code(excinfo) == "ReplicationBackfillInvalidStatusException"


def test_signing_is_configured_but_never_done(ecr):
    profile = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/release"
    with pytest.raises(ClientError) as excinfo:
        ecr.get_signing_configuration()
    assert error_code(excinfo) == "SigningConfigurationNotFoundException"
    config = {"rules": [{"signingProfileArn": profile, "repositoryFilters": [
        {"filter": "prod-*", "filterType": "WILDCARD_MATCH"}]}]}
    assert ecr.put_signing_configuration(signingConfiguration=config)["signingConfiguration"] == config
    ecr.create_repository(repositoryName="prod-app")
    ecr.create_repository(repositoryName="dev-app")
    push_image(ecr, "prod-app", "v1")
    push_image(ecr, "dev-app", "v1")
    statuses = ecr.describe_image_signing_status(repositoryName="prod-app",
                                                 imageId={"imageTag": "v1"})["signingStatuses"]
    assert [(s["signingProfileArn"], s["status"]) for s in statuses] == [(profile, "FAILED")]
    assert ecr.describe_image_signing_status(repositoryName="dev-app",
                                             imageId={"imageTag": "v1"})["signingStatuses"] == []
    assert ecr.delete_signing_configuration()["signingConfiguration"] == config


def test_abandoned_uploads_leave_a_bounded_record():
    from types import SimpleNamespace

    from emulator.ecr import layers

    store = SimpleNamespace(upload_parts={})
    layers._note_part(store, "kept", 10)
    layers._note_part(store, "kept", layers.MIN_PART_SIZE)
    assert store.upload_parts["kept"] == [True, layers.MIN_PART_SIZE]  # 10 bytes, not last
    for n in range(layers.MAX_TRACKED + 5):
        layers._note_part(store, f"abandoned-{n}", 1)
    assert len(store.upload_parts) == layers.MAX_TRACKED and "kept" not in store.upload_parts
