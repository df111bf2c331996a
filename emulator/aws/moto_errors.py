"""Errors for requests moto cannot answer, shaped as the service's protocol shapes its errors.

moto raises NotImplementedError for an operation it lacks, answers 404 with no body when it
cannot tell the operation, and lets its own bugs escape as exceptions; Flask made each a 500
with an empty or HTML body, which an SDK cannot parse. Here each becomes what AWS answers:

- an unknown operation (moto has no method for it): `InvalidAction` (query and EC2 protocols,
  400), `UnknownOperationException` (JSON 400, REST-JSON 404), S3's `NotImplemented` (501);
- a part of an operation moto lacks (any other NotImplementedError: a filter, a value, a
  resource type): the operation's validation error (EC2's `Unsupported`, S3's `NotImplemented`
  501), 400, its message naming the operation and what moto said is missing;
- a crash on the caller's input (moto parsing a value it was given: ValueError, TypeError):
  the operation's modelled validation error, 400;
- any other crash: `InternalFailure` (S3: `InternalError`), 500, with a message;
- an unsigned request whose service cannot be told: `MissingAuthenticationToken` (JSON:
  `MissingAuthenticationTokenException`), 403;
- a body over the limit: `RequestEntityTooLargeException` (JSON protocols, as our own ECS and
  ECR answer it too), `RequestEntityTooLarge` (query, EC2, REST-XML), 413; S3's
  `EntityTooLarge`, 400.
"""

from __future__ import annotations

import functools
import json

from emulator.aws.context import form_action, signing_service

# What xml.sax.saxutils.escape does (& < >), without importing it: it brings urllib.request,
# http.client and ssl into the emulator's start-up.
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Codes an operation may model for "a parameter is wrong", in the order we prefer them.
_VALIDATION_CODES = ("InvalidParameterException", "ValidationException",
                     "InvalidParameterValueException", "InvalidRequestException",
                     "InvalidInputException", "InvalidInput")
# Credential-scope names that are not botocore's service names.
_MODEL_NAMES = {"elasticloadbalancing": "elbv2", "monitoring": "cloudwatch", "email": "ses",
                "states": "stepfunctions", "execute-api": "apigateway"}


def unknown_operation(environ: dict, detail: str, request_id: str):
    protocol = protocol_of(environ)
    message = f"The action or operation requested is invalid: {detail}"
    if protocol == "rest-xml" and _service(environ) == "s3":
        return _answer(environ, protocol, 501, "NotImplemented", message, request_id)
    if protocol in ("query", "ec2"):
        return _answer(environ, protocol, 400, "InvalidAction", message, request_id)
    status = 404 if protocol.startswith("rest") else 400
    return _answer(environ, protocol, status, "UnknownOperationException", message, request_id)


def not_implemented(environ: dict, detail: str, request_id: str):
    """moto has the operation but not a part of it that the request uses. A caller's error as
    far as it can tell (4xx), with the service's own code for it: S3's NotImplemented (501, as
    S3 answers a header whose feature it lacks), EC2's Unsupported, otherwise the operation's
    modelled validation error; the message names what is missing."""
    protocol = protocol_of(environ)
    service = _service(environ) or "this service"
    message = (f"{_operation_name(environ, protocol)} of {service} is served by moto here, which "
               f"does not implement this part of it: {detail}")
    if protocol == "rest-xml" and _service(environ) in ("s3", ""):
        return _answer(environ, protocol, 501, "NotImplemented", message, request_id)
    code = {"query": "ValidationError", "ec2": "Unsupported", "rest-xml": "InvalidArgument"}.get(
        protocol) or _modelled_validation_code(_service(environ), _json_operation(environ))
    return _answer(environ, protocol, 400, code, message, request_id)


def invalid_input(environ: dict, detail: str, request_id: str):
    protocol = protocol_of(environ)
    code = {"query": "ValidationError", "ec2": "InvalidParameterValue",
            "rest-xml": "InvalidArgument"}.get(protocol)
    if code is None:
        code = _modelled_validation_code(_service(environ), _json_operation(environ))
    return _answer(environ, protocol, 400, code, f"Invalid request: {detail}", request_id)


def missing_authentication(environ: dict, request_id: str):
    """An unsigned request of no service: AWS's answer to a call without credentials (its
    common error MissingAuthenticationToken, 403; JSON services name it ...Exception)."""
    protocol = protocol_of(environ)
    code = ("MissingAuthenticationTokenException" if protocol in ("json", "rest-json")
            else "MissingAuthenticationToken")
    return _answer(environ, protocol, 403, code, "Request is missing Authentication Token",
                   request_id)


def method_not_allowed(environ: dict, request_id: str):
    """S3's answer to a method its resource has no operation for (POST to an object without
    ?uploads, ?restore, ?uploadId or ?select): 405, as S3 words it."""
    return _answer(environ, protocol_of(environ), 405, "MethodNotAllowed",
                   "The specified method is not allowed against this resource.", request_id)


def is_method_not_allowed(error: BaseException) -> bool:
    """Whether moto's S3 failed looking up the operation of a method and resource in its
    table (ACTION_MAP has no DEFAULT for POST on an object, or S3 Control's verbs without their
    query): a request S3 refuses, not a crash of ours."""
    if not isinstance(error, KeyError) or error.args != ("DEFAULT",):
        return False
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    code = frame.tb_frame.f_code if frame is not None else None
    return (code is not None and code.co_name == "_set_action"
            and code.co_filename.replace("\\", "/").endswith("moto/s3/responses.py"))


