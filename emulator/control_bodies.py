"""The JSON body of a control endpoint (/_emulator/...): sent as application/json (or another
JSON type), or no body at all where the endpoint takes its defaults.

A body sent any other way is refused, 415, in words that say how to send it (`curl -d` labels
its body a form, and Flask's get_json saw nothing in it: a fault asked for so was silently the
default one). Not read as JSON, even though curl users would like it: a web page can send a
body with no Content-Type, as a form or as text/plain with no preflight (`fetch` in no-cors
mode, a `<form>`), and an old browser that gives no Origin gets past access/browsers.py, so a
page could have killed tasks as it chose or made the emulator connect to a Docker Engine of its
choosing. application/json from a page needs a preflight, which the control endpoints never
allow. No body, and no Content-Type (`curl -XPOST`), is the endpoint's defaults, as before.
"""

from __future__ import annotations

import json

from flask import abort, jsonify, request


def json_object(*, optional: bool) -> dict:
    """The request's body as a JSON object; {} for an empty body when it is `optional`.
    ValueError, whose message says what is wrong, for the caller to answer as a 400; a body
    not sent as JSON is answered here, 415."""
    raw = request.get_data(cache=True)
    kind = request.mimetype  # ("" when absent)
    is_json = kind.startswith("application/") and "json" in kind
    if not is_json and (kind or raw.strip()):
        response = jsonify({"__type": "UnsupportedMediaTypeException",
                            "message": "A control request's body is JSON: send it as "
                                       f"application/json, not {kind or 'without a Content-Type'} "
                                       "(curl: --json '{...}', or -H 'Content-Type: "
                                       "application/json' with -d)."})
        response.status_code = 415
        abort(response)
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
