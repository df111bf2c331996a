"""GET /v1/data-channel/<session id>: the streamUrl ExecuteCommand answers, where the plugin opens
the session's WebSocket (the path Session Manager's own streamUrl has).

The request is upgraded here and its socket taken from the HTTP server (http_server.TAKE_SOCKET);
the data channel then runs on a thread of its own. The plugin signs the request with SigV4; as
everywhere in the emulator, signatures are not checked. The session's token is (channel.py).
"""

from __future__ import annotations

import json
import logging
import threading

from flask import Blueprint, Response, current_app, request

from emulator.exec import websocket
from emulator.exec.channel import DataChannel
from emulator.exec.docker_exec import DockerExec, ExecStartError
from emulator.exec.session_logs import SessionLogs
from emulator.exec.sessions import ExecSessions
from emulator.http_server import TAKE_SOCKET

log = logging.getLogger("emulator.exec")

blueprint = Blueprint("ecs_exec", __name__)
EXTENSION = "ecs_exec"  # app.extensions key of the ExecService


class ExecService:
    """What the route needs: the sessions, the Docker API, and where session output is logged."""

    def __init__(self, sessions: ExecSessions, docker_api, logs: SessionLogs):
        self.sessions = sessions
        self._docker_api = docker_api  # fn() -> the docker SDK's APIClient
        self._logs = logs

    def serve(self, session_id: str, ws: websocket.WebSocket) -> None:
        session = self.sessions.claim(session_id)
        if session is None:
            ws.close(b"\x03\xf0")  # 1008: no such session, or it is connected already
            return
        target = session.target
        session.channel = DataChannel(
            ws, session, lambda rows, cols: self._docker_exec(target, rows, cols), self._ended)
        log.info("exec session %s opened: %s in %s/%s", session.id, target.command,
                 target.task_id, target.container_name)
        session.channel.serve()

    def _docker_exec(self, target, rows: int, cols: int) -> DockerExec:
        try:
            api = self._docker_api()
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


def _not_a_websocket() -> Response:
    return Response(json.dumps({"message": "A data channel is opened with a WebSocket."}),
                    status=400, mimetype="application/json")


@blueprint.get("/v1/data-channel/<session_id>")
def data_channel_without_upgrade(session_id: str):
    return _not_a_websocket()


# websocket=True: werkzeug matches an Upgrade request only to a rule that says so.
@blueprint.get("/v1/data-channel/<session_id>", websocket=True)
def data_channel(session_id: str):
    service: ExecService | None = current_app.extensions.get(EXTENSION)
    key = request.headers.get("Sec-WebSocket-Key")
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    take = request.environ.get(TAKE_SOCKET)
    if service is None or not upgrade or not key or take is None:
        return _not_a_websocket()
    sock, pending = take()
    try:
        sock.sendall(websocket.handshake_response(key))
    except OSError:
        sock.close()
        return Response(status=101)
    ws = websocket.WebSocket(sock, pending)
    threading.Thread(target=service.serve, args=(session_id, ws),
                     name=f"exec-channel-{session_id[-8:]}", daemon=True).start()
    return Response(status=101)  # never sent: the socket is the channel's now
