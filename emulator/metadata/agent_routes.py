"""The ECS agent's API that a task's containers call at $ECS_AGENT_URI: the task scale-in
protection endpoint, `${ECS_AGENT_URI}/task-protection/v1/state`.

  GET  .../task-protection/v1/state   {"protection": {...}} or {"failure": {...}}
  PUT  .../task-protection/v1/state   {"ProtectionEnabled": true, "ExpiresInMinutes": 60}

As the agent does (amazon-ecs-agent, ecs-agent/tmds/handlers/taskprotection): the call is made on
the task's behalf with its task role, so a task without one is refused (403 AccessDeniedException);
a body with unknown fields, or without ProtectionEnabled, is a 400 InvalidParameterException;
ECS's failures (TASK_NOT_VALID for a task outside a service) come back as {"failure": ...} with
200; ECS's errors as {"error": {"Arn", "Code", "Message"}} with their status. Field names are the
agent's: PascalCase (ExpirationDate, ProtectionEnabled, TaskArn; Arn, Reason, Detail).
A container reaches its own task's endpoint only (access/gate.py identifies the caller).
"""

from __future__ import annotations

import json
import uuid

from flask import Blueprint, Response, current_app, request

from emulator.access.gate import caller_of
from emulator.aws.errors import AwsError
from emulator.ecs import render, task_protection
from emulator.engine.task_credentials import task_role_arn

blueprint = Blueprint("ecs_agent_api", __name__)

_PATH = "/api/<key>/task-protection/v1/state"
_FIELDS = {"ProtectionEnabled", "ExpiresInMinutes"}


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _error(status: int, code: str, message: str, arn: str = "", request_id: str | None = None):
    error = {"Code": code, "Message": message}
    if arn:
        error = {"Arn": arn, **error}
    body = {"error": error}
    if request_id:
        body = {"requestID": request_id, **body}
    return _json(body, status)


@blueprint.get(_PATH)
def get_protection(key: str):
    return _call(key, None)


@blueprint.put(_PATH)
def put_protection(key: str):
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or set(body) - _FIELDS or not _typed(body):
        return _error(400, "InvalidParameterException",
                      "UpdateTaskProtection: failed to decode request")
    return _call(key, body)


def _typed(body: dict) -> bool:
    """What Go's decoder into {*bool, *int64} accepts: null, or a value of the field's type."""
    enabled, minutes = body.get("ProtectionEnabled"), body.get("ExpiresInMinutes")
    return ((enabled is None or isinstance(enabled, bool))
            and (minutes is None or (isinstance(minutes, int) and not isinstance(minutes, bool))))


def _call(key: str, body: dict | None):
    emulator = current_app.extensions["emulator"]
    with emulator.ecs.lock:
        found = _task_of(emulator.ecs, key) if _may_call(key) else None
        if found is None:
            return _error(404, "ResourceNotFoundException", "Failed to find a task for the request")
        store, task = found
        if body is not None and not isinstance(body.get("ProtectionEnabled"), bool):
            return _error(400, "InvalidParameterException",
                          "Invalid request: does not contain 'ProtectionEnabled' field", task.arn)
        if task_role_arn(task, store.account) is None:
            return _error(403, "AccessDeniedException",
                          "Invalid Request: no task IAM role credentials available for task",
                          task.arn)
        try:
            if body is None:
                protected, failures = task_protection.get(store, task.cluster_arn, [task.arn])
            else:
                protected, failures = task_protection.update(
                    store, task.cluster_arn, [task.arn], body["ProtectionEnabled"],
                    body.get("ExpiresInMinutes"))
        except AwsError as error:
            return _error(error.status, error.code, error.message, task.arn, str(uuid.uuid4()))
    if failures:
        failure = failures[0]
        return _json({"failure": {"Arn": failure.arn, "Detail": failure.detail,
                                  "Reason": failure.reason}})
    item = render.protected_task(protected[0])
    return _json({"protection": {"ExpirationDate": _go_time(item["expirationDate"]),
                                 "ProtectionEnabled": item["protectionEnabled"],
                                 "TaskArn": item["taskArn"]}})


def _may_call(key: str) -> bool:
    """A container calls for its own task only (another's answers as an unknown one does, as
    the metadata routes do); this host, for any task."""
    caller = caller_of(request.environ)
    if caller is None or not caller.from_container:
        return True
    return caller.task_id is not None and key.partition("-")[0] == caller.task_id


def _task_of(state, key: str):
    """(store, task) for the metadata key "<task id>-<container name>" (call under the lock)."""
    task_id, _, name = key.partition("-")
    for store in state.stores():
        for task in store.tasks.values():
            if task.id == task_id and task.container(name) is not None:
                return store, task
    return None


def _go_time(value) -> str | None:
    """A time as Go's encoding/json writes it: RFC 3339, fractional seconds without trailing 0s."""
    if value is None:
        return None
    text = value.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"
