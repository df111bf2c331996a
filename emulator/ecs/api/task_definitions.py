"""Handlers of the task definition operations."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import render, task_definitions
from emulator.ecs.api.common import page_of


@handler("RegisterTaskDefinition")
def register_task_definition(call: Call) -> dict:
    definition = task_definitions.register(call.store, call.ctx, call.request)
    return {"taskDefinition": render.task_definition(definition), "tags": definition.tags}


@handler("DescribeTaskDefinition")
def describe_task_definition(call: Call) -> dict:
    definition = task_definitions.describe(call.store, call.request.task_definition)
    tags = definition.tags if "TAGS" in (call.request.include or []) else None
    return {"taskDefinition": render.task_definition(definition), "tags": tags}


@handler("ListTaskDefinitions")
def list_task_definitions(call: Call) -> dict:
    request = call.request
    descending = request.sort == "DESC"
    found = task_definitions.list_arns(call.store, request.status, request.family_prefix,
                                       descending)
    page, token = page_of(found, request, key=task_definitions.sort_key,
                          descending=descending)
    return {"taskDefinitionArns": [d.arn for d in page], "nextToken": token}


@handler("ListTaskDefinitionFamilies")
def list_task_definition_families(call: Call) -> dict:
    families = task_definitions.list_families(call.store, call.request.status,
                                              call.request.family_prefix)
    page, token = page_of(families, call.request, key=lambda name: name)
    return {"families": page, "nextToken": token}


@handler("DeregisterTaskDefinition")
def deregister_task_definition(call: Call) -> dict:
    definition = task_definitions.deregister(call.store, call.request.task_definition)
    return {"taskDefinition": render.task_definition(definition)}


@handler("DeleteTaskDefinitions")
def delete_task_definitions(call: Call) -> dict:
    deleted, failures = task_definitions.delete(call.store, call.request.task_definitions)
    return {
        "taskDefinitions": [render.task_definition(d) for d in deleted],
        "failures": [render.failure(ref, reason) for ref, reason in failures],
    }
