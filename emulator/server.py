"""The HTTP server: cheroot, a threaded WSGI server that keeps HTTP/1.1 connections alive and
streams request bodies (the registry pushes layers of gigabytes through it), tuned for SDK calls
in emulator/http_server.py."""

from __future__ import annotations

import logging
import threading

from emulator import http_server
from emulator.access.host_addresses import is_local_address
from emulator.access.gate import listen_for_containers
from emulator.access.local_users import OperatorServer
from emulator.app import Emulator
from emulator.front_doors import FrontDoors

log = logging.getLogger(__name__)

DOCKER_DESKTOP_HOST = "host.docker.internal"
DOCKER_START_GRACE_S = 0.5  # the longest the start-up's Docker calls wait for a first answer


class EmulatorServer:
    def __init__(self, emulator: Emulator, host: str, port: int, listening_socket=None):
        """`listening_socket`: one already bound to (host, port) and listening, to serve on
        (early_listener.py)."""
        self.emulator = emulator
        self._server = OperatorServer(
            (host, port),
            emulator.gate(container_facing=False),
            local_users=emulator.local_users,
            numthreads=emulator.settings.threads,
            server_name="ecs-emulator",
            timeout=65,
            listening_socket=listening_socket,
        )
        self._thread: threading.Thread | None = None
        self._extra: dict[str, http_server.Server] = {}  # listeners for containers, by address
        self._extra_lock = threading.Lock()
        self._no_gateway: set[str] = set()  # gateways that are not this host's addresses
        self.front_doors = FrontDoors(emulator, host)  # Express services', gateway routes'
        emulator.container_endpoint_provider = self.container_endpoint

    @property
    def port(self) -> int:
        return self._server.bind_addr[1]

    @property
    def host(self) -> str:
        return self._server.bind_addr[0]

    def start(self) -> None:
        """Bind and serve in a background thread (the pytest plugin's way)."""
        self._listen()
        self.emulator.control_token.write(self.port)
        self.emulator.start()
        self._thread = threading.Thread(target=self._server.serve, name="ecs-emulator", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self._listen()
        self.emulator.control_token.write(self.port)
        self._docker_after_first_answer()
        self.emulator.start()
        # Every interface includes loopback, where the dashboard answers (a /_emulator/ path);
        # the link carries the control token in its fragment (access/control_token.py).
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        log.info("ecs-emulator listening on http://%s:%d (dashboard: %s; front doors of Express "
                 "services and gateway routes: port %d)", self.host, self.port,
                 self.emulator.control_token.dashboard_link(f"http://{shown}:{self.port}"),
                 self.front_doors.port)
        self._server.serve()

    def _listen(self) -> None:
        """Bind the API's listener, then the front doors'; if those fail, the API's socket is
        closed again before the error goes on (a caller that goes on living keeps no port)."""
        self._server.prepare()
        self.emulator.http_port = self.port
        try:
            self.front_doors.start()
        except BaseException:
            self._server.stop()
            raise

    def _docker_after_first_answer(self) -> None:
        """Hold the start-up's first Docker calls (the SDK's import, about a third of the
        start-up's CPU, then orphans, events, health) until the first request is answered, or
        DOCKER_START_GRACE_S: a thread importing the SDK would share the interpreter's lock with
        that answer, which waits at each of its syscalls for the lock to come back
        (scripts/bench/cold_start.py). Tasks asked for meanwhile call Docker at once."""
        release = self.emulator.engine.docker_start
        release.clear()
        timer = threading.Timer(DOCKER_START_GRACE_S, release.set)
        timer.daemon = True
        timer.start()
        app = self._server.wsgi_app

        def first_answer(environ, start_response):
            try:
                return app(environ, start_response)
            finally:
                self._server.wsgi_app = app  # from the next request on, as before
                release.set()

        self._server.wsgi_app = first_answer

    def stop(self) -> None:
        self.emulator.engine.docker_start.set()
        try:
            self.emulator.stop()
        finally:
            # Always: cheroot leaves a non-daemon thread behind until stop(), which would keep
            # the process alive if the emulator's clean-up failed.
            for extra in self._extra.values():
                extra.stop()
            self.front_doors.stop()
            self._server.stop()
            self.emulator.control_token.remove()
            if self._thread is not None:
                self._thread.join(timeout=10)

    def container_endpoint(self, runtime=None) -> str:
        """The emulator's URL as containers of `runtime`'s engine (the default engine's unless
        told) reach it: the gateway of that engine's copy of the emulator's Docker network.

        We listen on 127.0.0.1, which a container cannot reach; so on first use we also listen on
        the gateway of the emulator's Docker network. The host answers for that address on every
        interface, so that listener closes connections from outside the emulator's networks, and
        serves containers what the ECS agent serves them and the AWS APIs as tasks
        (access/gate.py). Each engine on this machine has its own bridge, so its own gateway and
        listener; an engine on another machine has its gateway there: its containers are given the
        default engine's address, which they reach only if the network between lets them (and
        are then strangers to the gate, see access/callers.py).
        In a container of our own, the gateway is the host's: our container joins the network
        and tasks call our one listener at its address there, where the gate knows them by their
        addresses on that network as tasks.
        """
        own = self.emulator.settings.own_container
        if own:
            return f"http://{self._own_address(own)}:{self.port}"
        default = self.emulator.engine.runtime
        endpoint = self._gateway_endpoint(runtime or default)
        if endpoint is None and runtime is not None and runtime is not default:
            # An engine on this machine whose gateway is not this host's runs its containers in
            # a VM (Docker Desktop beside a native engine): they reach our loopback listener as
            # this host, whatever endpoint they are given.
            self.emulator.control_token.containers_reach_loopback()
            endpoint = self._gateway_endpoint(default)
        if endpoint is None:
            # Their calls arrive on our loopback listener from 127.0.0.1, as this host's.
            self.emulator.control_token.containers_reach_loopback()
            return f"http://{DOCKER_DESKTOP_HOST}:{self.port}"
        return endpoint

    def _gateway_endpoint(self, runtime) -> str | None:
        """http://<gateway>:<port> once we listen there; None where the gateway is no address of
        this host."""
        _, gateway = runtime.ensure_network()
        if gateway == self.host or (self.host in ("0.0.0.0", "::") and (
                runtime is self.emulator.engine.runtime or is_local_address(gateway))):
            return f"http://{gateway}:{self.port}"  # (another engine's gateway may be elsewhere)
        with self._extra_lock:
            if gateway in self._extra:
                return f"http://{gateway}:{self.port}"
            if gateway in self._no_gateway:
                return None
            try:
                listener = listen_for_containers((gateway, self.port),
                                                 self.emulator.gate(container_facing=True))
            except OSError as error:
                # Docker Desktop: the gateway lives in its VM, not on this host. There,
                # host.docker.internal reaches the host's loopback, where we listen.
                log.warning("cannot listen on the Docker network's gateway %s (%s); containers "
                            "there will call the emulator at %s", gateway, error,
                            DOCKER_DESKTOP_HOST if runtime is self.emulator.engine.runtime
                            else "the default engine's address")
                self._no_gateway.add(gateway)
                return None
            threading.Thread(target=listener.serve, name="ecs-emulator-containers",
                             daemon=True).start()
            self._extra[gateway] = listener
        return f"http://{gateway}:{self.port}"

    def _own_address(self, own: str) -> str:
        from emulator.runtime.own_container import own_container_id

        if own == "auto":
            own = own_container_id()
        # Asked again each time (one inspect): the network is made again after it is removed.
        return self.emulator.engine.runtime.attach_to_network(own)
