"""`ecs-emulator serve` holds the start-up's Docker work (the SDK's import, orphans, events,
health) until its first answer, so that answer does not share the interpreter with it
(emulator/server.py); the hold ends with that answer, or after a grace if none comes. Its port
listens before the emulator is built, and a call queued meanwhile is answered; the cyclic garbage
collector is off while it is built and on, with the start-up's objects frozen, once it serves."""

import gc
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading

import pytest

from emulator import cli, http_server
from emulator import server as server_module
from emulator.early_listener import open_listener
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


# -- the listening socket opened before the emulator is built (emulator/early_listener.py) ----


def test_a_call_sent_before_the_server_is_built_is_answered_once_it_is():
    listener = open_listener("127.0.0.1", 0)
    port = listener.getsockname()[1]
    # The client connects and sends while nothing serves yet: the kernel holds both.
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(b"GET /early HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
        return [environ["PATH_INFO"].encode()]

    server = http_server.Server(("127.0.0.1", port), app, listening_socket=listener)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        assert server.bind_addr == ("127.0.0.1", port)
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"/early")
    finally:
        client.close()
        server.stop()
        thread.join(timeout=10)
    with pytest.raises(OSError):  # the server closed the socket it adopted
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_an_address_in_use_fails_at_the_early_listener():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            open_listener("127.0.0.1", taken.getsockname()[1])


# -- the collector during `serve`'s start-up (emulator/cli.py) ---------------------------------


def test_serve_builds_without_the_collector_and_serves_with_it(monkeypatch):
    seen = {}

    class Server:
        def serve_forever(self):
            seen["serving"] = (gc.isenabled(), gc.get_freeze_count())
            raise cli._Stop("SIGTERM")

        def stop(self):
            seen["stopped"] = True

    def build(settings, listener):
        seen["building"] = gc.isenabled()
        seen["listening"] = listener.getsockname()[1] != 0
        listener.close()
        return Server()

    monkeypatch.setattr(cli, "_server", build)
    signals = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        assert cli.main(["--port", "0", "--quiet"]) == 0
    finally:
        for signum, handler in signals.items():
            signal.signal(signum, handler)
        gc.unfreeze()
        gc.enable()
    assert seen["building"] is False and seen["listening"]
    enabled, frozen = seen["serving"]
    assert enabled and frozen > 0
    assert seen["stopped"]


def test_a_client_command_leaves_the_collector_alone():
    assert gc.isenabled()
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert gc.isenabled()


def test_the_first_ecs_call_imports_none_of_the_heavy_libraries():
    """What `serve` builds and its first ListClusters: our own ECS handlers, no SDK, no moto,
    no Docker SDK, no Flask, no importlib.metadata (a fresh interpreter: pytest has them all);
    nor our own modules of features that call later: the OCI registry and ECR's model (made
    with the first ECR call or push), ECS Exec's session service (with the first session), the
    pause image (with the first sandbox)."""
    code = textwrap.dedent("""
        import io, json, sys
        from emulator import cli
        settings = cli._settings(cli._parser(clients=False).parse_args(["--port", "0"]))
        server = cli._server(settings, None)
        environ = json.loads(sys.argv[1])
        environ["wsgi.input"] = io.BytesIO(b"{}")
        body = b"".join(server._server.wsgi_app(environ, lambda status, headers: None))
        assert json.loads(body) == {"clusterArns": []}, body
        heavy = {"moto", "botocore", "boto3", "docker", "flask", "werkzeug", "yaml", "requests",
                 "urllib3"}
        rare = ("emulator.registry.storage", "emulator.registry.names",
                "emulator.registry.manifests", "emulator.registry.driver", "emulator.ecr.model",
                "emulator.ecr.images",
                "emulator.ecr.hooks", "emulator.exec.service", "emulator.exec.websocket",
                "emulator.runtime.pause_image", "tarfile", "http.cookies")
        print(json.dumps({
            "heavy": sorted(heavy & {name.split(".")[0] for name in sys.modules}
                            | {"importlib.metadata"} & set(sys.modules)),
            "rare": sorted(name for name in sys.modules if name.startswith(rare))}))
    """)
    environ = {k: v for k, v in list_clusters_environ().items() if k != "wsgi.input"}
    done = subprocess.run([sys.executable, "-c", code, json.dumps(environ)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.split("\n")[-2]) == {"heavy": [], "rare": []}


def test_the_registry_is_made_with_its_first_use_and_answers_as_before():
    """create_app leaves the registry (its temporary directory too) to its first user; the
    registry routes, ECR and a reset all find the same one, with ECR's hooks in it."""
    from emulator.ecr.hooks import EcrRegistryHooks

    emulator = create_app(Settings(host="127.0.0.1", port=0))
    assert emulator.ecr.registry_if_made() is None
    emulator.reset()  # nothing to empty: it makes none
    assert emulator.ecr.registry_if_made() is None
    registry = emulator.registry
    assert registry is not None and registry is emulator.ecr.registry is emulator.registry
    assert isinstance(registry.hooks, EcrRegistryHooks)
    assert emulator.ecr.registry_if_made() is registry


def test_a_reset_empties_a_data_directorys_registry_that_nothing_used_yet(tmp_path):
    """With a data directory the registry's files outlive the process: a reset made before any
    ECR call or push of this run must still empty them (the README: a reset drops images)."""
    leftover = tmp_path / "registry" / "repositories" / "000000000000" / "app" / "_manifests"
    leftover.mkdir(parents=True)
    (leftover / "kept").write_text("an image of an earlier run")
    second = create_app(Settings(host="127.0.0.1", port=0, data_dir=str(tmp_path)))
    assert second.ecr.registry_if_made() is None
    second.reset()
    assert not (tmp_path / "registry" / "repositories" / "000000000000" / "app").exists()


def test_a_data_directory_is_its_owners_only(tmp_path):
    """The registry's images (their layers may hold secrets) are not other users' to read: a new
    data directory and its registry/ are 0700; a registry/ an older emulator made open (0755)
    is closed at start; a data directory the user made is left as it is."""
    fresh = tmp_path / "fresh"
    assert create_app(Settings(host="127.0.0.1", port=0, data_dir=str(fresh))).registry
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    assert stat.S_IMODE((fresh / "registry").stat().st_mode) == 0o700
    older = tmp_path / "older"
    (older / "registry").mkdir(parents=True, mode=0o755)
    os.chmod(older / "registry", 0o755)
    os.chmod(older, 0o755)
    create_app(Settings(host="127.0.0.1", port=0, data_dir=str(older)))
    assert stat.S_IMODE((older / "registry").stat().st_mode) == 0o700
    assert stat.S_IMODE(older.stat().st_mode) == 0o755
