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


def test_an_unproven_unix_socket_engine_of_this_kernel_is_dialled_nowhere():
    """An engine at a unix socket here on this kernel, not said to be in a container, but not
    proven here either (the host's socket mounted into the emulator's container: this
    container's port N is not the host's): nothing is dialled."""
    import os

    unproven = "the Docker Engine's socket is served from outside this process's pid namespace"
    runtime = _runtime(unproven, OperatingSystem="Debian GNU/Linux 12 (bookworm)",
                       KernelVersion=os.uname().release)
    assert published_ports.where(runtime, "unix:///var/run/docker.sock") is None


def test_the_front_doors_ask_about_published_ports_only():
    """A rootless engine here publishes here (engine_locality: published=True), though its
    bridge is not this host's."""
    runtime, asked = _runtime(), []
    runtime.why_not_local = lambda published=False: asked.append(published)
    assert published_ports.where(runtime, "unix://") == HERE and asked == [True]


def test_a_proof_is_kept_a_refusal_is_asked_again_later(monkeypatch):
    runtime, asked = _runtime(), []
    answers = iter(["passing", None])
    runtime.why_not_local = lambda published=False: asked.append(1) or next(answers)
    assert published_ports.where(runtime, "unix://") is None
    assert published_ports.where(runtime, "unix://") is None and len(asked) == 1  # kept a while
    clock = published_ports.time.monotonic() + published_ports.REASK + 1
    monkeypatch.setattr(published_ports.time, "monotonic", lambda: clock)
    assert published_ports.where(runtime, "unix://") == HERE
    assert published_ports.where(runtime, "unix://") == HERE and len(asked) == 2  # kept


def test_why_an_engine_is_not_reached_is_logged_once(caplog):
    runtime = _runtime(ELSEWHERE, OperatingSystem="Alpine Linux v3.19 (containerized)")
    with caplog.at_level("WARNING", logger=published_ports.__name__):
        for _ in range(3):
            assert published_ports.where(runtime, "unix:///tmp/dind.sock") is None
    [record] = caplog.records
    assert "unix:///tmp/dind.sock" in record.getMessage() and ELSEWHERE in record.getMessage()


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
