"""`compose up|create|start|run|ps|scale|stop|down`: a compose project run as standalone tasks (no
service), as the ECS CLI's task commands do. A project's tasks are those of its task definition
family, started by "ecs-emulator/compose".

    create  register the task definition      start  run one task if none runs
    up      run one task with the newest definition (replacing tasks of older revisions)
    ps      the tasks' containers             scale N  run or stop tasks until N run
    stop    stop every task (down is the same)
"""

from __future__ import annotations

import time

from emulator.cli_commands import output
from emulator.cli_commands.connection import CliError
from emulator.cli_commands.tasks import (
    PS_HEADERS, cluster_name, container_rows, describe_tasks, task_id, tasks_of,
)
from emulator.ecscli import compose_project
from emulator.ecscli.config import cluster_context
from emulator.ecscli.waiting import report_pull

STARTED_BY = "ecs-emulator/compose"
POLL_S = 1.0


def run(args) -> int:
    ctx = cluster_context(args)
    action = args.compose_command
    name = compose_project.project_name(args)
    if action != "create":
        compose_project.require_cluster(ctx)
    if action == "ps":
        tasks = tasks_of(ctx.conn.client("ecs"), ctx.cluster, stopped=True, family=name)
        output.table(PS_HEADERS, container_rows(tasks))
        return 0
    if action in ("stop", "down"):
        _stop(ctx, _running(ctx, name), args.timeout)
        return 0
    project = compose_project.load(args, ctx)
    if getattr(args, "create_log_groups", False):
        compose_project.create_log_groups(project)
    definition = compose_project.register(project)
    if action == "create":
        return 0
    running = _running(ctx, name)
    if action == "up":
        stale = [t for t in running if not t["taskDefinitionArn"].endswith("/" + definition)]
        _stop(ctx, stale, args.timeout)
        fresh = len(running) - len(stale)
        _start(project, definition, max(len(running), 1) - fresh, args.timeout)
    elif action == "start":
        _start(project, definition, 0 if running else 1, args.timeout)
    elif action == "scale":
        if args.count > len(running):
            _start(project, definition, args.count - len(running), args.timeout)
        else:
            _stop(ctx, running[args.count:], args.timeout)
    return 0


def _running(ctx, family: str) -> list[dict]:
    return [t for t in tasks_of(ctx.conn.client("ecs"), ctx.cluster, family=family)
            if t.get("desiredStatus") == "RUNNING"]


def _start(project, definition: str, count: int, timeout: float) -> None:
    if count <= 0:
        return
    ctx = project.ctx
    ecs = ctx.conn.client("ecs")
    request = {"cluster": ctx.cluster, "taskDefinition": definition, "startedBy": STARTED_BY,
               **project.launch_parameters()}
    started: list[dict] = []
    while len(started) < count:
        answer = ecs.run_task(count=min(10, count - len(started)), **request)
        if answer.get("failures"):
            reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip()
                                for f in answer["failures"])
            raise CliError(f"RunTask failed: {reasons}")
        started += answer["tasks"]
    for task in started:
        for container in task.get("containers") or []:
            output.info("Starting container...", container=_name(task, container))
    _wait(ctx, [t["taskArn"] for t in started], "RUNNING", timeout)


def _stop(ctx, tasks: list[dict], timeout: float) -> None:
    ecs = ctx.conn.client("ecs")
    for task in tasks:
        ecs.stop_task(cluster=ctx.cluster, task=task["taskArn"], reason="ecs-emulator compose")
        for container in task.get("containers") or []:
            output.info("Stopping container...", container=_name(task, container))
    _wait(ctx, [t["taskArn"] for t in tasks], "STOPPED", timeout)


def _wait(ctx, arns: list[str], status: str, timeout_minutes: float) -> None:
    if not arns or timeout_minutes == 0:
        return
    ecs = ctx.conn.client("ecs")
    deadline = time.monotonic() + timeout_minutes * 60
    reported: set[str] = set()
    pulling: set[str] = set()
    while True:
        tasks = describe_tasks(ecs, ctx.cluster, arns)
        for task in tasks:
            report_pull(task, pulling)
            done = task["lastStatus"] == status or task["lastStatus"] == "STOPPED"
            if done and task["taskArn"] not in reported:
                reported.add(task["taskArn"])
                for container in task.get("containers") or []:
                    verb = "Started" if task["lastStatus"] == status == "RUNNING" else "Stopped"
                    output.info(f"{verb} container...", container=_name(task, container),
                                desiredStatus=task["desiredStatus"],
                                lastStatus=container.get("lastStatus", task["lastStatus"]),
                                taskDefinition=output.definition_name(task["taskDefinitionArn"]))
                if status == "RUNNING" and task["lastStatus"] == "STOPPED":
                    raise CliError(f"task {task_id(task)} stopped: "
                                   f"{task.get('stoppedReason', 'no reason given')}")
        if len(reported) == len(arns):
            return
        if time.monotonic() > deadline:
            raise CliError(f"timed out waiting for tasks to be {status}")
        time.sleep(POLL_S)


def _name(task: dict, container: dict) -> str:
    return f"{cluster_name(task['clusterArn'])}/{task_id(task)}/{container['name']}"
