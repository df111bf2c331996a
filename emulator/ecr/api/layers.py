"""Handlers of the layer operations: availability, the three-step upload, download URLs."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import layers
from emulator.ecr.api.common import base_url, repository_of


@handler("BatchCheckLayerAvailability")
def batch_check_layer_availability(call: Call) -> dict:
    store, repository = repository_of(call)
    found, failures = layers.check_availability(store, repository, call.params["layerDigests"])
    return {"layers": found, "failures": failures}


@handler("InitiateLayerUpload")
def initiate_layer_upload(call: Call) -> dict:
    store, repository = repository_of(call)
    return {"uploadId": layers.initiate(store, repository), "partSize": layers.PART_SIZE}


@handler("UploadLayerPart")
def upload_layer_part(call: Call) -> dict:
    store, repository = repository_of(call)
    last = layers.upload_part(store, repository, call.params)
    return {"registryId": store.account, "repositoryName": repository.name,
            "uploadId": call.params["uploadId"], "lastByteReceived": last}


@handler("CompleteLayerUpload")
def complete_layer_upload(call: Call) -> dict:
    store, repository = repository_of(call)
    digest = layers.complete(store, repository, call.params["uploadId"],
                             call.params["layerDigests"])
    return {"registryId": store.account, "repositoryName": repository.name,
            "uploadId": call.params["uploadId"], "layerDigest": digest}


@handler("GetDownloadUrlForLayer")
def get_download_url_for_layer(call: Call) -> dict:
    store, repository = repository_of(call)
    digest = call.params["layerDigest"]
    return {"downloadUrl": layers.download_url(store, repository, digest, base_url(call)),
            "layerDigest": digest}
