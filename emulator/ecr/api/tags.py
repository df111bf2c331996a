"""Handlers of TagResource, UntagResource and ListTagsForResource (repositories only, as in ECR)."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import tags


@handler("TagResource")
def tag_resource(call: Call) -> dict:
    repository = tags.repository_for(call.store, call.params["resourceArn"])
    repository.tags = tags.merged(repository.tags, call.params["tags"])
    return {}


@handler("UntagResource")
def untag_resource(call: Call) -> dict:
    repository = tags.repository_for(call.store, call.params["resourceArn"])
    repository.tags = tags.without(repository.tags, call.params["tagKeys"])
    return {}


@handler("ListTagsForResource")
def list_tags_for_resource(call: Call) -> dict:
    repository = tags.repository_for(call.store, call.params["resourceArn"])
    return {"tags": repository.tags}
