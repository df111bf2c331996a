"""Where containers call the emulator: the Docker network's gateway on Linux; where that address
is not this host's (Docker Desktop), host.docker.internal."""

import json
import urllib.error
import urllib.request

from emulator.app import create_app
from emulator.config import Settings
from emulator.server import DOCKER_DESKTOP_HOST, EmulatorServer


def server_with_gateway(gateway: str) -> EmulatorServer:
    emulator = create_app(Settings(host="127.0.0.1", port=0))
    emulator.engine.runtime.ensure_network = lambda: ("ecs-emulator-test", gateway)
    server = EmulatorServer(emulator, "127.0.0.1", 0)
    server._server.prepare()  # bind, without starting the engine
    return server


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_gateway_on_this_host_gets_a_listener():
    server = server_with_gateway("127.0.0.2")
    try:
        endpoint = server.container_endpoint()
        assert endpoint == f"http://127.0.0.2:{server.port}"
        # It serves what containers call, but never the control endpoints (403, the gate's).
        status, body = _get(f"{endpoint}/v4/0123-app")
        assert (status, body) == (404, "V4 container metadata handler: unable to find "
                                       "container for endpoint ID '0123-app'")
        status, body = _get(f"{endpoint}/_emulator/health")
        assert status == 403 and body["__type"] == "AccessDeniedException"
    finally:
        server.stop()


def test_a_gateway_elsewhere_falls_back_to_docker_desktops_name():
    server = server_with_gateway("192.0.2.1")  # TEST-NET-1: never an address of this host
    try:
        assert server.container_endpoint() == f"http://{DOCKER_DESKTOP_HOST}:{server.port}"
        assert server.container_endpoint() == f"http://{DOCKER_DESKTOP_HOST}:{server.port}"
    finally:
        server.stop()
