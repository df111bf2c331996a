"""The JSON body of a control endpoint (/_emulator/...), labelled JSON, form, or not at all.

`curl -d '{"signal": "SIGTERM"}'` sends application/x-www-form-urlencoded, and Flask's get_json
sees nothing in such a request: a fault asked for with the README's curl line was silently the
default one. So a form body is read as JSON too (a browser's form percent-encodes `{` and `"`:
it cannot make one), and a body that is not JSON is refused in words rather than taken for an
empty one. text/plain and multipart/form-data are refused (415): a browser form sends those
as written, so an old browser that gives no Origin (access/browsers.py cannot tell the page's
site) could post JSON to kill a task or make the emulator connect to an engine of its choice.
"""

from __future__ import annotations

import json

from flask import abort, jsonify, request

_FORM = "application/x-www-form-urlencoded"


def json_object(*, optional: bool) -> dict:
    """The request's body as a JSON object; {} for an empty body when it is `optional`.
    ValueError, whose message says what is wrong, for the caller to answer as a 400; a body a
    browser's form could have written is answered here, 415."""
    kind = request.mimetype  # ("" when absent)
    if kind and kind != _FORM and not (kind.startswith("application/") and "json" in kind):
        response = jsonify({"__type": "UnsupportedMediaTypeException",
                            "message": f"A control request's body is JSON: send it as "
                                       f"application/json, not {kind}."})
        response.status_code = 415
        abort(response)
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
