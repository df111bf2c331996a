"""Handlers of the repository creation template operations."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import render, templates
from emulator.ecr.api.common import page_of


@handler("CreateRepositoryCreationTemplate")
def create_repository_creation_template(call: Call) -> dict:
    template = templates.create(call.store, call.params)
    return {"registryId": call.store.account, "repositoryCreationTemplate": render.template(template)}


@handler("DescribeRepositoryCreationTemplates")
def describe_repository_creation_templates(call: Call) -> dict:
    wanted = call.params.get("prefixes")
    every = sorted(call.store.templates.values(), key=lambda t: t.prefix)
    if wanted:
        every = [t for t in every if t.prefix in set(wanted)]
    page, token = page_of(every, call.params, key=lambda t: t.prefix)
    return {"registryId": call.store.account,
            "repositoryCreationTemplates": [render.template(t) for t in page],
            "nextToken": token}


@handler("UpdateRepositoryCreationTemplate")
def update_repository_creation_template(call: Call) -> dict:
    template = templates.update(call.store, call.params)
    return {"registryId": call.store.account, "repositoryCreationTemplate": render.template(template)}


@handler("DeleteRepositoryCreationTemplate")
def delete_repository_creation_template(call: Call) -> dict:
    template = templates.delete(call.store, call.params["prefix"])
    return {"registryId": call.store.account, "repositoryCreationTemplate": render.template(template)}
