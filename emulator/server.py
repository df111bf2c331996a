"""The HTTP server: cheroot, a threaded WSGI server that keeps HTTP/1.1 connections alive and
streams request bodies (the registry pushes layers of gigabytes through it), tuned for SDK calls
in emulator/http_server.py."""

from __future__ import annotations

import logging
import threading

from emulator import http_server
from emulator.access.gate import listen_for_containers
from emulator.app import Emulator

log = logging.getLogger(__name__)

DOCKER_DESKTOP_HOST = "host.docker.internal"
DOCKER_START_GRACE_S = 0.5  # the longest the start-up's Docker calls wait for a first answer


class EmulatorServer:
    def __init__(self, emulator: Emulator, host: str, port: int):
        self.emulator = emulator
        self._server = http_server.Server(
            (host, port),
            emulator.gate(container_facing=False),
            numthreads=emulator.settings.threads,
            server_name="ecs-emulator",
            timeout=65,
        )
        self._thread: threading.Thread | None = None
        self._extra: dict[str, http_server.Server] = {}  # listeners for containers, by address
        self._extra_lock = threading.Lock()
        self._no_gateway = False  # set when the gateway address is not this host's
        emulator.container_endpoint_provider = self.container_endpoint

    @property
    def port(self) -> int:
        return self._server.bind_addr[1]

    @property
    def host(self) -> str:
        return self._server.bind_addr[0]

    def start(self) -> None:
        """Bind and serve in a background thread (the pytest plugin's way)."""
        self._server.prepare()
        self.emulator.http_port = self.port
        self.emulator.start()
        self._thread = threading.Thread(target=self._server.serve, name="ecs-emulator", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self._server.prepare()
        self.emulator.http_port = self.port
        self._docker_after_first_answer()
        self.emulator.start()
        # Every interface includes loopback, where the dashboard answers (a /_emulator/ path).
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        log.info("ecs-emulator listening on http://%s:%d (dashboard: http://%s:%d/_emulator/ui/)",
                 self.host, self.port, shown, self.port)
        self._server.serve()

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
            self._server.stop()
            if self._thread is not None:
                self._thread.join(timeout=10)

    def container_endpoint(self) -> str:
        """The emulator's URL as containers reach it: the Docker network's gateway address.

        We listen on 127.0.0.1, which a container cannot reach; so on first use we also listen on
        the gateway of the emulator's Docker network. The host answers for that address on every
        interface, so that listener closes connections from outside the network, and serves
        containers what the ECS agent serves them and the AWS APIs as tasks (access/gate.py).
        In a container of our own, the gateway is the host's: our container joins the network
        and tasks call our one listener at its address there, where the gate knows them by their
        addresses on that network as tasks.
        """
        own = self.emulator.settings.own_container
        if own:
            return f"http://{self._own_address(own)}:{self.port}"
        _, gateway = self.emulator.engine.runtime.ensure_network()
        if self.host in ("0.0.0.0", "::", gateway):
            return f"http://{gateway}:{self.port}"
        with self._extra_lock:
            if gateway in self._extra:
                return f"http://{gateway}:{self.port}"
            if self._no_gateway:
                return f"http://{DOCKER_DESKTOP_HOST}:{self.port}"
            try:
                listener = listen_for_containers((gateway, self.port),
                                                 self.emulator.gate(container_facing=True))
            except OSError as error:
                # Docker Desktop: the gateway lives in its VM, not on this host. There,
                # host.docker.internal reaches the host's loopback, where we listen.
                log.warning("cannot listen on the Docker network's gateway %s (%s); containers "
                            "will call the emulator at %s", gateway, error, DOCKER_DESKTOP_HOST)
                self._no_gateway = True
                return f"http://{DOCKER_DESKTOP_HOST}:{self.port}"
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
