"""Express Mode services: one call makes a Fargate service of one web container, its task
definition (unless the caller brings one), its Application Load Balancer, target group and
listener (in moto, through `EcsStore.express`), and its scaling settings; its tasks run.

The service is an ordinary ECS service (DescribeServices shows it) behind the load balancer; each
Update registers a new task definition revision and rolls it out, each configuration being a
service revision. The page is served from the laptop at the ingress path's endpoint:
`http://<emulator's host>:<front doors' port>/express/<cluster>/<service>/`, which forwards to
the service's RUNNING tasks in turn (emulator/front_door_routes.py), as the load balancer would:
on a port of its own, so that the task's page is not on the dashboard's origin.

Scaling: the scalable target and target-tracking policy exist in moto's Application Auto Scaling
(with the CloudWatch alarms moto makes for them); the service runs `minTaskCount` tasks (1 by
default): the policy is not acted on (no CloudWatch metrics are produced here).
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
from dataclasses import dataclass, field

from api_shapes import load_service
from api_shapes.requests import given
from emulator.aws.context import RequestContext
from emulator.ecs import arns, services, task_definitions
from emulator.ecs.errors import (
    InvalidParameterException,
    ServiceNotActiveException,
    ServiceNotFoundException,
)
from emulator.ecs.model import utcnow
from emulator.ecs.service_model import Service
from emulator.ecs.store import EcsStore
from emulator.ecs.task_definition_ports import tcp_mapping

CONTAINER = "Main"
DEFAULTS = {"cpu": "256", "memory": "512", "cpuArchitecture": "X86_64", "healthCheckPath": "/"}
DEFAULT_SCALING = {"minTaskCount": 1, "maxTaskCount": 20, "autoScalingMetric": "AVERAGE_CPU",
                   "autoScalingTargetValue": 60}
# What a configuration holds (the ExpressGatewayServiceConfiguration members the caller sets)
SETTINGS = ("executionRoleArn", "taskRoleArn", "cpu", "memory", "cpuArchitecture",
            "networkConfiguration", "healthCheckPath", "primaryContainer", "scalingTarget",
            "taskDefinitionArn")
TASK_SETTINGS = ("executionRoleArn", "taskRoleArn", "cpu", "memory", "cpuArchitecture",
                 "primaryContainer", "taskDefinitionArn")


@dataclass
class ExpressService:
    """An Express Mode service: the service and the infrastructure made for it."""
    service: Service
    infrastructure_role_arn: str
    resources: object  # emulator.engine.express_infrastructure.Resources
    configurations: dict[str, dict] = field(default_factory=dict)  # deployment id -> settings
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)


def create(store: EcsStore, ctx: RequestContext, request) -> ExpressService:
    """CreateExpressGatewayService, its request as named values; the configuration is kept in
    wire form, as the responses echo it."""
    cluster = store.cluster(request.cluster)
    settings = _settings({**DEFAULTS, "scalingTarget": dict(DEFAULT_SCALING)}, given(request))
    name = request.service_name or _generated_name(settings)
    existing = store.services.get((cluster.name, name))
    if existing is not None and existing.status != "INACTIVE":
        raise InvalidParameterException("Creation of service was not idempotent.")
    definition = _definition(store, ctx, name, settings)
    served, port = _target(definition)
    network = settings.get("networkConfiguration") or {}
    resources = store.express.create(store.account, store.region, name, f"{cluster.name}/{name}",
                                     port, settings["healthCheckPath"],
                                     network.get("subnets", []), network.get("securityGroups", []))
    # what the service runs in, as AWS shows it: the default VPC's when none was given
    settings["networkConfiguration"] = {"subnets": resources.subnets,
                                        "securityGroups": resources.security_groups}
    try:
        service = services.create(store, _ecs_request("CreateService", {
            "cluster": cluster.name, "serviceName": name, "taskDefinition": definition.arn,
            "desiredCount": settings["scalingTarget"]["minTaskCount"], "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": resources.subnets, "securityGroups": resources.security_groups,
                "assignPublicIp": "ENABLED"}},
            "loadBalancers": [{"targetGroupArn": resources.target_group_arn,
                               "containerName": served, "containerPort": port}],
            "tags": request.tags or [],
        }), arns.principal_root(ctx))
    except Exception:
        store.express.delete(store.account, store.region, resources)
        raise
    express = ExpressService(service, request.infrastructure_role_arn, resources)
    store.express.set_scaling(store.account, store.region, cluster.name, name,
                              settings["scalingTarget"], request.infrastructure_role_arn,
                              resources)
    express.configurations[service.primary.id] = {**settings, "taskDefinitionArn": definition.arn}
    store.express_services[(cluster.name, name)] = express
    return express


def update(store: EcsStore, ctx: RequestContext, request) -> ExpressService:
    """UpdateExpressGatewayService, its request as named values (None: left as it is)."""
    express = find(store, request.service_arn)
    service = express.service
    if service.status != "ACTIVE":
        raise ServiceNotActiveException(f"The Express service {service.name} is {service.status}.")
    current = express.configurations[service.primary.id]
    settings = _settings(copy.deepcopy(current), given(request))
    if request.primary_container is not None:
        settings.pop("taskDefinitionArn", None)
    elif request.task_definition_arn is not None:
        settings.pop("primaryContainer", None)
    if any(settings.get(k) != current.get(k) for k in TASK_SETTINGS):
        definition = _definition(store, ctx, service.name, settings)
    else:  # scaling or health check only: the same revision keeps running
        definition = task_definitions.describe(store, current["taskDefinitionArn"])
    changes = {"cluster": service.cluster_name, "service": service.name,
               "taskDefinition": definition.arn,
               "desiredCount": settings["scalingTarget"]["minTaskCount"]}
    # (an UpdateService may have taken the load balancer off: then nothing to move)
    balancer = service.load_balancers[0] if service.load_balancers else None
    served, port = _target(definition)
    if balancer is not None and (served, port) != (balancer["containerName"],
                                                   balancer["containerPort"]):
        # The load balancer sends its traffic to the new revision's port from now on, not to
        # a port of the old one the new tasks may not serve (or serve something else on).
        changes["loadBalancers"] = [{**balancer, "containerName": served,
                                     "containerPort": port}]
    if request.network_configuration is not None:  # the tasks move; the load balancer stays where it is
        network = settings["networkConfiguration"]
        changes["networkConfiguration"] = {"awsvpcConfiguration": {
            "subnets": network.get("subnets") or express.resources.subnets,
            "securityGroups": network.get("securityGroups") or express.resources.security_groups,
            "assignPublicIp": "ENABLED"}}
    services.update(store, _ecs_request("UpdateService", changes))
    if settings["scalingTarget"] != current["scalingTarget"]:
        store.express.set_scaling(store.account, store.region, service.cluster_name,
                                  service.name, settings["scalingTarget"],
                                  express.infrastructure_role_arn, express.resources)
    if settings["healthCheckPath"] != current["healthCheckPath"]:
        store.express.set_health_check_path(store.account, store.region,
                                            express.resources.target_group_arn,
                                            settings["healthCheckPath"])
    express.configurations[service.primary.id] = {**settings, "taskDefinitionArn": definition.arn}
    express.updated_at = utcnow()
    return express


def delete(store: EcsStore, arn: str) -> ExpressService:
    express = find(store, arn)
    service = express.service
    if service.status != "ACTIVE":
        raise ServiceNotActiveException(f"The Express service {service.name} is {service.status}.")
    services.delete(store, service.cluster_name, service.name, force=True)
    store.express.delete(store.account, store.region, express.resources,
                         service.cluster_name, service.name)
    express.updated_at = utcnow()
    return express


def find(store: EcsStore, arn: str) -> ExpressService:
    parsed = arns.parse(arn)
    express = None
    if parsed is not None and parsed.in_store(store, "service"):
        cluster_name, _, name = parsed.resource.partition("/")
        express = store.express_services.get((cluster_name, name))
        if express is not None and express.service is not store.services.get((cluster_name, name)):
            express = None  # the name now belongs to an ordinary service
    if express is None:
        raise ServiceNotFoundException("Express service not found.")
    return express


def endpoint(store: EcsStore, host: str, service: Service) -> str:
    """Its front door, on the front doors' own port of the host the client reached us at."""
    return store.front_doors.express(host, service.cluster_name, service.name)


