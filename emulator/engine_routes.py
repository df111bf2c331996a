"""The control endpoint of the Docker Engines: GET /_emulator/engines lists them (name, address,
zone, whether each answers); POST /_emulator/engines {"name": ..., "dockerHost": ...} adds one
while the emulator runs (engine/engines.py). Served on the emulator's own address only, as every
/_emulator/ route is (access/gate.py)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from emulator.engine.engines import EXTENSION

blueprint = Blueprint("engines", __name__)


def _engines():
    return current_app.extensions[EXTENSION]


@blueprint.get("/_emulator/engines")
def list_engines():
    return jsonify({"engines": _engines().describe()})


@blueprint.post("/_emulator/engines")
def add_engine():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) \
            or not isinstance(body.get("dockerHost"), str):
        return jsonify({"message": 'give {"name": NAME, "dockerHost": DOCKER_HOST}'}), 400
    try:
        engine = _engines().add_running(body["name"], body["dockerHost"])
    except ValueError as error:
        return jsonify({"message": str(error)}), 400
    return jsonify({"name": engine.name, "dockerHost": engine.health.address,
                    "zone": engine.zone}), 201
