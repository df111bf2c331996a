"""The HTTP server: cheroot, a threaded WSGI server that keeps HTTP/1.1 connections alive and
streams request bodies (the registry pushes layers of gigabytes through it)."""

from __future__ import annotations

import logging
import threading

from cheroot import wsgi

from emulator.app import Emulator

log = logging.getLogger(__name__)


class EmulatorServer:
    def __init__(self, emulator: Emulator, host: str, port: int):
        self.emulator = emulator
        self._server = wsgi.Server(
            (host, port),
            emulator.wsgi,
            numthreads=emulator.settings.threads,
            server_name="ecs-emulator",
            timeout=65,
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.bind_addr[1]

    @property
    def host(self) -> str:
        return self._server.bind_addr[0]

    def start(self) -> None:
        """Bind and serve in a background thread (the pytest plugin's way)."""
        self._server.prepare()
        self._thread = threading.Thread(target=self._server.serve, name="ecs-emulator", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self._server.prepare()
        log.info("ecs-emulator listening on http://%s:%d", self.host, self.port)
        self._server.serve()

    def stop(self) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
