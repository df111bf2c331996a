"""Other local users are not "this host" (access/local_users.py): a call to the operator's
listener, or to a gateway listener containers reach, from another uid is refused with an
AWS-shaped 403 and does nothing; so is one from this host whose maker cannot be told (Docker's
MASQUERADE rewrote it); the emulator's own user and root are served;
ECS_EMULATOR_LOCAL_USERS=any serves everyone, as before."""

from __future__ import annotations

import ast
import http.client
import json
import math
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
from emulator.access import peer_uid as peer_uid_module
from emulator.access.conntrack import Conntrack
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


# A call made on a socket the caller chose: bound to (address, port) and, if named, to a device
# (SO_BINDTODEVICE: any user may since Linux 5.7); prints the answer's status.
_BORROWING = """
import socket, sys
address, port, device, target, target_port = sys.argv[1:]
s = socket.socket()
if device:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
s.bind((address, int(port)))
s.settimeout(20)
s.connect((target, int(target_port)))
body = b'{"clusterName": "borrowed"}'
head = ("POST / HTTP/1.1\\r\\nHost: %s:%s\\r\\nConnection: close\\r\\n"
        "X-Amz-Target: AmazonEC2ContainerServiceV20141113.CreateCluster\\r\\n"
        "Content-Type: application/x-amz-json-1.1\\r\\n"
        "Content-Length: %d\\r\\n\\r\\n" % (target, target_port, len(body)))
s.sendall(head.encode() + body)
data = b""
while chunk := s.recv(65536):
    data += chunk
print(repr(data))
"""


def _borrowing_a_served_port(url: str, address: str, device: str = "") -> tuple[int, dict]:
    """nobody's call from `address` (on `device`), from the source port of a keep-alive
    connection root holds open to the same listener (a port anyone reads with `ss -tn`): the
    answer's status and body."""
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    kept = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        kept.request("POST", "/", b"{}", {"X-Amz-Target": TARGET.split(": ")[1] + "ListClusters",
                                          "Content-Type": "application/x-amz-json-1.1"})
        assert kept.getresponse().read() and kept.sock is not None  # served, and kept open
        borrowed = kept.sock.getsockname()[1]
        done = subprocess.run(AS_NOBODY + ["/usr/bin/python3", "-c", _BORROWING, address,
                                           str(borrowed), device, host, port],
                              capture_output=True, text=True, timeout=60)
    finally:
        kept.close()
    assert done.returncode == 0, done.stderr
    head, _, body = ast.literal_eval(done.stdout).decode().partition("\r\n\r\n")
    return int(head.split(" ")[1]), json.loads(body)


@other_uids
@pytest.mark.skipif(not is_local_address(DOCKER0), reason="no docker0 at 172.17.0.1 here")
def test_a_rewritten_connection_borrowing_a_served_port_is_refused(clean_emulator):
    """MASQUERADE keeps the source port: nobody's connection from docker0's address, at the
    port of root's keep-alive connection, arrives from another address of this host with root's
    port. Looking its socket up at our own address would find root's: it must not be asked."""
    status, body = _borrowing_a_served_port(clean_emulator.endpoint_url, DOCKER0)
    assert status == 403, body  # before the mend: 200, a cluster created as root
    assert body["__type"] == "AccessDeniedException"
    assert "cannot be told" in body["message"]
    assert clean_emulator.client("ecs").list_clusters()["clusterArns"] == []


@other_uids
def test_a_device_bound_connection_borrowing_a_served_port_is_refused(clean_emulator):
    """A socket bound to a device is not found by the kernel's exact lookup: nobody's, from
    127.0.0.2 at root's keep-alive source port, must not be taken for root's 127.0.0.1 one."""
    status, body = _borrowing_a_served_port(clean_emulator.endpoint_url, "127.0.0.2",
                                            device="lo")
    assert status == 403, body  # before the mend: 200, a cluster created as root
    assert body["__type"] == "AccessDeniedException"
    assert clean_emulator.client("ecs").list_clusters()["clusterArns"] == []


def _call_from(url: str, address: str, device: str = "", port: int = 0,
               as_nobody: bool = True) -> tuple[int, dict]:
    """A CreateCluster call from `address`:`port` (0: any), on `device` if named: its answer's
    status and body."""
    host, target_port = url.split("//", 1)[1].rsplit(":", 1)
    done = subprocess.run((AS_NOBODY if as_nobody else [])
                          + ["/usr/bin/python3", "-c", _BORROWING, address, str(port), device,
                             host, target_port], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    head, _, body = ast.literal_eval(done.stdout).decode().partition("\r\n\r\n")
    return int(head.split(" ")[1]), json.loads(body)


def _interface_of(address: str) -> str | None:
    """The name of the interface that holds `address` here, if any."""
    found = json.loads(subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True,
                                      text=True, timeout=10).stdout or "[]")
    return next((interface["ifname"] for interface in found
                 for info in interface.get("addr_info", []) if info.get("local") == address),
                None)


