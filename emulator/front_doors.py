"""The front doors' own listener: Express services' and gateway routes' pages
(emulator/front_door_routes.py) on a port of their own, beside the API's.

A task's page is the task's code. Served on the API's port, it would share the dashboard's
origin (http://127.0.0.1:4566): its script could fetch the control endpoints from the operator's
browser and read the answers. On another port it is another origin; what a page there may still
send to the API's port (a form, a fetch without CORS) the gate refuses for the control endpoints
and the AWS APIs alike (access/browsers.py: its origin is not theirs).

The listener is the API's kind (emulator/http_server.py: the same limits on heads, bodies and
idle connections, admission of workers), on the same address (`--host`, 127.0.0.1 by default),
serving nothing but the front doors: no API, no control endpoint. Like the API's port it answers
only requests addressed to a name of the emulator's (a DNS-rebound name is not).
"""

from __future__ import annotations

import logging
import threading

from emulator import http_server
from emulator.access.gate import refuse

log = logging.getLogger(__name__)
# Each forwarded request holds one while the task answers and the client reads (a stream, as
# long as both go on); one front door takes at most its share (front_door_routes._Streams:
# STREAMS_PER_DOOR alone, less beside others, one share always left for the next door), so
# services whose tasks or clients hold their streams leave the others theirs.
THREADS = 24


class PortTaken(OSError):
    """The front doors' port asked for (ECS_EMULATOR_FRONT_DOOR_PORT) cannot be listened on."""


class FrontDoors:
    def __init__(self, emulator, host: str):
        self.emulator = emulator
        self._host = host
        self._server: http_server.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.bind_addr[1] if self._server is not None else 0

    def start(self) -> None:
        """Bind (the configured port; by default the API's + 1, or any free one if that is
        taken; one chosen now where the API's was) and serve in a background thread."""
        settings = self.emulator.settings
        wanted = settings.front_door_port
        chosen = wanted if wanted is not None else (
            self.emulator.http_port + 1 if 0 < settings.port < 65535 else 0)
        try:
            self._server = self._bind(chosen)
        except OSError as error:  # (cheroot's bind error carries no errno)
            if wanted is not None:
                raise PortTaken(f"cannot listen on {self._host}:{wanted}, the front doors' port "
                                f"(ECS_EMULATOR_FRONT_DOOR_PORT): {error}") from error
            log.warning("the front doors take another port than %d (%s)", chosen, error)
            self._server = self._bind(0)
        self.emulator.ecs.front_doors.port = self.port
        self.emulator.ecs.front_doors.api_port = self.emulator.http_port
        self._thread = threading.Thread(target=self._server.serve, name="ecs-emulator-front-doors",
                                        daemon=True)
        self._thread.start()

    def _bind(self, port: int) -> http_server.Server:
        server = http_server.Server((self._host, port), _Guarded(self.emulator),
                                    numthreads=THREADS, server_name="ecs-emulator", timeout=65)
        try:
            server.prepare()
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)


class _Guarded:
    """WSGI: the front doors' Flask app (made on the first request: Flask's import is no part
    of the start-up), for requests that are not a named site's page or a rebound name's."""

    def __init__(self, emulator):
        self._emulator = emulator
        self._app = None
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        refusal = self._emulator.browsers.foreign_page(environ)
        if refusal is not None:
            return refuse(start_response, refusal)
        return (self._app or self._made())(environ, start_response)

    def _made(self):
        from flask import Flask

        from emulator import front_door_routes

        with self._lock:
            if self._app is None:
                app = Flask("emulator-front-doors")
                app.extensions.update(self._emulator.flask_extensions)
                app.register_blueprint(front_door_routes.blueprint)
                self._app = app
        return self._app
