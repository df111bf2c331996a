"""Gateways: CreateGateway, UpdateGateway, DeleteGateway, cluster associations, and the routes
services get through their `gatewayConnectors`.

The state machines are the API reference's: a gateway is ACTIVE when created; UpdateGateway
makes it UPDATE_IN_PROGRESS, then UPDATE_COMPLETE (UPDATE_S later: the status is a function of
the clock); DeleteGateway needs deletion protection off (it is on by default) and no ACTIVE or
DISASSOCIATING association, and the gateway is then DELETED (gone: GatewayNotFoundException).
A cluster takes at most MAX_GATEWAYS_PER_CLUSTER gateways. An association is ACTIVE; after
DisassociateGatewayFromCluster it is DISASSOCIATING while routes of the gateway to services of
the cluster remain, and gone once none does.

A route is made when a service with a gateway connector is created or updated in a cluster with
an ACTIVE association (one per gateway whose access type the connector's filters allow), and
removed when the service is updated without the connector or while the association is
DISASSOCIATING; it is ACTIVE while its service is, DELETE_IN_PROGRESS while the service drains,
gone after. Traffic is routed for real, without load balancers: a route's serviceUrl is the
emulator's front door (emulator/front_door_routes.py, on the front doors' own port), which forwards to the service's serving tasks
on the container port the connector names.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from emulator.ecs import arns
from emulator.ecs.errors import (
    ClientException,
    GatewayNotFoundException,
    InvalidParameterException,
    ResourceNotFoundException,
)
from emulator.ecs.model import utcnow
from emulator.ecs.store import EcsStore
from emulator.ecs.tags import validate_tags
from emulator.ecs.task_definition_containers import NAME

UPDATE_S = 1.0
MAX_GATEWAYS_PER_CLUSTER = 5
_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
ALB_DEFAULTS = {"scheme": "internet-facing", "port": 443, "protocol": "HTTPS", "maxAlbCount": 10,
                "httpDesync": "defensive"}
MUTABLE = ("maxAlbCount", "webACLArn", "accessLogs", "httpDesync", "testTrafficRules")


@dataclass
class Gateway:
    """A gateway as the store holds it."""
    name: str
    arn: str
    infrastructure_role_arn: str
    configuration: dict  # {"hostSharedAlb": {...}} with the defaults filled
    deletion_protection: bool = True
    propagate_tags: str = "GATEWAY"
    tags: list[dict] = field(default_factory=list)
    client_token: str | None = None
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    update_started: dt.datetime | None = None

    @property
    def status(self) -> str:
        if self.update_started is None:
            return "ACTIVE"
        elapsed = (utcnow() - self.update_started).total_seconds()
        return "UPDATE_IN_PROGRESS" if elapsed < UPDATE_S else "UPDATE_COMPLETE"

    @property
    def access_type(self) -> str:
        return "PUBLIC" if self.configuration["hostSharedAlb"]["scheme"] == "internet-facing" \
            else "PRIVATE"


@dataclass
class Route:
    """A route of a gateway to a service."""
    gateway_name: str
    cluster_name: str
    service_name: str
    port_name: str
    arn: str
    created_at: dt.datetime = field(default_factory=utcnow)


# -- gateways --------------------------------------------------------------------------------------

def create(store: EcsStore, request) -> Gateway:
    """CreateGateway, of its request as named values (api_shapes/requests.py)."""
    name = request.name
    existing = store.gateways.get(name)
    if existing is not None:
        if request.client_token and request.client_token == existing.client_token:
            return existing
        raise InvalidParameterException(f"A gateway named {name} already exists.")
    if not NAME.match(name):
        raise InvalidParameterException(
            "Gateway name must be 1-255 letters, numbers, hyphens and underscores.")
    _check_role(request.infrastructure_role_arn)
    tags = request.tags or []
    validate_tags(tags)
    alb = (request.configuration or {}).get("hostSharedAlb")
    if alb is None or len(request.configuration) != 1:
        raise InvalidParameterException(
            "Exactly one gateway configuration must be set: hostSharedAlb.")
    alb = {**ALB_DEFAULTS, **alb}
    alb["networkConfiguration"] = {"ipAddressType": "dualstack",
                                   **alb.get("networkConfiguration", {})}
    if alb["port"] != 443 or alb["protocol"] != "HTTPS":
        raise InvalidParameterException("The gateway supports only HTTPS on port 443.")
    _check_alb_count(alb["maxAlbCount"])
    gateway = Gateway(name=name, arn=arns.build(store, "gateway", name),
                      infrastructure_role_arn=request.infrastructure_role_arn,
                      configuration={"hostSharedAlb": alb},
                      deletion_protection=_given(request.deletion_protection, True),
                      propagate_tags=_given(request.propagate_tags, "GATEWAY"),
                      tags=list(tags), client_token=request.client_token)
    store.gateways[name] = gateway
    return gateway


def update(store: EcsStore, request) -> Gateway:
    """UpdateGateway, of its request as named values: what is given changes."""
    gateway = find(store, request.gateway)
    if gateway.status == "UPDATE_IN_PROGRESS":
        raise ClientException(f"An update of gateway {gateway.name} is in progress.")
    changes = request.configuration or {}
    if changes and set(changes) != {"hostSharedAlb"}:
        raise InvalidParameterException(
            "The configuration variant must match the gateway's type: hostSharedAlb.")
    alb_changes = changes.get("hostSharedAlb", {})
    if "maxAlbCount" in alb_changes:
        _check_alb_count(alb_changes["maxAlbCount"])
    if request.infrastructure_role_arn is not None:
        _check_role(request.infrastructure_role_arn)
        gateway.infrastructure_role_arn = request.infrastructure_role_arn
    alb = gateway.configuration["hostSharedAlb"]
    for key in MUTABLE:
        if key in alb_changes:
            alb[key] = alb_changes[key]
    if "inboundSecurityGroup" in alb_changes.get("networkConfiguration", {}):
        alb["networkConfiguration"]["inboundSecurityGroup"] = \
            alb_changes["networkConfiguration"]["inboundSecurityGroup"]
    if request.deletion_protection is not None:
        gateway.deletion_protection = request.deletion_protection
    if request.propagate_tags is not None:
        gateway.propagate_tags = request.propagate_tags
    gateway.update_started = gateway.updated_at = utcnow()
    return gateway


def _given(value, default):
    return default if value is None else value


def delete(store: EcsStore, ref: str) -> Gateway:
    gateway = find(store, ref)
    if gateway.deletion_protection:
        raise ClientException(
            f"Deletion protection is enabled for gateway {gateway.name}; turn it off with "
            "UpdateGateway first.")
    held = [c for (g, c) in associations(store) if g == gateway.name]
    if held:
        raise ClientException(
            f"The gateway {gateway.name} is associated with clusters ({', '.join(held)}); "
            "disassociate them first.")
    del store.gateways[gateway.name]
    return gateway


def find(store: EcsStore, ref: str) -> Gateway:
    gateway = store.gateways.get(arns.name_in(store, ref, "gateway"))
    if gateway is None:
        raise GatewayNotFoundException(f"The gateway {ref} was not found.")
    return gateway


# -- cluster associations ------------------------------------------------------------------------

def associate(store: EcsStore, gateway_ref: str, cluster_ref: str) -> tuple[Gateway, object]:
    gateway, cluster = find(store, gateway_ref), store.cluster(cluster_ref)
    key = (gateway.name, cluster.name)
    if associations(store).get(key) == "ACTIVE":
        raise ClientException(f"The gateway {gateway.name} is already associated with cluster "
                              f"{cluster.name}.")
    if key not in store.gateway_associations:
        count = sum(1 for (_, c) in associations(store) if c == cluster.name)
        if count >= MAX_GATEWAYS_PER_CLUSTER:
            raise ClientException(f"A cluster can be associated with at most "
                                  f"{MAX_GATEWAYS_PER_CLUSTER} gateways.")
    store.gateway_associations[key] = "ACTIVE"
    return gateway, cluster


def disassociate(store: EcsStore, gateway_ref: str, cluster_ref: str) -> tuple[Gateway, object]:
    gateway, cluster = find(store, gateway_ref), store.cluster(cluster_ref)
    key = (gateway.name, cluster.name)
    if key not in associations(store):
        raise ResourceNotFoundException(
            f"The gateway {gateway.name} is not associated with cluster {cluster.name}.")
    store.gateway_associations[key] = "DISASSOCIATING"
    return gateway, cluster


def associations(store: EcsStore) -> dict[tuple[str, str], str]:
    """(gateway, cluster) -> ACTIVE or DISASSOCIATING; a DISASSOCIATING one whose routes are all
    gone is gone too."""
    live = {(r.gateway_name, r.cluster_name) for r, _ in routes(store)}
    return {key: status for key, status in store.gateway_associations.items()
            if key[0] in store.gateways and (status == "ACTIVE" or key in live)}


# -- routes ----------------------------------------------------------------------------------------

def check_connectors(store: EcsStore, definition, connectors: list[dict]) -> None:
    """CreateService/UpdateService: the connector's port name must be a named port mapping."""
    for connector in connectors:
        names = {m.get("name") for c in definition.spec["containerDefinitions"]
                 for m in c.get("portMappings", [])}
        if connector["portName"] not in names:
            raise InvalidParameterException(
                f"The gateway connector's portName {connector['portName']} is not the name of a "
                "port mapping in the task definition.")


