"""Does a response on the wire fit the model? Used by the tests' clients and the fuzz test.

A success must fit the operation's output shape exactly (no unknown members). An error must be a
JSON object of exactly `__type` and `message`, with the same code in X-Amzn-ErrorType and a 4xx
status (a 5xx is always a fault of ours).
"""

from __future__ import annotations

import json

from api_shapes.service import ServiceShapes
from api_shapes.validate import ShapeError

# Errors of the protocol layer, which botocore's models do not list per service.
# UnsupportedOperation: the emulator's answer for an operation it lacks (emulator/aws/errors.py).
PROTOCOL_ERRORS = frozenset({"SerializationException", "UnknownOperationException",
                             "UnsupportedOperation",
                             # AWS's common errors, which any service answers, modelled or not:
                             # a caller IAM refuses, and keys or signatures it does not accept.
                             "AccessDeniedException", "UnrecognizedClientException",
                             "InvalidSignatureException", "MissingAuthenticationTokenException"})


def problem_with(
    shapes: ServiceShapes, operation: str, status: int, headers: dict, body: bytes
) -> str | None:
    """None if the response is well-formed, else what is wrong with it."""
    if status >= 500:
        return f"status {status}: {body[:500]!r}"
    try:
        decoded = json.loads(body) if body else {}
    except ValueError:
        return f"the body is not JSON: {body[:200]!r}"
    if status == 200:
        try:
            shapes.check_output(operation, decoded)
        except ShapeError as error:
            return f"{operation} response does not fit its output shape: {error}"
        return None
    return _error_problem(shapes, status, headers, decoded)


def _error_problem(shapes: ServiceShapes, status: int, headers: dict, decoded) -> str | None:
    if not 400 <= status < 500:
        return f"an error with status {status}"
    if not isinstance(decoded, dict) or not {"__type", "message"} <= set(decoded):
        return f"an error body lacks __type or message: {decoded!r}"
    code = decoded["__type"]
    extra = {k: v for k, v in decoded.items() if k not in ("__type", "message")}
    if extra:  # only the error shape's own modelled members, of their types
        if code not in shapes.exception_names:
            return f"an error body is not exactly {{__type, message}}: {decoded!r}"
        try:
            shapes.check_error(code, extra)
        except ShapeError as error:
            return f"{code}'s members do not fit its shape: {error}"
    if not isinstance(code, str) or not isinstance(decoded["message"], str):
        return f"an error's __type and message must be strings: {decoded!r}"
    header = {k.lower(): v for k, v in headers.items()}.get("x-amzn-errortype")
    if header != code:
        return f"X-Amzn-ErrorType {header!r} differs from __type {code!r}"
    if code not in shapes.exception_names and code not in PROTOCOL_ERRORS:
        return f"error code {code} is not an exception of the service's model"
    return None
