"""The door in front of the router: what each listener serves to whom.

The loopback listener (the operator's: `--host`, 127.0.0.1 by default) serves everything to this
host. The listeners containers reach (the Docker network's gateway, 169.254.170.2:80) serve only
what the ECS agent serves a task, plus the AWS APIs under the task's identity:

- connections from strangers (addresses outside the emulator's Docker network and not this
  host's; on Docker's default bridge, every address but a live task's container's that the
  anti-spoofing guard holds for it, see access/callers.py) are closed before a byte is read (_Admitting): the host answers for the gateway
  address and for 169.254.170.2 on any interface, so a network namespace routed here would
  otherwise reach them;
- at most CONTAINER_IDLE_LIMIT connections wait for a request, PEER_IDLE_LIMIT of them from one
  address: a task that opens hundreds costs its own oldest ones, not the others' service;
- the control endpoints (/_emulator/..., /moto-api/...) are refused to containers everywhere,
  and served on the operator's listener only; so is ECS Exec's data channel
  (/v1/data-channel/<session>): its session token is all that guards a shell in a task, and
  sessions are opened by the session-manager-plugin on this host, never by a task (a task that
  learnt another session's id and token would otherwise type into that shell);
- where containers pass for this host (Docker Desktop), the control endpoints also ask for the
  run's control token (access/control_token.py);
- metadata and credentials are a task's own only (metadata/routes.py asks `caller_of`);
- AWS API calls go through, marked as the task's (host_access.py and iam.py decide further).

Every listener here also refuses, on every path, requests addressed to a name not the
emulator's (DNS rebinding) and requests of web pages of another origin (access/browsers.py; the
AWS APIs answer the origins the operator allowed, with CORS: access/cors.py), and gives what it
serves a sandbox policy unless the answer brings its own (the dashboard's): content a task stored
is no page on the API's origin. The front doors of Express services and gateway routes have their
own listener (emulator/front_doors.py).

An operator who binds `--host 0.0.0.0` chose to serve the whole API to whoever reaches it; the
containers on the emulator's network are still tasks there.
"""

from __future__ import annotations

import json
import logging
import posixpath
import queue
import re
import threading

from emulator import http_connections, http_server
from emulator.access import cors
from emulator.access.browsers import BrowserRules
from emulator.access.callers import Caller, CallerKind, Callers
from emulator.access.control_token import REFUSED as TOKEN_REFUSED
from emulator.access.control_token import ControlToken, is_open
from emulator.engine import task_images

log = logging.getLogger(__name__)

CALLER_KEY = "ecs_emulator.caller"  # the environ key the gate leaves the caller under
CONTROL_PREFIXES = ("/_emulator/", "/_emulator", "/moto-api/", "/moto-api")
# Readiness checks read it by whatever name the emulator has there (a Compose service's).
HEALTH = "/_emulator/health"
EXEC_CHANNEL_PREFIX = "/v1/data-channel/"  # emulator/exec/routes.py
CONTROL_REFUSED = ("The emulator's control endpoints are served to this host only, on the "
                   "address the emulator was started on.")
CHANNEL_REFUSED = ("ECS Exec's data channel is served to this host only, on the address the "
                   "emulator was started on.")
# Connections a listener containers reach keeps waiting for a request, and of them from one
# address (a task's SDK keeps ten at most by default); the longest idle make room.
CONTAINER_IDLE_LIMIT = 256
PEER_IDLE_LIMIT = 32
# Threads of a listener containers reach that serve requests, besides the task_images.AT_ONCE
# threads kept for the requests that wait for an image check (up to its 5 s each): however many
# calls a task makes naming silent registries, the others' metadata and credentials requests
# still have these.
CONTAINER_THREADS = 4
# New connections waiting while Docker is asked whether their peer is on the emulator's network.
UNDECIDED_LIMIT = 128


def caller_of(environ: dict) -> Caller | None:
    """Who sent this request (None for a request that did not pass a gate: unit tests)."""
    return environ.get(CALLER_KEY)


