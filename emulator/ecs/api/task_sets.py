"""Handlers of the task set operations (services with the EXTERNAL deployment controller)."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import render, render_services, task_sets

WITH_TAGS = ("TAGS",)


def _wire(call: Call, task_set, include=WITH_TAGS) -> dict:
    service = task_sets.external_service(call.store, call.params["cluster"], call.params["service"])
    return render_services.task_set(call.store, service, task_set, include)


@handler("CreateTaskSet")
def create_task_set(call: Call) -> dict:
    return {"taskSet": _wire(call, task_sets.create(call.store, call.params))}


@handler("UpdateTaskSet")
def update_task_set(call: Call) -> dict:
    return {"taskSet": _wire(call, task_sets.update(call.store, call.params))}


@handler("DeleteTaskSet")
def delete_task_set(call: Call) -> dict:
    return {"taskSet": _wire(call, task_sets.delete(call.store, call.params))}


@handler("UpdateServicePrimaryTaskSet")
def update_service_primary_task_set(call: Call) -> dict:
    return {"taskSet": _wire(call, task_sets.make_primary(call.store, call.params))}


@handler("DescribeTaskSets")
def describe_task_sets(call: Call) -> dict:
    service = task_sets.external_service(call.store, call.params["cluster"], call.params["service"])
    include = call.params.get("include", [])
    refs = call.params.get("taskSets")
    if not refs:
        return {"taskSets": [render_services.task_set(call.store, service, s, include)
                             for s in service.task_sets], "failures": []}
    found, failures = [], []
    for ref in refs:
        task_set = task_sets.lookup(service, ref)
        if task_set is None:
            failures.append(render.failure(ref, "MISSING"))
        else:
            found.append(render_services.task_set(call.store, service, task_set, include))
    return {"taskSets": found, "failures": failures}
