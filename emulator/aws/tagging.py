"""TagResource, UntagResource and ListTagsForResource, which ECS and ECR answer alike: handlers
made over a service's own rules (which resource an ARN names, and how tags merge and go: ECS's
are `key`/`value`, ECR's `Key`/`Value`, each with its own limits and errors)."""

from __future__ import annotations

from typing import Callable

from emulator.aws.json_service import Call, handler


def tag_handlers(resource_for: Callable, merged: Callable, without: Callable) -> tuple:
    """The three handlers, for a service whose resource_for(store, arn) gives the resource (an
    object with `tags`) or raises the service's error, merged(existing, new) the tags after a
    TagResource and without(existing, keys) those after an UntagResource."""

    @handler("TagResource")
    def tag_resource(call: Call) -> dict:
        resource = resource_for(call.store, call.request.resource_arn)
        resource.tags = merged(resource.tags, call.request.tags)
        return {}

    @handler("UntagResource")
    def untag_resource(call: Call) -> dict:
        resource = resource_for(call.store, call.request.resource_arn)
        resource.tags = without(resource.tags, call.request.tag_keys)
        return {}

    @handler("ListTagsForResource")
    def list_tags_for_resource(call: Call) -> dict:
        return {"tags": resource_for(call.store, call.request.resource_arn).tags}

    return tag_resource, untag_resource, list_tags_for_resource
