"""The control endpoint for tools and tests: /_emulator/health, /_emulator/reset, and moto's
/moto-api/reset for users coming from moto's server mode.

Also the Flask app's last resort for every route of ours (control, registry, metadata): a body
over MAX_BODY is refused with 413 before it is read, and an exception no handler expected is
logged with its trace and answered as JSON (the registry's error shape under /v2/), never as
Flask's HTML page.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from emulator import __version__
from emulator.runtime.probe import docker_answers

blueprint = Blueprint("control", __name__)
log = logging.getLogger(__name__)

# Bodies Flask reads whole (JSON of the control endpoints); the registry streams its own.
MAX_BODY = 16 * 1024 * 1024


@blueprint.record_once
def _limit_bodies(state) -> None:
    state.app.config["MAX_CONTENT_LENGTH"] = MAX_BODY


@blueprint.app_errorhandler(Exception)
def unexpected(error: Exception):
    if isinstance(error, HTTPException):  # a 404, 405 or 413 of Flask's: as Flask answers it
        return error
    log.exception("%s %s failed", request.method, request.path)
    message = f"The emulator failed on this request: {type(error).__name__}: {error}"
    if request.path.startswith("/v2/"):
        return _registry_error(500, "UNKNOWN", message)
    return jsonify({"__type": "InternalFailure", "message": message}), 500


def _registry_error(status: int, code: str, message: str):
    return jsonify({"errors": [{"code": code, "message": message, "detail": {}}]}), status


def _emulator():
    return current_app.extensions["emulator"]


@blueprint.get("/_emulator/health")
def health():
    return jsonify(
        {
            "status": "ok",
            "version": __version__,
            "docker": docker_answers(),
            "services": {"ecs": "running", "moto": "loaded" if _emulator().moto.loaded else "lazy"},
        }
    )


@blueprint.post("/_emulator/reset")
@blueprint.post("/moto-api/reset")
def reset():
    _emulator().reset()
    return jsonify({"status": "ok"})
