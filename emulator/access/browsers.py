"""Web pages are not callers: what keeps a page open in the user's browser off the emulator.

A browser lets any page send a form or a fetch without CORS to http://127.0.0.1:4566 (a query
action by GET or by a form POST needs no preflight), and a task's own page (on its published
port, 127.0.0.1:32768) is on the emulator's host: connecting from 127.0.0.1, it would call the
APIs as this host's caller, out of reach of the rules for tasks. A page whose host name is
re-pointed at 127.0.0.1 (DNS rebinding) is on an origin of its own, which a browser lets read
the answers. SDKs, the AWS CLI and Docker send no Origin, no Sec-Fetch-Site and the address they
were given as Host; so, on every path of the API's port:

- a request addressed (Host) to a name other than an IP address, `localhost` or a name under
  it, host.docker.internal and its kin, the registry addresses the Docker Engines are told to
  pull from, or a name of ECS_EMULATOR_ALLOWED_HOSTS, is refused: a rebound name is none;
- a request whose Origin is not its own (http:// and the address it was sent to) is refused, unless that
  origin is in ECS_EMULATOR_ALLOWED_ORIGINS (the AWS APIs only, never the control endpoints);
  `Origin: null` (a sandboxed frame's, a local file's) and a malformed Origin everywhere;
- a request a browser marks `Sec-Fetch-Site: same-site` or `cross-site` is refused likewise:
  a page's <img>, <script> or link carries no Origin. Following a link to a control path (the
  dashboard) is served: a navigation reads nothing for the page that had the link;
- the open control paths (the health, the front doors' old addresses: nothing a page could
  abuse) answer pages of this host's other origins (its names and its own addresses; a public
  site's page at an IP address is none), as they answer anyone; a GET of the health answers
  any Host name (readiness checks call it by a Compose service's);
- an allowed origin's GET or HEAD without Origin (its <img> or link of a presigned URL) is
  told by its Referer; a page that sends none is refused it.

The dashboard's own requests are same-origin. The front doors' listener asks the same of Host
and refuses named sites' pages (emulator/front_doors.py); the task behind it judges the rest.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import urlsplit

from emulator.access.host_addresses import HOST_NAMES, reaches_this_host
from emulator.registry.ecr_hosts import ECR_REGISTRY

# Names that reach this host without DNS: Docker Desktop's (and OrbStack's, Lima's, Podman's)
# containers name the host so (host_addresses.HOST_NAMES), tasks are given host.docker.internal
# (server.py), and localhost.
LOCAL_NAMES = HOST_NAMES | {"localhost"}
# ECR's registry names (emulator/registry/names.py reads the account and region from them), for
# a client that points one at this host: DNS of Amazon's, which no page can re-point here.
_ECR_REGISTRY = re.compile(ECR_REGISTRY)
HOSTS_SETTING = "ECS_EMULATOR_ALLOWED_HOSTS"
ORIGINS_SETTING = "ECS_EMULATOR_ALLOWED_ORIGINS"

MALFORMED = "Requests with a malformed Origin header are not served."
OPAQUE = ("Requests from web pages of no origin (Origin: null: a sandboxed frame's, a local "
          "file's) are not served: SDKs, the AWS CLI and Docker send no Origin.")
FRONT_DOOR = ("A page served by a front door (a task's) may not call the emulator: its origin is "
              "the task's.")
CROSS_ORIGIN = ("The emulator's control endpoints answer no web page of another origin "
                "(another port included): open the dashboard at this address.")


def other_origin(origin: str) -> str:
    return (f"Requests from web pages of another origin ({origin}) are not served: SDKs, the "
            f"AWS CLI and Docker send no Origin. {ORIGINS_SETTING} names the origins whose "
            "pages may call the AWS APIs.")


OTHER_SITE = ("Requests a browser marks as sent by a page of another origin (Sec-Fetch-Site) are "
              "not served: SDKs, the AWS CLI and Docker send no such header.")


def unknown_host_message(name: str) -> str:
    return (f"Requests addressed to {name!r} are not served (a name re-pointed at this host is "
            f"not the emulator's): use an IP address or localhost, or name it in {HOSTS_SETTING}.")


class BrowserRules:
    """The host names and page origins the emulator serves (its settings, and the registry
    addresses the engines are told, which `registries` gives as they are now)."""

    def __init__(self, allowed_hosts=(), allowed_origins=(), registries=lambda: ()):
        self.hosts = frozenset(name.lower() for name in allowed_hosts)
        self.origins = frozenset(normal_origin(origin) for origin in allowed_origins)
        self._registries = registries

    def refusal(self, environ: dict, control: bool, open_path: bool = False,
                front_door_port: int = 0, health: bool = False) -> str | None:
        """Why this request to the API's port looks like a web page's, or None. `health`: a
        GET or HEAD of the health, which any name may read (Compose's and CI's readiness
        checks call it by a service's name): a rebound page learns nothing there."""
        refused = None if health else self.unknown_host(environ)
        if refused:
            return refused
        origin = environ.get("HTTP_ORIGIN")
        if origin == "null":
            return OPAQUE
        parts = _split(origin) if origin is not None else None
        if origin is not None and parts is None:
            return MALFORMED
        if open_path:
            # Any page of this host may reach them; a named site's page (or one rebound) not.
            return None if parts is None or self._local_page(origin, parts) else (
                other_origin(origin))
        allowed = False  # a page of another origin the operator allowed the AWS APIs
        if parts is not None and not _same_origin(parts, environ.get("HTTP_HOST", "")):
            if control:
                return CROSS_ORIGIN
            if front_door_port and parts.port == front_door_port:
                return FRONT_DOOR  # (a task's page, even where its origin was allowed)
            if normal_origin(origin) not in self.origins:
                return other_origin(origin)
            allowed = True
        site = environ.get("HTTP_SEC_FETCH_SITE")
        if site in ("same-site", "cross-site") and not allowed:
            if control and environ.get("HTTP_SEC_FETCH_MODE") == "navigate" and environ.get(
                    "REQUEST_METHOD") in ("GET", "HEAD"):
                return None  # following a link to the dashboard
            if not control and origin is None and self._referred_by_allowed(
                    environ, front_door_port):
                return None  # an allowed app's <img src> or link (of a presigned URL, say)
            return CROSS_ORIGIN if control else OTHER_SITE
        return None

    def allowed_origin(self, environ: dict) -> str | None:
        """The request's Origin when the operator allowed its pages the AWS APIs (CORS)."""
        origin = environ.get("HTTP_ORIGIN")
        if not origin or not self.origins or _split(origin) is None:
            return None
        return origin if normal_origin(origin) in self.origins else None

    def unknown_host(self, environ: dict) -> str | None:
        """Why the name this request was addressed to is none of ours, or None."""
        name = host_name(environ.get("HTTP_HOST", ""))
        if _local(name) or name in self.hosts or any(
                name.endswith(allowed[1:]) for allowed in self.hosts if allowed[:2] == "*."):
            return None
        if any(host_name(address) == name for address in self._registries() if address):
            return None  # the Docker Engines pull our images by that name
        return unknown_host_message(name)

    def foreign_page(self, environ: dict) -> str | None:
        """The front doors' rules: a name of ours; no named site's page (a task's page may
        send what it likes to its own front door: Origin null or another port's is its own
        to judge)."""
        refused = self.unknown_host(environ)
        origin = environ.get("HTTP_ORIGIN")
        if refused or not origin or origin == "null":
            return refused
        parts = _split(origin)
        if parts is None:
            return MALFORMED
        return None if self._local_page(origin, parts) else other_origin(origin)

    def _referred_by_allowed(self, environ: dict, front_door_port: int) -> bool:
        """Whether a GET or HEAD without Origin came from a page of an allowed origin, as its
        Referer says. A page may send none (Referrer-Policy: no-referrer): refused then."""
        referer = environ.get("HTTP_REFERER")
        if not self.origins or not referer or environ.get("REQUEST_METHOD") not in (
                "GET", "HEAD"):
            return False
        parts = _split(referer)
        return parts is not None and parts.port != front_door_port and normal_origin(
            f"{parts.scheme}://{parts.netloc}") in self.origins

    def _local_page(self, origin: str, parts) -> bool:
        return _this_hosts_page(parts.hostname or "") or normal_origin(origin) in self.origins


def normal_origin(origin: str) -> str:
    """scheme://host[:port] as compared: lower case, without the scheme's default port."""
    parts = urlsplit(origin.strip().lower())
    return f"{parts.scheme}://{_authority(parts.netloc, parts.scheme)}"


def _same_origin(parts, host: str) -> bool:
    """Whether the Origin is the address the request was sent to: the emulator serves http, so
    a page of https://127.0.0.1 is another origin than http://127.0.0.1(:80)."""
    return parts.scheme.lower() == "http" and (
        _authority(parts.netloc, "http") == _authority(host, "http"))


def host_name(host: str) -> str:
    """The name of a Host header (or host:port), lower case, without a port or a final dot."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name = host.rpartition(":")[0] if host.count(":") == 1 else host
    return name.rstrip(".")


def _split(origin: str):
    """The Origin's parts; None when it is malformed (http://[x: urlsplit raises)."""
    try:
        parts = urlsplit(origin)
        parts.port  # (raises for a port out of range or not a number)
    except ValueError:
        return None
    return parts if parts.scheme and parts.netloc else None


def _authority(netloc: str, scheme: str) -> str:
    """host:port as compared: lower case, without the scheme's default port (80 for http, 443
    for https: https://h:80 is not https://h)."""
    netloc = netloc.lower()
    default = {"http": ":80", "https": ":443"}.get(scheme.lower())
    return netloc[:-len(default)] if default and netloc.endswith(default) else netloc


def _this_hosts_page(name: str) -> bool:
    """Whether a page's host is this host: a local name, or an address of its own (loopback,
    its interfaces'); a public site's page at http://203.0.113.5 is not."""
    name = name.rstrip(".").lower()
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return reaches_this_host(name)


@functools.lru_cache(maxsize=256)  # asked of every request: the same few names, parsed once
def _local(name: str) -> bool:
    name = name.rstrip(".")
    if not name:
        return True  # HTTP/1.0 without a Host: no browser sends that
    if name in LOCAL_NAMES or name.endswith(".localhost") or _ECR_REGISTRY.fullmatch(name):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
