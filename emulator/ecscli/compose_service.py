"""`compose service ...`: a compose project run as an ECS service named after the project.

    up      register (or reuse) the task definition; create the service, or update it to that
            definition; desired count 1 if it was 0; wait until it is stable
    create  the task definition and a service with desired count 0
    start   desired count 1 if it is 0;   stop: desired count 0
    scale N desired count N
    ps      the service's tasks, one row per container, with the address each port is reached at
    down    desired count 0, wait, delete the service (rm and delete are the same)
"""

from __future__ import annotations

from emulator.cli_commands import output
from emulator.cli_commands.connection import CliError
from emulator.cli_commands.tasks import PS_HEADERS, container_rows, tasks_of
from emulator.ecscli import compose_project
from emulator.ecscli.config import cluster_context
from emulator.ecscli.waiting import ServiceWatch


def run(args) -> int:
    ctx = cluster_context(args)
    action = args.service_command
    compose_project.require_cluster(ctx)
    if action == "ps":
        return _ps(ctx, compose_project.project_name(args))
    if action in ("down", "rm", "delete"):
        return _down(ctx, compose_project.project_name(args), args.timeout)
    if action in ("scale", "start", "stop"):
        return _set_count(ctx, compose_project.project_name(args), action,
                          getattr(args, "count", None), args.timeout)
    project = compose_project.load(args, ctx)
    if getattr(args, "create_log_groups", False):
        compose_project.create_log_groups(project)
    definition = compose_project.register(project)
    if action == "create":
        _create(project, definition, args, desired=0)
        return 0
    return _up(project, definition, args)


def _describe(ctx, name: str) -> dict | None:
    found = ctx.conn.client("ecs").describe_services(cluster=ctx.cluster, services=[name])
    services = [s for s in found["services"] if s["status"] != "INACTIVE"]
    return services[0] if services else None


def _up(project, definition: str, args) -> int:
    ctx = project.ctx
    ecs = ctx.conn.client("ecs")
    existing = _describe(ctx, project.name)
    if existing is None:
        _create(project, definition, args, desired=0)
        desired = 1
    else:
        desired = existing["desiredCount"] or 1
    watch = ServiceWatch(ecs, ctx.cluster, project.name)
    update = {"cluster": ctx.cluster, "service": project.name, "taskDefinition": definition,
              "desiredCount": desired, "forceNewDeployment": bool(args.force_deployment)}
    update.update(_deployment_configuration(args))
    ecs.update_service(**update)
    output.info("Updated ECS service successfully", desiredCount=desired,
                **{"force-deployment": str(bool(args.force_deployment)).lower()},
                service=project.name)
    watch.wait(args.timeout)
    return 0


def _create(project, definition: str, args, desired: int) -> None:
    ctx = project.ctx
    if _describe(ctx, project.name) is not None:
        raise CliError(f"service {project.name} already exists in cluster {ctx.cluster}")
    request = {"cluster": ctx.cluster, "serviceName": project.name,
               "taskDefinition": definition, "desiredCount": desired,
               **project.launch_parameters()}
    request.update(_deployment_configuration(args))
    if getattr(args, "health_check_grace_period", None) is not None:
        request["healthCheckGracePeriodSeconds"] = args.health_check_grace_period
    if getattr(args, "role", None):
        request["role"] = args.role
    if getattr(args, "scheduling_strategy", None):
        request["schedulingStrategy"] = args.scheduling_strategy
    tags = _tags(getattr(args, "tags", None))
    if tags:
        request["tags"] = tags
    ctx.conn.client("ecs").create_service(**request)
    output.info("Created an ECS service", service=project.name, taskDefinition=definition)


def _deployment_configuration(args) -> dict:
    config = {}
    if getattr(args, "deployment_max_percent", None) is not None:
        config["maximumPercent"] = args.deployment_max_percent
    if getattr(args, "deployment_min_healthy_percent", None) is not None:
        config["minimumHealthyPercent"] = args.deployment_min_healthy_percent
    return {"deploymentConfiguration": config} if config else {}


def _tags(text: str | None) -> list[dict]:
    if not text:
        return []
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    if any(len(pair) != 2 for pair in pairs):
        raise CliError("--tags takes key1=value1,key2=value2")
    return [{"key": k, "value": v} for k, v in pairs]


def _set_count(ctx, name: str, action: str, count: int | None, timeout: float) -> int:
    service = _describe(ctx, name)
    if service is None:
        raise CliError(f"service {name} does not exist in cluster {ctx.cluster}; run "
                       "`compose service up` first")
    if action == "scale":
        desired = count
    elif action == "start":
        desired = service["desiredCount"] or 1
    else:
        desired = 0
    ecs = ctx.conn.client("ecs")
    watch = ServiceWatch(ecs, ctx.cluster, name)
    ecs.update_service(cluster=ctx.cluster, service=name, desiredCount=desired)
    output.info("Updated ECS service successfully", desiredCount=desired,
                **{"force-deployment": "false"}, service=name)
    watch.wait(timeout)
    return 0


def _down(ctx, name: str, timeout: float) -> int:
    if _describe(ctx, name) is None:
        raise CliError(f"service {name} does not exist in cluster {ctx.cluster}")
    _set_count(ctx, name, "stop", 0, timeout)
    ecs = ctx.conn.client("ecs")
    watch = ServiceWatch(ecs, ctx.cluster, name)
    ecs.delete_service(cluster=ctx.cluster, service=name)
    output.info("Deleted ECS service", service=name)
    watch.wait(timeout, deleted=True)
    return 0


def _ps(ctx, name: str) -> int:
    ecs = ctx.conn.client("ecs")
    rows = container_rows(tasks_of(ecs, ctx.cluster, stopped=True, serviceName=name))
    output.table(PS_HEADERS, rows)
    return 0
