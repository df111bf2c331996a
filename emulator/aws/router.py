"""The edge of the server: which code answers a request.

AWS JSON calls to a service we emulate (by X-Amz-Target) go straight to its JsonService, without
Flask's request machinery on the hottest path; the Flask app answers its own routes (control
endpoint, registry, metadata); everything else goes to moto. The Flask app is asked for (and so
built, with Flask imported) only when a request is not an ECS or ECR call: an emulator whose
first call is ECS's answers it sooner. `rights` (access/rights.py) may
refuse an AWS call first, by who makes it.
"""

from __future__ import annotations

import logging
import time

from emulator import http_bodies
from emulator.aws.context import context_from_environ
from emulator.aws.errors import AwsError
from emulator.aws import moto_errors
from emulator.aws.json_members import encode, encode_plain
from emulator.aws.json_service import JsonService, Reply
from emulator.aws.moto_bridge import MotoBridge
from emulator.config import Settings

log = logging.getLogger("emulator.requests")

_JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
# Bodies of our own JSON APIs, refused with 413 above these sizes before they are read. AWS
# refuses large requests too; these leave room for the largest valid request of each service
# (ECS: a task definition is at most 64 KiB; ECR: UploadLayerPart carries up to 20 MiB, base64).
# Keyed by the model's endpoint prefix (JsonService.name): ECR's is "api.ecr".
JSON_BODY_LIMITS = {"ecs": 1024 * 1024, "api.ecr": 32 * 1024 * 1024}
_DEFAULT_JSON_LIMIT = 1024 * 1024


class AwsRouter:
    def __init__(self, flask_app, services: list[JsonService], moto: MotoBridge, settings: Settings,
                 rights=None):
        """`flask_app`: a Flask app, or a function that returns one (called on first need)."""
        self._rights = rights
        self._flask_app = flask_app if callable(getattr(flask_app, "wsgi_app", None)) else None
        self._flask_factory = flask_app
        self._services = {service.shapes.target_prefix: service for service in services}
        self._moto = moto
        self._settings = settings
        # Where each call's line goes instead of the `emulator.requests` logger, when set: the
        # serve command's log handler takes the message as that logger's INFO line, without a
        # LogRecord (cli_commands/serve_logging.py).
        self.request_line = None

    def __call__(self, environ: dict, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        prefix, _, operation = target.partition(".")
        service = self._services.get(prefix)
        if service is not None:
            return self._serve_json(service, operation, environ, start_response)
        flask_app = self._flask()
        if _route_matches(flask_app, environ):
            return flask_app.wsgi_app(environ, start_response)
        ctx = context_from_environ(environ, self._settings)
        if self._rights is None:
            return self._moto(environ, start_response, ctx)
        try:
            return self._rights.serve_moto(self._moto, environ, start_response, ctx)
        except AwsError as error:  # refused before moto saw it
            return self._answer(Reply(error.status, error.body(), error.code), ctx, start_response)

    def _serve_json(self, service: JsonService, operation: str, environ: dict, start_response):
        started = time.perf_counter()
        ctx = context_from_environ(environ, self._settings)
        try:
            body = http_bodies.read_body(environ, JSON_BODY_LIMITS.get(service.name,
                                                                       _DEFAULT_JSON_LIMIT))
        except http_bodies.BodyTooLarge as error:
            return _too_large(error, ctx.request_id, start_response)
        reply, body = self._checked(service, operation, body, environ, ctx)
        if reply is None:
            reply = service.handle(operation, body, ctx)
        payload = self._answer(reply, ctx, start_response)
        if self._settings.log_requests:
            elapsed = (time.perf_counter() - started) * 1000
            if self.request_line is not None:
                self.request_line(f"{service.name}.{operation} {reply.status} {elapsed:.1f}ms")
            else:
                log.info("%s.%s %d %.1fms", service.name, operation, reply.status, elapsed)
        return payload

    @staticmethod
    def _answer(reply: Reply, ctx, start_response) -> list[bytes]:
        payload = encode(reply.body, reply.spliced).encode()
        headers = [
            ("Content-Type", _JSON_CONTENT_TYPE),
            ("Content-Length", str(len(payload))),
            ("x-amzn-RequestId", ctx.request_id),
        ]
        if reply.error_code:
            headers.append(("X-Amzn-ErrorType", reply.error_code))
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Error')}", headers)
        return [payload]

    def _checked(self, service: JsonService, operation: str, body: bytes, environ: dict, ctx):
        """(the refusal, or None; the body to serve: the one checked, access/launch_pins.py)."""
        if self._rights is None:
            return None, body
        try:
            return None, self._rights.check_json(service, operation, body, environ, ctx)
        except AwsError as error:
            return Reply(error.status, error.body(), error.code), body

    def _flask(self):
        if self._flask_app is None:  # a race builds it twice at worst: the factory caches it
            self._flask_app = self._flask_factory()
        return self._flask_app


def _route_matches(flask_app, environ: dict) -> bool:
    from werkzeug.exceptions import HTTPException

    adapter = flask_app.url_map.bind_to_environ(environ)
    try:
        adapter.match()
    except HTTPException as exc:
        # 405 means the path is ours but not the method: Flask answers that itself.
        return getattr(exc, "code", None) == 405
    return True


def _too_large(error: http_bodies.BodyTooLarge, request_id: str, start_response) -> list[bytes]:
    _, code = moto_errors.too_large_error("json", "")  # as moto's JSON services answer
    payload = encode_plain({"__type": code, "message": (
        f"The request body is larger than the {error.limit // (1024 * 1024)} MiB this API "
        "accepts.")}).encode()
    start_response("413 Request Entity Too Large", [
        ("Content-Type", _JSON_CONTENT_TYPE), ("Content-Length", str(len(payload))),
        ("x-amzn-RequestId", request_id), ("X-Amzn-ErrorType", code)])
    return [payload]


_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            500: "Internal Server Error"}
