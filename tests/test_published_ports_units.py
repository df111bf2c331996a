"""Where the front doors dial a task's published port (emulator/engine/published_ports.py): this
host's only where the engine is proven to be in this network namespace (or its VM forwards to
this host's loopback), another machine's at that machine's address, else nowhere."""

from __future__ import annotations

import pytest

from emulator.engine import published_ports
from emulator.engine.published_ports import HERE
from emulator.runtime.fake import FakeRuntime

ELSEWHERE = "the Docker Engine runs in a container"


def _runtime(not_local=None, **info):
    runtime = FakeRuntime()
    runtime.not_local = not_local
    runtime.info.update(info)
    return runtime


def test_a_proven_local_engines_ports_are_this_hosts():
    assert published_ports.where(_runtime(), "unix:///var/run/docker.sock") == HERE


@pytest.mark.parametrize("docker_host", ["tcp://127.0.0.1:2375", "unix:///tmp/dind.sock"])
def test_an_engine_here_but_not_proven_local_is_dialled_nowhere(docker_host):
    """docker:dind at tcp://127.0.0.1 or through a mounted socket: its port N is not this
    host's port N, whoever holds that here."""
    runtime = _runtime(ELSEWHERE, OperatingSystem="Alpine Linux v3.19 (containerized)")
    assert published_ports.where(runtime, docker_host) is None


def test_a_unix_socket_engine_of_this_kernel_publishes_here_though_not_proven():
    """A non-root user's socket-activated dockerd (systemd holds the socket, its namespace
    cannot be read): its ports are this host's; one on another kernel is not this host's."""
    import os

    unproven = "the Docker Engine's socket could not be asked who serves it"
    runtime = _runtime(unproven, OperatingSystem="Debian GNU/Linux 12 (bookworm)",
                       KernelVersion=os.uname().release)
    assert published_ports.where(runtime, "unix:///var/run/docker.sock") == HERE
    runtime = _runtime(unproven, OperatingSystem="Debian", KernelVersion="1.2.3-other")
    assert published_ports.where(runtime, "unix:///var/run/docker.sock") is None


def test_a_vm_engine_on_this_machine_forwards_its_ports_to_this_hosts_loopback():
    runtime = _runtime(ELSEWHERE, OperatingSystem="Docker Desktop")
    assert published_ports.where(runtime, "unix:///var/run/docker.sock") == HERE


def test_an_engine_on_another_machine_is_dialled_there():
    runtime = _runtime(ELSEWHERE)
    assert published_ports.where(runtime, "tcp://192.0.2.7:2376") == "192.0.2.7"


def test_an_engine_that_does_not_answer_or_is_unknown_is_dialled_nowhere():
    runtime = _runtime()
    runtime.daemon_info = lambda: (_ for _ in ()).throw(OSError("gone"))
    assert published_ports.where(runtime, "unix://") is None
    assert published_ports.where(_runtime(), None) is None


@pytest.mark.parametrize("bound, here, there", [
    ("0.0.0.0", "127.0.0.1", "192.0.2.7"), ("", "127.0.0.1", "192.0.2.7"),
    ("::", "::1", "192.0.2.7"), ("127.0.0.1", "127.0.0.1", None),
    ("192.0.2.50", "192.0.2.50", "192.0.2.50")])
def test_the_address_dialled_is_the_bindings_own(bound, here, there):
    """A binding's bindIP says where Docker listens: any address is reached on loopback here,
    and at the machine's address there; another machine's loopback is never reached."""
    binding = {"bindIP": bound, "hostPort": 32768, "containerPort": 80, "protocol": "tcp"}
    assert published_ports.address(binding, HERE) == here
    assert published_ports.address(binding, "192.0.2.7") == there
