"""ECR storage classes and pull-time update exclusions: UpdateImageStorageClass archives and
restores images (DescribeImages and ListImages show and filter the status; pulls through the API
and /v2/ are refused while archived), and excluded principals' pulls record no pull time."""

import time

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from test_ecr_helpers import (  # noqa: F401 (ecr is a fixture)
    OCI_MANIFEST, ecr, error_code, image_manifest, push_image,
)


def _status(ecr, repository, digest):
    detail = ecr.describe_images(repositoryName=repository,
                                 imageIds=[{"imageDigest": digest}])["imageDetails"][0]
    return detail["imageStatus"], detail


def _registry_get(endpoint, ecr, path, token=None):
    token = token or ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return requests.get(f"{endpoint}/v2/{path}", timeout=10,
                        headers={"Authorization": f"Basic {token}", "Accept": OCI_MANIFEST})


def test_archive_refuses_pulls_and_restore_brings_the_image_back(ecr, clean_emulator):
    ecr.create_repository(repositoryName="cold")
    digest = push_image(ecr, "cold", "v1")
    kept = push_image(ecr, "cold", "v2", label="other")
    endpoint = clean_emulator.endpoint_url

    archived = ecr.update_image_storage_class(repositoryName="cold", imageId={"imageTag": "v1"},
                                              targetStorageClass="ARCHIVE")
    assert archived["imageStatus"] == "ARCHIVED"
    assert archived["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    status, detail = _status(ecr, "cold", digest)
    assert status == "ARCHIVED" and "lastArchivedAt" in detail

    # listings show ACTIVE images unless the filter asks for others
    assert [d["imageDigest"] for d in ecr.describe_images(repositoryName="cold")["imageDetails"]] \
        == [kept]
    archived_ids = ecr.list_images(repositoryName="cold", filter={"imageStatus": "ARCHIVED"})
    assert archived_ids["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    every = ecr.describe_images(repositoryName="cold", filter={"imageStatus": "ANY"})
    assert len(every["imageDetails"]) == 2

    # no pull: BatchGetImage fails it, the registry answers 404 as ECR's does
    got = ecr.batch_get_image(repositoryName="cold", imageIds=[{"imageTag": "v1"}])
    assert got["images"] == [] and got["failures"][0]["failureCode"] == "ImageNotFound"
    refused = _registry_get(endpoint, ecr, "cold/manifests/v1")
    assert refused.status_code == 404
    assert refused.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert _registry_get(endpoint, ecr, "cold/manifests/v2").status_code == 200
    with pytest.raises(ClientError) as excinfo:
        ecr.start_image_scan(repositoryName="cold", imageId={"imageDigest": digest})
    assert error_code(excinfo) == "ImageArchivedException"

    with pytest.raises(ClientError) as excinfo:  # already there
        ecr.update_image_storage_class(repositoryName="cold", imageId={"imageDigest": digest},
                                       targetStorageClass="ARCHIVE")
    assert error_code(excinfo) == "ImageStorageClassUpdateNotSupportedException"

    restored = ecr.update_image_storage_class(repositoryName="cold", imageId={"imageDigest": digest},
                                              targetStorageClass="STANDARD")
    assert restored["imageStatus"] == "ACTIVATING"
    assert _status(ecr, "cold", digest)[0] == "ACTIVATING"
    assert _registry_get(endpoint, ecr, "cold/manifests/v1").status_code == 404
    with pytest.raises(ClientError) as excinfo:  # not while it is being restored
        ecr.update_image_storage_class(repositoryName="cold", imageId={"imageDigest": digest},
                                       targetStorageClass="ARCHIVE")
    assert error_code(excinfo) == "ImageStorageClassUpdateNotSupportedException"
    deadline = time.monotonic() + 10  # ECS_EMULATOR_ECR_RESTORE_SECONDS, 2 by default
    while _status(ecr, "cold", digest)[0] != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "lastActivatedAt" in _status(ecr, "cold", digest)[1]
    assert _registry_get(endpoint, ecr, "cold/manifests/v1").status_code == 200
    with pytest.raises(ClientError) as excinfo:  # already STANDARD
        ecr.update_image_storage_class(repositoryName="cold", imageId={"imageDigest": digest},
                                       targetStorageClass="STANDARD")
    assert error_code(excinfo) == "ImageStorageClassUpdateNotSupportedException"


def test_pushing_an_archived_image_again_restores_it(ecr):
    ecr.create_repository(repositoryName="cold")
    manifest = image_manifest(ecr, "cold", [b"layer"])
    digest = ecr.put_image(repositoryName="cold", imageManifest=manifest,
                           imageTag="v1")["image"]["imageId"]["imageDigest"]
    ecr.update_image_storage_class(repositoryName="cold", imageId={"imageDigest": digest},
                                   targetStorageClass="ARCHIVE")
    ecr.put_image(repositoryName="cold", imageManifest=manifest, imageTag="v1")
    assert _status(ecr, "cold", digest)[0] == "ACTIVE"
    # an active image pushed again is still refused, as before
    with pytest.raises(ClientError) as excinfo:
        ecr.put_image(repositoryName="cold", imageManifest=manifest, imageTag="v1")
    assert error_code(excinfo) == "ImageAlreadyExistsException"


def test_update_image_storage_class_errors(ecr):
    with pytest.raises(ClientError) as excinfo:
        ecr.update_image_storage_class(repositoryName="absent", imageId={"imageTag": "v1"},
                                       targetStorageClass="ARCHIVE")
    assert error_code(excinfo) == "RepositoryNotFoundException"
    ecr.create_repository(repositoryName="cold")
    with pytest.raises(ClientError) as excinfo:
        ecr.update_image_storage_class(repositoryName="cold", imageId={"imageTag": "v1"},
                                       targetStorageClass="ARCHIVE")
    assert error_code(excinfo) == "ImageNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ecr.update_image_storage_class(repositoryName="cold", imageId={"imageTag": "v1"},
                                       targetStorageClass="GLACIER")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_pull_time_exclusions(ecr, clean_emulator):
    iam = clean_emulator.client("iam")
    iam.create_user(UserName="ci")
    user_arn = iam.get_user(UserName="ci")["User"]["Arn"]
    keys = iam.create_access_key(UserName="ci")["AccessKey"]
    ci_ecr = boto3.client("ecr", endpoint_url=clean_emulator.endpoint_url, region_name="us-east-1",
                          aws_access_key_id=keys["AccessKeyId"],
                          aws_secret_access_key=keys["SecretAccessKey"])

    registered = ecr.register_pull_time_update_exclusion(principalArn=user_arn)
    assert registered["principalArn"] == user_arn and "createdAt" in registered
    with pytest.raises(ClientError) as excinfo:
        ecr.register_pull_time_update_exclusion(principalArn=user_arn)
    assert error_code(excinfo) == "ExclusionAlreadyExistsException"
    role = "arn:aws:iam::123456789012:role/deployer"
    ecr.register_pull_time_update_exclusion(principalArn=role)
    listed = ecr.list_pull_time_update_exclusions(maxResults=1)
    assert listed["pullTimeUpdateExclusions"] == [role]  # in ARN order
    rest = ecr.list_pull_time_update_exclusions(nextToken=listed["nextToken"])
    assert rest["pullTimeUpdateExclusions"] == [user_arn] and "nextToken" not in rest
    with pytest.raises(ClientError):
        ecr.register_pull_time_update_exclusion(principalArn="arn:aws:iam::123:group/x")

    ecr.create_repository(repositoryName="app")
    digest = push_image(ecr, "app", "v1")
    ci_ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    token = ci_ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    assert _registry_get(clean_emulator.endpoint_url, ecr, "app/manifests/v1",
                         token).status_code == 200
    assert "lastRecordedPullTime" not in _status(ecr, "app", digest)[1]

    ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])  # not excluded
    assert "lastRecordedPullTime" in _status(ecr, "app", digest)[1]

    removed = ecr.deregister_pull_time_update_exclusion(principalArn=user_arn)
    assert removed["principalArn"] == user_arn
    assert ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"] == [role]
    with pytest.raises(ClientError) as excinfo:
        ecr.deregister_pull_time_update_exclusion(principalArn=user_arn)
    assert error_code(excinfo) == "ExclusionNotFoundException"
