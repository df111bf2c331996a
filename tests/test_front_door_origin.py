"""A task's page is never on the dashboard's origin: the front doors of Express services and
gateway routes answer on a listener of their own (emulator/front_doors.py), which serves nothing
else; the control endpoints refuse requests of other origins' pages, the operator's control
token or not (access/browsers.py), while the dashboard's own and the command line's pass; what
the API's port serves that a browser could render runs no script (access/gate.py)."""

import gc
import http.client
import json
import signal
import socket
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from emulator import cli
from emulator.access.control_token import HEADER
from emulator.app import create_app
from emulator.config import Settings
from emulator.ecs.front_door_address import FrontDoorAddress
from emulator.front_doors import FrontDoors, PortTaken
from emulator.server import EmulatorServer


def request(url, method, path, headers=None, body=b""):
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()  # (any case)
    finally:
        connection.close()


@pytest.fixture
def token_on(clean_emulator):
    """The control token asked for (as on Docker Desktop), and the header that carries it: as
    if the page had got hold of it, the origin rules still refuse it."""
    token = clean_emulator.emulator.control_token
    enforced, token.enforced = token.enforced, True
    try:
        yield {HEADER: token.value}
    finally:
        token.enforced = enforced


def test_front_doors_have_a_port_of_their_own_that_serves_nothing_else(clean_emulator):
    front, api = urlsplit(clean_emulator.front_door_url), urlsplit(clean_emulator.endpoint_url)
    assert front.hostname == api.hostname and front.port != api.port
    for method, path in (("GET", "/_emulator/health"), ("POST", "/_emulator/reset"),
                         ("GET", "/_emulator/ui/"), ("POST", "/")):
        status, _, _ = request(clean_emulator.front_door_url, method, path)
        assert status == 404, path
    status, _, body = request(clean_emulator.front_door_url, "GET", "/express/default/none/")
    assert (status, body) == (404, b"No Express service none.\n")
    # like the control endpoints, only to an address or a loopback name (no DNS rebinding)
    status, _, body = request(clean_emulator.front_door_url, "GET", "/express/default/none/",
                              {"Host": f"rebound.example:{front.port}"})
    assert status == 403 and json.loads(body)["__type"] == "AccessDeniedException"


def test_another_origins_page_is_refused_the_control_endpoints_with_the_token(clean_emulator,
                                                                              token_on):
    ecs = clean_emulator.client("ecs")
    ecs.create_cluster(clusterName="kept")
    api = urlsplit(clean_emulator.endpoint_url)
    # a task's page on the front doors' port: same site, another origin
    for headers in ({"Origin": clean_emulator.front_door_url},
                    {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"}):
        status, answer, body = request(clean_emulator.endpoint_url, "POST", "/_emulator/reset",
                                       {**token_on, "Content-Type": "text/plain",
                                        **headers})
        assert status == 403, headers
        assert answer["X-Amzn-ErrorType"] == "AccessDeniedException"
        assert json.loads(body)["__type"] == "AccessDeniedException"
        assert "another origin" in json.loads(body)["message"]
    assert [c["clusterName"] for c in ecs.describe_clusters(clusters=["kept"])["clusters"]] == \
        ["kept"]
    # the dashboard's own requests (same origin, the header) and the command line's pass
    own = {**token_on, "Origin": f"http://{api.netloc}", "Sec-Fetch-Site": "same-origin"}
    assert request(clean_emulator.endpoint_url, "GET", "/_emulator/engines", own)[0] == 200
    assert request(clean_emulator.endpoint_url, "GET", "/_emulator/engines",
                   clean_emulator.control_headers)[0] == 200
    # following a link to the dashboard reads nothing for the page that had it: served
    link = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"}
    assert request(clean_emulator.endpoint_url, "GET", "/_emulator/ui/", link)[0] == 200


def test_the_open_control_paths_answer_another_origins_page(clean_emulator, token_on):
    # A page of your own on another port, or a task's on the front doors' port: the health and
    # the front doors' old addresses answer it as they answer anyone.
    doors = urlsplit(clean_emulator.front_door_url)
    for origin in ("http://localhost:3000", clean_emulator.front_door_url):
        page = {"Origin": origin, "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors",
                **token_on}
        assert request(clean_emulator.endpoint_url, "GET", "/_emulator/health", page)[0] == 200
        status, answer, _ = request(clean_emulator.endpoint_url, "POST",
                                    "/_emulator/express/default/web/a?b=1", page, b"x")
        assert status == 308, origin
        assert answer["Location"] == f"http://{doors.netloc}/express/default/web/a?b=1"
        status, _, body = request(clean_emulator.endpoint_url, "POST", "/_emulator/reset", page)
        assert status == 403 and json.loads(body)["__type"] == "AccessDeniedException"


def test_front_door_addresses_follow_a_remapped_api_port(clean_emulator):
    # `docker run -p 5566:4566 -p 5567:4567`: clients name the published port; the front doors
    # are published at the same offset, and the addresses we give say so.
    api, doors = urlsplit(clean_emulator.endpoint_url), urlsplit(clean_emulator.front_door_url)
    shift = 1000 if api.port < 60000 else -1000
    status, answer, _ = request(clean_emulator.endpoint_url, "GET", "/_emulator/express/c/s/",
                                {"Host": f"localhost:{api.port + shift}"})
    assert status == 308
    assert answer["Location"] == f"http://localhost:{doors.port + shift}/express/c/s/"
    _, answer, _ = request(clean_emulator.endpoint_url, "GET", "/_emulator/gateways/g/c/s/",
                           {"Host": api.netloc})
    assert answer["Location"] == f"http://{doors.netloc}/gateways/g/c/s/"
    address = FrontDoorAddress()
    address.port, address.api_port = 4567, 4566
    assert address.base("[::1]:5566") == "http://[::1]:5567"
    assert address.base("proxy.local") == "http://proxy.local:4567"  # no port: ours


def test_a_front_door_page_may_not_call_the_aws_apis(clean_emulator):
    status, _, body = request(
        clean_emulator.endpoint_url, "POST", "/",
        {"Origin": clean_emulator.front_door_url,
         "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.CreateCluster",
         "Content-Type": "application/x-amz-json-1.1"}, b'{"clusterName": "planted"}')
    assert status == 403 and json.loads(body)["__type"] == "AccessDeniedException"
    assert clean_emulator.client("ecs").list_clusters()["clusterArns"] == []


def test_a_page_of_no_origin_or_a_malformed_one_is_refused_every_path(clean_emulator):
    # A task's page may frame a sandboxed page of its own, whose requests say `Origin: null`:
    # with no signature, an S3 call would otherwise pass as this host's (moto's root).
    s3 = clean_emulator.client("s3")
    s3.create_bucket(Bucket="kept")
    s3.put_object(Bucket="kept", Key="old", Body=b"x")
    for origin in ("null", "http://[x", "http://127.0.0.1:99999"):
        for method, path in (("PUT", "/kept/planted"), ("DELETE", "/kept/old"),
                             ("GET", "/_emulator/health")):
            status, answer, body = request(clean_emulator.endpoint_url, method, path,
                                           {"Origin": origin, "Content-Type": "text/plain"},
                                           b"planted")
            assert status == 403, (origin, path)
            assert json.loads(body)["__type"] == "AccessDeniedException"
        status, _, _ = request(clean_emulator.front_door_url, "GET", "/express/default/none/",
                               {"Origin": origin})
        assert status == (404 if origin == "null" else 403), origin  # the task's own to judge
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="kept")["Contents"]] == ["old"]


