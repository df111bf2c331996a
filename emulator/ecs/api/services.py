"""Handlers of the service operations."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import arns, gateways, render_services, services
from emulator.ecs.task_launch import resolve_task_definition
from emulator.ecs.api.common import described, page_of
from emulator.ecs.errors import InvalidParameterException


@handler("CreateService")
def create_service(call: Call) -> dict:
    _check_connectors(call)
    service = services.create(call.store, call.request, arns.principal_root(call.ctx))
    gateways.connect(call.store, service, call.request.gateway_connectors or [])
    return {"service": render_services.service(call.store, service, ("TAGS",))}


@handler("UpdateService")
def update_service(call: Call) -> dict:
    _check_connectors(call)
    service = services.update(call.store, call.request)
    gateways.connect(call.store, service, call.request.gateway_connectors)
    return {"service": render_services.service(call.store, service, ("TAGS",))}


def _check_connectors(call: Call) -> None:
    """Before the service changes: the connector must name a port of its task definition."""
    request = call.request
    connectors = request.gateway_connectors
    if not connectors:
        return
    ref = request.task_definition
    # CreateService's input has no `service` member, UpdateService's one
    service_ref = getattr(request, "service", None)
    if ref is None and service_ref is not None:
        ref = services.find(call.store, request.cluster, service_ref).task_definition.arn
    if ref is not None:
        gateways.check_connectors(call.store, resolve_task_definition(call.store, ref),
                                  connectors)


@handler("DeleteService")
def delete_service(call: Call) -> dict:
    request = call.request
    service = services.delete(call.store, request.cluster, request.service, bool(request.force))
    return {"service": render_services.service(call.store, service, ("TAGS",))}


@handler("DescribeServices")
def describe_services(call: Call) -> dict:
    request = call.request
    refs = request.services
    if not refs:
        raise InvalidParameterException("Services cannot be empty.")
    if len(refs) > 10:
        raise InvalidParameterException("At most 10 services can be described at once.")
    cluster = call.store.cluster(request.cluster)
    include = request.include or []
    found, failures = described(
        refs, lambda ref: services.lookup(call.store, cluster, ref),
        lambda service: render_services.service(call.store, service, include),
        lambda ref: arns.given_or_built(call.store, ref, "service", cluster.name))
    return {"services": found, "failures": failures}


@handler("ListServices")
def list_services(call: Call) -> dict:
    request = call.request
    cluster = call.store.cluster(request.cluster)
    matches = sorted(
        s.arn for (cluster_name, _), s in call.store.services.items()
        if cluster_name == cluster.name and s.status != "INACTIVE"
        and request.launch_type in (None, s.launch_type)
        and request.scheduling_strategy in (None, s.scheduling_strategy)
    )
    page, token = page_of(matches, request, key=lambda arn: arn, default_max=10)
    return {"serviceArns": page, "nextToken": token}


@handler("ListServicesByNamespace")
def list_services_by_namespace(call: Call) -> dict:
    namespace = call.request.namespace
    matches = sorted(
        s.arn for s in call.store.services.values()
        if s.status != "INACTIVE" and namespace in _namespaces_of(call.store, s)
    )
    page, token = page_of(matches, call.request, key=lambda arn: arn, default_max=10)
    return {"serviceArns": page, "nextToken": token}


def _namespaces_of(store, service) -> set[str]:
    """A service is in its cluster's Service Connect namespace (by name or ARN)."""
    cluster = store.clusters.get(service.cluster_name)
    defaults = (cluster.service_connect_defaults or {}) if cluster else {}
    arn = defaults.get("namespace")
    if not arn:
        return set()
    return {arn, arn.rsplit("/", 1)[-1]}
