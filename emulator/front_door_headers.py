"""The headers a front door (emulator/front_door_routes.py) passes to a task and back to the
client: an Application Load Balancer's, but where noted.

To the task: the client's headers but the hop-by-hop ones (those RFC 9110 names, and any the
client's Connection header lists) and the control token, with the client's Host (an ALB keeps
it; the front door's own name and port where the client sent none); X-Forwarded-For with the
client's address appended to what the client sent, every X-Forwarded-For of it joined (the
ALB's default `append` mode: the last entry is the one the front door saw), X-Forwarded-Proto
and X-Forwarded-Port set to the front door's.

Where the front doors deliberately differ from an ALB, which passes them on: what a client says
about other proxies it came through (Forwarded, X-Forwarded-Host, X-Real-IP...) is dropped: no
proxy of ours set it, and a task that trusts it would take the client's word for its own
address. A header name that is not an HTTP token (a space in it, say), or a value with CR, LF or
NUL in it, is refused with 400 (an ALB drops such a field when asked to,
`routing.http.drop_invalid_header_fields.enabled`, and passes it on otherwise): passed on, the
task's server might read it as another header than the one the client sent.

Back to the client: the task's headers but the hop-by-hop ones (and those its Connection header
lists) and names that are not tokens, a folded value (obs-fold) unfolded and one with CR, LF or
NUL left in it dropped, with `X-Content-Type-Options: nosniff`. Every front door shares one
origin, so an answer the task sent without a Content-Type is passed on without one (never
Flask's default text/html), and the browser is told not to guess that it is HTML and run it
there.
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
_NOT_IN_VALUE = re.compile(r"[\r\n\0]")  # what would end a field line or confuse its reader
_FOLD = re.compile(r"\r?\n[ \t]+")  # obs-fold (RFC 9112 §5.2): a value continued on a new line
_DROPPED_TO_TASK = HOP_BY_HOP | _CLAIMS | {control_token.HEADER.lower()}


def bad_field(headers) -> str | None:
    """Why the client's `headers` cannot be passed on (a name that is not a token, a value with
    CR, LF or NUL), or None."""
    for name, value in headers.items():
        if not _TOKEN.match(name):
            return f"The header name {name!r} is not a token."
        if _NOT_IN_VALUE.search(value):
            return f"The value of the header {name!r} holds CR, LF or NUL."
    return None


def to_task(request) -> dict:
    """The headers the task gets for the client's `request` (a Flask request)."""
    dropped = _DROPPED_TO_TASK | _listed(request.headers.getlist("Connection"))
    headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
    environ = request.environ
    headers["Host"] = request.host or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    sent = request.headers.get("X-Forwarded-For", "").strip()  # every one, joined (http_heads)
    client = request.remote_addr or ""
    headers["X-Forwarded-For"] = f"{sent}, {client}" if sent else client
    headers["X-Forwarded-Proto"] = request.scheme or "http"
    headers["X-Forwarded-Port"] = str(environ.get("SERVER_PORT", ""))
    return headers


def to_client(answer_headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The task's answer headers the client gets (the length is the caller's)."""
    dropped = HOP_BY_HOP | {"x-content-type-options"} | _listed(
        v for k, v in answer_headers if k.lower() == "connection")
    kept = []
    for name, value in answer_headers:
        value = _FOLD.sub(" ", value)  # http.client keeps a folded value's line breaks
        if name.lower() not in dropped and _TOKEN.match(name) \
                and not _NOT_IN_VALUE.search(value):
            kept.append((name, value))
    kept.append(("X-Content-Type-Options", "nosniff"))
    return kept


def _listed(connection_values) -> set[str]:
    """The header names a Connection header lists: hop-by-hop too (RFC 9110 §7.6.1)."""
    return {name.strip().lower() for value in connection_values for name in value.split(",")}
