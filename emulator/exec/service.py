"""ExecService: what serving a data channel takes: the sessions, the Docker API that runs the
command, and where the session's output is logged when it ends."""

from __future__ import annotations

import logging

from emulator.exec import websocket
from emulator.exec.channel import DataChannel, token_sent
from emulator.exec.docker_exec import DockerExec, ExecStartError
from emulator.exec.session_logs import SessionLogs
from emulator.exec.sessions import ExecSessions

log = logging.getLogger("emulator.exec")
EXTENSION = "ecs_exec"  # the key of ExecService in the Flask app's extensions (exec/routes.py)


class ExecService:
    """What the route needs: the sessions, the Docker API, and where session output is logged."""

    def __init__(self, sessions: ExecSessions, docker_api, logs: SessionLogs):
        self.sessions = sessions
        self._docker_api = docker_api  # fn(engine name) -> the docker SDK's APIClient of it
        self._logs = logs

    def serve(self, session_id: str, ws: websocket.WebSocket) -> None:
        # The token first, then the claim: a connection that knows the session's id only (a
        # guess, a log line) neither takes the session nor ends it for the plugin.
        if not self.sessions.claimable(session_id):
            ws.close(b"\x03\xf0")  # 1008: no such session, or it is connected already
            return
        try:
            token = token_sent(ws)
        except websocket.WebSocketClosed:
            return
        session = self.sessions.claim(session_id, token)
        if session is None:
            log.warning("exec session %s: a wrong token, or connected already", session_id)
            ws.close(b"\x03\xf0")  # 1008, policy violation
            return
        target = session.target
        session.channel = DataChannel(
            ws, session, lambda rows, cols: self._docker_exec(target, rows, cols), self._ended)
        log.info("exec session %s opened: %s in %s/%s", session.id, target.command,
                 target.task_id, target.container_name)
        session.channel.serve()

    def _docker_exec(self, target, rows: int, cols: int) -> DockerExec:
        try:
            api = self._docker_api(target.engine)  # the task's engine runs the command
        except Exception as error:  # no Docker Engine (or a runtime without one)
            raise ExecStartError(f"Docker is not available: {error}") from None
        return DockerExec(api, target.runtime_id, target.command, rows, cols)

    def _ended(self, channel: DataChannel) -> None:
        session = channel.session
        self.sessions.forget(session.id)
        log.info("exec session %s ended: exit status %s", session.id,
                 "unknown" if channel.exit_code is None else channel.exit_code)
        if session.target.logging is not None and channel.transcript:
            self._logs.write(session.target.logging, session.id, bytes(channel.transcript))
