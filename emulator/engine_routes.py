"""The control endpoint of the Docker Engines: GET /_emulator/engines lists them (name, address,
zone, whether each answers, TLS and registry address when set); POST /_emulator/engines
{"name": ..., "dockerHost": ..., "tlsVerify": ..., "certPath": ..., "registryAddress": ...} adds
one while the emulator runs, DELETE /_emulator/engines/NAME[?force=true] removes one
(engine/engines.py, engine/engine_removal.py). Served on the emulator's own address only, as every
/_emulator/ route is (access/gate.py). Errors: {"__type": ..., "message": ...} with 400 (what was
asked is wrong), 404 (no such engine) or 409 (tasks still run on it; the daemon added is another
engine's already)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from emulator.config import EngineAddress
from emulator.control_bodies import json_object
from emulator.engine.engine_identity import DuplicateEngine
from emulator.engine.engine_removal import EngineInUse, EngineNotFound
from emulator.engine.engines import EXTENSION, describe

blueprint = Blueprint("engines", __name__)

_OPTIONAL = {"tlsVerify": bool, "certPath": str, "registryAddress": str}


def _engines():
    return current_app.extensions[EXTENSION]


def _error(code: str, message: str, status: int):
    return jsonify({"__type": code, "message": message}), status


@blueprint.get("/_emulator/engines")
def list_engines():
    return jsonify({"engines": _engines().describe()})


@blueprint.post("/_emulator/engines")
def add_engine():
    try:
        body = json_object(optional=False)
    except ValueError as error:  # (not JSON: say so, rather than what a good body holds)
        return _error("InvalidParameterException", str(error), 400)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) \
            or not isinstance(body.get("dockerHost"), str) \
            or any(key in body and body[key] is not None and not isinstance(body[key], kind)
                   for key, kind in _OPTIONAL.items()):
        return _error("InvalidParameterException",
                      'give {"name": NAME, "dockerHost": DOCKER_HOST} and optionally '
                      '"tlsVerify": true|false, "certPath": DIR, "registryAddress": HOST:PORT',
                      400)
    address = EngineAddress(body["name"], body["dockerHost"], bool(body.get("tlsVerify")),
                            body.get("certPath") or None, body.get("registryAddress") or None)
    try:
        engine = _engines().add_running(address)
    except DuplicateEngine as error:  # its daemon is another engine's (engine_identity.py)
        return _error("ResourceInUseException", str(error), 409)
    except ValueError as error:
        return _error("InvalidParameterException", str(error), 400)
    return jsonify(describe(engine)), 201


@blueprint.delete("/_emulator/engines/<name>")
def remove_engine(name: str):
    force = request.args.get("force", "").lower() in ("1", "true", "yes")
    try:
        removed = _engines().remove_running(name, force=force)
    except EngineNotFound as error:
        return _error("ResourceNotFoundException", str(error), 404)
    except EngineInUse as error:
        return _error("ResourceInUseException", str(error), 409)
    except ValueError as error:
        return _error("InvalidParameterException", str(error), 400)
    return jsonify(removed)
