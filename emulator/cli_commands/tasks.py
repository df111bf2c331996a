"""Finding tasks through the ECS API: every task of a region's clusters, or one task named by its
id or ARN (an id is looked for in every cluster, since the CLI's user rarely knows which)."""

from __future__ import annotations

from emulator.cli_commands import output
from emulator.cli_commands.connection import CliError

_BATCH = 100  # DescribeTasks and DescribeClusters take at most 100 names


def cluster_arns(ecs) -> list[str]:
    arns: list[str] = []
    for page in ecs.get_paginator("list_clusters").paginate():
        arns += page["clusterArns"]
    return arns


def other_regions_with_clusters(conn) -> list[str]:
    """The regions besides the connection's where the caller has clusters: those the emulator
    holds state in (the dashboard's scopes), each asked with ListClusters as the caller. Empty
    when the emulator cannot say (a hint, never a failure of the command)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        scopes = conn.control("GET", "/_emulator/ui/api/scopes")["scopes"]
        regions = sorted({scope["region"] for scope in scopes} - {conn.region})
        return [region for region in regions
                if conn.client("ecs", region).list_clusters(maxResults=1)["clusterArns"]]
    except (CliError, KeyError, TypeError, BotoCoreError, ClientError):
        return []


def describe_clusters(ecs, arns: list[str]) -> list[dict]:
    clusters = []
    for start in range(0, len(arns), _BATCH):
        clusters += ecs.describe_clusters(clusters=arns[start:start + _BATCH])["clusters"]
    return clusters


def task_arns(ecs, cluster: str, **filters) -> list[str]:
    arns: list[str] = []
    for page in ecs.get_paginator("list_tasks").paginate(cluster=cluster, **filters):
        arns += page["taskArns"]
    return arns


def describe_tasks(ecs, cluster: str, arns: list[str]) -> list[dict]:
    tasks = []
    for start in range(0, len(arns), _BATCH):
        tasks += ecs.describe_tasks(cluster=cluster, tasks=arns[start:start + _BATCH])["tasks"]
    return sorted(tasks, key=lambda t: (t.get("createdAt") or 0, t["taskArn"]))


def tasks_of(ecs, cluster: str, *, stopped: bool = False, **filters) -> list[dict]:
    """A cluster's tasks whose desired status is RUNNING (and STOPPED too, if asked)."""
    arns = task_arns(ecs, cluster, desiredStatus="RUNNING", **filters)
    if stopped:
        arns += task_arns(ecs, cluster, desiredStatus="STOPPED", **filters)
    return describe_tasks(ecs, cluster, arns)


def find_task(ecs, ref: str, cluster: str | None = None) -> dict:
    """The task named by `ref` (a 32-hex id or an ARN), in `cluster` or in any cluster."""
    if ref.startswith("arn:"):
        parts = ref.split(":", 5)[-1].split("/")
        if cluster is None and len(parts) == 3:  # task/cluster/id
            cluster = parts[1]
    # No task's id has another length; DescribeTasks refuses one ("taskId length should be one
    # of [32,36]"), which would tell the user less than the CLI's own answer below.
    candidates = ([cluster] if cluster else cluster_arns(ecs)) if _task_id_length(ref) else []
    for candidate in candidates:
        found = ecs.describe_tasks(cluster=candidate, tasks=[ref])["tasks"]
        if found:
            return found[0]
    # The region named: a cluster configuration's region (`configure`) wins over AWS_REGION.
    where = f"cluster {cluster}" if cluster else f"any cluster of {ecs.meta.region_name}"
    raise CliError(f"no task {ref} in {where}")


def _task_id_length(ref: str) -> bool:
    # ECS's task id lengths (emulator/ecs/tasks.py ID_LENGTHS; the CLI imports no server module)
    return len(ref.rsplit("/", 1)[-1]) in (32, 36)


def task_id(task: dict) -> str:
    return task["taskArn"].rsplit("/", 1)[-1]


def cluster_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def pick_containers(task: dict, name: str | None) -> list[dict]:
    """The container named `name`, or all of the task's containers."""
    containers = task.get("containers") or []
    if name is None:
        return containers
    chosen = [c for c in containers if c["name"] == name]
    if not chosen:
        names = ", ".join(c["name"] for c in containers)
        raise CliError(f"task {task_id(task)} has no container {name!r} (it has: {names})")
    return chosen


def container_rows(tasks: list[dict]) -> list[list[str]]:
    """ecs-cli ps's rows, one per container: Name is cluster/task-id/container; Ports are the
    addresses the container's ports are published at (while it runs: as `docker ps`, a stopped
    container's old addresses are not shown, for nothing answers there)."""
    rows = []
    for task in tasks:
        for container in task.get("containers") or []:
            status = container.get("lastStatus", task["lastStatus"])
            rows.append([f"{cluster_name(task['clusterArn'])}/{task_id(task)}/{container['name']}",
                         status,
                         output.ports_of(container) if status == "RUNNING" else "",
                         output.definition_name(task["taskDefinitionArn"]),
                         container.get("healthStatus", "UNKNOWN")])
    return rows


PS_HEADERS = ["Name", "State", "Ports", "TaskDefinition", "Health"]
