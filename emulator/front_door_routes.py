"""The front door of Express Mode services and gateway routes, from the laptop: what their
Application Load Balancers do on AWS, over HTTP (Flask blueprints).

On the front doors' own listener (emulator/front_doors.py, `blueprint`):

    ANY /express/<cluster>/<service>/<path>             (an Express service)
    ANY /gateways/<gateway>/<cluster>/<service>/<path>  (a gateway route)

forwards the request (method, path below the service, query, headers much as an ALB passes
them, where not said in emulator/front_door_headers.py, body) to the service's serving tasks in
turn, at the TCP host port Docker published for the container port of a running container (the
Express service's, or the one the route's port name names, a TCP mapping; never a UDP binding's
port, which another program may hold over TCP, nor one of the emulator's own, nor the port of a
container that stopped, which Docker freed), at the binding's address where this process
reaches the engine's published ports (emulator/engine/published_ports.py), and answers
what the task answered, its body streamed as it comes; 503 when no task serves, as an ALB with
no healthy target does; 502 when the task cannot be reached or answers something other than
HTTP. Each forwarded request holds one of the front doors' threads until its answer is sent (a
task's endless body, read by a client, forever; unread, up to the listener's 65 s send timeout),
so one front door (one service: its tasks, its clients) forwards at most its share of them at
once and answers 503 at once past that: STREAMS_PER_DOOR alone, less as more front doors
forward (_Streams: a share is always left for a door yet to come, and SPARE_THREADS never
forward). So two or three services whose tasks hold every stream they get still leave the next
front door threads, and every other client (a 404, a 503, a redirect) is answered at once. An answer the task breaks off reaches the
client broken off: short of its Content-Length, or without a chunked body's last chunk, and the
connection closed, never as a complete answer. The addresses are in
DescribeExpressGatewayService's ingressPaths (emulator/ecs/express_services.py) and in
DescribeGatewayRoute's serviceUrl (emulator/ecs/gateways.py).

A task's page is the task's own code: served on the API's port it would share the dashboard's
origin and could call the control endpoints from the operator's browser, so it is served on a
port of its own. The addresses the front doors had on the API's port (`moved`, below)
answer 308 to the same path on the front doors' port.
"""

from __future__ import annotations

import errno
import http.client
import itertools
import threading
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request

from emulator import front_door_headers, front_doors
from emulator.ecs import gateways
from emulator.ecs.task_definition_ports import tcp_mapping
from emulator.engine import published_ports
from emulator.runtime.status import ContainerStatus

blueprint = Blueprint("front_door", __name__)
moved = Blueprint("front_door_moved", __name__)  # on the API's listener
EXPRESS = "/express/<cluster>/<service>/"
GATEWAY = "/gateways/<gateway>/<cluster>/<service>/"
_OLD = "/_emulator"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# What a task may answer instead of HTTP (a status line of garbage, a header line or a chunk size
# without end, a body that breaks off), as http.client reports it.
_BROKEN = (OSError, http.client.HTTPException)
_turns = itertools.count()
TIMEOUT_S = 60  # an ALB's default idle timeout
CHUNK = 64 * 1024
# Requests one front door forwards at once when it is the only one forwarding: more than a
# browser opens to one origin (6), so a page's assets load side by side.
STREAMS_PER_DOOR = 8
# The front doors' threads that never hold a stream: they answer the other requests (a 404, a
# door's 503, a redirect) at once however many streams are open.
SPARE_THREADS = 2


