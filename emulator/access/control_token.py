"""The control token: what the control endpoints ask of a caller on this host once containers
can reach the operator's listener as this host.

With Docker Desktop (the gateway of the emulator's network is not this host's) containers call
the emulator through host.docker.internal, and their connections arrive on the loopback
listener from 127.0.0.1: by address they are the operator. There, a secret they do not have is
what tells them apart. Each run makes one (`secrets`), and from the moment containers reach
the loopback listener (server.py's fallback to host.docker.internal), or from the start with
ECS_EMULATOR_CONTROL_TOKEN=on, the control paths answer 403 without it:

- the command line reads it from a file only this user may read (`token_file(port)`, 0600 in a
  0700 directory), written at start and removed on stop, and sends it as a header;
- the dashboard gets it from the link printed at start, `/_emulator/ui/#token=...` (or, when
  the token is turned on later, from the link logged then; none before it is asked for): in the
  fragment, which no request carries, so no server sees it, in no log or Referer. The page
  keeps it in its origin's localStorage, takes it out of the address bar and sends it as the
  header with its own calls (emulator/ui/static/api.js). Never a cookie: a browser sends
  127.0.0.1's cookies to every port of it, a task's published port too (where the task's own
  server reads them), and SameSite takes those ports for one site; storage is kept per origin
  (scheme, host and port), which no page of another port reads;
- the pytest plugin serves in its own process and resets in-process; a test that calls a control
  path over HTTP sends `handle.control_headers`.

With several Docker Engines (engine/engines.py) every one counts, those added while the emulator
runs too: an engine on this machine whose containers live in a VM that forwards to this host's
loopback (Docker Desktop, OrbStack, Rancher Desktop, Colima/Lima: told by its `docker info`,
`reaches_loopback`) turns the token on when it is first seen (at start, when it first answers,
or when `engines add` adds it, before any task of it runs), as does its network's gateway not
being this host's (server.py). Turned on while the emulator runs, the command line goes on
working (the file was made at start), and the dashboard's link with the token is logged then
(the one printed at start had none); a caller that sent no token is refused from then on. Once
on, it stays on for the run.

Left open without it: GET /_emulator/health (health checks), the dashboard's page and static
files (no state in them), ECR's layer downloads (GetDownloadUrlForLayer's URLs carry their own
signature), and the old addresses of the front doors of Express services and API gateways
(a 308 to their own port: emulator/front_doors.py). The AWS APIs never ask for it.

A page of another origin (a task's, on the front doors' port or its own) has no token to send,
and access/browsers.py refuses it the control endpoints anyway.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path

from emulator.private_files import write_private

log = logging.getLogger(__name__)

HEADER = "X-Ecs-Emulator-Token"
_ENVIRON_HEADER = "HTTP_X_ECS_EMULATOR_TOKEN"
UI = "/_emulator/ui/"
# Control paths served without the token (see above).
_OPEN = ("/_emulator/health", "/_emulator/express/", "/_emulator/gateways/",
         "/_emulator/ui/static/", "/_emulator/ecr/layers")
_OPEN_EXACT = ("/_emulator/ui", "/_emulator/ui/")
REFUSED = (f"The emulator's control endpoints need its control token here (containers reach this "
           f"address too): the command line sends it, the dashboard gets it from the link the "
           f"emulator printed at start; send it as the {HEADER} header.")


def is_open(path: str) -> bool:
    """Whether the control path `path` (as routed) is one served to anyone on this host, the
    token or not: what it answers is no secret (the health, the dashboard's static files, a
    signed layer URL, the front doors' old addresses' 308)."""
    return path.startswith(_OPEN)


# `docker info` of engines whose containers reach this host's loopback through their VM's
# forwarding (host.docker.internal, host.lima.internal...), by OperatingSystem and by Name.
_LOOPBACK_SYSTEMS = ("docker desktop", "orbstack", "rancher desktop")
_LOOPBACK_NAMES = ("docker-desktop", "orbstack", "rancher-desktop", "colima", "lima-")


def reaches_loopback(on_this_machine: bool, info: dict) -> bool:
    """Whether the containers of an engine (`docker info`) arrive on this host's loopback as
    this host: one on this machine that runs them in such a VM. An engine on another machine's
    containers reach that machine's loopback, not ours."""
    system = str(info.get("OperatingSystem") or "").lower()
    name = str(info.get("Name") or "").lower()
    return on_this_machine and (any(s in system for s in _LOOPBACK_SYSTEMS)
                                or name.startswith(_LOOPBACK_NAMES))


def token_directory() -> Path:
    """Where the tokens live: a directory of this user's, one file per port."""
    return Path.home() / ".ecs-emulator" / "control"


def token_file(port: int) -> Path:
    return token_directory() / f"{port}.token"


def read_token(port: int) -> str | None:
    """The token of the emulator serving on `port` of this host, if it wrote one."""
    try:
        return token_file(port).read_text().strip() or None
    except OSError:
        return None


class ControlToken:
    def __init__(self, mode: str = "auto"):
        self.value = secrets.token_urlsafe(32)
        self.mode = mode  # "auto", "on" or "off" (ECS_EMULATOR_CONTROL_TOKEN)
        self.enforced = mode == "on"
        self._file: Path | None = None
        self._base: str | None = None  # the emulator's address, once the link was made

    def containers_reach_loopback(self) -> None:
        """Containers call the operator's listener as this host from now on (Docker Desktop)."""
        if self.mode == "auto" and not self.enforced:
            self.enforced = True
            if self._base is not None:  # the start-up line's link carried no token
                log.warning("containers reach this listener as this host: the control endpoints "
                            "ask for the control token from now on; the dashboard: %s",
                            self.dashboard_link(self._base))

    def engine_seen(self, on_this_machine: bool, info: dict) -> None:
        """An engine's `docker info`, at start or as it is added: one whose containers reach
        the loopback listener turns the token on (auto)."""
        if reaches_loopback(on_this_machine, info):
            self.containers_reach_loopback()

    # -- the file the command line reads ------------------------------------------------------

    def write(self, port: int) -> None:
        if self.mode == "off":
            return
        path = token_file(port)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(path.parent, 0o700)
            write_private(path, self.value)  # a reader never sees half a token
        except OSError:  # a read-only home: the command line then cannot send it (403)
            return
        self._file = path

    def remove(self) -> None:
        if self._file is not None:
            try:
                if self._file.read_text().strip() == self.value:  # not a later run's
                    self._file.unlink()
            except OSError:
                pass
            self._file = None

    # -- requests -----------------------------------------------------------------------------

    def refuses(self, environ: dict, path: str) -> bool:
        """Whether this request to the control path `path` (as routed) lacks the token it
        needs."""
        if not self.enforced or path in _OPEN_EXACT or is_open(path):
            return False
        return not self._presented(environ)

    def _presented(self, environ: dict) -> bool:
        given = environ.get(_ENVIRON_HEADER)
        return given is not None and hmac.compare_digest(given.encode(), self.value.encode())

    def dashboard_link(self, base: str) -> str:
        """The dashboard's address (`base`: the emulator's), with the token in its fragment
        (see above) once the token is asked for: not before, so that a start-up line kept in a
        CI log, journald or `docker logs` holds no secret where none is needed. Turned on
        later, the link with the token is logged then."""
        self._base = base
        return f"{base}{UI}#token={self.value}" if self.enforced else f"{base}{UI}"
