"""Handlers of TagResource, UntagResource and ListTagsForResource, for every taggable ARN."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import tags


@handler("TagResource")
def tag_resource(call: Call) -> dict:
    resource = tags.resource_for(call.store, call.params["resourceArn"])
    resource.tags = tags.merged(resource.tags, call.params["tags"])
    return {}


@handler("UntagResource")
def untag_resource(call: Call) -> dict:
    resource = tags.resource_for(call.store, call.params["resourceArn"])
    resource.tags = tags.without(resource.tags, call.params["tagKeys"])
    return {}


@handler("ListTagsForResource")
def list_tags_for_resource(call: Call) -> dict:
    resource = tags.resource_for(call.store, call.params["resourceArn"])
    return {"tags": resource.tags}
