"""Task operations: run, start, stop, find and list; and the counts tasks add to their cluster."""

from __future__ import annotations

from emulator.ecs import arns
from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.launch_request import LaunchRequest
from emulator.ecs.placement import PlacementFailure
from emulator.ecs.store import EcsStore
from emulator.ecs.task_launch import MAX_TASKS_PER_CALL
from emulator.ecs.task_model import Task
from emulator.runtime.status import TaskStatus


def run(store: EcsStore, params: dict) -> tuple[list[Task], list[PlacementFailure]]:
    """RunTask: the tasks started, and why the others could not be placed (EC2 launch type)."""
    cluster = store.cluster(params.get("cluster"))
    token = params.get("clientToken")
    if token and (cluster.name, token) in store.run_tokens:
        return [store.tasks[arn] for arn in store.run_tokens[(cluster.name, token)]
                if arn in store.tasks], []
    admitted = store.door.launch(store, LaunchRequest.run_task(params))
    if token:
        store.run_tokens[(cluster.name, token)] = [t.arn for t in admitted.tasks]
    return admitted.tasks, admitted.failures


def start(store: EcsStore, params: dict) -> tuple[list[Task], list[PlacementFailure]]:
    """StartTask: like RunTask, on the container instances the caller chose (one task each)."""
    store.cluster(params.get("cluster"))
    if not 1 <= len(params["containerInstances"]) <= MAX_TASKS_PER_CALL:
        raise InvalidParameterException(
            f"containerInstances must list 1 to {MAX_TASKS_PER_CALL} instances."
        )
    admitted = store.door.launch(store, LaunchRequest.start_task(params))
    return admitted.tasks, admitted.failures


def stop(store: EcsStore, cluster_ref: str | None, task_ref: str, reason: str | None,
         stop_code: str = "UserInitiated") -> Task:
    cluster = store.cluster(cluster_ref)
    task = find(store, cluster.name, task_ref)
    if task is None:
        raise InvalidParameterException("The referenced task was not found.")
    store.door.stop(store, task, stop_code, reason or "Task stopped by user")
    return task


def find(store: EcsStore, cluster_name: str, ref: str) -> Task | None:
    parsed = arns.parse(ref)
    if parsed is not None:
        if parsed.resource_type != "task":
            return None
        task_id = parsed.resource.rsplit("/", 1)[-1]
    else:
        task_id = ref
    arn = arns.task(store, cluster_name, task_id)
    return store.tasks.get(arn)


def listed(store: EcsStore, params: dict) -> list[Task]:
    """The tasks ListTasks names, in a stable order (by ARN)."""
    cluster = store.cluster(params.get("cluster"))
    desired = params.get("desiredStatus", "RUNNING")
    matches = []
    for task in store.tasks_of(cluster.name):
        if not _desired_matches(task, desired):
            continue
        if "family" in params and task.definition.family != params["family"]:
            continue
        if "startedBy" in params and task.started_by != params["startedBy"]:
            continue
        if "launchType" in params and task.launch_type != params["launchType"]:
            continue
        if "serviceName" in params and task.group != f"service:{params['serviceName']}":
            continue
        if "containerInstance" in params and not _on_instance(task, params["containerInstance"]):
            continue
        matches.append(task)
    return sorted(matches, key=lambda t: t.arn)


def _desired_matches(task: Task, desired: str) -> bool:
    if desired == "STOPPED":
        return task.stop_requested
    if desired == "PENDING":
        return task.pending
    return not task.stop_requested


def _on_instance(task: Task, ref: str) -> bool:
    if task.container_instance_arn is None:
        return False
    return ref in (task.container_instance_arn, task.container_instance_arn.rsplit("/", 1)[-1])


def cluster_counts(store: EcsStore, cluster) -> dict[str, int]:
    running = pending = 0
    for task in store.tasks_of(cluster.name):
        if task.known == TaskStatus.RUNNING:
            running += 1
        elif task.pending:
            pending += 1
    return {"runningTasksCount": running, "pendingTasksCount": pending}


def cluster_statistics(store: EcsStore, cluster) -> dict[str, int]:
    stats: dict[str, int] = {}
    for task in store.tasks_of(cluster.name):
        kind = "Fargate" if task.launch_type == "FARGATE" else "EC2"
        if task.known == TaskStatus.RUNNING:
            stats[f"running{kind}TasksCount"] = stats.get(f"running{kind}TasksCount", 0) + 1
        elif task.pending:
            stats[f"pending{kind}TasksCount"] = stats.get(f"pending{kind}TasksCount", 0) + 1
    return stats


def find_by_arn(store: EcsStore, parsed) -> Task | None:
    return store.tasks.get(str(parsed))
