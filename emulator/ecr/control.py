"""ECR's own HTTP paths under /_emulator/ecr/ (a Flask blueprint):

- GET  /_emulator/ecr/layers?...signed query...   the blob a GetDownloadUrlForLayer URL names
- PUT  /_emulator/ecr/findings    plant scan findings for an image: {"repositoryName",
       "imageDigest" or "imageTag", "findings": [ImageScanFinding...], "registryId"?, "region"?}
- POST /_emulator/ecr/lifecycle   apply lifecycle policies now: {"repositoryName"?, "now"?
       (ISO 8601, to see age rules act), "registryId"?, "region"?}; answers what expired

Account and region default to the emulator's defaults.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify, request

from api_shapes import ShapeError, load_service
from api_shapes.validate import Validator
from emulator.aws.errors import AwsError
from emulator.control_bodies import json_object
from emulator.ecr import images, layers, lifecycle, scanning
from emulator.ecr.errors import InvalidParameterException
from emulator.registry.errors import RegistryError
from emulator.registry.routes import blob_response

blueprint = Blueprint("ecr_control", __name__)


@blueprint.errorhandler(AwsError)
def aws_error(error: AwsError):
    return jsonify(error.body()), error.status


@blueprint.get("/_emulator/ecr/layers")
def download_layer():
    state = _state()
    query = request.args.to_dict()
    if not layers.url_is_valid(state.signing_key, query):
        return jsonify({"message": "The URL is not signed by this emulator or has expired."}), 403
    with state.lock:
        store = state.store_for(query["account"], query["region"])
        repository = store.repository(query["repository"])
        try:
            info, stream = images.storage(store).open_blob(
                images.repo_ref(store, repository.name), query["digest"])
        except RegistryError as error:
            return jsonify({"message": error.message}), 404
    return blob_response(info.size, stream)


@blueprint.put("/_emulator/ecr/findings")
def plant_findings():
    state, body = _state(), _body()
    findings = body.get("findings", [])
    try:
        Validator(load_service("ecr").shapes, reject_unknown=True).validate(
            "ImageScanFindingList", findings, "findings", wire_output=True)
    except ShapeError as error:
        raise InvalidParameterException(f"findings do not fit ImageScanFinding: {error}") from None
    with state.lock:
        store, repository = _repository(state, body)
        reference = _text(body, "imageDigest") or _text(body, "imageTag") or ""
        image = images.find(store, repository, reference)
        if image is None:
            raise InvalidParameterException(f"No image {reference!r} in {repository.name}.")
        scanning.plant_findings(store, repository.name, image.digest, findings)
    return jsonify({"repositoryName": repository.name, "imageDigest": image.digest,
                    "findings": len(findings)})


@blueprint.post("/_emulator/ecr/lifecycle")
def apply_lifecycle():
    state, body = _state(), _body()
    now = _time(body.get("now"))
    with state.lock:
        store = state.store_for(*_namespace(state, body))
        name = _text(body, "repositoryName")
        names = [name] if name else sorted(store.repositories)
        expired = {}
        for name in names:
            gone = lifecycle.apply(store, store.repository(name), now)
            expired[name] = [{"imageDigest": i.digest, "imageTags": list(i.tags)} for i in gone]
    return jsonify({"expired": expired})


def _state():
    return current_app.extensions["emulator"].ecr


def _body() -> dict:
    try:
        return json_object(optional=False)
    except ValueError as error:
        raise InvalidParameterException(str(error)) from None


def _namespace(state, body: dict) -> tuple[str, str]:
    settings = state.settings
    account = _text(body, "registryId") or settings.default_account_id
    if not (len(account) == 12 and account.isdigit()):
        raise InvalidParameterException(f"registryId must be a 12-digit account id, not {account!r}.")
    return account, _text(body, "region") or settings.default_region


def _text(body: dict, field: str) -> str | None:
    """A string field of the body (None when absent); any other JSON type is refused."""
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise InvalidParameterException(f"{field} must be a string, not {value!r}.")
    return value


def _repository(state, body: dict):
    store = state.store_for(*_namespace(state, body))
    return store, store.repository(_text(body, "repositoryName") or "")


def _time(raw) -> dt.datetime | None:
    if raw is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameterException(f"now must be an ISO 8601 time, not {raw!r}.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
