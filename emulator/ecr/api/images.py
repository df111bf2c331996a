"""Handlers of the image operations: describe, list, get, put, delete, replication status."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import archive, image_ops, pushes, render
from emulator.ecr.api.common import (
    image_id_of, image_ids_of, page_of, refuse_paging_with_ids, repository_of,
)
from emulator.ecr.errors import ImageNotFoundException
from emulator.ecr.model import ImageId


@handler("DescribeImages")
def describe_images(call: Call) -> dict:
    store, repository = repository_of(call)
    refuse_paging_with_ids(call.request, call.request.image_ids, "imageIds")
    filters, wanted = call.request.filter or {}, image_ids_of(call.request.image_ids)
    found = image_ops.describe(store, repository, wanted,
                               filters.get("tagStatus", "ANY"), filters.get("imageStatus"))
    token = None
    if not wanted:
        found, token = page_of(found, call.request, key=lambda i: (i.info.pushed_at, i.digest))
    return {"imageDetails": [render.image_detail(store, i) for i in found], "nextToken": token}


@handler("ListImages")
def list_images(call: Call) -> dict:
    store, repository = repository_of(call)
    filters = call.request.filter or {}
    ids = sorted(image_ops.list_ids(store, repository, filters.get("tagStatus", "ANY"),
                                    filters.get("imageStatus")), key=_id_key)
    page, token = page_of(ids, call.request, key=_id_key)
    return {"imageIds": [render.image_id_of(i) for i in page], "nextToken": token}


@handler("BatchGetImage")
def batch_get_image(call: Call) -> dict:
    store, repository = repository_of(call)
    found, failures = image_ops.batch_get(store, repository, image_ids_of(call.request.image_ids),
                                          call.request.accepted_media_types,
                                          archive.principal_for(store, call.ctx.access_key))
    return {"images": [render.pulled_image(store, pulled) for pulled in found],
            "failures": [render.image_failure(f) for f in failures]}


@handler("PutImage")
def put_image(call: Call) -> dict:
    store, repository = repository_of(call)
    request = call.request
    _, digest, text, media_type = pushes.put_image(
        store, repository.name, request.image_manifest,
        media_type=request.image_manifest_media_type, declared_digest=request.image_digest,
        tag=request.image_tag)
    return {"image": render.image(store, repository.name, digest, request.image_tag, text,
                                  media_type)}


@handler("BatchDeleteImage")
def batch_delete_image(call: Call) -> dict:
    store, repository = repository_of(call)
    deleted, failures = image_ops.batch_delete(store, repository,
                                               image_ids_of(call.request.image_ids))
    return {"imageIds": [render.image_id_of(i) for i in deleted],
            "failures": [render.image_failure(f) for f in failures]}


@handler("DescribeImageReplicationStatus")
def describe_image_replication_status(call: Call) -> dict:
    store, repository = repository_of(call)
    image_id = image_id_of(call.request.image_id)
    resolved = image_ops.resolve(store, repository, image_id)
    if resolved.image is None:
        raise ImageNotFoundException(resolved.failure_reason or "Requested image not found")
    return {"repositoryName": repository.name, "imageId": render.image_id_of(image_id),
            "replicationStatuses": render.replication_statuses(resolved.image)}


@handler("ListImageReferrers")
def list_image_referrers(call: Call) -> dict:
    store, repository = repository_of(call)
    filters = call.request.filter or {}
    found = image_ops.referrers(store, repository, call.request.subject_id["imageDigest"],
                                filters.get("artifactStatus", "ACTIVE"),
                                filters.get("artifactTypes"))
    page, token = page_of(found, call.request, key=lambda r: r["digest"], max_limit=50)
    return {"referrers": [render.referrer(r) for r in page], "nextToken": token}


def _id_key(image_id: ImageId) -> list:
    # digest, then tag: a stable order, so a token stays right while images come and go
    return [image_id.digest, image_id.tag or ""]