class _Streams:
    """How many requests each front door is forwarding now, and whether one more may.

    A stream holds a thread for as long as its task and its client go on, and a task's code
    decides that: a front door whose tasks never end their answers keeps every stream it is
    given. So a door gets a share of the threads that counts one more door than are forwarding
    now, and keeps what it took while its share shrinks as others come. Of the doors forwarding,
    the last to start took its share with all the others there, the one before it with all but
    the last..., so k doors hold at most share(1) + ... + share(k): 8, 7 and 5 of 22 threads for
    three, whichever way they use theirs, and a fourth still gets 2."""

    def __init__(self, threads: int = front_doors.THREADS):
        self._lock = threading.Lock()
        self._open: dict = {}
        self._total = 0
        self.capacity = threads - SPARE_THREADS

    def share(self, doors: int) -> int:
        """The streams one of `doors` forwarding doors may hold (one left for a door to come)."""
        return max(1, min(STREAMS_PER_DOOR, self.capacity // (doors + 1)))

    def open(self, door) -> int:
        return self._open.get(door, 0)

    def take(self, door):
        """A release function for a new stream of `door`, or None when it holds its share or
        the streams hold every thread but the spare ones."""
        with self._lock:
            held = self._open.get(door, 0)
            doors = len(self._open) + (0 if held else 1)
            if held >= self.share(doors) or self._total >= self.capacity:
                return None
            self._open[door] = held + 1
            self._total += 1
        released = []

        def release():
            with self._lock:
                if released:  # once, whichever of the closing paths comes first
                    return
                released.append(True)
                self._total -= 1
                self._open[door] -= 1
                if not self._open[door]:
                    del self._open[door]
        return release


streams = _Streams()


@blueprint.route(EXPRESS, defaults={"path": ""}, methods=METHODS)
@blueprint.route(EXPRESS + "<path:path>", methods=METHODS)
def express(cluster: str, service: str, path: str):
    return _forward(_express_targets(cluster, service), f"Express service {service}", path,
                    door=("express", cluster, service))


@blueprint.route(GATEWAY, defaults={"path": ""}, methods=METHODS)
@blueprint.route(GATEWAY + "<path:path>", methods=METHODS)
def gateway(gateway: str, cluster: str, service: str, path: str):
    return _forward(_route_targets(gateway, cluster, service),
                    f"route of gateway {gateway} to service {service}", path,
                    door=("gateway", gateway, cluster, service))


@moved.route(_OLD + EXPRESS, defaults={"path": ""}, methods=METHODS)
@moved.route(_OLD + EXPRESS + "<path:path>", methods=METHODS)
@moved.route(_OLD + GATEWAY, defaults={"path": ""}, methods=METHODS)
@moved.route(_OLD + GATEWAY + "<path:path>", methods=METHODS)
def moved_door(path: str, **_):
    """308 (method and body kept) to the front doors' port: the old addresses keep working."""
    doors = current_app.extensions["emulator"].ecs.front_doors
    there = doors.base(request.host) + quote(request.path[len(_OLD):], safe="/:@!$&'()*+,;=~")
    if request.query_string:
        there += "?" + request.query_string.decode("latin-1")
    return Response(f"Front doors are served on their own port: {there}\n", 308,
                    headers={"Location": there}, mimetype="text/plain")


def _forward(targets, what: str, path: str, door=None):
    if targets is None:
        return Response(f"No {what}.\n", 404, mimetype="text/plain")
    if not targets:
        return Response("503 Service Temporarily Unavailable\n", 503, mimetype="text/plain")
    release = streams.take(door or what)
    if release is None:
        held = streams.open(door or what)
        return Response("503 Service Temporarily Unavailable\n" + (
            f"The front door of the {what} is already forwarding {held} requests, its share "
            "of the front doors' threads.\n" if held else
            f"The front doors are forwarding {streams.capacity} requests, all they may.\n"),
            503, mimetype="text/plain")
    try:
        response = _forwarded(targets, path)
    except BaseException:
        release()
        raise
    response.call_on_close(release)
    return response


def _forwarded(targets, path: str) -> Response:
    host, port = targets[next(_turns) % len(targets)]
    target = "/" + path + (("?" + request.query_string.decode()) if request.query_string else "")
    if (why := front_door_headers.bad_field(request.headers)) is not None:
        return Response(f"400 Bad Request\n{why}\n", 400, mimetype="text/plain")
    headers = front_door_headers.to_task(request)
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        connection.request(request.method, target, body=request.get_data() or None,
                           headers=headers)
        answer = connection.getresponse()
    except (*_BROKEN, ValueError):  # (ValueError: what http.client will not send)
        connection.close()
        return Response("502 Bad Gateway\n", 502, mimetype="text/plain")
    try:
        response = _answered(answer, connection)
    except (ValueError, TypeError):  # headers Werkzeug will not send: no HTTP a client can take
        connection.close()
        return Response("502 Bad Gateway\n", 502, mimetype="text/plain")
    # A HEAD, 204 or 304 answer never starts the body's generator, whose finally would close.
    response.call_on_close(connection.close)
    return response


def _answered(answer: http.client.HTTPResponse, connection) -> Response:
    """The client's response for the task's `answer`, its body yet to be read (ValueError:
    headers no client should get, which Werkzeug refuses)."""
    kept = front_door_headers.to_client(answer.getheaders())
    # The task's own length, unless it sent chunks: with it a client sees a body cut short as
    # short (and a HEAD keeps its length and its keep-alive); without, the server sends chunks.
    length = answer.getheader("Content-Length")  # the first, as http.client reads it
    if length and length.isascii() and length.isdigit() and not answer.chunked:
        kept.append(("Content-Length", length))  # (not a plain number: read to the end)
    response = Response(_streamed(answer, connection), answer.status, headers=kept)
    if answer.getheader("Content-Type") is None:  # never Flask's default text/html
        del response.headers["Content-Type"]
    return response


def _streamed(answer: http.client.HTTPResponse, connection: http.client.HTTPConnection):
    """The task's body as it comes, a chunk at a time: never all of it in the emulator's memory
    (a task's answer may be as long as it likes), and on its way before it ends (a stream)."""
    try:
        while chunk := answer.read1(CHUNK):
            yield chunk
    except _BROKEN:  # a chunked answer broken off, a bad chunk size, the idle timeout
        raise _broke_off() from None
    finally:
        connection.close()
    if answer.length:  # the task closed before its Content-Length was all there
        raise _broke_off()


def _broke_off() -> ConnectionAbortedError:
    """What ends a broken-off answer: the server (cheroot) takes ECONNABORTED quietly, sends no
    last chunk and closes the connection, so the client sees the answer end early, as behind an
    ALB; any other error would be logged with a traceback, which any task could fill the log
    with."""
    return ConnectionAbortedError(errno.ECONNABORTED, "the task broke off its answer")


def _express_targets(cluster: str, name: str) -> list[tuple[str, int]] | None:
    """(host, port) of each serving task of the Express service; None if there is no such
    service in any account or region."""
    emulator = current_app.extensions["emulator"]
    with emulator.ecs.lock:
        for store in emulator.ecs.stores():
            express = store.express_services.get((cluster, name))
            if express is None or express.service.status == "INACTIVE":
                continue
            balancer = express.service.load_balancers[0]
            return _serving(store, express.service, balancer["containerName"],
                            balancer["containerPort"])
    return None


def _route_targets(gateway: str, cluster: str, name: str) -> list[tuple[str, int]] | None:
    emulator = current_app.extensions["emulator"]
    with emulator.ecs.lock:
        for store in emulator.ecs.stores():
            found = gateways.route_target(store, gateway, cluster, name)
            if found is None:
                continue
            service, port_name = found
            served = tcp_mapping(service.task_definition.spec, port_name)
            if served is None:  # a UDP port carries no HTTP: no target, as an ALB's would have
                return []
            return _serving(store, service, served[0]["name"], served[1]["containerPort"])
    return None


def _serving(store, service, container_name: str, port: int) -> list[tuple[str, int]]:
    """(address, port) where each serving task of `service` takes TCP on its container's
    `port`: the TCP host port Docker published for it, at the binding's own address, where this
    process reaches the engine's published ports (engine/published_ports.py).

    Only a running container's binding (its networkBindings are Docker's, never a caller's
    report): there Docker, not another program of the host, holds the port. A stopped one's
    port is free for anyone (a non-essential container's while its task runs on, an essential
    one's until the task leaves RUNNING), and a UDP binding's port says nothing of who holds it
    over TCP (a dev server, another emulator)."""
    emulator = current_app.extensions["emulator"]
    engines = emulator.engine.engines
    # Never our own listeners: a binding naming one would make a task's page this host's.
    doors = emulator.ecs.front_doors
    own = {doors.port, doors.api_port}
    found, hosts = [], {}
    for task in store.tasks_of(service.cluster_name):
        if task.group != service.task_group or not task.serving:
            continue
        container = task.container(container_name)
        if container is None or container.known != ContainerStatus.RUNNING:
            continue
        binding = container.binding(port)
        if binding is None:
            continue
        if task.engine not in hosts:  # asked once a request, for each engine
            hosts[task.engine] = published_ports.where(
                engines.runtime_of(task), getattr(engines.health_of(task), "address", None))
        host = hosts[task.engine]
        address = None if host is None else published_ports.address(binding, host)
        if address is not None and not (host == published_ports.HERE
                                        and binding["hostPort"] in own):
            found.append((address, binding["hostPort"]))
    return found
