"""The JSON body of a control endpoint (/_emulator/...), whatever the Content-Type it came with.

`curl -d '{"signal": "SIGTERM"}'` sends application/x-www-form-urlencoded, and Flask's get_json
sees nothing in such a request: a fault asked for with the README's curl line was silently the
default one. The body is read as JSON whatever it is labelled, and a body that is not JSON is
refused in words rather than taken for an empty one.
"""

from __future__ import annotations

import json

from flask import request


def json_object(*, optional: bool) -> dict:
    """The request's body as a JSON object; {} for an empty body when it is `optional`.
    ValueError, whose message says what is wrong, for the caller to answer as a 400."""
    raw = request.get_data(cache=True)  # (read as bytes: a form body is not parsed away)
    if not raw.strip():
        if optional:
            return {}
        raise ValueError("The request body must be a JSON object.")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:  # (undecodable text, or nesting too deep)
        raise ValueError(f"The request body is not JSON ({_first_line(error)}): send a JSON "
                         "object, such as '{}'.") from None
    if not isinstance(body, dict):
        raise ValueError("The request body must be a JSON object.")
    return body


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__
