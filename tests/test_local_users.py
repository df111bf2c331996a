"""Other local users are not "this host" (access/local_users.py): a call to the operator's
listener, or to a gateway listener containers reach, from another uid is refused with an
AWS-shaped 403 and does nothing; so is one from this host whose maker cannot be told (Docker's
MASQUERADE rewrote it); the emulator's own user and root are served;
ECS_EMULATOR_LOCAL_USERS=any serves everyone, as before."""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from emulator.access import local_users as local_users_module
from emulator.access.local_users import LocalUsers
from emulator.access.peer_uid import GONE, PeerUid
from emulator.access.host_addresses import is_local_address
from emulator.config import Settings, served_local_uids as served_uids
from emulator.pytest_plugin import running_emulator

NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
TARGET = "X-Amz-Target: AmazonEC2ContainerServiceV20141113."
other_uids = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("curl")
    or not sys.platform.startswith("linux"),
    reason="runs curl as another user: needs root, setpriv and Linux")


def ecs_call(url: str, operation: str, body: dict, as_nobody: bool,
             curl_options: tuple = ()) -> tuple[int, dict]:
    """curl (an unsigned JSON call, as any local program can make), as nobody or as us."""
    command = ["curl", "-sS", *curl_options, "-o", "-", "-w", "\n%{http_code}", "-X", "POST",
               url, "-H", TARGET + operation, "-H", "Content-Type: application/x-amz-json-1.1",
               "--data", json.dumps(body)]
    done = subprocess.run((AS_NOBODY if as_nobody else []) + command, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    text, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(text)


@other_uids
def test_another_local_user_is_refused_and_root_is_served(clean_emulator):
    url = clean_emulator.endpoint_url
    status, body = ecs_call(url, "CreateCluster", {"clusterName": "nobodys"}, as_nobody=True)
    assert status == 403
    assert body["__type"] == "AccessDeniedException"
    assert f"local user {NOBODY}" in body["message"]
    # Nothing happened: the same call as root (the emulator's user here) finds no cluster.
    status, body = ecs_call(url, "ListClusters", {}, as_nobody=False)
    assert (status, body) == (200, {"clusterArns": []})
    status, body = ecs_call(url, "CreateCluster", {"clusterName": "roots"}, as_nobody=False)
    assert status == 200 and body["cluster"]["clusterName"] == "roots"
    # The control endpoints too: refused before any route is reached.
    control = subprocess.run(AS_NOBODY + ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                          f"{url}/_emulator/health"],
                             capture_output=True, text=True, timeout=60)
    assert control.stdout == "403"


# What another local user must not get: a privileged container with the host's / mounted.
ROOT_OF_THE_HOST = {
    "family": "host-root",
    "volumes": [{"name": "root", "host": {"sourcePath": "/"}}],
    "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64,
                              "privileged": True,
                              "mountPoints": [{"sourceVolume": "root", "containerPath": "/host"}]}],
}


@other_uids
def test_another_local_user_is_refused_on_the_containers_gateway_listener(clean_emulator):
    """A host process reaches the gateway listener from one of the host's own addresses, which
    the gate takes for HOST (host-access rules skipped): the uid is told there too."""
    gateway_url = clean_emulator.emulator.container_endpoint()
    status, body = ecs_call(gateway_url, "RegisterTaskDefinition", ROOT_OF_THE_HOST,
                            as_nobody=True)
    assert status == 403 and body["__type"] == "AccessDeniedException"
    assert f"local user {NOBODY}" in body["message"]
    status, body = ecs_call(gateway_url, "ListTaskDefinitions", {}, as_nobody=False)
    assert (status, body) == (200, {"taskDefinitionArns": []})  # nothing was registered
    status, body = ecs_call(gateway_url, "ListClusters", {}, as_nobody=False)  # root: served
    assert status == 200


DOCKER0 = "172.17.0.1"


