"""Handlers of the image operations: describe, list, get, put, delete, replication status."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import archive, image_ops, pushes, render
from emulator.ecr.api.common import page_of, refuse_paging_with_ids, repository_of
from emulator.ecr.errors import ImageNotFoundException


@handler("DescribeImages")
def describe_images(call: Call) -> dict:
    store, repository = repository_of(call)
    refuse_paging_with_ids(call.params, "imageIds")
    filters = call.params.get("filter", {})
    found = image_ops.describe(store, repository, call.params.get("imageIds"),
                               filters.get("tagStatus", "ANY"), filters.get("imageStatus"))
    token = None
    if not call.params.get("imageIds"):
        found, token = page_of(found, call.params, key=lambda i: (i.info.pushed_at, i.digest))
    return {"imageDetails": [render.image_detail(store, i) for i in found], "nextToken": token}


@handler("ListImages")
def list_images(call: Call) -> dict:
    store, repository = repository_of(call)
    filters = call.params.get("filter", {})
    ids = sorted(image_ops.list_ids(store, repository, filters.get("tagStatus", "ANY"),
                                    filters.get("imageStatus")), key=_id_key)
    page, token = page_of(ids, call.params, key=_id_key)
    return {"imageIds": page, "nextToken": token}


@handler("BatchGetImage")
def batch_get_image(call: Call) -> dict:
    store, repository = repository_of(call)
    found, failures = image_ops.batch_get(store, repository, call.params["imageIds"],
                                          call.params.get("acceptedMediaTypes"),
                                          archive.principal_for(store, call.ctx.access_key))
    return {"images": found, "failures": failures}


@handler("PutImage")
def put_image(call: Call) -> dict:
    store, repository = repository_of(call)
    _, digest, text, media_type = pushes.put_image(store, call.params)
    return {
        "image": {
            "registryId": store.account,
            "repositoryName": repository.name,
            "imageId": {"imageDigest": digest, "imageTag": call.params.get("imageTag")},
            "imageManifest": text,
            "imageManifestMediaType": media_type,
        }
    }


@handler("BatchDeleteImage")
def batch_delete_image(call: Call) -> dict:
    store, repository = repository_of(call)
    deleted, failures = image_ops.batch_delete(store, repository, call.params["imageIds"])
    return {"imageIds": deleted, "failures": failures}


@handler("DescribeImageReplicationStatus")
def describe_image_replication_status(call: Call) -> dict:
    store, repository = repository_of(call)
    image_id = call.params["imageId"]
    resolved = image_ops.resolve(store, repository, image_id)
    if resolved.image is None:
        raise ImageNotFoundException(resolved.failure_reason or "Requested image not found")
    statuses = [
        {"region": region, "registryId": registry_id, "status": status}
        for (region, registry_id), status in sorted(resolved.image.record.replication.items())
    ]
    return {"repositoryName": repository.name, "imageId": image_id,
            "replicationStatuses": statuses}


@handler("ListImageReferrers")
def list_image_referrers(call: Call) -> dict:
    store, repository = repository_of(call)
    found = image_ops.referrers(store, repository, call.params["subjectId"]["imageDigest"],
                                call.params.get("filter", {}))
    page, token = page_of(found, call.params, key=lambda r: r["digest"], max_limit=50)
    return {"referrers": page, "nextToken": token}


def _id_key(image_id: dict) -> list:
    # digest, then tag: a stable order, so a token stays right while images come and go
    return [image_id["imageDigest"], image_id.get("imageTag", "")]
