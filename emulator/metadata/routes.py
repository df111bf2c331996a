"""The routes a task's containers call: task metadata v3 and v4, and task-role credentials.

  /v4/<task id>-<container>              the container       (also /v3/...)
  /v4/<task id>-<container>/task         the task            (also /v3/...)
  /v4/<task id>-<container>/taskWithTags the task and its tags
  /v4/<task id>-<container>/stats        the container's Docker stats (also /v3/...)
  /v4/<task id>-<container>/task/stats   every container's, by Docker id (also /v3/...)
  /v2/credentials/<id>                   the task role's credentials (ECS's credentials API)

Errors answer as the agent does: a JSON string and 404 for an unknown metadata path or
container; {"code", "message"} and 400 for a credentials id that names nothing.

A container reads only its own task's metadata and credentials: the caller the gate found by
the request's source address (access/gate.py) must be the task the path names; another task's
answers as an unknown one does, so nothing tells a container which ids exist. This host reads
every task's.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request

from emulator.access.gate import caller_of
from emulator.engine.task_credentials import CREDENTIALS_EXTENSION
from emulator.metadata import documents
from emulator.metadata.stats import StatsSampler

blueprint = Blueprint("task_metadata", __name__)

_VERSION = "<any(v3, v4):version>"


def _emulator():
    return current_app.extensions["emulator"]


def _json(body, status: int = 200) -> Response:
    # json.dumps keeps the documents' key order (Flask's jsonify would sort the keys).
    return Response(json.dumps(body, default=str), status=status, mimetype="application/json")


# -- metadata ------------------------------------------------------------------------------------

@blueprint.get(f"/{_VERSION}/<key>")
def container_metadata(version: str, key: str):
    found = _lookup(key)
    if found is None:
        return _not_found(version, "container metadata", key)
    emulator, task, item = found
    state = _inspect(emulator, task, item.runtime_id)
    with emulator.ecs.lock:
        return _json(documents.container(task, item, state, _number(version)))


@blueprint.get(f"/{_VERSION}/<key>/task")
def task_metadata(version: str, key: str):
    return _task_document(version, key, with_tags=False)


@blueprint.get(f"/{_VERSION}/<key>/taskWithTags")
def task_metadata_with_tags(version: str, key: str):
    if version != "v4":  # v4 only
        return unknown_metadata_path(version, f"{key}/taskWithTags")
    return _task_document(version, key, with_tags=True)


@blueprint.get(f"/{_VERSION}/<key>/stats")
def container_stats(version: str, key: str):
    found = _lookup(key)
    if found is None:
        return _not_found(version, "container stats", key)
    emulator, task, item = found
    sample = _sampler().container(emulator.engine.runtime_of(task), item.runtime_id,
                                  _number(version))
    if sample is None:
        return _not_found(version, "container stats", key)
    return _json(sample)


@blueprint.get(f"/{_VERSION}/<key>/task/stats")
def task_stats(version: str, key: str):
    found = _lookup(key)
    if found is None:
        return _not_found(version, "task stats", key)
    emulator, task, _ = found
    with emulator.ecs.lock:
        ids = [c.runtime_id for c in task.containers]
    return _json(_sampler().task(emulator.engine.runtime_of(task), ids, _number(version)))


@blueprint.get(f"/{_VERSION}/<path:rest>")
def unknown_metadata_path(version: str, rest: str):
    return _json(f"{version.upper()} metadata handler: unknown path /{version}/{rest}", 404)


def _task_document(version: str, key: str, with_tags: bool):
    found = _lookup(key)
    if found is None:
        return _not_found(version, "task metadata", key)
    emulator, task, _ = found
    with emulator.ecs.lock:
        ids = {c.name: c.runtime_id for c in task.containers}
    states = {name: _inspect(emulator, task, runtime_id) for name, runtime_id in ids.items()}
    with emulator.ecs.lock:
        return _json(documents.task(task, states, _number(version), with_tags))


def _lookup(key: str):
    """(emulator, task, container) for "<task id>-<container name>", or None."""
    task_id, _, name = key.partition("-")
    if not _may_read(task_id=task_id):
        return None
    emulator = _emulator()
    with emulator.ecs.lock:
        for store in emulator.ecs.stores():
            for task in store.tasks.values():
                if task.id == task_id:
                    item = task.container(name)
                    return (emulator, task, item) if item is not None else None
    return None


def _may_read(task_id: str | None = None, task_arn: str | None = None) -> bool:
    """Whether the caller may read this task's metadata or credentials: this host, any task's;
    a container, its own task's only."""
    caller = caller_of(request.environ)
    if caller is None or not caller.from_container:
        return True
    if task_arn is not None:
        return caller.task_arn == task_arn
    return task_id is not None and caller.task_id == task_id


def _inspect(emulator, task, runtime_id: str | None):
    if not runtime_id:
        return None
    try:  # on the task's Docker Engine (engine/engines.py)
        return emulator.engine.runtime_of(task).inspect_container(runtime_id)
    except Exception:  # Docker gone or the container removed: the model still answers
        return None


def _sampler() -> StatsSampler:
    sampler = current_app.extensions.get("ecs_task_stats")
    if sampler is None:
        sampler = current_app.extensions.setdefault("ecs_task_stats", StatsSampler())
    return sampler


def _number(version: str) -> int:
    return int(version[1:])


def _not_found(version: str, what: str, key: str) -> Response:
    return _json(f"{version.upper()} {what} handler: unable to find container for endpoint "
                 f"ID '{key}'", 404)


# -- credentials ---------------------------------------------------------------------------------

@blueprint.get("/v2/credentials/<path:credentials_id>")
def credentials(credentials_id: str):
    issuer = current_app.extensions.get(CREDENTIALS_EXTENSION)
    task_arn = issuer.task_of(credentials_id) if issuer is not None else None
    document = issuer.document(credentials_id) if _may_read(task_arn=task_arn) else None
    if document is None:
        return _json({"code": "InvalidIdInRequest",
                      "message": "CredentialsV2Request: Credentials not found"}, 400)
    return _json(document)


@blueprint.get("/v2/credentials", strict_slashes=False)
def credentials_without_id():
    return _json({"code": "NoIdInRequest",
                  "message": "CredentialsV2Request: No Credential ID in the request"}, 400)
