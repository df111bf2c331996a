"""Handlers of the capacity provider operations."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import arns, capacity_providers, render
from emulator.ecs.api.common import described, page_of


@handler("CreateCapacityProvider")
def create_capacity_provider(call: Call) -> dict:
    request = call.request
    provider = capacity_providers.create(
        call.store, request.name, asg=request.auto_scaling_group_provider,
        managed=request.managed_instances_provider, cluster=request.cluster, tags=request.tags)
    return {"capacityProvider": render.capacity_provider(provider, ("TAGS",))}


@handler("DescribeCapacityProviders")
def describe_capacity_providers(call: Call) -> dict:
    include = call.request.include or []
    refs = call.request.capacity_providers
    if refs:
        found, failures = described(
            refs, lambda ref: capacity_providers.get(call.store, ref, active=False),
            lambda provider: provider,
            lambda ref: arns.given_or_built(call.store, ref, "capacity-provider"))
        token = None
    else:
        active = sorted(
            (p for p in call.store.capacity_providers.values() if p.status == "ACTIVE"),
            key=lambda p: p.name,
        )
        found, token = page_of(active, call.request, key=lambda p: p.name, max_limit=10,
                               default_max=10)
        failures = []
    return {
        "capacityProviders": [render.capacity_provider(p, include) for p in found],
        "failures": failures,
        "nextToken": token,
    }


@handler("UpdateCapacityProvider")
def update_capacity_provider(call: Call) -> dict:
    provider = capacity_providers.update(
        call.store, call.request.name, asg_changes=call.request.auto_scaling_group_provider,
        managed=call.request.managed_instances_provider)
    return {"capacityProvider": render.capacity_provider(provider, ("TAGS",))}


@handler("DeleteCapacityProvider")
def delete_capacity_provider(call: Call) -> dict:
    provider = capacity_providers.delete(call.store, call.request.capacity_provider)
    return {"capacityProvider": render.capacity_provider(provider, ("TAGS",))}
