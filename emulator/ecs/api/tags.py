"""Handlers of TagResource, UntagResource and ListTagsForResource, for every taggable ARN."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import tags


@handler("TagResource")
def tag_resource(call: Call) -> dict:
    resource = tags.resource_for(call.store, call.request.resource_arn)
    resource.tags = tags.merged(resource.tags, call.request.tags)
    return {}


@handler("UntagResource")
def untag_resource(call: Call) -> dict:
    resource = tags.resource_for(call.store, call.request.resource_arn)
    resource.tags = tags.without(resource.tags, call.request.tag_keys)
    return {}


@handler("ListTagsForResource")
def list_tags_for_resource(call: Call) -> dict:
    resource = tags.resource_for(call.store, call.request.resource_arn)
    return {"tags": resource.tags}
