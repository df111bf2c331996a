"""ExecuteCommand (ECS Exec): AWS's rules for opening a session into a task's container, and the
ExecuteCommandAgent that DescribeTasks shows on each container of a task run with
enableExecuteCommand. The session itself is emulator/exec's; this module only decides and names.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.ecs import tasks
from emulator.ecs.errors import InvalidParameterException, TargetNotConnectedException
from emulator.ecs.store import EcsStore
from emulator.ecs.task_model import Task, TaskContainer
from emulator.exec.sessions import ExecTarget, LogDestination
from emulator.runtime.status import ContainerStatus, TaskStatus

AGENT_NAME = "ExecuteCommandAgent"

# AWS's words, apostrophe included, for a task run without enableExecuteCommand or whose agent is
# not running (the container is not running).
NOT_ENABLED = ("The execute command failed because execute command was not enabled when the task "
               "was run or the execute command agent isn’t running. Wait and try again or run a "
               "new task with execute command enabled and try again.")
NOT_INTERACTIVE = "Interactive is the only mode supported currently."
NOT_CONNECTED = "The execute command failed due to an internal error. Try again later."


def agent_status(task: Task, container: TaskContainer) -> str | None:
    """The ExecuteCommandAgent's lastStatus on a container, or None when exec is not enabled:
    RUNNING while its container runs, STOPPED once it or the task stopped, PENDING before."""
    if not task.enable_execute_command:
        return None
    if container.known >= ContainerStatus.STOPPED or task.known >= TaskStatus.STOPPED:
        return "STOPPED"
    if container.known == ContainerStatus.RUNNING and not task.stop_requested:
        return "RUNNING"
    return "PENDING"


@dataclass(frozen=True)
class Opened:
    """An ExecuteCommand's session, and where it runs."""

    cluster: object
    task: Task
    container: TaskContainer
    session: dict  # the Session the client's plugin connects with (exec/sessions.py)


def execute_command(store: EcsStore, cluster_ref: str | None, task_ref: str,
                    container_name: str | None, command: str, interactive: bool,
                    host: str) -> Opened:
    cluster = store.cluster(cluster_ref)
    if not interactive:
        raise InvalidParameterException(NOT_INTERACTIVE)
    task = tasks.find(store, cluster.name, task_ref)
    if task is None:
        raise InvalidParameterException("The specified task was not found.")
    container = _container(task, container_name)
    if agent_status(task, container) != "RUNNING" or not container.runtime_id:
        raise InvalidParameterException(NOT_ENABLED)
    if store.exec_sessions is None:
        raise TargetNotConnectedException(NOT_CONNECTED)
    target = ExecTarget(cluster_name=cluster.name, task_id=task.id, container_name=container.name,
                        runtime_id=container.runtime_id, command=command,
                        logging=log_destination(store, cluster, container), engine=task.engine)
    return Opened(cluster, task, container, store.exec_sessions.open(target, host))


def _container(task: Task, name: str | None) -> TaskContainer:
    if name is None:
        if len(task.containers) > 1:
            raise InvalidParameterException(
                "The task has more than one container. Specify the container to run the command on.")
        return task.containers[0]
    container = task.container(name)
    if container is None:
        raise InvalidParameterException(f"The container {name} was not found in the task.")
    return container


def log_destination(store: EcsStore, cluster, container: TaskContainer) -> LogDestination | None:
    """The cluster's executeCommandConfiguration.logging: NONE, DEFAULT (the container's awslogs
    group, if it has one) or OVERRIDE (the logConfiguration given)."""
    config = (cluster.configuration or {}).get("executeCommandConfiguration") or {}
    logging = config.get("logging", "DEFAULT")
    if logging == "NONE":
        return None
    if logging == "OVERRIDE":
        given = config.get("logConfiguration") or {}
        if not (given.get("cloudWatchLogGroupName") or given.get("s3BucketName")):
            return None
        return LogDestination(account=store.account, region=store.region,
                              log_group=given.get("cloudWatchLogGroupName"),
                              s3_bucket=given.get("s3BucketName"),
                              s3_key_prefix=given.get("s3KeyPrefix"))
    log_config = container.definition.get("logConfiguration") or {}
    options = log_config.get("options") or {}
    if log_config.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
        return None
    return LogDestination(account=store.account,
                          region=options.get("awslogs-region") or store.region,
                          log_group=options["awslogs-group"])
