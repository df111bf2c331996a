"""Handlers of TagResource, UntagResource and ListTagsForResource, for every taggable ARN."""

from emulator.aws.tagging import tag_handlers
from emulator.ecs import tags

tag_resource, untag_resource, list_tags_for_resource = tag_handlers(
    tags.resource_for, tags.merged, tags.without)
