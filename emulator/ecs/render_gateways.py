"""Gateways, their cluster associations and routes as wire dicts (Gateway, GatewaySummary,
GatewayClusterAssociationSummary, GatewayRoute, GatewayRouteSummary, GatewayResources)."""

from __future__ import annotations

from emulator.ecs import arns, gateways
from emulator.ecs.store import EcsStore


def gateway(item) -> dict:
    # No load balancer is made: the emulator's front door routes (see emulator/ecs/gateways.py).
    alb = {**item.configuration["hostSharedAlb"], "currentAlbCount": 0}
    return {
        "gatewayArn": item.arn,
        "name": item.name,
        "status": item.status,
        "infrastructureRoleArn": item.infrastructure_role_arn,
        "deletionProtection": item.deletion_protection,
        "configuration": {"hostSharedAlb": alb},
        "accessType": item.access_type,
        "propagateTags": item.propagate_tags,
        "tags": item.tags,
        "createdAt": item.created_at,
        "updatedAt": item.updated_at,
    }


def gateway_summary(item) -> dict:
    return {"gatewayArn": item.arn, "name": item.name, "status": item.status,
            "createdAt": item.created_at}


def association(store: EcsStore, gateway_name: str, cluster_name: str, status: str) -> dict:
    return {"gatewayArn": arns.build(store, "gateway", gateway_name),
            "clusterArn": arns.cluster(store, cluster_name), "status": status}


def route(store: EcsStore, item, status: str, host: str) -> dict:
    return {
        "gatewayRouteArn": item.arn,
        "serviceArn": arns.service(store, item.cluster_name, item.service_name),
        "serviceContainerPortName": item.port_name,
        "status": status,
        "serviceUrl": gateways.service_url(store, host, item),
        "resources": {"hostSharedAlb": []},
    }


def route_summary(store: EcsStore, item, status: str) -> dict:
    return {
        "gatewayRouteArn": item.arn,
        "gatewayArn": arns.build(store, "gateway", item.gateway_name),
        "clusterArn": arns.cluster(store, item.cluster_name),
        "serviceArn": arns.service(store, item.cluster_name, item.service_name),
        "serviceContainerPortName": item.port_name,
        "status": status,
    }
