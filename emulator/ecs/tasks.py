"""Task operations: run, start, stop, find and list; and the counts tasks add to their cluster."""

from __future__ import annotations

import re

from emulator.ecs import arns, daemons, services
from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.launch_request import LaunchRequest
from emulator.ecs.placement import PlacementFailure
from emulator.ecs.store import EcsStore
from emulator.ecs.task_launch import MAX_TASKS_PER_CALL
from emulator.ecs.task_model import Task
from emulator.runtime.status import TaskStatus

_STARTED_BY = re.compile(r"^[A-Za-z0-9_/-]{1,128}$")  # RunTask's documented rule
_START_TASK_STARTED_BY = 36  # StartTask's model: "Up to 36 letters ..."
# RunTask's clientToken: "Up to 64 characters ... in the range of 33-126, inclusive."
_CLIENT_TOKEN = re.compile(r"^[\x21-\x7e]{1,64}$")
MAX_GROUP_LENGTH = 255  # "A task group name must be 255 or fewer characters." (task groups)
# StopTask's reason: older SDKs' model said "Up to 255 characters", newer models say nothing; the
# ECS agent trims the reasons it sends to 1024 "as per back-end model" (aws/amazon-ecs-agent#3229).
# Neither is confirmed against the service: the larger one refuses nothing AWS accepts.
MAX_STOP_REASON = 1024


def run(store: EcsStore, request) -> tuple[list[Task], list[PlacementFailure]]:
    """RunTask (its request as named values): the tasks started, and why the others could not
    be placed (EC2 launch type)."""
    cluster = store.cluster(request.cluster)
    _check_started_by_and_group(request.started_by, request.group)
    token = request.client_token
    if token is not None and not _CLIENT_TOKEN.match(token):
        raise InvalidParameterException(
            "clientToken may have up to 64 characters in the range of 33-126, inclusive.")
    if token and (cluster.name, token) in store.run_tokens:
        return [store.tasks[arn] for arn in store.run_tokens[(cluster.name, token)]
                if arn in store.tasks], []
    admitted = store.door.launch(store, LaunchRequest.run_task(request))
    if token:
        store.run_tokens[(cluster.name, token)] = [t.arn for t in admitted.tasks]
    return admitted.tasks, admitted.failures


def start(store: EcsStore, request) -> tuple[list[Task], list[PlacementFailure]]:
    """StartTask: like RunTask, on the container instances the caller chose (one task each)."""
    store.cluster(request.cluster)
    _check_started_by_and_group(request.started_by, request.group)
    if request.started_by is not None and len(request.started_by) > _START_TASK_STARTED_BY:
        # AWS's words (quoted in mapbox/ecs-watchbot#78 and convox/rack#1727)
        raise InvalidParameterException(f"startedBy longer than {_START_TASK_STARTED_BY}.")
    if not 1 <= len(request.container_instances) <= MAX_TASKS_PER_CALL:
        raise InvalidParameterException(
            f"containerInstances must list 1 to {MAX_TASKS_PER_CALL} instances."
        )
    admitted = store.door.launch(store, LaunchRequest.start_task(request))
    return admitted.tasks, admitted.failures


def _check_started_by_and_group(started_by: str | None, group: str | None) -> None:
    """The documented limits of who starts a task and the group it joins."""
    if started_by is not None and not _STARTED_BY.match(started_by):
        raise InvalidParameterException(
            "startedBy may have up to 128 letters (uppercase and lowercase), numbers, hyphens "
            "(-), forward slashes (/) and underscores (_).")
    if group is not None and len(group) > MAX_GROUP_LENGTH:
        raise InvalidParameterException(
            f"A task group name must be {MAX_GROUP_LENGTH} or fewer characters.")


def stop(store: EcsStore, cluster_ref: str | None, task_ref: str, reason: str | None,
         stop_code: str = "UserInitiated") -> Task:
    cluster = store.cluster(cluster_ref)
    if reason is not None and len(reason) > MAX_STOP_REASON:
        # AWS's wording of its other length limits ("startedBy longer than 36.")
        raise InvalidParameterException(f"reason longer than {MAX_STOP_REASON}.")
    task = find(store, cluster.name, task_ref)
    if task is None:
        raise InvalidParameterException("The referenced task was not found.")
    store.door.stop(store, task, stop_code, reason or "Task stopped by user")
    return task