def is_control(path: str) -> bool:
    if "_emulator" not in path and "moto-api" not in path:
        return False  # the common case, without the normalizing below
    path = _as_routed(path)
    return any(path == p or path.startswith(p) for p in CONTROL_PREFIXES)


def is_exec_channel(path: str) -> bool:
    return "data-channel" in path and _as_routed(path).startswith(EXEC_CHANNEL_PREFIX)


def _as_routed(path: str) -> str:
    """As routing would see it: "//_emulator/reset" and "/x/../_emulator/reset" are control too."""
    return posixpath.normpath(re.sub("/+", "/", "/" + path))


class Gate:
    """WSGI: identify the caller, refuse what this listener does not serve them, pass the rest."""

    def __init__(self, app, callers: Callers, container_facing: bool,
                 control_token: ControlToken | None = None, front_doors=None,
                 browsers: BrowserRules | None = None, local_users=None):
        self._app = app
        # access/local_users.LocalUsers: which of this host's users its listener serves (None:
        # all); told per connection as it arrives, by the listener's connection manager.
        self.local_users = local_users
        self._callers = callers
        self.container_facing = container_facing
        self._token = control_token
        self._front_doors = front_doors  # ecs/front_door_address.FrontDoorAddress: its port
        self._browsers = browsers if browsers is not None else BrowserRules()

    def __call__(self, environ: dict, start_response):
        caller = self._callers.identify(environ.get("REMOTE_ADDR") or "",
                                        environ.get(http_server.THIS_HOST))
        environ[CALLER_KEY] = caller
        if self.container_facing and caller.kind is CallerKind.STRANGER:
            # _Admitting closes these before a request is read; this is the second lock.
            return refuse(start_response, "This address serves the emulator's containers only.")
        path = environ.get("PATH_INFO", "")
        control = is_control(path)
        if self.container_facing or caller.from_container:
            if control:
                return refuse(start_response, CONTROL_REFUSED)
            if is_exec_channel(path):
                return refuse(start_response, CHANNEL_REFUSED)
        routed = _as_routed(path) if control else path
        # The open control paths (the health, the front doors' old addresses...) answer this
        # host's other origins' pages as they answer anyone.
        open_path = control and is_open(routed)
        refusal = self._browsers.refusal(
            environ, control, open_path,
            self._front_doors.port if self._front_doors is not None else 0,
            health=routed == HEALTH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"))
        if refusal:
            return refuse(start_response, refusal)
        if control and self._token is not None and self._token.refuses(environ, routed):
            return refuse(start_response, TOKEN_REFUSED)
        start = _sandboxed(start_response)
        if control or "HTTP_ORIGIN" not in environ:
            # CORS is asked only with an Origin (SDKs send none): nothing to govern without one
            return self._app(environ, start)
        allowed = self._browsers.allowed_origin(environ)
        if allowed is not None and cors.is_preflight(environ):
            return cors.preflight(environ, start_response, allowed)
        return self._app(environ, cors.governing(start, allowed))

    def admits(self, address: str, wait: bool = True,
               this_host: bool | None = None) -> bool | None:
        """Whether a connection from `address` is served at all on this listener (None: not
        known without waiting for Docker, see Callers.admits)."""
        if not self.container_facing:
            return True
        return self._callers.admits(address, wait, this_host)


def refuse(start_response, message: str):
    body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
    start_response("403 Forbidden", [("Content-Type", "application/json"),
                                     ("Content-Length", str(len(body))),
                                     ("X-Amzn-ErrorType", "AccessDeniedException"),
                                     ("Connection", "close")])
    return [body]


SANDBOX = ("Content-Security-Policy", "sandbox")
_CSP_LENGTH = len(SANDBOX[0])


def _sandboxed(start_response):
    """What we serve that a browser could render as a page (an S3 object or a registry manifest
    a task stored as text/html, moto's answers) runs no script and has no origin of ours: a
    task's page that sent the browser there would otherwise be on the dashboard's origin. The
    dashboard's own page brings its own policy (emulator/ui/routes.py)."""

    def start(status, headers, exc_info=None):
        for name, _ in headers:  # (a loop, not any() over a generator: on every response)
            if len(name) == _CSP_LENGTH and name.lower() == "content-security-policy":
                break
        else:
            headers = [*headers, SANDBOX]
        if exc_info is None:  # (a WSGI server's start_response may take two arguments only)
            return start_response(status, headers)
        return start_response(status, headers, exc_info)

    return start


class _Admitting(http_connections.ConnectionManager):
    """Connections of a listener containers reach: the peer is admitted (gate.admits) before a
    byte of its is read, so a stranger learns nothing, not even a 400, 408 or 431. Telling a
    stranger needs Docker's view of the network; while that is fresh (callers.REFRESH_S) the
    selector thread decides at once, otherwise one thread of this listener asks Docker while
    the selector goes on serving others."""

    idle_limit = CONTAINER_IDLE_LIMIT
    per_peer_limit = PEER_IDLE_LIMIT

    def __init__(self, server):
        super().__init__(server)
        self._undecided: queue.Queue = queue.Queue(maxsize=UNDECIDED_LIMIT)
        self._decider: threading.Thread | None = None

    def _arrived(self, conn) -> None:
        # A process of this host arrives from one of its addresses, which admits() lets in as
        # HOST: another local user is turned away here as on the operator's listener.
        users = self.server.gate.local_users
        if users is not None and users.turned_away(conn):
            return
        address = conn.remote_addr or ""
        admitted = self.server.gate.admits(address, wait=False,
                                           this_host=getattr(conn, "this_host", None))
        if admitted is None:
            self._decide_later(conn)
        elif admitted:
            super()._arrived(conn)
        else:
            conn.close()  # unread

    def _decide_later(self, conn) -> None:
        if self._decider is None:
            self._decider = threading.Thread(target=self._decide, daemon=True,
                                             name="ecs-emulator-admission")
            self._decider.start()
        try:
            self._undecided.put_nowait(conn)
        except queue.Full:  # a flood while Docker is slow to answer: turned away unread
            conn.close()

    def _decide(self) -> None:
        while (conn := self._undecided.get()) is not None:
            try:
                if not self._stop_requested and self.server.gate.admits(
                        conn.remote_addr or "", this_host=getattr(conn, "this_host", None)):
                    # As a worker hands a connection back (put()); the idle limits take it into
                    # account at the selector thread's next tick.
                    self._route(conn, registered=False)
                    continue
            except Exception:  # the listener stopping under us: this one connection is lost
                log.exception("admitting a connection from %s failed", conn.remote_addr)
            conn.close()

    def close(self) -> None:
        while True:
            try:
                conn = self._undecided.get_nowait()
            except queue.Empty:
                break
            if conn is not None:
                conn.close()
        if self._decider is not None:
            try:
                self._undecided.put_nowait(None)  # the decider's end
            except queue.Full:  # filled again meanwhile: it ends with the process (a daemon)
                pass
        super().close()


class GuardedServer(http_server.Server):
    """The emulator's HTTP server for a listener containers reach: `gate.admits` decides, per
    connection, before anything is read; fewer connections wait, and fewer from one address."""

    ConnectionManagerClass = _Admitting

    def __init__(self, bind_addr, gate: Gate, **kwargs):
        super().__init__(bind_addr, gate, **kwargs)
        self.gate = gate


def listen_for_containers(bind_addr, gate: Gate) -> GuardedServer:
    """A listener for containers, bound (prepare()d) but not yet serving."""
    server = GuardedServer(bind_addr, gate, numthreads=CONTAINER_THREADS + task_images.AT_ONCE,
                           server_name="ecs-emulator", timeout=65)
    server.prepare()
    return server
