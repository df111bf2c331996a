"""`ecs-emulator serve` holds the start-up's Docker work (the SDK's import, orphans, events,
health) until its first answer, so that answer does not share the interpreter with it
(emulator/server.py); the hold ends with that answer, or after a grace if none comes."""

import io

from emulator import server as server_module
from emulator.app import create_app
from emulator.config import Settings
from emulator.server import EmulatorServer


def list_clusters_environ() -> dict:
    body = b"{}"
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "", "SERVER_NAME": "x",
        "SERVER_PORT": "0", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-amz-json-1.1",
        "HTTP_X_AMZ_TARGET": "AmazonEC2ContainerServiceV20141113.ListClusters",
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecs/"
                              "aws4_request, SignedHeaders=host, Signature=0",
    }


def test_the_first_answer_releases_the_docker_start_up_and_the_app_is_served_as_before():
    server = EmulatorServer(create_app(Settings(host="127.0.0.1", port=0)), "127.0.0.1", 0)
    app = server._server.wsgi_app
    release = server.emulator.engine.docker_start
    server._docker_after_first_answer()
    assert not release.is_set()
    answered = []
    body = b"".join(server._server.wsgi_app(list_clusters_environ(),
                                            lambda status, headers: answered.append(status)))
    assert answered == ["200 OK"] and b"clusterArns" in body
    assert release.is_set()
    assert server._server.wsgi_app is app  # later requests go straight to the app


def test_without_a_request_the_hold_ends_after_the_grace(monkeypatch):
    monkeypatch.setattr(server_module, "DOCKER_START_GRACE_S", 0.05)
    server = EmulatorServer(create_app(Settings(host="127.0.0.1", port=0)), "127.0.0.1", 0)
    release = server.emulator.engine.docker_start
    server._docker_after_first_answer()
    assert release.wait(timeout=5)
