"""Handlers of the daemon operations: daemons, their deployments and revisions, and daemon task
definitions (the rules are in emulator/ecs/daemons.py and daemon_task_definitions.py)."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import daemon_task_definitions as definitions
from emulator.ecs import daemons, render_daemons, service_deployments
from emulator.ecs.api.common import described, page_of
from emulator.ecs.errors import InvalidParameterException

MAX_DESCRIBED = 20


@handler("CreateDaemon")
def create_daemon(call: Call) -> dict:
    daemon = daemons.create(call.store, call.request)
    return {"daemonArn": daemon.arn, "status": daemon.status, "createdAt": daemon.created_at,
            "deploymentArn": daemons.deployment_arn(call.store, daemon,
                                                    daemon.service.history[-1])}


@handler("UpdateDaemon")
def update_daemon(call: Call) -> dict:
    daemon, deployment = daemons.update(call.store, call.request)
    return {"daemonArn": daemon.arn, "status": daemon.status, "createdAt": daemon.created_at,
            "updatedAt": daemon.updated_at,
            "deploymentArn": daemons.deployment_arn(call.store, daemon, deployment)}


@handler("DeleteDaemon")
def delete_daemon(call: Call) -> dict:
    daemon = daemons.delete(call.store, call.request.daemon_arn)
    return {"daemonArn": daemon.arn, "status": daemon.status, "createdAt": daemon.created_at,
            "updatedAt": daemon.updated_at,
            "deploymentArn": daemons.deployment_arn(call.store, daemon, daemon.delete_deployment)}


@handler("DescribeDaemon")
def describe_daemon(call: Call) -> dict:
    daemon = daemons.find(call.store, call.request.daemon_arn)
    return {"daemon": render_daemons.daemon_detail(call.store, daemon)}


@handler("ListDaemons")
def list_daemons(call: Call) -> dict:
    found = daemons.listed(call.store, call.request.cluster_arn,
                           call.request.capacity_provider_arns)
    page, token = page_of(found, call.request, key=lambda d: d.arn)
    return {"daemonSummariesList": [render_daemons.daemon_summary(d) for d in page],
            "nextToken": token}


@handler("ListDaemonDeployments")
def list_daemon_deployments(call: Call) -> dict:
    daemon = daemons.find(call.store, call.request.daemon_arn)
    found = service_deployments.listed(call.store, daemon.service, call.request.status,
                                       call.request.created_at)
    page, token = page_of(found, call.request, key=lambda d: -d.created_at.timestamp(),
                          default_max=20)
    return {"daemonDeployments": [render_daemons.deployment_summary(call.store, daemon, d)
                                  for d in page],
            "nextToken": token}


@handler("DescribeDaemonDeployments")
def describe_daemon_deployments(call: Call) -> dict:
    return _describe(call, call.request.daemon_deployment_arns, "daemon-deployment",
                     "daemonDeployments", render_daemons.deployment)


@handler("DescribeDaemonRevisions")
def describe_daemon_revisions(call: Call) -> dict:
    return _describe(call, call.request.daemon_revision_arns, "daemon-revision",
                     "daemonRevisions", render_daemons.revision)


def _describe(call: Call, refs: list[str], resource_type: str, key: str, render) -> dict:
    if not refs or len(refs) > MAX_DESCRIBED:
        raise InvalidParameterException(f"Between 1 and {MAX_DESCRIBED} ARNs can be described.")
    found, failures = described(
        refs, lambda arn: daemons.find_deployment(call.store, arn, resource_type),
        lambda hit: render(call.store, *hit))
    return {key: found, "failures": failures}


@handler("RegisterDaemonTaskDefinition")
def register_daemon_task_definition(call: Call) -> dict:
    definition = definitions.register(call.store, call.ctx, call.request)
    return {"daemonTaskDefinitionArn": definition.arn}


@handler("DescribeDaemonTaskDefinition")
def describe_daemon_task_definition(call: Call) -> dict:
    definition = definitions.describe(call.store, call.request.daemon_task_definition)
    return {"daemonTaskDefinition": render_daemons.task_definition(definition)}


@handler("DeleteDaemonTaskDefinition")
def delete_daemon_task_definition(call: Call) -> dict:
    ref = call.request.daemon_task_definition
    definition = definitions.describe(call.store, ref)
    definitions.delete(call.store, ref, daemons.in_use(call.store, definition.arn))
    return {"daemonTaskDefinitionArn": definition.arn}


@handler("ListDaemonTaskDefinitions")
def list_daemon_task_definitions(call: Call) -> dict:
    found = definitions.listed(call.store, call.request)
    page, token = page_of(found, call.request, key=lambda d: (d.family, d.revision),
                          descending=call.request.sort == "DESC")
    return {"daemonTaskDefinitions": [render_daemons.task_definition_summary(d) for d in page],
            "nextToken": token}
