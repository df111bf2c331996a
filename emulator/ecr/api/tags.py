"""Handlers of TagResource, UntagResource and ListTagsForResource (repositories only, as in ECR)."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import tags


@handler("TagResource")
def tag_resource(call: Call) -> dict:
    repository = tags.repository_for(call.store, call.request.resource_arn)
    repository.tags = tags.merged(repository.tags, call.request.tags)
    return {}


@handler("UntagResource")
def untag_resource(call: Call) -> dict:
    repository = tags.repository_for(call.store, call.request.resource_arn)
    repository.tags = tags.without(repository.tags, call.request.tag_keys)
    return {}


@handler("ListTagsForResource")
def list_tags_for_resource(call: Call) -> dict:
    repository = tags.repository_for(call.store, call.request.resource_arn)
    return {"tags": repository.tags}
