"""Handlers of the task set operations (services with the EXTERNAL deployment controller)."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import render_services, task_sets
from emulator.ecs.api.common import described

WITH_TAGS = ("TAGS",)


def _wire(call: Call, task_set, include=WITH_TAGS) -> dict:
    service = task_sets.external_service(call.store, call.request.cluster, call.request.service)
    return render_services.task_set(call.store, service, task_set, include)


@handler("CreateTaskSet")
def create_task_set(call: Call) -> dict:
    return {"taskSet": _wire(call, task_sets.create(call.store, call.request))}


@handler("UpdateTaskSet")
def update_task_set(call: Call) -> dict:
    request = call.request
    task_set = task_sets.update(call.store, request.cluster, request.service, request.task_set,
                                request.scale)
    return {"taskSet": _wire(call, task_set)}


@handler("DeleteTaskSet")
def delete_task_set(call: Call) -> dict:
    request = call.request
    task_set = task_sets.delete(call.store, request.cluster, request.service, request.task_set,
                                bool(request.force))
    return {"taskSet": _wire(call, task_set)}


@handler("UpdateServicePrimaryTaskSet")
def update_service_primary_task_set(call: Call) -> dict:
    request = call.request
    task_set = task_sets.make_primary(call.store, request.cluster, request.service,
                                      request.primary_task_set)
    return {"taskSet": _wire(call, task_set)}


@handler("DescribeTaskSets")
def describe_task_sets(call: Call) -> dict:
    request = call.request
    service = task_sets.external_service(call.store, request.cluster, request.service)
    include = request.include or []
    refs = request.task_sets
    if not refs:
        return {"taskSets": [render_services.task_set(call.store, service, s, include)
                             for s in service.task_sets], "failures": []}
    found, failures = described(
        refs, lambda ref: task_sets.lookup(call.store, service, ref),
        lambda task_set: render_services.task_set(call.store, service, task_set, include))
    return {"taskSets": found, "failures": failures}
