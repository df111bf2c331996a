"""CORS for the pages of the origins the operator allowed (ECS_EMULATOR_ALLOWED_ORIGINS): a web
app of theirs (http://localhost:3000, say) that calls the AWS APIs with the SDK for JavaScript.

Only those origins get CORS answers, on the AWS APIs' paths (access/gate.py asks); every other
origin's request is refused before it gets here (access/browsers.py). moto's own CORS, which
granted every origin, is off (aws/moto_bridge.py), and what a bucket's CORS rules add to an
answer is taken off it: those rules do not decide which pages read the answers. No credentials are granted: the SDKs sign
with headers, not cookies.
"""

from __future__ import annotations

import re

METHODS = "GET, HEAD, POST, PUT, DELETE, PATCH"
# Every header of the answer readable (the SDKs read x-amz-*, ETag, ...): "*" means that for
# requests without credentials, which is all we answer.
EXPOSED = "*"
MAX_AGE_S = "600"
_HEADER_LIST = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*")


def is_preflight(environ: dict) -> bool:
    return (environ.get("REQUEST_METHOD") == "OPTIONS"
            and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ)


def preflight(environ: dict, start_response, origin: str) -> list[bytes]:
    """The answer to an allowed origin's preflight: the method and the headers it asks for."""
    headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
               ("Access-Control-Allow-Methods", METHODS), ("Access-Control-Max-Age", MAX_AGE_S)]
    asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").strip()
    if asked and _HEADER_LIST.fullmatch(asked):
        headers.append(("Access-Control-Allow-Headers", asked))
    if environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true":
        # Chrome's Private Network Access: a public site's page the operator allowed.
        headers.append(("Access-Control-Allow-Private-Network", "true"))
    start_response("204 No Content", headers)
    return []


def governing(start_response, origin: str | None):
    """start_response that puts our CORS on an AWS API's answer: none of the app's own (an S3
    bucket's CORS rules, which moto applies, may name any origin: a task's page's too), and,
    for `origin` (an allowed origin's request), the headers that let its page read it."""

    def start(status, headers, exc_info=None):
        headers = [(name, value) for name, value in headers
                   if not name[:15].lower() == "access-control-"]
        if origin is not None:
            headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
                        ("Access-Control-Expose-Headers", EXPOSED)]
        if exc_info is None:
            return start_response(status, headers)
        return start_response(status, headers, exc_info)

    return start
