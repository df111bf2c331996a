"""AWS::ECS::Service, TaskSet, PrimaryTaskSet and ExpressGatewayService: the resources whose
tasks run as containers.

As on AWS, a service resource is complete when the service is steady: its deployment completed
with the desired count running (an EXTERNAL-controller service, which has no deployments, once it
is ACTIVE). moto runs a stack's work inside the API call that asked for it,
so that call waits (at most `cfn_stabilize_timeout_s`); a deployment the circuit breaker fails
fails the resource in AWS's handler's words, one failed otherwise (CloudWatch alarms, a lifecycle
hook's rollback) or a service still not steady at the timeout with the service's reason.
Deleting a service scales it to zero and waits until its tasks have stopped, so that its cluster
can go next.
"""

from __future__ import annotations

import time

from emulator.aws.errors import AwsError
from emulator.cloudformation.properties import tags_of, to_request
from emulator.cloudformation.resource import (Api, ApiResource, ResourceFailed, delete_gone,
                                              tag_changes)
from emulator.engine.service_failures import BREAKER_REASON

POLL_S = 0.2


def _cluster_of(arn: str) -> str:
    # arn:aws:ecs:region:account:service/<cluster>/<name>
    return arn.split(":", 5)[5].split("/")[1]


def _describe(api: Api, cluster: str, service: str) -> dict | None:
    found = api.ecs("DescribeServices", {"cluster": cluster, "services": [service]})["services"]
    return found[0] if found else None


def wait_until_steady(api: Api, cluster: str, service: str, deployment_id: str | None) -> None:
    """Return when the service is steady; raise ResourceFailed when it cannot become so."""
    deadline = time.monotonic() + api.settings.cfn_stabilize_timeout_s
    arn = None  # the waited-for deployment's service deployment: it says what failed it
    while True:
        current = _describe(api, cluster, service)
        if current is None or current["status"] != "ACTIVE":
            raise ResourceFailed(f"Service {service} is no longer ACTIVE.")
        if (current.get("deploymentController") or {}).get("type") == "EXTERNAL":
            # No deployments: its tasks come from the stack's task sets (TaskSet,
            # PrimaryTaskSet), which can only be made once the service exists.
            return
        deployments = current.get("deployments", [])
        mine = next((d for d in deployments if d["id"] == deployment_id), None)
        if arn is None and mine is not None and mine is deployments[0]:
            arn = current.get("currentServiceDeployment")
        if (deployment_id and mine is None) or (
                mine is not None and mine.get("rolloutState") == "FAILED"):
            raise _failure(api, service, current, mine, deployment_id, arn)
        if (len(deployments) == 1 and current["runningCount"] == current["desiredCount"]
                and deployments[0].get("rolloutState") in (None, "COMPLETED")):
            return
        if time.monotonic() >= deadline:
            raise ResourceFailed(
                f"Service {service} did not stabilize within "
                f"{api.settings.cfn_stabilize_timeout_s} s (ECS_EMULATOR_CFN_STABILIZE_TIMEOUT): "
                f"{_progress(api, cluster, current, mine)} "
                f"Latest event: {_latest_event(current)}")
        time.sleep(POLL_S)


class CircuitBreakerTripped(ResourceFailed):
    """A deployment the circuit breaker failed (and perhaps rolled back), in the words AWS's
    service handler uses (users quote them: "Error occurred during operation 'ECS Deployment
    Circuit Breaker was triggered'." ... HandlerErrorCode: GeneralServiceException); why its
    tasks failed is in the service's events and the tasks' stoppedReason, as on AWS."""

    HANDLER_ERROR_CODE = "GeneralServiceException"

    def __init__(self):
        super().__init__("Error occurred during operation 'ECS Deployment Circuit Breaker "
                         "was triggered'.")


def _failure(api: Api, service: str, current: dict, mine: dict | None, deployment_id: str,
             arn: str | None) -> ResourceFailed:
    """Why the deployment waited for failed, or was replaced: in AWS's handler's words when
    the circuit breaker did it; else (CloudWatch alarms, a lifecycle hook's rollback, another
    update) in the deployment's own reason. A deployment rolled back is gone from the
    service's list once the rollback completes; its service deployment still tells."""
    reason = (mine or {}).get("rolloutStateReason")
    breaker = bool(reason) and reason.startswith(BREAKER_REASON)
    if arn is not None:
        try:
            found = api.ecs("DescribeServiceDeployments",
                            {"serviceDeploymentArns": [arn]})["serviceDeployments"]
        except AwsError:  # the stack's caller may not read it: the deployment's reason says
            found = []
        if found:
            breaker = (found[0].get("deploymentCircuitBreaker") or {}).get("status") == "TRIGGERED"
            reason = reason or (found[0].get("rollback") or {}).get("reason")
    if breaker:
        return CircuitBreakerTripped()
    reason = reason or f"its deployment {deployment_id} was replaced."
    return ResourceFailed(f"Service {service}: {reason} Latest event: {_latest_event(current)}")


