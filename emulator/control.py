"""The control endpoint for tools and tests: /_emulator/health, /_emulator/reset, and moto's
/moto-api/reset for users coming from moto's server mode."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from emulator import __version__
from emulator.runtime.probe import docker_answers

blueprint = Blueprint("control", __name__)


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
