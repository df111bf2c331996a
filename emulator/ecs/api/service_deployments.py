"""Handlers of ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions,
StopServiceDeployment and ContinueServiceDeployment."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import deployment_hooks, render_services, service_deployments, services
from emulator.ecs.api.common import described, page_of
from emulator.ecs.errors import InvalidParameterException, ServiceDeploymentNotFoundException


@handler("ListServiceDeployments")
def list_service_deployments(call: Call) -> dict:
    request = call.request
    service = services.find(call.store, request.cluster, request.service)
    found = service_deployments.listed(call.store, service, request.status, request.created_at)
    page, token = page_of(found, request, key=lambda d: -d.created_at.timestamp(),
                          default_max=20)
    return {"serviceDeployments": [render_services.service_deployment_brief(call.store, service, d)
                                   for d in page],
            "nextToken": token}


@handler("DescribeServiceDeployments")
def describe_service_deployments(call: Call) -> dict:
    return _describe(call, call.request.service_deployment_arns, "service-deployment",
                     "serviceDeployments", render_services.service_deployment,
                     "Service deployment ARNs cannot be empty.")


@handler("DescribeServiceRevisions")
def describe_service_revisions(call: Call) -> dict:
    return _describe(call, call.request.service_revision_arns, "service-revision",
                     "serviceRevisions", render_services.service_revision,
                     "Service revision ARNs cannot be empty.")


@handler("StopServiceDeployment")
def stop_service_deployment(call: Call) -> dict:
    arn = service_deployments.stop(call.store, call.request.service_deployment_arn,
                                   call.request.stop_type or "ROLLBACK")
    return {"serviceDeploymentArn": arn}


def _describe(call: Call, refs: list[str], resource_type: str, key: str, draw,
              empty: str) -> dict:
    if not refs:
        raise InvalidParameterException(empty)
    if len(refs) > 20:
        raise InvalidParameterException("At most 20 ARNs can be described at once.")
    found, failures = described(
        refs, lambda arn: service_deployments.find(call.store, arn, resource_type),
        lambda match: draw(call.store, *match))
    return {key: found, "failures": failures}


@handler("ContinueServiceDeployment")
def continue_service_deployment(call: Call) -> dict:
    request = call.request
    arn = request.service_deployment_arn
    found = service_deployments.find(call.store, arn, "service-deployment")
    if found is None:
        raise ServiceDeploymentNotFoundException("The service deployment does not exist.")
    deployment_hooks.continue_deployment(call.store, *found, request.hook_id,
                                         request.action or "CONTINUE")
    return {"serviceDeploymentArn": arn}
