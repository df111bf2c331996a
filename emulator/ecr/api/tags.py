"""Handlers of TagResource, UntagResource and ListTagsForResource (repositories only, as in ECR)."""

from emulator.aws.tagging import tag_handlers
from emulator.ecr import tags

tag_resource, untag_resource, list_tags_for_resource = tag_handlers(
    tags.repository_for, tags.merged, tags.without)
