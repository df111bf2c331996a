"""Web pages are not callers: what keeps a site open in the user's browser off the emulator.

A browser lets any page send a plain form POST to http://127.0.0.1:4566 (no preflight), and a
page whose host name is re-pointed at 127.0.0.1 (DNS rebinding) may even read the answers. The
emulator serves no user but the ones on this machine, so:

- a request whose Origin is a named site (not localhost, not an IP address) or malformed is
  refused, whatever its path: SDKs, the AWS CLI and Docker send no Origin; the dashboard's own
  requests carry the emulator's address;
- on the API's listener, so is a request of `Origin: null` (`opaque_origin`): a sandboxed frame's
  (a task's page on the front doors' port may make one), which would otherwise pass for this
  host's caller with no origin named;
- the control endpoints and the dashboard answer only requests whose Host is an address or a
  loopback name, which a rebound name is not.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# Names that reach this host without DNS; host.docker.internal is how Docker Desktop's
# containers and the emulator's own image name the host.
_LOCAL_NAMES = ("localhost", "host.docker.internal")


def foreign_page(environ: dict, control: bool) -> str | None:
    """Why this request looks like a web page of another site's, or None."""
    origin = environ.get("HTTP_ORIGIN")
    if origin and origin != "null":
        parts = _split(origin)
        if parts is None:
            return MALFORMED
        if not _local(parts.hostname or ""):
            return f"Requests from web pages of other sites ({origin}) are not served."
    if control and not _local(_host_name(environ.get("HTTP_HOST", ""))):
        return ("The emulator's control endpoints answer requests addressed to an IP address or "
                "localhost only.")
    return None


CROSS_ORIGIN = ("The emulator's control endpoints answer no web page of another origin "
                "(another port included): open the dashboard at this address.")
MALFORMED = "Requests with a malformed Origin header are not served."
OPAQUE = ("Requests from web pages of no origin (Origin: null: a sandboxed frame's, a local "
          "file's) are not served: SDKs, the AWS CLI and Docker send no Origin.")
FRONT_DOOR = ("A page served by a front door (a task's) may not call the emulator: its origin is "
              "the task's.")


def cross_origin(environ: dict) -> str | None:
    """Why this request to a control endpoint looks like another origin's page, or None."""
    site = environ.get("HTTP_SEC_FETCH_SITE")
    if site in ("same-site", "cross-site") and not (
            environ.get("HTTP_SEC_FETCH_MODE") == "navigate"
            and environ.get("REQUEST_METHOD") in ("GET", "HEAD")):
        return CROSS_ORIGIN
    origin = environ.get("HTTP_ORIGIN")
    if origin is None:
        return None
    parts = _split(origin) if origin != "null" else None
    if parts is None or _authority(parts.netloc) != _authority(environ.get("HTTP_HOST", "")):
        return CROSS_ORIGIN
    return None


def opaque_origin(environ: dict) -> str | None:
    """Why this request, of `Origin: null`, is refused on the API's listener, or None.

    No client of the APIs sends that; a page in a sandboxed frame does, on every request it
    makes (a form POST, a fetch without CORS), whatever site it is: refused on every path, the
    AWS APIs' included (an S3 PutObject of a task's page through the operator's browser)."""
    return OPAQUE if environ.get("HTTP_ORIGIN") == "null" else None


def from_front_door(environ: dict, front_door_port: int) -> str | None:
    """Why this request looks like one of a page the front doors served, or None."""
    origin = environ.get("HTTP_ORIGIN")
    if not origin or not front_door_port or origin == "null":
        return None
    try:
        port = urlsplit(origin).port
    except ValueError:  # (foreign_page refused it first)
        return MALFORMED
    return FRONT_DOOR if port == front_door_port else None


def _split(origin: str):
    """The Origin's parts; None when it is malformed (http://[x: urlsplit raises)."""
    try:
        parts = urlsplit(origin)
        parts.port  # (raises for a port out of range or not a number)
    except ValueError:
        return None
    return parts


def _authority(netloc: str) -> str:
    """host:port as compared: lower case, without http's default port."""
    netloc = netloc.lower()
    return netloc[:-3] if netloc.endswith(":80") else netloc


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _local(name: str) -> bool:
    name = name.lower().rstrip(".")
    if not name:
        return True  # HTTP/1.0 without a Host: no browser sends that
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