# -- configuration ---------------------------------------------------------------------------------

def _settings(base: dict, members: dict) -> dict:
    """`base` changed by the request's members (by wire name) that are settings."""
    settings = dict(base)
    for key in SETTINGS:
        if key in members:
            settings[key] = members[key] if key != "scalingTarget" else {
                **base.get("scalingTarget", DEFAULT_SCALING), **members[key]}
    if "primaryContainer" not in settings and "taskDefinitionArn" not in settings:
        raise InvalidParameterException(
            "Either primaryContainer or taskDefinitionArn must be specified.")
    scaling = settings["scalingTarget"]
    if scaling["minTaskCount"] < 1 or scaling["maxTaskCount"] < scaling["minTaskCount"]:
        raise InvalidParameterException(
            "scalingTarget: minTaskCount must be at least 1 and maxTaskCount at least "
            "minTaskCount.")
    port = (settings.get("primaryContainer") or {}).get("containerPort", 80)
    if not 1 <= port <= 65535:
        raise InvalidParameterException("containerPort must be between 1 and 65535.")
    return settings


def _definition(store: EcsStore, ctx: RequestContext, name: str, settings: dict):
    """The task definition the configuration runs (registered for a primaryContainer)."""
    if "taskDefinitionArn" in settings and "primaryContainer" not in settings:
        definition = task_definitions.describe(store, settings["taskDefinitionArn"])
        if tcp_mapping(definition.spec) is None or definition.spec.get("networkMode") != "awsvpc":
            raise InvalidParameterException(
                "The task definition of an Express service must use the awsvpc network mode "
                "and map a container port over TCP.")
        return definition
    primary = settings["primaryContainer"]
    port = primary.get("containerPort", 80)
    container = {"name": CONTAINER, "image": primary["image"], "essential": True,
                 "portMappings": [{"containerPort": port, "protocol": "tcp"}]}
    for key in ("command", "environment", "secrets", "repositoryCredentials"):
        if key in primary:
            container[key] = primary[key]
    if "awsLogsConfiguration" in primary:
        logs = primary["awsLogsConfiguration"]
        container["logConfiguration"] = {"logDriver": "awslogs", "options": {
            "awslogs-group": logs["logGroup"], "awslogs-stream-prefix": logs["logStreamPrefix"],
            "awslogs-region": store.region}}
    request = {"family": f"{name}-express", "networkMode": "awsvpc",
               "requiresCompatibilities": ["FARGATE"], "cpu": settings["cpu"],
               "memory": settings["memory"], "containerDefinitions": [container],
               "runtimePlatform": {"cpuArchitecture": settings["cpuArchitecture"],
                                   "operatingSystemFamily": "LINUX"}}
    for key in ("executionRoleArn", "taskRoleArn"):
        if settings.get(key):
            request[key] = settings[key]
    definition = task_definitions.register(store, ctx,
                                           _ecs_request("RegisterTaskDefinition", request))
    return definition


def _target(definition) -> tuple[str, int]:
    """(container name, container port) the load balancer sends HTTP to: the first TCP
    mapping's."""
    container, mapping = tcp_mapping(definition.spec)
    return container["name"], mapping["containerPort"]


def _generated_name(settings: dict) -> str:
    image = (settings.get("primaryContainer") or {}).get("image", "express")
    base = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in base)[:200] or "express"
    return f"{cleaned}-{secrets.token_hex(3)}"


def _ecs_request(operation: str, params: dict):
    """The service an Express service runs (and its task definition) is made and changed as
    CreateService, UpdateService and RegisterTaskDefinition would be: by their requests, as
    named values."""
    return load_service("ecs").request(operation, params)