def _progress(api: Api, cluster: str, service: dict, deployment: dict | None) -> str:
    """How far the deployment waited for got, and why its tasks stopped: the service's own
    counts include the old deployment's tasks, which keep running while the new ones fail."""
    deployment = deployment or next((d for d in service.get("deployments", [])
                                     if d.get("status") == "PRIMARY"), None)
    if deployment is None:
        return f"{service['runningCount']} of {service['desiredCount']} tasks running."
    said = (f"deployment {deployment['id']}: {deployment.get('runningCount', 0)} of "
            f"{deployment.get('desiredCount', 0)} tasks running.")
    reason = _last_stopped_reason(api, cluster, deployment["id"])
    return f"{said} Last stopped task: {reason}." if reason else said


def _last_stopped_reason(api: Api, cluster: str, deployment_id: str) -> str | None:
    """The stoppedReason of the deployment's task that stopped last (its tasks are started by
    the deployment's id), or None (none stopped, or the stack's caller may not read them)."""
    try:
        arns = api.ecs("ListTasks", {"cluster": cluster, "startedBy": deployment_id,
                                     "desiredStatus": "STOPPED"})["taskArns"]
        tasks = api.ecs("DescribeTasks", {"cluster": cluster,
                                          "tasks": arns[:100]})["tasks"] if arns else []
    except AwsError:
        return None
    stopped = [t for t in tasks if t.get("stoppedReason")]
    if not stopped:
        return None
    last = max(stopped, key=lambda t: t.get("stoppingAt") or t.get("createdAt"))
    return last["stoppedReason"]


def wait_until_inactive(api: Api, cluster: str, service: str) -> None:
    """CloudFormation reports a service's delete complete once it is INACTIVE, its tasks
    stopped; the cluster's delete depends on that."""
    deadline = time.monotonic() + api.settings.cfn_stabilize_timeout_s
    while time.monotonic() < deadline:
        try:
            current = _describe(api, cluster, service)
        except AwsError as error:
            if error.code in ("ClusterNotFoundException", "ServiceNotFoundException"):
                return  # gone with its cluster; a refusal (AccessDenied) fails the delete
            raise
        if current is None or current["status"] == "INACTIVE":
            return
        time.sleep(POLL_S)
    raise ResourceFailed(f"Service {service} did not drain within "
                         f"{api.settings.cfn_stabilize_timeout_s} s.")


def _latest_event(service: dict) -> str:
    events = service.get("events") or []
    return events[0]["message"] if events else "none"


def _primary_id(service: dict) -> str | None:
    deployments = service.get("deployments") or []
    return deployments[0]["id"] if deployments else None