@other_uids
def test_a_device_bound_connection_is_told_as_its_maker(clean_emulator):
    """`curl --interface lo` binds its socket to lo, which hides it from the exact lookup; the
    dump finds it by its own addresses: root's is served, nobody's refused as nobody's."""
    url = clean_emulator.endpoint_url
    status, body = ecs_call(url, "ListClusters", {}, as_nobody=False,
                            curl_options=("--interface", "lo"))
    assert (status, body) == (200, {"clusterArns": []})
    status, body = ecs_call(url, "CreateCluster", {"clusterName": "nobodys"}, as_nobody=True,
                            curl_options=("--interface", "lo"))
    assert status == 403 and f"local user {NOBODY}" in body["message"]
    status, body = _call_from(url, "127.0.0.2", device="lo")
    assert status == 403 and f"local user {NOBODY}" in body["message"]
    assert clean_emulator.client("ecs").list_clusters()["clusterArns"] == []


@other_uids
def test_rewritten_and_device_bound_connections_to_a_gateway_are_told(clean_emulator):
    """A host process reaches a gateway listener from the gateway's own address, which Docker's
    MASQUERADE rewrites (keeping the port): the dump finds every socket connected to us whose
    first source has no server-side socket here, and serves only if it serves all of them."""
    gateway_url = clean_emulator.emulator.container_endpoint()
    gateway = gateway_url.split("//", 1)[1].rsplit(":", 1)[0]
    interface = _interface_of(gateway)
    host, port = gateway, int(gateway_url.rsplit(":", 1)[1])
    kept = http.client.HTTPConnection(host, port, timeout=30)  # root's, rewritten, kept open
    try:
        kept.request("POST", "/", b"{}", {"X-Amz-Target": TARGET.split(": ")[1] + "ListClusters",
                                          "Content-Type": "application/x-amz-json-1.1"})
        response = kept.getresponse()
        assert response.status == 200, response.read()
        response.read()
        for device in ("", interface):
            status, body = _call_from(gateway_url, gateway, device=device or "")
            assert status == 403, body
            assert f"local user {NOBODY}" in body["message"]
            status, body = _call_from(gateway_url, gateway, device=device or "",
                                      as_nobody=False)
            assert status == 200, body  # root's, rewritten or device-bound: served
    finally:
        kept.close()
    arns = clean_emulator.client("ecs").list_clusters()["clusterArns"]
    assert [arn.rsplit("/", 1)[1] for arn in arns] == ["borrowed"]  # root's only


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


class _Dumped(PeerUid):
    """A PeerUid whose dump lists the sockets it is given (no kernel asked)."""

    def __init__(self, sockets):
        super().__init__()
        self.sockets = sockets

    def _dump(self, family, ours, deadline=None):
        return self.sockets


GATEWAY = ("172.17.0.1", 4566)


