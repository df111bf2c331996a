"""An extra Docker Engine's restart leaves the host's docker0 alone (scripts/extra-dockerd.sh).

Docker 20.10, restarted on a data-root whose network store holds its default bridge network,
deletes the interface named docker0 when --default-address-pool is given, whatever --bridge
says; the extra engines share the host's network namespace, so that was the machine engine's
docker0, with every task on it cut off. The script now starts each time on an empty network
store. Shown in a network namespace of the test's own, with a docker0 there standing in for the
machine engine's: the test touches none of the host's interfaces, so it needs no HOST group.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import uuid

import pytest

from tests.extra_engines import SCRIPT, needs_root_and_dockerd

pytestmark = needs_root_and_dockerd

INDEX = 7  # any: the namespace is the test's own, no other engine's bridge is in it


@pytest.fixture
def namespace():
    name = f"ecsflip-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    try:
        for command in (["link", "set", "lo", "up"], ["link", "add", "docker0", "type", "bridge"],
                        ["addr", "add", "172.17.0.1/16", "dev", "docker0"],
                        ["link", "set", "docker0", "up"]):
            subprocess.run(["ip", "-n", name, *command], check=True, timeout=30)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=30)


def _script(namespace, root, *args, check=True):
    # nsenter, not `ip netns exec`: that one mounts a /sys of its own, without the cgroups
    # dockerd needs
    return subprocess.run(["nsenter", f"--net=/run/netns/{namespace}", str(SCRIPT), *args],
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                               "EXTRA_DOCKERD_ROOT": str(root)},
                          capture_output=True, text=True, timeout=120, check=check)


def _links(namespace) -> dict[str, int]:
    shown = subprocess.run(["ip", "-n", namespace, "-j", "link", "show"], check=True,
                           capture_output=True, text=True, timeout=30).stdout
    return {link["ifname"]: link["ifindex"] for link in json.loads(shown)}


@pytest.fixture
def root():
    # short: containerd's sockets under it must fit a unix socket's 108 characters
    root = tempfile.mkdtemp(prefix="ecsflip-", dir="/tmp")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_a_restarted_extra_engine_never_deletes_docker0(namespace, root):
    docker0 = _links(namespace)["docker0"]
    try:
        for round_ in range(3):
            host = _script(namespace, root, "start", "flip", str(INDEX)).stdout.strip()
            # a network made in it, stored: what made the next start delete docker0
            subprocess.run(["docker", "-H", host, "network", "create", f"made-{round_}"],
                           check=True, capture_output=True, timeout=60)
            links = _links(namespace)
            # the same interface, never deleted and put back (that one has another index)
            assert links.get("docker0") == docker0, f"docker0 gone or made again in {round_}"
            # the last start's network bridge went with its store: one stays, this round's
            assert len([n for n in links if n.startswith("br-")]) == 1
            _script(namespace, root, "stop", "flip")
    finally:
        _script(namespace, root, "remove", "flip", str(INDEX), check=False)
    assert not [n for n in _links(namespace) if n.startswith(("br-", "ecsx"))]