# ECS's answer to a task reference whose id cannot be one: a script's `--query "taskArns[0]"
# --output text` of an empty list passes "None" (AWS CLI transcript: "An error occurred
# (InvalidParameterException) when calling the DescribeTasks operation: taskId length should
# be one of [32,36]"). Ids are 32 hex digits, or an old-format ARN's 36-character UUID.
ID_LENGTHS = (32, 36)


def check_id(ref: str) -> None:
    """Refuse, as DescribeTasks does, a reference whose task id has a length no id has."""
    if len(ref.rsplit("/", 1)[-1]) not in ID_LENGTHS:
        raise InvalidParameterException("taskId length should be one of [32,36]")


def find(store: EcsStore, cluster_name: str, ref: str) -> Task | None:
    # The ARN as we gave it (what SDKs and pollers send back) is the key itself: no parse and
    # build of an ARN per task of every DescribeTasks (about 10 us a task, 0.2 ms of a poll of 20 tasks).
    task = store.tasks.get(ref)
    if task is not None and task.cluster_arn.endswith(f":cluster/{cluster_name}"):
        return task
    task_id = arns.in_cluster(store, ref, "task", cluster_name)
    if task_id is None:
        return None
    arn = arns.task(store, cluster_name, task_id)
    return store.tasks.get(arn)


# ListTasks' filters that startedBy may not be combined with: "When you specify startedBy as the
# filter, it must be the only filter that you use." (the model's startedBy). The desired status
# is not one of them: it picks the RUNNING or the STOPPED tasks, and every call has one.
_NOT_WITH_STARTED_BY = (("serviceName", "service_name"), ("family", "family"),
                        ("containerInstance", "container_instance"),
                        ("launchType", "launch_type"), ("daemonName", "daemon_name"))


def listed(store: EcsStore, request) -> list[Task]:
    """The tasks ListTasks (its request as named values) names, in a stable order (by ARN)."""
    cluster = store.cluster(request.cluster)
    _check_started_by_alone(request)
    desired = request.desired_status or "RUNNING"
    if desired == "PENDING":
        # ECS never sets a task's desired status to PENDING (only its last status), so the
        # filter is valid and matches nothing (ListTasks' model says so).
        return []
    group = None
    if request.service_name is not None:
        # A service that was never there is an error (ServiceNotFoundException), not [].
        group = services.find(store, cluster.name, request.service_name).task_group
    if request.daemon_name is not None:
        # A daemon's tasks are its hidden service's group (daemons.py). ListTasks' model has no
        # error for a daemon that is not there, so it lists nothing, as a family nobody runs.
        daemon = daemons.lookup(store, request.daemon_name, cluster.name)
        if daemon is None or group not in (
                None, daemon.service.task_group):
            return []  # (with a serviceName too: a service's group is never a daemon's)
        group = daemon.service.task_group
    if (request.container_instance is not None
            and arns.resource_in(store, request.container_instance, "container-instance") is None):
        return []  # another account's instance (another region's ARN is refused)
    matches = []
    for task in store.tasks_of(cluster.name):
        if not _desired_matches(task, desired):
            continue
        if request.family is not None and task.definition.family != request.family:
            continue
        if request.started_by is not None and task.started_by != request.started_by:
            continue
        if request.launch_type is not None and task.launch_type != request.launch_type:
            continue
        if group is not None and task.group != group:
            continue
        if (request.container_instance is not None
                and not _on_instance(task, request.container_instance)):
            continue
        matches.append(task)
    return sorted(matches, key=lambda t: t.arn)


def _check_started_by_alone(request) -> None:
    if request.started_by is None:
        return
    others = [wire for wire, name in _NOT_WITH_STARTED_BY if getattr(request, name) is not None]
    if others:
        # AWS's words (aws/aws-sdk-go-v2#1893)
        raise InvalidParameterException("cannot specify startedBy with other arguments")


def _desired_matches(task: Task, desired: str) -> bool:
    return task.stop_requested if desired == "STOPPED" else not task.stop_requested


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
