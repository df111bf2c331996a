"""The headers a front door (emulator/front_door_routes.py) passes to a task and back to the
client, as an Application Load Balancer passes them.

To the task: the client's headers but the hop-by-hop ones and the control token, with the
client's Host (an ALB keeps it); X-Forwarded-For with the client's address appended to what the
client sent (the ALB's default `append` mode: the last entry is the one the front door saw),
X-Forwarded-Proto and X-Forwarded-Port set to the front door's. What a client says about other
proxies it came through (Forwarded, X-Forwarded-Host, X-Real-IP...) is dropped: no proxy of ours
set it, and a task that trusts it would take the client's word for its own address. A header
name that is not an HTTP token (a space in it, say) is refused with 400 (an ALB drops such a
field when asked to, `routing.http.drop_invalid_header_fields.enabled`): passed on, the task's
server might read it as another header than the one the client sent.

Back to the client: the task's headers but the hop-by-hop ones and names that are not tokens,
with `X-Content-Type-Options: nosniff`. Every front door shares one origin, so an answer the
task sent without a Content-Type is passed on without one (never Flask's default text/html), and
the browser is told not to guess that it is HTML and run it there.
"""

from __future__ import annotations

import re

from emulator.access import control_token

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host", "content-length"}
# What a client may claim about proxies before us; the front door says what it saw instead.
_CLAIMS = {"forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-port",
           "x-forwarded-proto", "x-forwarded-server", "x-forwarded-prefix", "x-real-ip",
           "x-client-ip", "true-client-ip"}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")  # RFC 9110's token: a field name
_DROPPED_TO_TASK = HOP_BY_HOP | _CLAIMS | {control_token.HEADER.lower()}


def bad_name(headers) -> str | None:
    """The first header name of the client's that is not a token, or None."""
    return next((name for name, _ in headers.items() if not _TOKEN.match(name)), None)


def to_task(request) -> dict:
    """The headers the task gets for the client's `request` (a Flask request)."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED_TO_TASK}
    if request.host:
        headers["Host"] = request.host
    sent = request.headers.get("X-Forwarded-For", "").strip()
    client = request.remote_addr or ""
    headers["X-Forwarded-For"] = f"{sent}, {client}" if sent else client
    headers["X-Forwarded-Proto"] = request.scheme or "http"
    headers["X-Forwarded-Port"] = str(request.environ.get("SERVER_PORT", ""))
    return headers


def to_client(answer_headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The task's answer headers the client gets (the length is the caller's)."""
    kept = [(k, v) for k, v in answer_headers
            if k.lower() not in HOP_BY_HOP and k.lower() != "x-content-type-options"
            and _TOKEN.match(k)]
    kept.append(("X-Content-Type-Options", "nosniff"))
    return kept
