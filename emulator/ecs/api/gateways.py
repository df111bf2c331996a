"""Handlers of the gateway operations (the rules are in emulator/ecs/gateways.py)."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import arns, gateways, render_gateways
from emulator.ecs.api.common import page_of


@handler("CreateGateway")
def create_gateway(call: Call) -> dict:
    gateway = gateways.create(call.store, call.request)
    return {"gatewayArn": gateway.arn, "name": gateway.name, "status": gateway.status}


@handler("UpdateGateway")
def update_gateway(call: Call) -> dict:
    gateway = gateways.update(call.store, call.request)
    return {"gatewayArn": gateway.arn, "name": gateway.name, "status": gateway.status}


@handler("DeleteGateway")
def delete_gateway(call: Call) -> dict:
    gateway = gateways.delete(call.store, call.request.gateway)
    return {"gatewayArn": gateway.arn, "name": gateway.name, "status": "DELETED"}


@handler("DescribeGateway")
def describe_gateway(call: Call) -> dict:
    return {"gateway": render_gateways.gateway(gateways.find(call.store, call.request.gateway))}


@handler("ListGateways")
def list_gateways(call: Call) -> dict:
    names, statuses = call.request.names, call.request.status
    found = sorted((g for g in call.store.gateways.values()
                    if (not names or g.name in names) and (not statuses or g.status in statuses)),
                   key=lambda g: g.name)
    page, token = page_of(found, call.request, key=lambda g: g.name)
    return {"gateways": [render_gateways.gateway_summary(g) for g in page], "nextToken": token}


@handler("AssociateGatewayWithCluster")
def associate_gateway_with_cluster(call: Call) -> dict:
    gateway, cluster = gateways.associate(call.store, call.request.gateway,
                                          call.request.cluster)
    return {"gatewayArn": gateway.arn, "clusterArn": cluster.arn, "status": "ACTIVE"}


@handler("DisassociateGatewayFromCluster")
def disassociate_gateway_from_cluster(call: Call) -> dict:
    gateway, cluster = gateways.disassociate(call.store, call.request.gateway,
                                             call.request.cluster)
    return {"gatewayArn": gateway.arn, "clusterArn": cluster.arn, "status": "DISASSOCIATING"}


@handler("ListGatewayClusterAssociations")
def list_gateway_cluster_associations(call: Call) -> dict:
    request = call.request
    gateway_name = gateways.find(call.store, request.gateway).name if request.gateway else None
    cluster_name = _filter(call.store, request.cluster, "cluster")
    statuses = request.status
    found = sorted((g, c, s) for (g, c), s in gateways.associations(call.store).items()
                   if gateway_name in (None, g) and cluster_name in (None, c)
                   and (not statuses or s in statuses))
    page, token = page_of(found, request, key=lambda item: [item[0], item[1]])
    return {"gatewayClusterAssociations": [render_gateways.association(call.store, *item)
                                           for item in page],
            "nextToken": token}


@handler("DescribeGatewayResources")
def describe_gateway_resources(call: Call) -> dict:
    gateway = gateways.find(call.store, call.request.gateway)
    # No load balancer is made (see emulator/ecs/gateways.py): nothing to list; the paging
    # parameters are still checked as AWS checks them.
    page_of([], call.request, key=lambda item: item, max_limit=20, default_max=10)
    return {"gatewayResources": {"gatewayArn": gateway.arn,
                                 "resources": {"hostSharedAlb": []}}}


@handler("DescribeGatewayRoute")
def describe_gateway_route(call: Call) -> dict:
    route, status = gateways.find_route(call.store, call.request.gateway_route_arn)
    return {"gatewayRoute": render_gateways.route(call.store, route, status, call.ctx.host)}


@handler("ListGatewayRoutes")
def list_gateway_routes(call: Call) -> dict:
    request = call.request
    gateway_name = gateways.find(call.store, request.gateway).name if request.gateway else None
    cluster_name = _filter(call.store, request.cluster, "cluster")
    service_cluster, service_name = _service_filter(call.store, request.service)
    found = [(r, s) for r, s in gateways.routes(call.store)
             if gateway_name in (None, r.gateway_name) and cluster_name in (None, r.cluster_name)
             and service_cluster in (None, r.cluster_name)
             and service_name in (None, r.service_name)
             and request.service_container_port_name in (None, r.port_name)
             and (not request.status or s in request.status)]
    page, token = page_of(found, request, key=lambda item: item[0].arn)
    return {"gatewayRoutes": [render_gateways.route_summary(call.store, r, s) for r, s in page],
            "nextToken": token}


def _filter(store, ref: str | None, resource_type: str) -> str | None:
    """The name a list filters by: None (no filter) when `ref` is not given; "" (which matches
    nothing) when it is an ARN that names nothing here, such as another account's."""
    if not ref:
        return None
    return arns.name_in(store, ref, resource_type) or ""


def _service_filter(store, ref: str | None) -> tuple[str | None, str | None]:
    """The cluster and service names a list filters by for `ref`, "the name or ARN of a
    service" (botocore): a service's ARN is "service/<cluster>/<name>", so it filters on its
    cluster too (None when it names none: a name, an old-format ARN); ("", "") matches nothing
    (an ARN that names nothing here, such as another account's)."""
    if not ref:
        return None, None
    found = arns.owner_and_name(store, ref, "service")
    if found is None:
        return "", ""
    owner, name = found
    return owner or None, name