class Service(ApiResource):
    TYPE = "AWS::ECS::Service"
    NAME_PROPERTY = "ServiceName"
    ATTRIBUTES = ("Name", "ServiceArn")
    REPLACE_ON = frozenset({"ServiceName", "Cluster", "LaunchType", "Role",
                            "SchedulingStrategy", "DeploymentController"})

    @classmethod
    def create(cls, api, properties, name):
        shapes = api.services.ecs.shapes
        request = to_request(shapes, "CreateService", _without_force(properties),
                             serviceName=name)
        if "desiredCount" not in request and request.get("schedulingStrategy") != "DAEMON":
            # The reference: "For new services, if a desired count is not specified, a default
            # value of 1 is used." (the CDK leaves it out; an update without one keeps the count)
            request["desiredCount"] = 1
        service = api.ecs("CreateService", request)["service"]
        resource = cls(service["serviceArn"], properties,
                       {"Name": service["serviceName"], "ServiceArn": service["serviceArn"]})
        try:
            wait_until_steady(api, _cluster_of(service["serviceArn"]), name, _primary_id(service))
        except ResourceFailed:
            resource.remove(api)  # the stack's rollback does not know a resource that failed
            raise
        return resource

    def update_in_place(self, api, properties):
        shapes = api.services.ecs.shapes
        cluster, name = _cluster_of(self.physical_resource_id), self.attributes["Name"]
        request = to_request(shapes, "UpdateService", _without_force(properties),
                             cluster=cluster, service=name)
        # UpdateService starts a deployment for any of these it is given: one the template
        # left as it was is not given (a desired count's change, or a rollback to properties
        # the circuit breaker already put back, starts none).
        before_request = to_request(shapes, "UpdateService", _without_force(self.properties),
                                    cluster=cluster, service=name)
        for key in _DEPLOYING:
            if key in request and request[key] == before_request.get(key):
                del request[key]
        force = properties.get("ForceNewDeployment") or {}
        if force != (self.properties.get("ForceNewDeployment") or {}) and str(
                force.get("EnableForceNewDeployment", "")).lower() == "true":
            request["forceNewDeployment"] = True
        # A property taken out of the template goes back to its default, as on AWS.
        for key, default in (("enableExecuteCommand", False), ("propagateTags", "NONE")):
            request.setdefault(key, default)
        before = _describe(api, cluster, name)
        service = api.ecs("UpdateService", request)["service"]
        self._retag(api, properties)
        primary = _primary_id(service)
        new_deployment = primary if before is None or primary != _primary_id(before) else None
        wait_until_steady(api, cluster, name, new_deployment)
        return type(self)(self.physical_resource_id, properties, self.attributes)

    def _retag(self, api, properties) -> None:
        """The template's tags, after UpdateService changed the service: a refusal now (the
        role may not tag) leaves it half-way, so the rollback is told where it is (its tags
        as they are) to update it back (resource.py records no attempt for a refusal)."""
        old, new = tags_of(self.properties), tags_of(properties)
        kept = [t for t in old if t["Key"] in {n["Key"] for n in new}]
        now = old
        try:
            tag_changes(api.ecs, self.physical_resource_id, old, kept, lower=True)  # untags
            now = kept
            tag_changes(api.ecs, self.physical_resource_id, kept, new, lower=True)  # tags
        except AwsError:
            self.attempted = {**{k: v for k, v in properties.items() if k != "Tags"},
                              **({"Tags": now} if now else {})}
            raise

    def remove(self, api):
        cluster, name = _cluster_of(self.physical_resource_id), self.attributes["Name"]
        delete_gone(api.ecs, "DeleteService", {"cluster": cluster, "service": name, "force": True},
                    "ServiceNotFoundException", "ServiceNotActiveException",
                    "ClusterNotFoundException")
        wait_until_inactive(api, cluster, name)


# UpdateService's parameters that start a new deployment whenever given (the task definition
# only when it is another one).
_DEPLOYING = ("capacityProviderStrategy", "networkConfiguration", "platformVersion",
              "loadBalancers", "serviceConnectConfiguration")


def _without_force(properties: dict) -> dict:
    # ForceNewDeployment is a structure in the template and a flag of UpdateService only.
    return {k: v for k, v in properties.items() if k != "ForceNewDeployment"}


class TaskSet(ApiResource):
    """Ref is the task set's ID, as the CloudFormation reference has it."""

    TYPE = "AWS::ECS::TaskSet"
    ATTRIBUTES = ("Id",)
    REPLACE_ON = frozenset({"Cluster", "Service", "TaskDefinition", "ExternalId", "LaunchType",
                            "LoadBalancers", "NetworkConfiguration", "PlatformVersion",
                            "ServiceRegistries", "CapacityProviderStrategy"})

    @classmethod
    def create(cls, api, properties, name):
        request = to_request(api.services.ecs.shapes, "CreateTaskSet", properties)
        task_set = api.ecs("CreateTaskSet", request)["taskSet"]
        return cls(task_set["id"], properties, {"Id": task_set["id"],
                                                "Arn": task_set["taskSetArn"],
                                                "Cluster": request["cluster"],
                                                "Service": request["service"]})

    def update_in_place(self, api, properties):
        if properties.get("Scale") != self.properties.get("Scale"):
            request = to_request(api.services.ecs.shapes, "UpdateTaskSet",
                                 {"Scale": properties.get("Scale") or {"Value": 100,
                                                                       "Unit": "PERCENT"}},
                                 cluster=self.attributes["Cluster"],
                                 service=self.attributes["Service"], taskSet=self.physical_resource_id)
            api.ecs("UpdateTaskSet", request)
        return type(self)(self.physical_resource_id, properties, self.attributes)

    def remove(self, api):
        delete_gone(api.ecs, "DeleteTaskSet", {"cluster": self.attributes["Cluster"],
                                               "service": self.attributes["Service"],
                                               "taskSet": self.physical_resource_id,
                                               "force": True},
                    "TaskSetNotFoundException", "ServiceNotFoundException",
                    "ServiceNotActiveException", "ClusterNotFoundException")


