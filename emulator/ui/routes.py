"""The dashboard's HTTP side (a Flask blueprint): the page, its static files, and the few JSON
reads the ECS API has no operation for. Everything under /_emulator/ui/, so the rule that keeps
/_emulator/* off the listeners containers reach (access/gate.py) covers it.

  GET /_emulator/ui/                                      the page (emulator/ui/static/)
  GET /_emulator/ui/static/<file>                         its script and style sheet
  GET /_emulator/ui/api/scopes                            accounts and regions holding state
  GET /_emulator/ui/api/summary?account=A&region=R        clusters, services, tasks (summary.py);
                                                          ETag, and 304 to If-None-Match
  GET /_emulator/ui/api/tasks/<task>/logs?account&region  where each container's output is (for
                                                          awslogs: whether its stream exists yet)
  GET /_emulator/ui/api/tasks/<task>/logs/<container>?after=S   Docker log lines after S
  GET /_emulator/ui/api/tasks/<task>/metadata?account&region    the task metadata v4 document
  GET /_emulator/ui/api/stacks?account=A&region=R         CloudFormation stacks, their resources
                                                          and events (stacks.py)

The page changes state only through the ECS API (StopTask, UpdateService) and the fault
endpoints (emulator/faults_routes.py), as tests do; nothing here writes.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources

from flask import Blueprint, Response, current_app, request

from emulator.ui import stacks, summary, task_output

blueprint = Blueprint("ui", __name__)

_STATIC = resources.files("emulator.ui") / "static"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
_FILE_NAME = re.compile(r"^[a-z0-9_-]+\.(html|js|css|svg)$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# Task output and names are the containers' own (untrusted) text: the page only ever sets it as
# text, and this policy keeps any script but ours from running should that ever slip.
_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _emulator():
    return current_app.extensions["emulator"]


@blueprint.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", _POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/_emulator/ui")
@blueprint.get("/_emulator/ui/")
def page():
    return _static_file("index.html")


@blueprint.get("/_emulator/ui/static/<name>")
def static_file(name: str):
    if not _FILE_NAME.match(name):
        return _error(404, f"no such file: {name}")
    return _static_file(name)


@blueprint.get("/_emulator/ui/api/scopes")
def scopes():
    emulator = _emulator()
    settings = emulator.settings
    found = {(s.account, s.region) for s in emulator.ecs.stores()}
    if emulator.ecr is not None:
        found |= {(s.account, s.region) for s in emulator.ecr.stores()}
    found.add((settings.default_account_id, settings.default_region))
    return _json({
        "default": {"account": settings.default_account_id, "region": settings.default_region},
        "scopes": [{"account": a, "region": r} for a, r in sorted(found)],
    })


@blueprint.get("/_emulator/ui/api/summary")
def summary_of_scope():
    account, region = _scope()
    body = json.dumps(summary.summary(_emulator().ecs, account, region),
                      separators=(",", ":")).encode()
    tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    if tag in request.headers.get("If-None-Match", ""):
        response = Response(status=304)
    else:
        response = Response(body, mimetype="application/json")
    response.headers["ETag"] = tag
    return response


@blueprint.get("/_emulator/ui/api/stacks")
def stacks_of_scope():
    account, region = _scope()
    return _json(stacks.stacks(_emulator().moto, account, region))


@blueprint.get("/_emulator/ui/api/tasks/<path:task>/logs")
def log_sources(task: str):
    emulator = _emulator()
    account, region = _scope()

    def stream_exists(log_region: str, group: str, stream: str) -> bool:
        # moto's logs backend, as the awslogs driver (engine/task_logs.py) writes to it.
        try:
            groups = emulator.moto.backend("logs", account, log_region).groups
        except KeyError:  # not a region moto knows
            return False
        return group in groups and stream in groups[group].streams

    with emulator.ecs.lock:
        found = _task(task)
        arn, sources = found.arn, task_output.sources(found, region)
    for source in sources:  # outside the lock: moto loads its backends on first use
        if source["source"] == "awslogs":
            source["ready"] = stream_exists(source["region"], source["group"], source["stream"])
    return _json({"taskArn": arn, "containers": sources})


@blueprint.get("/_emulator/ui/api/tasks/<path:task>/logs/<container>")
def docker_log(task: str, container: str):
    emulator = _emulator()
    try:
        after = float(request.args["after"]) if request.args.get("after") else None
    except ValueError:
        return _error(400, "after must be a number of seconds since the epoch")
    with emulator.ecs.lock:
        found = _task(task)
        item = found.container(container)
        if item is None:
            return _error(404, f"no container {container} in task {task}")
        runtime_id = item.runtime_id
    return _json(task_output.docker_lines(emulator.engine.runtime_of(found), runtime_id, after))


@blueprint.get("/_emulator/ui/api/tasks/<path:task>/metadata")
def task_metadata(task: str):
    emulator = _emulator()
    with emulator.ecs.lock:
        found = _task(task)
    return _json(task_output.metadata(found, emulator.engine.runtime_of(found),
                                      emulator.ecs.lock))


class _NotFound(Exception):
    status = 404


class _BadRequest(_NotFound):
    status = 400


@blueprint.errorhandler(_NotFound)
def _not_found(error: _NotFound):
    return _error(error.status, str(error))


def _task(ref: str):
    """The task of the page's account and region named by ARN or id (under the state's lock)."""
    account, region = _scope()
    store = _emulator().ecs.store_for(account, region)
    task = store.tasks.get(ref) or next((t for t in store.tasks.values() if t.id == ref), None)
    if task is None:
        raise _NotFound(f"no task {ref} in {account} {region}")
    return task


def _scope() -> tuple[str, str]:
    settings = _emulator().settings
    account = request.args.get("account") or settings.default_account_id
    region = request.args.get("region") or settings.default_region
    if not _ACCOUNT.match(account) or not _REGION.match(region):
        raise _BadRequest(f"account must be 12 digits and region a region name: {account} {region}")
    return account, region


def _static_file(name: str) -> Response:
    path = _STATIC / name
    if not path.is_file():
        return _error(404, f"no such file: {name}")
    suffix = name[name.rindex("."):]
    return Response(path.read_bytes(), mimetype=_TYPES[suffix].split(";")[0],
                    content_type=_TYPES[suffix])


def _json(body) -> Response:
    return Response(json.dumps(body, default=str, separators=(",", ":")),
                    mimetype="application/json")


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status=status, mimetype="application/json")
