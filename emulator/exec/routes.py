"""GET /v1/data-channel/<session id>: the streamUrl ExecuteCommand answers, where the plugin opens
the session's WebSocket (the path Session Manager's own streamUrl has).

The request is upgraded here and its socket taken from the HTTP server (http_server.TAKE_SOCKET);
the data channel then runs on a thread of its own. The plugin signs the request with SigV4; as
everywhere in the emulator, signatures are not checked. The session's token is (channel.py).
"""

from __future__ import annotations

import json
import socket
import threading

from flask import Blueprint, Response, current_app, request

from emulator.exec import websocket
from emulator.exec.service import EXTENSION, ExecService
from emulator.http_server import TAKE_SOCKET

blueprint = Blueprint("ecs_exec", __name__)


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
    # A session may sit idle for hours; keepalives find a client that vanished without a word.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    try:
        sock.sendall(websocket.handshake_response(key))
    except OSError:
        sock.close()
        return Response(status=101)
    ws = websocket.WebSocket(sock, pending)
    threading.Thread(target=service.serve, args=(session_id, ws),
                     name=f"exec-channel-{session_id[-8:]}", daemon=True).start()
    return Response(status=101)  # never sent: the socket is the channel's now
