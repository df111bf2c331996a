"""Other local users are not "this host" (access/local_users.py): a call to the operator's
listener from another uid is refused with an AWS-shaped 403 and does nothing; the emulator's own
user and root are served; ECS_EMULATOR_LOCAL_USERS=any serves everyone, as before."""

from __future__ import annotations

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
from emulator.access.local_users import LocalUsers, served_uids
from emulator.access.peer_uid import GONE, PeerUid
from emulator.config import Settings
from emulator.pytest_plugin import running_emulator

NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
TARGET = "X-Amz-Target: AmazonEC2ContainerServiceV20141113."
other_uids = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("curl")
    or not sys.platform.startswith("linux"),
    reason="runs curl as another user: needs root, setpriv and Linux")


def ecs_call(url: str, operation: str, body: dict, as_nobody: bool) -> tuple[int, dict]:
    """curl (an unsigned JSON call, as any local program can make), as nobody or as us."""
    command = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", url,
               "-H", TARGET + operation, "-H", "Content-Type: application/x-amz-json-1.1",
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


class _Told:
    """A PeerUid that answers what it is told."""

    def __init__(self, answer):
        self.answer = answer

    def works(self) -> bool:
        return True

    def of(self, sock):
        return self.answer


def test_who_is_refused():
    own = os.geteuid()
    assert LocalUsers("own", _Told(own)).refused(None, "127.0.0.1") is None
    assert LocalUsers("own", _Told(0)).refused(None, "127.0.0.1") is None
    assert LocalUsers("own", _Told(4242)).refused(None, "127.0.0.1") == 4242
    assert LocalUsers("own,4242", _Told(4242)).refused(None, "::1") is None
    # A socket that is gone (its sender closed it): a kernel reports uid 0 there, proving nothing.
    assert LocalUsers("own", _Told(GONE)).refused(None, "10.0.0.5") == -1
    # Not in this kernel's table: a loopback peer must have been, one from elsewhere is not told.
    assert LocalUsers("own", _Told(None)).refused(None, "::ffff:127.0.0.1") == -1
    assert LocalUsers("own", _Told(None)).refused(None, "10.0.0.5") is None
    assert LocalUsers("any", _Told(4242)).refused(None, "127.0.0.1") is None


def test_a_system_that_does_not_tell_serves_everyone(caplog):
    class Silent(_Told):
        def works(self) -> bool:
            return False

    users = LocalUsers("own", Silent(4242))
    assert not users.telling and users.refused(None, "127.0.0.1") is None
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