def connect(store: EcsStore, service, connectors: list[dict] | None) -> None:
    """After CreateService/UpdateService: the service's routes as its connectors now say."""
    if connectors is None:  # an update that does not touch them keeps the routes
        return
    for key in [k for k in store.gateway_routes if k[1:] == (service.cluster_name, service.name)]:
        if not connectors or store.gateway_associations.get(key[:2]) != "ACTIVE" or \
                store.gateway_routes[key].port_name != connectors[0]["portName"]:
            del store.gateway_routes[key]
    for connector in connectors:
        allowed = set((connector.get("filters") or {}).get("accessTypes") or ["PUBLIC", "PRIVATE"])
        for (gateway_name, cluster_name), status in list(associations(store).items()):
            gateway = store.gateways[gateway_name]
            key = (gateway_name, cluster_name, service.name)
            if cluster_name != service.cluster_name or status != "ACTIVE" or \
                    gateway.access_type not in allowed or key in store.gateway_routes:
                continue
            store.gateway_routes[key] = Route(
                gateway_name, cluster_name, service.name, connector["portName"],
                arns.build(store, "gateway-route", f"{gateway_name}/{cluster_name}/"
                                                   f"{service.name}/{connector['portName']}"))


def routes(store: EcsStore) -> list[tuple[Route, str]]:
    """Every route with its status (see the module's docstring), in ARN order."""
    found = []
    for (_, cluster_name, service_name), route in store.gateway_routes.items():
        service = store.services.get((cluster_name, service_name))
        if service is None or service.status == "INACTIVE":
            continue
        found.append((route, "ACTIVE" if service.status == "ACTIVE" else "DELETE_IN_PROGRESS"))
    return sorted(found, key=lambda item: item[0].arn)


def find_route(store: EcsStore, arn: str) -> tuple[Route, str]:
    found = next((item for item in routes(store) if item[0].arn == arn), None)
    if found is None:
        raise ResourceNotFoundException(f"The gateway route {arn} was not found.")
    return found


def route_target(store: EcsStore, gateway_name: str, cluster_name: str, service_name: str):
    """(service, port name) a live route of the gateway leads to, or None (the front door)."""
    route = store.gateway_routes.get((gateway_name, cluster_name, service_name))
    service = store.services.get((cluster_name, service_name))
    if route is None or service is None or service.status == "INACTIVE":
        return None
    return service, route.port_name


def service_url(store: EcsStore, host: str, route: Route) -> str:
    """Its front door, on the front doors' own port of the host the client reached us at."""
    return store.front_doors.gateway_route(host, route.gateway_name, route.cluster_name,
                                           route.service_name)


def _check_role(arn: str) -> None:
    if not _ROLE.match(arn):
        raise InvalidParameterException(f"infrastructureRoleArn {arn} is not an IAM role ARN.")


def _check_alb_count(count: int) -> None:
    if not 1 <= count <= 20:
        raise InvalidParameterException("maxAlbCount must be between 1 and 20.")
