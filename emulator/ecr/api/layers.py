"""Handlers of the layer operations: availability, the three-step upload, download URLs."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import layers, render
from emulator.ecr.api.common import base_url, repository_of


@handler("BatchCheckLayerAvailability")
def batch_check_layer_availability(call: Call) -> dict:
    store, repository = repository_of(call)
    found, failures = layers.check_availability(store, repository, call.request.layer_digests)
    return {"layers": [render.layer(f) for f in found],
            "failures": [render.layer_failure(f) for f in failures]}


@handler("InitiateLayerUpload")
def initiate_layer_upload(call: Call) -> dict:
    store, repository = repository_of(call)
    return {"uploadId": layers.initiate(store, repository), "partSize": layers.PART_SIZE}


@handler("UploadLayerPart")
def upload_layer_part(call: Call) -> dict:
    store, repository = repository_of(call)
    request = call.request
    last = layers.upload_part(store, repository, request.upload_id, request.part_first_byte,
                              request.part_last_byte, request.layer_part_blob)
    return {"registryId": store.account, "repositoryName": repository.name,
            "uploadId": request.upload_id, "lastByteReceived": last}


@handler("CompleteLayerUpload")
def complete_layer_upload(call: Call) -> dict:
    store, repository = repository_of(call)
    upload_id = call.request.upload_id
    digest = layers.complete(store, repository, upload_id, call.request.layer_digests)
    return {"registryId": store.account, "repositoryName": repository.name,
            "uploadId": upload_id, "layerDigest": digest}


@handler("GetDownloadUrlForLayer")
def get_download_url_for_layer(call: Call) -> dict:
    store, repository = repository_of(call)
    digest = call.request.layer_digest
    return {"downloadUrl": layers.download_url(store, repository, digest, base_url(call)),
            "layerDigest": digest}
