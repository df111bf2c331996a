"""Handlers of the container instance operations."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import container_instances, render
from emulator.ecs.api.common import described, page_of
from emulator.ecs.errors import InvalidParameterException

MAX_DESCRIBED = 100


def wire(call: Call, instance, include=()) -> dict:
    used = container_instances.usage(call.store, instance)
    return render.container_instance(
        instance,
        running=used.running,
        pending=used.pending,
        remaining=container_instances.remaining_resources(instance, used),
        include=include,
    )


@handler("RegisterContainerInstance")
def register_container_instance(call: Call) -> dict:
    instance = container_instances.register_from_request(call.store, call.request)
    return {"containerInstance": wire(call, instance, ("TAGS",))}


@handler("DescribeContainerInstances")
def describe_container_instances(call: Call) -> dict:
    cluster = call.store.cluster(call.request.cluster)
    refs = call.request.container_instances
    if not refs or len(refs) > MAX_DESCRIBED:
        raise InvalidParameterException(
            f"containerInstances must name 1 to {MAX_DESCRIBED} container instances."
        )
    include = call.request.include or []
    found, failures = described(
        refs, lambda ref: call.store.find_container_instance(cluster.name, ref),
        lambda instance: wire(call, instance, include),
        lambda ref: container_instances.failure_arn(call.store, cluster, ref))
    return {"containerInstances": found, "failures": failures}


@handler("ListContainerInstances")
def list_container_instances(call: Call) -> dict:
    request = call.request
    cluster = call.store.cluster(request.cluster)
    instances = container_instances.listed(call.store, cluster, request.status, request.filter)
    arns = [instance.arn for instance in instances]
    page, token = page_of(arns, request, key=lambda arn: arn)
    return {"containerInstanceArns": page, "nextToken": token}


@handler("UpdateContainerInstancesState")
def update_container_instances_state(call: Call) -> dict:
    request = call.request
    cluster = call.store.cluster(request.cluster)
    changed, missing = container_instances.update_states(
        call.store, cluster, request.container_instances, request.status
    )
    failures = [
        render.failure(container_instances.failure_arn(call.store, cluster, ref), "MISSING")
        for ref in missing
    ]
    return {"containerInstances": [wire(call, i) for i in changed], "failures": failures}


@handler("DeregisterContainerInstance")
def deregister_container_instance(call: Call) -> dict:
    request = call.request
    cluster = call.store.cluster(request.cluster)
    instance = container_instances.deregister(
        call.store, cluster, request.container_instance, bool(request.force)
    )
    return {"containerInstance": wire(call, instance)}
