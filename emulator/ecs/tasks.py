"""Task operations: run, start, stop, find and list; and the counts tasks add to their cluster."""

from __future__ import annotations

from emulator.ecs import arns, container_instances, placement
from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.placement import PlacementFailure
from emulator.ecs.store import EcsStore
from emulator.ecs.task_launch import MAX_TASKS_PER_CALL, build_tasks
from emulator.ecs.task_model import Task
from emulator.runtime.status import TaskStatus


def run(store: EcsStore, params: dict) -> tuple[list[Task], list[PlacementFailure]]:
    """RunTask: the tasks started, and why the others could not be placed (EC2 launch type)."""
    cluster = store.cluster(params.get("cluster"))
    token = params.get("clientToken")
    if token and (cluster.name, token) in store.run_tokens:
        return [store.tasks[arn] for arn in store.run_tokens[(cluster.name, token)]
                if arn in store.tasks], []
    tasks = build_tasks(store, params, cluster, params.get("count", 1))
    tasks, failures = _place(store, cluster, tasks, params)
    _admit(store, tasks)
    if token:
        store.run_tokens[(cluster.name, token)] = [t.arn for t in tasks]
    return tasks, failures


def _place(store: EcsStore, cluster, tasks: list[Task], params: dict):
    constraints = params.get("placementConstraints", [])
    strategy = params.get("placementStrategy", [])
    launch_type = tasks[0].launch_type
    if launch_type == "FARGATE":
        if constraints:
            raise InvalidParameterException(
                "Placement constraints are not supported with FARGATE launch type."
            )
        if strategy:
            raise InvalidParameterException(
                "Placement strategies are not supported with FARGATE launch type."
            )
    if launch_type != "EC2":
        return tasks, []
    placement.validate(constraints, strategy)
    if not placement.ensure_instances(store, cluster):
        raise InvalidParameterException(placement.NO_INSTANCES)
    return placement.place(store, cluster, tasks, constraints, strategy)


def start(store: EcsStore, params: dict) -> tuple[list[Task], list[PlacementFailure]]:
    """StartTask: like RunTask, on the container instances the caller chose (one task each)."""
    cluster = store.cluster(params.get("cluster"))
    refs = params["containerInstances"]
    if not 1 <= len(refs) <= MAX_TASKS_PER_CALL:
        raise InvalidParameterException(
            f"containerInstances must list 1 to {MAX_TASKS_PER_CALL} instances."
        )
    built = build_tasks(store, dict(params, launchType="EC2"), cluster, len(refs))
    chosen, failures = [], []
    for ref, task in zip(refs, built):
        instance = store.find_container_instance(cluster.name, ref)
        if instance is None or instance.status != "ACTIVE":
            arn = instance.arn if instance else container_instances.failure_arn(store, cluster, ref)
            # DRAINING instances take no new tasks; deregistered ones are INACTIVE.
            failures.append(PlacementFailure(arn, instance.status if instance else "MISSING"))
            continue
        chosen.append((task, instance))
    tasks, refused = placement.place_on(store, cluster, chosen)
    _admit(store, tasks)
    return tasks, failures + refused


def _admit(store: EcsStore, tasks: list[Task]) -> None:
    for task in tasks:
        store.tasks[task.arn] = task
    store.changed()


def stop(store: EcsStore, cluster_ref: str | None, task_ref: str, reason: str | None,
         stop_code: str = "UserInitiated") -> Task:
    cluster = store.cluster(cluster_ref)
    task = find(store, cluster.name, task_ref)
    if task is None:
        raise InvalidParameterException("The referenced task was not found.")
    if task.request_stop(stop_code, reason or "Task stopped by user"):
        store.changed()
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
        return task.desired >= TaskStatus.STOPPED
    if desired == "PENDING":
        return task.desired < TaskStatus.STOPPED and task.known < TaskStatus.RUNNING
    return task.desired < TaskStatus.STOPPED


def _on_instance(task: Task, ref: str) -> bool:
    if task.container_instance_arn is None:
        return False
    return ref in (task.container_instance_arn, task.container_instance_arn.rsplit("/", 1)[-1])


def cluster_counts(store: EcsStore, cluster) -> dict[str, int]:
    running = pending = 0
    for task in store.tasks_of(cluster.name):
        if task.known == TaskStatus.RUNNING:
            running += 1
        elif task.known < TaskStatus.RUNNING and task.desired < TaskStatus.STOPPED:
            pending += 1
    return {"runningTasksCount": running, "pendingTasksCount": pending}


def cluster_statistics(store: EcsStore, cluster) -> dict[str, int]:
    stats: dict[str, int] = {}
    for task in store.tasks_of(cluster.name):
        kind = "Fargate" if task.launch_type == "FARGATE" else "EC2"
        if task.known == TaskStatus.RUNNING:
            stats[f"running{kind}TasksCount"] = stats.get(f"running{kind}TasksCount", 0) + 1
        elif task.known < TaskStatus.RUNNING and task.desired < TaskStatus.STOPPED:
            stats[f"pending{kind}TasksCount"] = stats.get(f"pending{kind}TasksCount", 0) + 1
    return stats


def find_by_arn(store: EcsStore, parsed) -> Task | None:
    return store.tasks.get(str(parsed))
