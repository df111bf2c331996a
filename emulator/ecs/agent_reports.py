"""What the ECS agent tells ECS: SubmitTaskStateChange, SubmitContainerStateChange and
SubmitAttachmentStateChanges, checked as ECS checks them and applied to the tasks they name.

Every task of this emulator runs in Docker, with the engine as its agent: Docker is the truth of
what a container is doing, and the engine stays the one writer of known statuses. So a report
from another agent (a test playing one, or a tool replaying agent traffic) is applied the way it
can be without contradicting Docker:
- a task reported STOPPED is stopped for real (desired status STOPPED, the report's reason as
  stoppedReason), as is a task whose essential container is reported STOPPED (ECS's rule);
- the exit code and reason of a container reported STOPPED are recorded; so are an image digest
  and pull/execution timestamps that Docker has not given the task yet; network bindings are
  not: they are the ports Docker published, and a reported one would aim the front doors at
  any port of this host;
- progress Docker has not shown (RUNNING for a task still PENDING) is acknowledged and left to
  Docker to confirm: statuses never move on a report alone;
- attachment statuses are recorded as reported.
A runtimeId that is not the container's Docker id is refused: it names some other container.
Fargate tasks have no container instance and so no agent that could report on them.

Each call takes its request as named values; a container's report stays in wire form (the
ContainerStateChange structure SubmitTaskStateChange carries), and SubmitContainerStateChange's
members are made into one.
"""

from __future__ import annotations

import datetime as dt

from api_shapes.requests import given
from emulator.ecs import tasks as task_ops
from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.store import EcsStore
from emulator.ecs.task_model import Task, TaskContainer
from emulator.runtime.status import ContainerStatus, TaskStatus

ACKNOWLEDGMENT = "ACK"
TASK_STATUSES = {"PENDING", "RUNNING", "STOPPED", "MANIFEST_PULLED"}
CONTAINER_STATUSES = {"PENDING", "RUNNING", "STOPPED", "MANIFEST_PULLED"}
# SubmitContainerStateChange's members that make up a ContainerStateChange report
CONTAINER_REPORT = ("runtimeId", "status", "exitCode", "reason", "networkBindings")
ATTACHMENT_STATUSES = {"PRECREATED", "CREATED", "ATTACHING", "ATTACHED", "DETACHING",
                       "DETACHED", "DELETED", "FAILED"}


def task_state_change(store: EcsStore, request) -> str:
    task = _reported_task(store, request.cluster, request.task)
    status = _checked(request.status, TASK_STATUSES, "status")
    pairs = [(_container(task, r.get("containerName")), r) for r in request.containers or []]
    for container, report in pairs:
        _check_container_report(container, report)
    attachments = request.attachments or []
    for attachment in attachments:
        _attachment(store, task.cluster_name, attachment["attachmentArn"])
        _checked(attachment["status"], ATTACHMENT_STATUSES, "attachments.status")
    for agent in request.managed_agents or []:
        _container(task, agent["containerName"])
    for container, report in pairs:
        _apply_container(store, task, container, report)
    for attachment in attachments:
        _attachment(store, task.cluster_name, attachment["attachmentArn"])["status"] = \
            attachment["status"]
    _fill(task, "pull_started_at", request.pull_started_at)
    _fill(task, "pull_stopped_at", request.pull_stopped_at)
    if status == "STOPPED":
        _fill(task, "execution_stopped_at", request.execution_stopped_at)
        _stop(store, task, "EssentialContainerExited" if task.known >= TaskStatus.RUNNING
              else "TaskFailedToStart", request.reason or "Task stopped by its agent")
    task.version += 1
    return ACKNOWLEDGMENT


def container_state_change(store: EcsStore, request) -> str:
    task = _reported_task(store, request.cluster, request.task)
    container = _container(task, request.container_name)
    report = {k: v for k, v in given(request).items() if k in CONTAINER_REPORT}
    _check_container_report(container, report)
    _apply_container(store, task, container, report)
    task.version += 1
    return ACKNOWLEDGMENT


def attachment_state_changes(store: EcsStore, request) -> str:
    cluster = store.cluster(request.cluster)
    found = []
    for change in request.attachments:
        _checked(change["status"], ATTACHMENT_STATUSES, "attachments.status")
        found.append((_attachment(store, cluster.name, change["attachmentArn"]), change))
    for attachment, change in found:
        attachment["status"] = change["status"]
    return ACKNOWLEDGMENT


# -- checks --------------------------------------------------------------------------------------

def _reported_task(store: EcsStore, cluster_ref: str | None, ref: str | None) -> Task:
    cluster = store.cluster(cluster_ref)
    if not ref:
        raise InvalidParameterException("Task must be specified.")
    task = task_ops.find(store, cluster.name, ref)
    if task is None:
        raise InvalidParameterException("The referenced task was not found.")
    if task.container_instance_arn is None:
        raise InvalidParameterException(
            f"Task {task.id} does not run on a container instance ({task.launch_type}): no "
            "agent reports its state.")
    return task


def _checked(value: str | None, allowed: set[str], name: str) -> str | None:
    if value is not None and value not in allowed:
        raise InvalidParameterException(
            f"Invalid {name} '{value}'; valid values are {', '.join(sorted(allowed))}.")
    return value


def _container(task: Task, name: str | None) -> TaskContainer:
    if not name:
        raise InvalidParameterException("containerName must be specified.")
    container = task.container(name)
    if container is None:
        raise InvalidParameterException(
            f"The task {task.id} has no container named {name}.")
    return container


def _check_container_report(container: TaskContainer, report: dict) -> None:
    _checked(report.get("status"), CONTAINER_STATUSES, "container status")
    runtime_id = report.get("runtimeId")
    if runtime_id and container.runtime_id and runtime_id != container.runtime_id:
        raise InvalidParameterException(
            f"runtimeId {runtime_id} is not the runtime id of container {container.name}.")


def _attachment(store: EcsStore, cluster_name: str, arn: str) -> dict:
    attachment_id = arn.rsplit("/", 1)[-1]
    for task in store.tasks_of(cluster_name):
        for attachment in task.attachments:
            if attachment.get("id") == attachment_id:
                return attachment
    raise InvalidParameterException(f"The attachment {arn} was not found.")


# -- effects -------------------------------------------------------------------------------------

def _apply_container(store: EcsStore, task: Task, container: TaskContainer, report: dict) -> None:
    if report.get("imageDigest") and container.image_digest is None:
        container.image_digest = report["imageDigest"]
    # networkBindings are not taken: the ports Docker published are the only ones (the task
    # engine reads them), and a reported one would point front doors and load balancers at
    # any port of this host (the API's), which any caller may report.
    if report.get("status") != "STOPPED":
        return
    if container.known < ContainerStatus.STOPPED:
        # Docker's own exit code wins once it comes; until then, the agent's word.
        container.exit_code = report.get("exitCode", container.exit_code)
    if report.get("reason"):
        container.reason = report["reason"]
    if container.essential:
        _stop(store, task, "EssentialContainerExited", "Essential container in task exited")


def _stop(store: EcsStore, task: Task, stop_code: str, reason: str) -> None:
    store.door.stop(store, task, stop_code, reason)


def _fill(task: Task, field_name: str, value: dt.datetime | None) -> None:
    if value is not None and getattr(task, field_name) is None:
        setattr(task, field_name, value)
