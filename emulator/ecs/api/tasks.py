"""Handlers of RunTask, StartTask, StopTask, DescribeTasks, ListTasks, ExecuteCommand, and
Update/GetTaskProtection."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import execute_command, render, task_protection, tasks
from emulator.ecs.api.common import described, page_of
from emulator.ecs.errors import InvalidParameterException


@handler("RunTask")
def run_task(call: Call) -> dict:
    started, failures = tasks.run(call.store, call.request)
    return _launched(started, failures)


@handler("StartTask")
def start_task(call: Call) -> dict:
    started, failures = tasks.start(call.store, call.request)
    return _launched(started, failures)


def _launched(started, failures) -> dict:
    return {"tasks": [render.task(t, ("TAGS",)) for t in started],
            "failures": [render.failure(f.arn, f.reason) for f in failures]}


@handler("StopTask")
def stop_task(call: Call) -> dict:
    request = call.request
    task = tasks.stop(call.store, request.cluster, request.task, request.reason)
    return {"task": render.task(task, ("TAGS",))}


@handler("DescribeTasks")
def describe_tasks(call: Call) -> dict:
    request = call.request
    refs = request.tasks
    if not refs:
        raise InvalidParameterException("Tasks cannot be empty.")
    cluster = call.store.cluster(request.cluster)
    if len(refs) > 100:
        raise InvalidParameterException("At most 100 tasks can be described at once.")
    include = request.include or []
    # A poller asks for the same tasks again and again: each one's text is kept while its
    # render is the same (aws/json_members.py).
    # (the render differs by TAGS alone: a key of the request's own list would let one caller's
    # long lists fill the cache)
    variant = "TAGS" in include
    found, failures = described(
        refs, lambda ref: tasks.find(call.store, cluster.name, ref) or tasks.check_id(ref),
        lambda task: call.encoded("Task", (task.arn, variant), render.task(task, include)))
    return {"tasks": found, "failures": failures}


@handler("ListTasks")
def list_tasks(call: Call) -> dict:
    matches = tasks.listed(call.store, call.request)
    page, token = page_of(matches, call.request, key=lambda t: t.arn)
    return {"taskArns": [t.arn for t in page], "nextToken": token}


@handler("ExecuteCommand")
def execute(call: Call) -> dict:
    request = call.request
    opened = execute_command.execute_command(call.store, request.cluster, request.task,
                                             request.container, request.command,
                                             request.interactive, call.ctx.host)
    return render.exec_command(opened)


@handler("UpdateTaskProtection")
def update_task_protection(call: Call) -> dict:
    request = call.request
    protected, failures = task_protection.update(call.store, request.cluster, request.tasks,
                                                 request.protection_enabled,
                                                 request.expires_in_minutes)
    return _protection(protected, failures)


@handler("GetTaskProtection")
def get_task_protection(call: Call) -> dict:
    protected, failures = task_protection.get(call.store, call.request.cluster,
                                              call.request.tasks)
    return _protection(protected, failures)


def _protection(protected: list, failures: list) -> dict:
    return {"protectedTasks": [render.protected_task(t) for t in protected],
            "failures": [render.failure(f.arn, f.reason, f.detail) for f in failures]}