def test_the_dump_proves_which_sockets_may_be_the_connection():
    """Only a socket with the peer's own addresses, or (off loopback) one whose first source has
    no server-side socket here, may be the connection; the owners of all of them are told."""
    peer = ("192.0.2.2", 40000)  # what the server sees: rewritten on the way
    served = (GATEWAY, peer, 0, 11, 1, None)  # our side of it
    roots = (("172.17.0.1", 40000), GATEWAY, 0, 12, 1, None)  # root's, rewritten to `peer`
    nobodys = (("172.17.0.1", 40001), GATEWAY, NOBODY, 13, 1, None)  # nobody's, rewritten to 40002
    answered = (("192.0.2.2", 50000), GATEWAY, NOBODY, 14, 1, None)  # nobody's, served as itself
    its_side = (GATEWAY, ("192.0.2.2", 50000), 0, 15, 1, None)
    proven = lambda sockets, at=GATEWAY: _Dumped(sockets)._proven(socket.AF_INET, peer, at)
    assert proven([served, roots, answered, its_side]) == 0
    # A rewritten port is not the first one: any rewritten socket may be ours, and each is told.
    assert proven([served, roots, nobodys]) == frozenset({0, NOBODY})
    assert proven([served, (roots[0], GATEWAY, 0, 0, 4, 0)]) == GONE  # closed: who sent it is gone
    assert proven([served, answered, its_side]) is None  # none may be: not told
    # Two connections of ours from rewritten sources, one client: the other left the kernel's
    # table without a word (its own timer's abort) and may be this one: not root's.
    roots_side = (GATEWAY, ("192.0.2.2", 40003), 0, 17, 1, None)
    assert proven([served, roots, roots_side]) == GONE
    # ... however many closed clients of another's (FIN_WAIT2: their side of ours took a FIN)
    padding = [(("172.17.0.1", 41000 + n), GATEWAY, 0, 0, 5, 0) for n in range(3)]
    assert proven([served, roots, roots_side, *padding]) == GONE
    assert proven([served, roots, roots_side, nobodys]) == frozenset({0, NOBODY})
    # Not ESTABLISHED: its client took our FIN or sent its own, and may be leaving the table
    for state in (5, 8):
        assert proven([served, roots, roots_side[:4] + (state, None)]) == 0
    # The peer's own socket (bound to a device, hidden from the exact lookup) is this one.
    hidden = (peer, GATEWAY, NOBODY, 16, 1, None)
    assert proven([served, hidden, answered, its_side]) == NOBODY
    # On loopback nothing arrives rewritten: only the peer's own socket counts.
    loopback = ("127.0.0.1", 4566)
    at_loopback = [((a, p), loopback, uid, inode, 1, None)
                   for (a, p), _, uid, inode, *_ in (roots, hidden)]
    assert proven(at_loopback, loopback) == NOBODY
    assert proven(at_loopback[:1], loopback) is None


def test_an_earlier_connection_closing_is_not_taken_for_this_one():
    """A closed client socket whose state says our side took its FIN (FIN_WAIT2) or sent ours
    (LAST_ACK, CLOSING) is an earlier connection's (PeerUid.of asks that ours is still
    ESTABLISHED); one whose FIN may be held back (FIN_WAIT1, CLOSE) only if it has received more
    of ours than this connection's peer has acknowledged."""
    peer = ("192.0.2.2", 40000)
    roots = (("172.17.0.1", 40000), GATEWAY, 0, 12, 1, 0)
    proven = lambda sockets, acked=0: _Dumped(sockets)._proven(
        socket.AF_INET, peer, GATEWAY, acked=lambda: acked)
    for state in (5, 9, 11):
        assert proven([roots, (("172.17.0.1", 39999), GATEWAY, 0, 0, state, 0)]) == 0
    for state in (4, 7):
        answered = (("172.17.0.1", 39999), GATEWAY, 0, 0, state, 180)  # it had an answer
        assert proven([roots, answered]) == 0
        assert proven([roots, answered], acked=180) == GONE  # as much as ours had: may be it
        assert proven([roots, answered[:5] + (0,)]) == GONE  # nothing yet: it may be this one
        assert proven([roots, answered[:5] + (None,)]) == GONE  # not told
    assert proven([roots, (("172.17.0.1", 39999), GATEWAY, 0, 0, 8, 0)]) == GONE
    assert proven([roots, (peer, GATEWAY, 0, 0, 5, 0)]) == GONE  # its own socket, closed


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_dumps_take_a_bounded_share_of_the_listeners_time():
    """A local flood of connections that each need a dump (cost: the sockets connected to the
    port) cannot hold a listener's selector: past its share of the thread's time a connection
    that needs one is not told (refused), without a dump."""
    clock, dumps = _Clock(), []
    hidden = (("127.0.0.1", 40000), ("127.0.0.1", 4566), NOBODY, 16, 1, None)

    class Flooded(_Dumped):
        def _dump(self, family, ours, deadline=None):
            dumps.append(deadline)
            clock.now += 0.06  # what a dump of about 3,000 sockets costs
            return self.sockets

    finder = Flooded([hidden])
    finder._local.budget = peer_uid_module._DumpBudget(clock, clock)
    burst = math.ceil(peer_uid_module._DUMP_BURST_S / 0.06)  # the last one overspends
    told = [finder._dumped(socket.AF_INET, hidden[0], hidden[1]) for _ in range(burst + 3)]
    assert told == [NOBODY] * burst + [None] * 3
    assert len(dumps) == burst and dumps[0] == 100.0 + peer_uid_module._DUMP_STALL_S
    overspent = burst * 0.06 - peer_uid_module._DUMP_BURST_S
    clock.now += (overspent + 0.07) / peer_uid_module._DUMP_SHARE  # its share since: 0.07 s left
    assert finder._dumped(socket.AF_INET, hidden[0], hidden[1]) == NOBODY
    assert dumps[-1] == pytest.approx(clock.now - 0.06 + peer_uid_module._DUMP_STALL_S)
    assert finder._dumped(socket.AF_INET, hidden[0], hidden[1]) == NOBODY  # 0.01 s left
    assert finder._dumped(socket.AF_INET, hidden[0], hidden[1]) is None
    assert len(dumps) == burst + 2


