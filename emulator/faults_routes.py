"""Faults on purpose, over HTTP (a Flask blueprint); the logic is in emulator/engine/faults.py.

A task is named by its ARN or its id (in any account and region). Bodies are JSON and optional,
read as JSON whatever their Content-Type (curl -d labels them as a form).

- POST /_emulator/tasks/<task>/spot-interruption   {"warningSeconds"?: int}
      Interrupt a FARGATE_SPOT task as AWS does: desiredStatus STOPPED, stopCode
      SpotInterruption, stoppedReason "Your Spot Task was interrupted.", SIGTERM at once and
      SIGKILL after the warning period (default: the setting ECS_EMULATOR_SPOT_WARNING, 120 s)
      or the containers' stopTimeout, whichever is shorter. 400 InvalidParameterException for a
      task that is not on FARGATE_SPOT.
- POST /_emulator/tasks/<task>/kill                {"container"?: name, "signal"?: "SIGKILL"}
      Send a signal to a container (default: the first essential one), as a crash would.
- POST /_emulator/tasks/<task>/health              {"status": "UNHEALTHY" | "HEALTHY",
                                                    "container"?: name}
      Make the task's health checks (and its load balancer targets and Cloud Map instances)
      report that status; a service replaces an UNHEALTHY task after its grace period.

Answers: 200 with {"taskArn", "lastStatus", "desiredStatus", ...}; errors as
{"__type": "InvalidParameterException", "message"} with 400 (404 for an unknown task).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from emulator.aws.errors import AwsError
from emulator.control_bodies import json_object
from emulator.ecs.errors import InvalidParameterException
from emulator.engine.faults import EXTENSION

blueprint = Blueprint("faults", __name__)


@blueprint.errorhandler(AwsError)
def aws_error(error: AwsError):
    return jsonify(error.body()), error.status


@blueprint.post("/_emulator/tasks/<path:task>/spot-interruption")
def spot_interruption(task: str):
    body = _body()
    interrupted = _faults().spot_interruption(task, body.get("warningSeconds"))
    return jsonify(_summary(interrupted))


@blueprint.post("/_emulator/tasks/<path:task>/kill")
def kill(task: str):
    body = _body()
    signal = body.get("signal", "SIGKILL")
    if not isinstance(signal, str) or not signal:
        raise InvalidParameterException("signal must be a signal name such as SIGKILL.")
    killed, container = _faults().kill(task, _name(body), signal)
    return jsonify({**_summary(killed), "container": container.name, "signal": signal})


@blueprint.post("/_emulator/tasks/<path:task>/health")
def health(task: str):
    body = _body()
    status = body.get("status")
    if not isinstance(status, str):
        raise InvalidParameterException("status must be HEALTHY or UNHEALTHY.")
    changed, targets, instances = _faults().set_health(task, status.upper(), _name(body))
    return jsonify({**_summary(changed), "targets": targets,
                    "serviceDiscoveryInstances": instances})


def _faults():
    return current_app.extensions[EXTENSION]


def _body() -> dict:
    try:
        return json_object(optional=True)
    except ValueError as error:
        raise InvalidParameterException(str(error)) from None


def _name(body: dict) -> str | None:
    name = body.get("container")
    if name is not None and not isinstance(name, str):
        raise InvalidParameterException("container must be a container name.")
    return name


def _summary(task) -> dict:
    return {
        "taskArn": task.arn,
        "lastStatus": task.last_status,
        "desiredStatus": task.desired_status,
        "stopCode": task.stop_code,
        "stoppedReason": task.stopped_reason,
        "healthStatus": task.health.name,
        "capacityProviderName": task.capacity_provider,
    }
