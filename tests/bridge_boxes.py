"""What the docker0 guard's tests share (test_bridge_guard.py, test_bridge_guard_life.py): busybox
"tasks" and strangers, python attackers, on docker0 or another Docker network, all removed after
each test; the guard; the host's tables.
"""

from __future__ import annotations

import random
import re
import subprocess
import uuid
from dataclasses import dataclass, replace

import pytest

from emulator.runtime import labels
from emulator.runtime.bridge_guard import make_guard
from tests.busybox import SERVE

BRIDGE = "docker0"
# A task serves HTTP on 8080 (busybox httpd), so the host, tasks and strangers can try to reach it.
TASK = ["sh", "-c", "echo task > /tmp/index.html; httpd -p 8080 -h /tmp; " + SERVE[-1]]


@dataclass
class Box:
    """A container on docker0, as Docker reports it."""
    id: str
    ip: str
    mac: str
    sandbox_key: str
    api: object

    def run(self, *command: str) -> tuple[int, str]:
        result = self.api.exec_create(self.id, list(command))
        output = self.api.exec_start(result["Id"]).decode(errors="replace")
        return self.api.exec_inspect(result["Id"])["ExitCode"], output

    def pings(self, address: str) -> bool:
        return self.run("ping", "-c", "1", "-W", "2", address)[0] == 0

    def fetches(self, address: str) -> bool:
        # busybox wget crashes on its own -T
        fetched = self.run("timeout", "3", "wget", "-qO-", f"http://{address}:8080/")[1]
        return fetched.strip() == "task"

    def take(self, ip: str, mac: str, gateway: str) -> None:
        """Move to `ip` and `mac` (NET_ADMIN): Docker would give a freed address to the next
        container, but other containers on the shared docker0 may be given it first."""
        script = (f"ip link set eth0 down && ip link set eth0 address {mac} && ip link set eth0 up"
                  f" && ip addr flush dev eth0 && ip addr add {ip}/16 dev eth0"
                  f" && ip route add default via {gateway}")
        code, output = self.run("sh", "-c", script)
        assert code == 0, output

    def neighbour(self, address: str) -> str:
        """The MAC this container's neighbour table holds for `address` ("" if none)."""
        shown = self.run("ip", "neigh")[1]
        found = re.search(rf"^{re.escape(address)} .*lladdr (\S+)", shown, re.M)
        return found.group(1) if found else ""


@pytest.fixture(scope="module")
def api():
    import docker

    client = docker.from_env()
    yield client.api
    client.close()


@pytest.fixture(scope="module")
def gateway() -> str:
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show", BRIDGE], capture_output=True,
                           text=True, check=True).stdout
    return re.search(r"inet (\S+)/", shown).group(1)


@pytest.fixture
def boxes(api, busybox_image, python_image):
    """start(kind) -> a new container on docker0 ("task", "stranger" (busybox) or "attacker"
    (python)); all removed after the test."""
    made = []
    images = {"task": (busybox_image, TASK), "stranger": (busybox_image, SERVE),
              "attacker": (python_image, ["sleep", "600"])}

    def start(kind: str, network: str = "bridge", **host_config) -> Box:
        image, command = images[kind]
        container = api.create_container(
            image, command, name=f"guard-{kind}-{uuid.uuid4().hex[:8]}",
            ports=list(host_config.get("port_bindings", {})),
            labels=labels.owner_labels(labels.PROCESS_INSTANCE),
            host_config=api.create_host_config(network_mode=network, **host_config))
        made.append(container["Id"])
        api.start(container["Id"])
        return box_of(api, container["Id"], network)

    yield start
    for container in made:
        remove(api, container)


def box_of(api, container: str, network: str = "bridge") -> Box:
    settings = api.inspect_container(container)["NetworkSettings"]
    at = settings["Networks"][network]
    return Box(container, at["IPAddress"], at["MacAddress"], settings["SandboxKey"], api)


def moved(box: Box, gateway: str) -> Box:
    """`box` (given NET_ADMIN) moved to an address of docker0's /16 that Docker does not give
    (it gives the lowest free one), with the MAC Docker would make from it. A test that frees a
    guarded address and has a stranger take it then races nobody: on a docker0 shared with
    other emulators, Docker may give a freed address to one of theirs at once, and its guard
    rightly cuts off a stranger that takes it."""
    network = gateway.split(".")[:2]
    ip = ".".join(network + [str(random.randint(200, 254)), str(random.randint(2, 254))])
    mac = "02:42:" + ":".join(f"{int(octet):02x}" for octet in ip.split("."))
    box.take(ip, mac, gateway)
    return replace(box, ip=ip, mac=mac)


def remove(api, container: str) -> None:
    import docker

    try:
        api.remove_container(container, force=True)
    except docker.errors.NotFound:
        pass


@pytest.fixture
def guard(gateway):
    made = make_guard(BRIDGE, gateway)
    assert not isinstance(made, str), made
    yield made
    made.close()


def admitted(guard, box: Box) -> Box:
    if guard is not None:
        guard.admit(box.sandbox_key, box.mac, box.ip)
    return box


def tables() -> str:
    """`nft list tables`: every family's."""
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
