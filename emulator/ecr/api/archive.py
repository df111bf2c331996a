"""Handlers of storage classes and pull-time update exclusions: UpdateImageStorageClass and the
three *PullTimeUpdateExclusion(s) operations (the rules are in emulator/ecr/archive.py)."""

import dataclasses

from emulator.aws.json_service import Call, handler
from emulator.ecr import archive, image_ops, render
from emulator.ecr.api.common import image_id_of, page_of, repository_of, store_of


@handler("UpdateImageStorageClass")
def update_image_storage_class(call: Call) -> dict:
    store, repository = repository_of(call)
    image_id = image_id_of(call.request.image_id)
    image = image_ops.existing(store, repository, image_id)
    status = archive.transition(store, image, call.request.target_storage_class)
    return {"registryId": store.account, "repositoryName": repository.name,
            "imageId": render.image_id(image, image_id.tag),
            "imageStatus": status}


@handler("RegisterPullTimeUpdateExclusion")
def register_pull_time_update_exclusion(call: Call) -> dict:
    principal = call.request.principal_arn
    created = archive.register_exclusion(store_of(call), principal)
    return {"principalArn": principal, "createdAt": created}


@handler("DeregisterPullTimeUpdateExclusion")
def deregister_pull_time_update_exclusion(call: Call) -> dict:
    principal = call.request.principal_arn
    archive.deregister_exclusion(store_of(call), principal)
    return {"principalArn": principal}


@handler("ListPullTimeUpdateExclusions")
def list_pull_time_update_exclusions(call: Call) -> dict:
    principals = sorted(store_of(call).pull_time_exclusions)
    # the response's list holds at most 100 (its shape's max), whatever maxResults asks
    request = dataclasses.replace(call.request,
                                  max_results=min(call.request.max_results or 100, 100))
    page, token = page_of(principals, request, key=lambda p: p)
    return {"pullTimeUpdateExclusions": page, "nextToken": token}