@other_uids
@pytest.mark.skipif(not is_local_address(DOCKER0), reason="no docker0 at 172.17.0.1 here")
def test_a_connection_docker_rewrote_is_refused(clean_emulator):
    """From docker0's address to 127.0.0.1, Docker's MASQUERADE (-s 172.17.0.0/16 ! -o docker0)
    rewrites the source: the kernel has no socket with the addresses we see, so who made it
    cannot be told, and a connection to loopback is this host's: refused, whoever made it."""
    options = ("--interface", DOCKER0)
    status, body = ecs_call(clean_emulator.endpoint_url, "RegisterTaskDefinition",
                            ROOT_OF_THE_HOST, as_nobody=True, curl_options=options)
    assert status == 403 and body["__type"] == "AccessDeniedException"
    assert "cannot be told" in body["message"]
    status, body = ecs_call(clean_emulator.endpoint_url, "ListTaskDefinitions", {},
                            as_nobody=False)
    assert (status, body) == (200, {"taskDefinitionArns": []})


@other_uids
def test_a_refused_connection_is_answered_as_it_arrives(clean_emulator):
    """Nothing of a refused user's waits among the operator's connections: it has its 403 and
    the connection's end before it has sent a byte."""
    port = clean_emulator.endpoint_url.rsplit(":", 1)[1]
    script = (f"import socket; s = socket.create_connection(('127.0.0.1', {port})); "
              f"s.settimeout(20); data = b''\n"
              f"while chunk := s.recv(65536): data += chunk\n"
              f"print(repr(data))")
    done = subprocess.run(AS_NOBODY + ["/usr/bin/python3", "-c", script], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    head, _, body = ast.literal_eval(done.stdout).decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 403 Forbidden")
    assert json.loads(body)["__type"] == "AccessDeniedException"


@other_uids
def test_any_serves_every_local_user(ecs_emulator_settings):
    with running_emulator(replace(ecs_emulator_settings, local_users="any")) as emulator:
        status, body = ecs_call(emulator.endpoint_url, "ListClusters", {}, as_nobody=True)
    assert (status, body) == (200, {"clusterArns": []})


@other_uids
def test_a_listed_uid_is_served(ecs_emulator_settings):
    with running_emulator(replace(ecs_emulator_settings,
                                  local_users=f"own,{NOBODY}")) as emulator:
        status, _ = ecs_call(emulator.endpoint_url, "ListClusters", {}, as_nobody=True)
    assert status == 200


@other_uids
def test_the_peer_uid_is_the_connecting_sockets_owner():
    finder = PeerUid()
    assert finder.works()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        script = (f"import socket, time; s = socket.create_connection(('127.0.0.1', {port})); "
                  f"s.recv(1)")
        client = subprocess.Popen(AS_NOBODY + ["/usr/bin/python3", "-c", script])
        try:
            listener.settimeout(30)
            served, _ = listener.accept()
            with served:
                assert finder.of(served) == NOBODY
                served.sendall(b"x")  # the client ends
                client.wait(timeout=30)
                deadline = time.monotonic() + 10
                while finder.of(served) != GONE:  # its socket closed: no process's any more
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
        finally:
            client.kill()
            client.wait()


def _link_local_address() -> tuple[str, int] | None:
    """One of this host's IPv6 link-local addresses and its interface's index, if any."""
    try:
        found = json.loads(subprocess.run(["ip", "-j", "-6", "addr", "show"], capture_output=True,
                                          text=True, timeout=10).stdout or "[]")
    except (OSError, ValueError):
        return None
    return next(((info["local"], interface["ifindex"]) for interface in found
                 for info in interface.get("addr_info", [])
                 if info.get("local", "").startswith("fe80:")), None)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sock_diag is Linux's")
def test_a_link_local_peer_is_told_on_its_interface():
    """A link-local socket belongs to its interface, which the kernel's lookup matches too: a
    lookup without it finds no socket (and would serve a local user as one from elsewhere)."""
    link_local = _link_local_address()
    if link_local is None:
        pytest.skip("no IPv6 link-local address here")
    address, interface = link_local
    with socket.socket(socket.AF_INET6) as listener:
        listener.bind((address, 0, 0, interface))
        listener.listen(1)
        with socket.socket(socket.AF_INET6) as client:
            client.connect(listener.getsockname())
            served, peer = listener.accept()
            with served:
                assert PeerUid().of(served) == os.geteuid()
                users = LocalUsers("own", _Told(4242))
                assert users.refused(served, peer[0]) == 4242  # told as this host's


class _Told:
    """A PeerUid that answers what it is told."""

    def __init__(self, answer):
        self.answer = answer

    def works(self) -> bool:
        return True

    def of(self, sock):
        return self.answer


class _Sock:
    """What LocalUsers asks of a connection's socket: the address it arrived on."""

    def __init__(self, ours: str):
        self.ours = ours

    def getsockname(self):
        return (self.ours, 4566)

    def getpeername(self):
        return ("127.0.0.1", 50000)


def test_who_is_refused():
    own, ours = os.geteuid(), _Sock("127.0.0.1")
    assert LocalUsers("own", _Told(own)).refused(ours, "127.0.0.1") is None
    assert LocalUsers("own", _Told(0)).refused(ours, "127.0.0.1") is None
    assert LocalUsers("own", _Told(4242)).refused(ours, "127.0.0.1") == 4242
    assert LocalUsers("own,4242", _Told(4242)).refused(_Sock("::1"), "::1") is None
    # A socket that is gone (its sender closed it): a kernel reports uid 0 there, proving nothing.
    assert LocalUsers("own", _Told(GONE)).refused(ours, "127.0.0.1") == -1
    # Not in this kernel's table: a loopback peer must have been; so must a peer of any address
    # that came to a loopback one (rewritten on the way: Docker's MASQUERADE).
    assert LocalUsers("own", _Told(None)).refused(_Sock("::1"), "::ffff:127.0.0.1") == -1
    assert LocalUsers("own", _Told(None)).refused(ours, "10.0.0.5") == -1
    # One from elsewhere that came to an address not loopback (another machine, or a task in a
    # network namespace of its own) is not this host's: not even asked.
    assert LocalUsers("own", _Told(4242)).refused(_Sock("10.0.0.1"), "10.0.0.5") is None
    assert LocalUsers("any", _Told(4242)).refused(ours, "127.0.0.1") is None


def test_a_peer_at_an_address_of_this_host_is_asked():
    """A gateway listener's peer at one of this host's own (non-loopback) addresses is a local
    process: told like a loopback one, and refused where it cannot be told."""
    address = next((a for a in ("172.17.0.1", "192.0.2.2") if is_local_address(a)), None)
    if address is None:
        pytest.skip("no non-loopback address of this host known here")
    gateway = _Sock(address)
    assert LocalUsers("own", _Told(4242)).refused(gateway, address) == 4242
    assert LocalUsers("own", _Told(None)).refused(gateway, address) == -1
    assert LocalUsers("own", _Told(os.geteuid())).refused(gateway, address) is None


def test_a_system_that_does_not_tell_serves_everyone(caplog):
    class Silent(_Told):
        def works(self) -> bool:
            return False

    users = LocalUsers("own", Silent(4242))
    assert not users.telling and users.refused(_Sock("127.0.0.1"), "127.0.0.1") is None
    assert "every local user is served" in caplog.text


def test_the_refusal_on_the_wire_is_the_gates():
    answer = local_users_module._answer(4242)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"\r\nConnection: close" in head and b"X-Amzn-ErrorType: AccessDeniedException" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert json.loads(body)["__type"] == "AccessDeniedException"


def test_the_setting(monkeypatch):
    for raw, expected in (("", "own"), ("ANY", "any"), (" own , 1001 ", "own,1001"),
                          ("root", "root")):
        monkeypatch.setenv("ECS_EMULATOR_LOCAL_USERS", raw)
        assert Settings.from_env().local_users == expected
    for raw in ("any,1001", "no-such-user-here", "-5"):
        monkeypatch.setenv("ECS_EMULATOR_LOCAL_USERS", raw)
        with pytest.raises(ValueError, match="ECS_EMULATOR_LOCAL_USERS"):
            Settings.from_env()
    assert served_uids("any") is None
    assert served_uids("own") == {os.geteuid(), 0}
    assert served_uids("own,1001,root") == {os.geteuid(), 0, 1001}
