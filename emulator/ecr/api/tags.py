"""Handlers of TagResource, UntagResource and ListTagsForResource (repositories only, as in ECR)."""

from emulator.aws.json_service import Call
from emulator.ecr import tags
from emulator.ecr.api import handlers


@handlers("TagResource")
def tag_resource(call: Call) -> dict:
    repository = tags.repository_for(call.store, call.params["resourceArn"])
    repository.tags = tags.merged(repository.tags, call.params["tags"])
    return {}


@handlers("UntagResource")
def untag_resource(call: Call) -> dict:
    repository = tags.repository_for(call.store, call.params["resourceArn"])
    repository.tags = tags.without(repository.tags, call.params["tagKeys"])
    return {}


@handlers("ListTagsForResource")
def list_tags_for_resource(call: Call) -> dict:
    repository = tags.repository_for(call.store, call.params["resourceArn"])
    return {"tags": repository.tags}