def test_a_dump_past_its_deadline_is_cut_short_and_the_next_question_answered():
    """The kernel's answer comes in parts as it is read: one not over by its deadline is left
    (not told), and the thread's next questions are asked on a fresh socket."""
    finder, held = PeerUid(), []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(512)
        ours = listener.getsockname()
        try:
            for _ in range(500):  # about 90 kB of answers: more than one datagram
                held.append(socket.create_connection(ours))
                held.append(listener.accept()[0])
            assert finder._dump(socket.AF_INET, ours, deadline=time.monotonic()) is None
            assert len(finder._dump(socket.AF_INET, ours)) == 1000
            assert finder.of(held[1]) == os.geteuid()
        finally:
            for sock in held:
                sock.close()


@pytest.mark.skipif(not is_local_address(DOCKER0) or os.geteuid() != 0,
                    reason="no docker0 at 172.17.0.1, or not root (connection tracking)")
def test_connection_tracking_tells_a_rewritten_connections_source():
    """A host process calling docker0's address leaves from it, and MASQUERADE rewrites the
    source: connection tracking tells the source its socket has."""
    with socket.socket() as listener:
        listener.bind((DOCKER0, 0))
        listener.listen(1)
        with socket.create_connection(listener.getsockname()) as client:
            served, seen = listener.accept()
            with served:
                if seen[0] == DOCKER0:
                    pytest.skip("this host does not rewrite docker0's own traffic")
                tracked = Conntrack().original_source(socket.AF_INET, served.getsockname(), seen)
                assert tracked == client.getsockname()
                assert PeerUid().of(served) == os.geteuid()


def _until_clients(ours: tuple[str, int], left: int, timeout: float = 20.0) -> None:
    """Wait (bounded) until `left` client sockets of this host are connected to `ours`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sockets = PeerUid()._dump(socket.AF_INET, ours) or []
        if sum(1 for _, remote, *_ in sockets if remote == ours) <= left:
            return
        time.sleep(0.05)


def _fill_and_close_as_nobody(port: int, decoy: bool = False, user_timeout_ms: int = 0) -> None:
    """As uid 65534: connect to docker0's address at `port`, send a request, fill our window
    (nothing reads it yet) and close, its FIN held behind the data; with `user_timeout_ms` its
    own timer then drops the socket without a word; with `decoy`, one more connection closed
    at once."""
    attack = ("import socket\n"
              "e = socket.socket()\n"
              + (f"e.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, {user_timeout_ms})\n"
                 if user_timeout_ms else "")
              + f"e.connect(({DOCKER0!r}, {port}))\n"
              "e.setblocking(False)\n"
              "e.send(b'POST /evil HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
              "try:\n"
              "    while True:\n"
              "        e.send(b'x' * 65536)\n"
              "except BlockingIOError:\n"
              "    pass\n"
              "e.close()\n"
              + (f"socket.create_connection(({DOCKER0!r}, {port})).close()\n" if decoy else ""))
    subprocess.run(AS_NOBODY + ["/usr/bin/python3", "-c", attack], check=True, timeout=30)


def _finder(tracked: bool) -> PeerUid:
    """A PeerUid that asks connection tracking for a rewritten connection's source (as root),
    or one that proves it from a dump (as where it cannot ask: not root)."""
    if tracked and os.geteuid() != 0:
        pytest.skip("connection tracking is asked as root only")
    finder = PeerUid()
    finder._conntrack.works = tracked
    return finder


def _asked(finder: PeerUid, tracked: bool) -> None:
    """A tracked finder really asked connection tracking (it did not fall back to the dump)."""
    assert finder._conntrack.works is tracked


@pytest.mark.skipif(not is_local_address(DOCKER0), reason="no docker0 at 172.17.0.1 here")
@pytest.mark.parametrize("tracked", [True, False], ids=["conntrack", "dump"])
def test_a_keepalive_less_clients_calls_to_a_gateway_address_are_each_told(tracked):
    """A client that closes each connection first (urllib, curl) leaves its last one behind
    until our side closes it; its next connection is still told as its own (under load each
    was refused as gone: CI). One that sent its request and closed is not told as anyone's,
    even once its socket has left the kernel's table and another connection stays open."""
    finder = _finder(tracked)
    with socket.socket() as listener:
        listener.bind((DOCKER0, 0))
        listener.listen(4)
        kept = socket.create_connection(listener.getsockname())  # a served user's, kept open
        kept_served, _ = listener.accept()
        first = socket.create_connection(listener.getsockname())
        earlier, _ = listener.accept()
        with kept, kept_served:
            earlier.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            first.recv(100)
            first.close()  # the client closes first, answered; our side has not closed yet
            with socket.create_connection(listener.getsockname()):
                served, _ = listener.accept()
                with served:
                    assert finder.of(served) == os.geteuid()
            earlier.close()
            gone = socket.create_connection(listener.getsockname())
            gone.setsockopt(socket.IPPROTO_TCP, socket.TCP_LINGER2, 1)  # out within ~1 s
            sent, _ = listener.accept()
            with sent:
                gone.sendall(b"GET / HTTP/1.1\r\n\r\n")
                gone.close()
                _until_clients(listener.getsockname(), 1)  # FIN_WAIT2 timed out: gone
                assert finder.of(sent) == GONE
    _asked(finder, tracked)


