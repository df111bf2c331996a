"""Empty lists, error members and messages as AWS answers them, one table for both APIs.

Every answer goes through the plugin's clients, which check it against botocore's error form.
Lists that botocore's model gives a minimum length are refused by boto3 itself; a client that
skips its own validation (parameter_validation=False, as other SDKs without it) reaches us.
"""

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.waiting import wait_for

CLUSTER_ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/default"
UNCHECKED = Config(parameter_validation=False)

# (service, operation, params, error code, message): the message exactly, or None where only
# the code is ours to promise (the wording of a generic validation failure is not AWS's).
EMPTY_LISTS = [
    ("ecs", "describe_tasks", {"tasks": []}, "InvalidParameterException", "Tasks cannot be empty."),
    ("ecs", "describe_services", {"services": []}, "InvalidParameterException",
     "Services cannot be empty."),
    ("ecs", "describe_service_deployments", {"serviceDeploymentArns": []},
     "InvalidParameterException", "Service deployment ARNs cannot be empty."),
    ("ecs", "describe_service_revisions", {"serviceRevisionArns": []},
     "InvalidParameterException", "Service revision ARNs cannot be empty."),
    ("ecs", "describe_container_instances", {"containerInstances": []},
     "InvalidParameterException", None),
    ("ecs", "update_container_instances_state", {"containerInstances": [], "status": "DRAINING"},
     "InvalidParameterException", None),
    ("ecs", "start_task", {"taskDefinition": "x", "containerInstances": []},
     "InvalidParameterException", None),
    ("ecs", "put_attributes", {"attributes": []}, "InvalidParameterException", None),
    ("ecs", "delete_attributes", {"attributes": []}, "InvalidParameterException", None),
    ("ecs", "delete_task_definitions", {"taskDefinitions": []}, "InvalidParameterException", None),
    ("ecs", "register_task_definition", {"family": "f", "containerDefinitions": []},
     "ClientException", "Container list cannot be empty."),
    ("ecr", "batch_check_layer_availability", {"repositoryName": "repo", "layerDigests": []},
     "InvalidParameterException", None),
    ("ecr", "batch_delete_image", {"repositoryName": "repo", "imageIds": []},
     "InvalidParameterException", None),
    ("ecr", "batch_get_image", {"repositoryName": "repo", "imageIds": []},
     "InvalidParameterException", None),
    ("ecr", "batch_get_repository_scanning_configuration", {"repositoryNames": []},
     "InvalidParameterException", None),
    ("ecr", "complete_layer_upload", {"repositoryName": "repo", "uploadId": "u",
                                      "layerDigests": []}, "InvalidParameterException", None),
    ("ecr", "describe_images", {"repositoryName": "repo", "imageIds": []},
     "InvalidParameterException", None),
    ("ecr", "describe_repositories", {"repositoryNames": []}, "InvalidParameterException", None),
    ("ecr", "get_authorization_token", {"registryIds": []}, "InvalidParameterException", None),
    ("ecr", "describe_images", {"repositoryName": "repo", "imageIds": [{"imageTag": "nope"}]},
     "ImageNotFoundException",
     "The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the "
     "repository with name 'repo' in the registry with id '123456789012'"),
    ("ecr", "describe_image_scan_findings", {"repositoryName": "repo",
                                             "imageId": {"imageTag": "nope"}},
     "ImageNotFoundException",
     "The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the "
     "repository with name 'repo' in the registry with id '123456789012'"),
]


@pytest.fixture
def clients(clean_emulator):
    ecs = clean_emulator.client("ecs", config=UNCHECKED)
    ecr = clean_emulator.client("ecr", config=UNCHECKED)
    ecs.create_cluster(clusterName="default")
    ecr.create_repository(repositoryName="repo")
    return {"ecs": ecs, "ecr": ecr}


def test_empty_lists_and_messages(clients):
    for service, operation, params, code, message in EMPTY_LISTS:
        with pytest.raises(ClientError) as excinfo:
            getattr(clients[service], operation)(**params)
        error = excinfo.value.response["Error"]
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, operation
        assert error["Code"] == code, (operation, error)
        if message is not None:
            assert error["Message"] == message, operation
        assert "'None'" not in error["Message"] and "{'" not in error["Message"], operation


def test_invalid_layer_part_carries_every_modelled_member(clean_emulator, clients):
    ecr = clients["ecr"]
    upload_id = ecr.initiate_layer_upload(repositoryName="repo")["uploadId"]
    ecr.upload_layer_part(repositoryName="repo", uploadId=upload_id, partFirstByte=0,
                          partLastByte=4, layerPartBlob=b"12345")
    with pytest.raises(ClientError) as excinfo:  # out of order: the upload holds bytes 0-4
        ecr.upload_layer_part(repositoryName="repo", uploadId=upload_id, partFirstByte=9,
                              partLastByte=10, layerPartBlob=b"ab")
    error = excinfo.value.response
    assert error["Error"]["Code"] == "InvalidLayerPartException"
    assert (error["registryId"], error["repositoryName"], error["uploadId"],
            error["lastValidByteReceived"]) == ("123456789012", "repo", upload_id, 4)


def test_layer_availability_names_the_media_type(clean_emulator, clients):
    import hashlib
    import json

    ecr = clients["ecr"]
    layer, config = b"layer bytes", b"{}"
    digests = []
    for blob in (layer, config):
        upload_id = ecr.initiate_layer_upload(repositoryName="repo")["uploadId"]
        ecr.upload_layer_part(repositoryName="repo", uploadId=upload_id, partFirstByte=0,
                              partLastByte=len(blob) - 1, layerPartBlob=blob)
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        ecr.complete_layer_upload(repositoryName="repo", uploadId=upload_id, layerDigests=[digest])
        digests.append(digest)
    oci_layer = "application/vnd.oci.image.layer.v1.tar"
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": digests[1], "size": len(config)},
                "layers": [{"mediaType": oci_layer, "digest": digests[0], "size": len(layer)}]}
    ecr.put_image(repositoryName="repo", imageManifest=json.dumps(manifest), imageTag="1")
    layers = ecr.batch_check_layer_availability(repositoryName="repo",
                                                layerDigests=digests)["layers"]
    assert [(l["layerDigest"], l["mediaType"]) for l in layers] == [
        (digests[0], oci_layer), (digests[1], "application/vnd.oci.image.config.v1+json")]


def test_a_conflict_names_the_resource(clean_emulator, busybox_image):
    ecs = clean_emulator.client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "main", "image": busybox_image, "memory": 32}])
    ecs.create_service(cluster="c", serviceName="web", taskDefinition="web", desiredCount=0)
    # With nothing to run, the deployment soon succeeds; a finished one cannot be stopped.
    listed = wait_for(lambda: ecs.list_service_deployments(cluster="c", service="web")[
        "serviceDeployments"], lambda d: d[0]["status"] == "SUCCESSFUL", timeout=30)
    arn = listed[0]["serviceDeploymentArn"]
    with pytest.raises(ClientError) as excinfo:
        ecs.stop_service_deployment(serviceDeploymentArn=arn)
    assert excinfo.value.response["Error"]["Code"] == "ConflictException"
    assert excinfo.value.response["resourceIds"] == [arn]