def internal_failure(environ: dict, detail: str, request_id: str):
    protocol = protocol_of(environ)
    code = "InternalError" if protocol == "rest-xml" else "InternalFailure"
    return _answer(environ, protocol, 500, code,
                   f"The emulator (moto) failed on this request: {detail}", request_id)


def too_large(environ: dict, limit: int, request_id: str):
    protocol = protocol_of(environ)
    status, code = too_large_error(protocol, _service(environ))
    return _answer(environ, protocol, status, code,
                   f"The request body is larger than the {limit // (1024 * 1024)} MiB this "
                   "emulator accepts for this service.", request_id)


def too_large_error(protocol: str, service: str) -> tuple[int, str]:
    """(status, code) for a request body over the limit, named as each protocol names errors:
    a JSON protocol's code is its exception shape's name (RequestEntityTooLargeException, as
    the services that model it do: AppConfig, IoT Data); query, EC2 and REST-XML codes carry no
    suffix (RequestEntityTooLarge); S3 has its own, EntityTooLarge, with 400."""
    if protocol in ("json", "rest-json"):
        return 413, "RequestEntityTooLargeException"
    if protocol == "rest-xml" and service in ("s3", ""):
        return 400, "EntityTooLarge"
    return 413, "RequestEntityTooLarge"


def protocol_of(environ: dict) -> str:
    """"json", "query", "ec2", "rest-json" or "rest-xml", from the request alone."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    service = _service(environ)
    form = environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
    if form or "Action=" in environ.get("QUERY_STRING", ""):
        return "ec2" if service == "ec2" else "query"
    model = _protocol(service) if service else None
    if model in ("rest-xml", "rest-json"):
        return model
    if model in ("query", "ec2", "json"):
        return model
    return "rest-xml" if service in ("", "s3") else "rest-json"


def _answer(environ: dict, protocol: str, status: int, code: str, message: str,
            request_id: str):
    """(status line, headers, body) of the error."""
    headers = [("x-amzn-RequestId", request_id)]
    if protocol in ("json", "rest-json"):
        content_type = environ.get("CONTENT_TYPE") or "application/x-amz-json-1.1"
        if "json" not in content_type:
            content_type = "application/json"
        body = json.dumps({"__type": code, "message": message}).encode()
        headers += [("Content-Type", content_type), ("X-Amzn-ErrorType", code)]
    else:
        code_x, message_x, id_x = (code.translate(_XML_ESCAPES), message.translate(_XML_ESCAPES),
                                   request_id.translate(_XML_ESCAPES))
        if protocol == "ec2":
            text = (f"<Response><Errors><Error><Code>{code_x}</Code><Message>{message_x}"
                    f"</Message></Error></Errors><RequestID>{id_x}</RequestID></Response>")
        elif protocol == "rest-xml" and _service(environ) in ("s3", ""):
            text = (f"<Error><Code>{code_x}</Code><Message>{message_x}</Message>"
                    f"<RequestId>{id_x}</RequestId></Error>")
        else:
            kind = "Receiver" if status >= 500 else "Sender"
            text = (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code_x}</Code>"
                    f"<Message>{message_x}</Message></Error><RequestId>{id_x}</RequestId>"
                    "</ErrorResponse>")
        body = ('<?xml version="1.0" encoding="UTF-8"?>' + text).encode()
        headers.append(("Content-Type", "text/xml"))
    headers.append(("Content-Length", str(len(body))))
    return f"{status} {_REASONS.get(status, 'Error')}", headers, body


_service = signing_service  # the SigV4 signing name, as context.py reads it


def _json_operation(environ: dict) -> str:
    return environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]


def _operation_name(environ: dict, protocol: str) -> str:
    if protocol == "json":
        return _json_operation(environ)
    if protocol in ("query", "ec2"):
        return form_action(environ) or "The operation"
    return f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}"


@functools.lru_cache(maxsize=64)
def _model(service: str):
    """botocore's whole model of a service: only for an error's modelled code (a rare path)."""
    try:
        return _botocore_session().get_service_model(_MODEL_NAMES.get(service, service))
    except Exception:  # an unknown name: no model, and the caller falls back
        return None


@functools.lru_cache(maxsize=1)
def _botocore_session():
    import botocore.session

    return botocore.session.get_session()  # one, with its loader's cache, for every service


@functools.lru_cache(maxsize=256)
def _protocol(service: str) -> str | None:
    """The protocol a REST call's service speaks, from its model's metadata alone: asked on the
    first call of each service, where a whole model took a session and up to 0.4 s."""
    from api_shapes.model_files import load_metadata

    try:
        return load_metadata(_MODEL_NAMES.get(service, service)).get("protocol")
    except Exception:  # an unknown name (or no file): the caller falls back
        return None


def _modelled_validation_code(service: str, operation: str) -> str:
    model = _model(service) if service else None
    if model is not None and operation:
        try:
            modelled = {shape.name for shape in model.operation_model(operation).error_shapes}
        except Exception:  # not an operation of the model
            modelled = set()
        for code in _VALIDATION_CODES:
            if code in modelled:
                return code
    return "ValidationException"


_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            413: "Request Entity Too Large",
            500: "Internal Server Error", 501: "Not Implemented"}