# Another user's client sends its request, fills our window (nothing reads it yet) and closes;
# root holds a connection open meanwhile. Each was served as root in a review:
# - held back: its FIN stays queued (FIN_WAIT1, no owner left) while ours is ESTABLISHED, and a
#   decoy closed at once puts a socket of ours in CLOSE_WAIT beside it; it has been sent nothing,
#   so it may be this one;
# - left without a word: with a user timeout of 1 ms its own timer drops the socket without a
#   reset, and ours stays ESTABLISHED with the request; one of ours has lost its client.
ATTACKS = {"held-back": {"decoy": True}, "left-without-a-word": {"user_timeout_ms": 1}}


@other_uids
@pytest.mark.skipif(not is_local_address(DOCKER0), reason="no docker0 at 172.17.0.1 here")
@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("tracked", [True, False], ids=["conntrack", "dump"])
def test_another_users_closed_request_is_not_served_as_a_connected_user(tracked, attack):
    finder = _finder(tracked)
    with socket.socket() as listener:
        listener.bind((DOCKER0, 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        with socket.create_connection((DOCKER0, port)), listener.accept()[0] as ours:
            assert finder.of(ours) == os.geteuid()
            _fill_and_close_as_nobody(port, **ATTACKS[attack])
            if attack == "held-back":
                time.sleep(0.2)
            else:
                _until_clients((DOCKER0, port), 1)  # the client's probe timer has dropped it
            attacker, _ = listener.accept()
            with attacker:
                assert finder.of(attacker) == GONE
    _asked(finder, tracked)


def test_several_owners_are_served_only_if_each_is():
    ours, own = _Sock("127.0.0.1"), os.geteuid()
    assert LocalUsers("own", _Told(frozenset({0, own}))).refused(ours, "127.0.0.1") is None
    assert LocalUsers("own", _Told(frozenset({0, 4242}))).refused(ours, "127.0.0.1") == 4242
    assert LocalUsers("own,4242", _Told(frozenset({0, 4242}))).refused(ours, "127.0.0.1") is None


def test_this_host_is_told_once_per_connection(monkeypatch):
    """The bind probe behind "made on this host" runs once, as the connection arrives; the
    connection carries the answer to the gate's admission and to each request's caller."""
    probes = []
    monkeypatch.setattr(local_users_module, "from_this_host",
                        lambda *args: probes.append(args) or True)

    class Conn:
        socket, remote_addr = _Sock("172.17.0.1"), "172.17.0.1"

    conn = Conn()
    assert not LocalUsers("own", _Told(os.geteuid())).turned_away(conn)
    assert conn.this_host is True and len(probes) == 1


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
    for raw in ("any,1001", "no-such-user-here", "-5", "own,\u00b2"):
        monkeypatch.setenv("ECS_EMULATOR_LOCAL_USERS", raw)
        with pytest.raises(ValueError, match="ECS_EMULATOR_LOCAL_USERS"):
            Settings.from_env()
    assert served_uids("any") is None
    assert served_uids("own") == {os.geteuid(), 0}
    assert served_uids("own,1001,root") == {os.geteuid(), 0, 1001}