def test_what_a_task_stored_is_no_page_of_the_apis_origin(clean_emulator):
    # A task may store an S3 object as text/html; a page of its could send the browser there.
    s3 = clean_emulator.client("s3")
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="x.html", Body=b"<script>fetch('/_emulator/reset')</script>",
                  ContentType="text/html")
    url = urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": "site",
                                                                   "Key": "x.html"}))
    status, headers, _ = request(clean_emulator.endpoint_url, "GET", f"{url.path}?{url.query}")
    assert status == 200 and headers["Content-Type"] == "text/html"
    assert headers["Content-Security-Policy"] == "sandbox"  # no script, an origin of its own
    # the dashboard's page keeps its own policy, which runs its own script
    _, headers, _ = request(clean_emulator.endpoint_url, "GET", "/_emulator/ui/")
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def _emulator_on(port: int, front_door_port=None):
    """What FrontDoors reads of an emulator: its settings, the API's bound port, the address."""
    return SimpleNamespace(settings=Settings(port=port, front_door_port=front_door_port),
                           http_port=port, ecs=SimpleNamespace(front_doors=FrontDoorAddress()),
                           flask_extensions={})


def test_the_front_doors_port_is_the_apis_plus_one_or_another_when_taken():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    api_port = taken.getsockname()[1] - 1  # its neighbour is taken
    try:
        doors = FrontDoors(_emulator_on(api_port), "127.0.0.1")
        doors.start()
        try:
            assert doors.port not in (0, api_port + 1)
            assert doors.emulator.ecs.front_doors.port == doors.port
        finally:
            doors.stop()
        asked = FrontDoors(_emulator_on(api_port, front_door_port=api_port + 1), "127.0.0.1")
        with pytest.raises(OSError):  # asked for by name: no other
            asked.start()
    finally:
        taken.close()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    api_port = free.getsockname()[1] - 1
    free.close()
    doors = FrontDoors(_emulator_on(api_port), "127.0.0.1")
    doors.start()
    try:
        assert doors.port == api_port + 1
    finally:
        doors.stop()


def test_a_taken_front_doors_port_asked_for_is_named_and_stops_the_start(monkeypatch, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("ECS_EMULATOR_FRONT_DOOR_PORT", str(port))
        signals = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
        try:
            assert cli.main(["--port", "0", "--quiet"]) == 1
        finally:
            for signum, handler in signals.items():
                signal.signal(signum, handler)
            gc.unfreeze()
            gc.enable()
    said = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}, the front doors' port" in said, said


def test_the_apis_socket_is_closed_when_the_front_doors_cannot_listen():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        api_port = free.getsockname()[1]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = Settings(host="127.0.0.1", port=api_port,
                            front_door_port=taken.getsockname()[1])
        server = EmulatorServer(create_app(settings), "127.0.0.1", api_port)
        with pytest.raises(PortTaken):
            server.start()
    with socket.socket() as again:
        again.bind(("127.0.0.1", api_port))  # free again: nothing kept it
