"""Handlers of the repository creation template operations."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import render, templates
from emulator.ecr.api.common import page_of


@handler("CreateRepositoryCreationTemplate")
def create_repository_creation_template(call: Call) -> dict:
    template = templates.create(call.store, call.request.prefix, _settings(call.request))
    return {"registryId": call.store.account, "repositoryCreationTemplate": render.template(template)}


@handler("DescribeRepositoryCreationTemplates")
def describe_repository_creation_templates(call: Call) -> dict:
    wanted = call.request.prefixes
    every = sorted(call.store.templates.values(), key=lambda t: t.prefix)
    if wanted:
        every = [t for t in every if t.prefix in set(wanted)]
    page, token = page_of(every, call.request, key=lambda t: t.prefix)
    return {"registryId": call.store.account,
            "repositoryCreationTemplates": [render.template(t) for t in page],
            "nextToken": token}


@handler("UpdateRepositoryCreationTemplate")
def update_repository_creation_template(call: Call) -> dict:
    template = templates.update(call.store, call.request.prefix, _settings(call.request))
    return {"registryId": call.store.account, "repositoryCreationTemplate": render.template(template)}


@handler("DeleteRepositoryCreationTemplate")
def delete_repository_creation_template(call: Call) -> dict:
    template = templates.delete(call.store, call.request.prefix)
    return {"registryId": call.store.account, "repositoryCreationTemplate": render.template(template)}


def _settings(request) -> templates.TemplateSettings:
    """Create's and Update's members, as the template's settings."""
    return templates.TemplateSettings(
        description=request.description, resource_tags=request.resource_tags,
        image_tag_mutability=request.image_tag_mutability,
        mutability_exclusion_filters=request.image_tag_mutability_exclusion_filters,
        repository_policy=request.repository_policy, lifecycle_policy=request.lifecycle_policy,
        applied_for=request.applied_for, custom_role_arn=request.custom_role_arn,
        encryption=request.encryption_configuration)