class PrimaryTaskSet(ApiResource):
    """Which task set of an EXTERNAL service is primary. Deleting it changes nothing: a service
    always has a primary task set once one was named."""

    TYPE = "AWS::ECS::PrimaryTaskSet"
    REPLACE_ON = frozenset({"Cluster", "Service"})

    @classmethod
    def create(cls, api, properties, name):
        api.ecs("UpdateServicePrimaryTaskSet", cls._request(api, properties))
        return cls(str(properties.get("TaskSetId")), properties)

    def update_in_place(self, api, properties):
        api.ecs("UpdateServicePrimaryTaskSet", self._request(api, properties))
        return type(self)(str(properties.get("TaskSetId")), properties)

    def remove(self, api):
        return None

    @staticmethod
    def _request(api, properties):
        return to_request(api.services.ecs.shapes, "UpdateServicePrimaryTaskSet",
                          {"Cluster": properties.get("Cluster"),
                           "Service": properties.get("Service")},
                          primaryTaskSet=properties.get("TaskSetId"))


class ExpressGatewayService(ApiResource):
    """An Express Mode service (its load balancer, scaling and tasks made by ECS); Ref is its
    ARN. Complete, as a service is, when the service is steady."""

    TYPE = "AWS::ECS::ExpressGatewayService"
    NAME_PROPERTY = "ServiceName"
    ATTRIBUTES = ("ServiceArn", "Endpoint", "CreatedAt", "UpdatedAt", "Status.StatusCode")
    # createOnlyProperties of the type's schema
    REPLACE_ON = frozenset({"ServiceName", "Cluster", "InfrastructureRoleArn", "Tags"})

    @classmethod
    def create(cls, api, properties, name):
        request = to_request(api.services.ecs.shapes, "CreateExpressGatewayService", properties,
                             serviceName=name)
        created = api.ecs("CreateExpressGatewayService", request)["service"]
        resource = cls(created["serviceArn"], properties, cls._attributes(created))
        try:
            resource._wait(api, None)
        except ResourceFailed:
            resource.remove(api)  # the stack's rollback does not know a resource that failed
            raise
        return resource

    def update_in_place(self, api, properties):
        request = to_request(api.services.ecs.shapes, "UpdateExpressGatewayService", properties,
                             serviceArn=self.physical_resource_id)
        api.ecs("UpdateExpressGatewayService", request)
        cluster, name = _cluster_of(self.physical_resource_id), self._name
        self._wait(api, _primary_id(_describe(api, cluster, name) or {}))
        described = api.ecs("DescribeExpressGatewayService",
                            {"serviceArn": self.physical_resource_id})["service"]
        return type(self)(self.physical_resource_id, properties, self._attributes(described))

    def remove(self, api):
        delete_gone(api.ecs, "DeleteExpressGatewayService",
                    {"serviceArn": self.physical_resource_id}, "ServiceNotFoundException",
                    "ServiceNotActiveException", "ClusterNotFoundException")
        wait_until_inactive(api, _cluster_of(self.physical_resource_id), self._name)

    @property
    def _name(self) -> str:
        return self.physical_resource_id.rsplit("/", 1)[-1]

    def _wait(self, api, deployment_id: str | None) -> None:
        wait_until_steady(api, _cluster_of(self.physical_resource_id), self._name, deployment_id)

    @staticmethod
    def _attributes(service: dict) -> dict:
        paths = [p for c in service.get("activeConfigurations") or []
                 for p in c.get("ingressPaths") or []]
        return {"ServiceArn": service["serviceArn"],
                "Endpoint": paths[0]["endpoint"] if paths else "",
                "CreatedAt": str(service.get("createdAt", "")),
                "UpdatedAt": str(service.get("updatedAt", "")),
                "Status.StatusCode": (service.get("status") or {}).get("statusCode", "")}


TYPES = (Service, TaskSet, PrimaryTaskSet, ExpressGatewayService)
