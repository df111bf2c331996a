"""The everyday commands against a running emulator: status, ps, logs, exec, reset, spot-interrupt.

Each takes the parsed arguments and a Connection, prints, and returns the exit code.
"""

from __future__ import annotations

import sys

from emulator.cli_commands import output
from emulator.cli_commands.docker_access import exec_in, task_container
from emulator.cli_commands.logs import show_logs
from emulator.cli_commands.tasks import (
    PS_HEADERS, cluster_arns, cluster_name, container_rows, describe_clusters, find_task,
    other_regions_with_clusters, pick_containers, task_id, tasks_of,
)

# The control endpoint of emulator/faults_routes.py (a task by its ARN: the route takes slashes).
SPOT_PATH = "/_emulator/tasks/{task}/spot-interruption"


def status(args, conn) -> int:
    health = conn.control("GET", "/_emulator/health")
    clusters = describe_clusters(conn.client("ecs"), cluster_arns(conn.client("ecs")))
    running = sum(c.get("runningTasksCount", 0) for c in clusters)
    pending = sum(c.get("pendingTasksCount", 0) for c in clusters)
    services = sum(c.get("activeServicesCount", 0) for c in clusters)
    print(f"ecs-emulator {health.get('version', '?')} at {conn.endpoint_url}: "
          f"{health.get('status', '?')}")
    print(f"Docker:   {'available' if health.get('docker') else 'NOT available'}")
    print(f"Region:   {conn.region}")
    print(f"Clusters: {len(clusters)}")
    print(f"Services: {services}")
    print(f"Tasks:    {running} running, {pending} pending")
    if not clusters:
        _hint_other_regions(args, conn)
    return 0 if health.get("status") == "ok" else 1


def ps(args, conn) -> int:
    """ecs-cli ps's columns, one row per container: Name is cluster/task-id/container."""
    ecs = conn.client("ecs")
    clusters = [args.cluster] if getattr(args, "cluster", None) else cluster_arns(ecs)
    rows = []
    for cluster in clusters:
        rows += container_rows(tasks_of(ecs, cluster, stopped=getattr(args, "all", False)))
    output.table(PS_HEADERS, rows)
    if not clusters:
        _hint_other_regions(args, conn)
    return 0


def _hint_other_regions(args, conn) -> None:
    """An empty region while others have clusters: most often the region was not the one
    meant (an ECS CLI config's, a shell's), so say where the clusters are, on stderr. AWS_REGION
    is named only where it would be heard: --region and a named --cluster-config beat it."""
    others = other_regions_with_clusters(conn)
    if others:
        given = getattr(args, "region", None) or getattr(args, "cluster_config", None)
        print(f"No clusters in {conn.region}; there are some in {', '.join(others)} "
              f"(--region {others[0]}{'' if given else ', or AWS_REGION'})", file=sys.stderr)


def logs(args, conn) -> int:
    ref = args.task or args.task_id
    if not ref:
        raise SystemExit("ecs-emulator logs: give a task (its id or ARN), or --task-id")
    task = find_task(conn.client("ecs"), ref, getattr(args, "cluster", None))
    return show_logs(conn, task, args.container, follow=args.follow, timestamps=args.timestamps,
                     since_minutes=args.since, filter_pattern=args.filter_pattern)


def exec_command(args, conn) -> int:
    task = find_task(conn.client("ecs"), args.task, getattr(args, "cluster", None))
    containers = pick_containers(task, args.container)
    if args.container is None and len(containers) > 1:
        essential = [c for c in containers if c.get("lastStatus") == "RUNNING"] or containers
        containers = essential[:1]
        output.info("Running in the task's first running container; choose with --container",
                    container=containers[0]["name"])
    container = task_container(task["taskArn"], containers[0]["name"])
    if container is None or container.status != "running":
        from emulator.cli_commands.connection import CliError

        raise CliError(f"container {containers[0]['name']} of task {task_id(task)} is not running")
    command = list(args.cmd)
    if command and command[0] == "--":
        command = command[1:]
    return exec_in(container, command, stdin=args.interactive)


def reset(args, conn) -> int:
    conn.control("POST", "/_emulator/reset")
    print("reset: every cluster, task, service, repository and moto resource is gone")
    return 0


def spot_interrupt(args, conn) -> int:
    """Interrupt a FARGATE_SPOT task as a Spot reclaim does: stopCode SpotInterruption, SIGTERM
    now, SIGKILL after the warning (default: the emulator's, 120 s, or the stopTimeout)."""
    task = find_task(conn.client("ecs"), args.task, getattr(args, "cluster", None))
    body = {} if args.warning_seconds is None else {"warningSeconds": args.warning_seconds}
    answer = conn.control("POST", SPOT_PATH.format(task=task["taskArn"]), body)
    output.info("Spot interruption sent", task=task_id(task),
                cluster=cluster_name(task["clusterArn"]),
                desiredStatus=answer.get("desiredStatus", ""),
                stopCode=answer.get("stopCode") or "")
    return 0
