"""The front door of Express Mode services, from the laptop: what their Application Load
Balancer does on AWS, over HTTP (a Flask blueprint).

    ANY /_emulator/express/<cluster>/<service>/<path>

forwards the request (method, path below the service, query, headers, body) to the service's
serving tasks in turn, at the host port where each publishes its container port, and answers
what the task answered; 503 when no task serves, as an ALB with no healthy target does. The
endpoint is in DescribeExpressGatewayService's ingressPaths (emulator/ecs/express_services.py).
"""

from __future__ import annotations

import http.client
import itertools

from flask import Blueprint, Response, current_app, request

blueprint = Blueprint("express", __name__)
ROUTE = "/_emulator/express/<cluster>/<service>/"
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailers", "transfer-encoding", "upgrade", "host", "content-length"}
_turns = itertools.count()
TIMEOUT_S = 60  # an ALB's default idle timeout


@blueprint.route(ROUTE, defaults={"path": ""}, methods=["GET", "HEAD", "POST", "PUT", "PATCH",
                                                         "DELETE", "OPTIONS"])
@blueprint.route(ROUTE + "<path:path>", methods=["GET", "HEAD", "POST", "PUT", "PATCH",
                                                  "DELETE", "OPTIONS"])
def forward(cluster: str, service: str, path: str):
    targets = _targets(cluster, service)
    if targets is None:
        return Response(f"No Express service {service} in cluster {cluster}.\n", 404,
                        mimetype="text/plain")
    if not targets:
        return Response("503 Service Temporarily Unavailable\n", 503, mimetype="text/plain")
    host, port = targets[next(_turns) % len(targets)]
    target = "/" + path + (("?" + request.query_string.decode()) if request.query_string else "")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
    headers["X-Forwarded-For"] = request.remote_addr or ""
    headers["X-Forwarded-Proto"] = "http"
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        connection.request(request.method, target, body=request.get_data() or None,
                           headers=headers)
        answer = connection.getresponse()
        body = answer.read()
    except OSError:
        return Response("502 Bad Gateway\n", 502, mimetype="text/plain")
    finally:
        connection.close()
    kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
    return Response(body, answer.status, headers=kept)


def _targets(cluster: str, name: str) -> list[tuple[str, int]] | None:
    """(host, port) of each serving task of the Express service; None if there is no such
    service in any account or region."""
    emulator = current_app.extensions["emulator"]
    publish = emulator.settings.publish_host
    host = "127.0.0.1" if publish in ("0.0.0.0", "") else publish
    with emulator.ecs.lock:
        for store in emulator.ecs.stores():
            express = store.express_services.get((cluster, name))
            if express is None or express.service.status == "INACTIVE":
                continue
            balancer = express.service.load_balancers[0]
            found = []
            for task in store.tasks_of(cluster):
                if task.group != express.service.task_group or not task.serving:
                    continue
                container = task.container(balancer["containerName"])
                port = next((b.get("hostPort") for b in (container.network_bindings or [])
                             if b.get("containerPort") == balancer["containerPort"]), None)
                if port:
                    found.append((host, port))
            return found
    return None
