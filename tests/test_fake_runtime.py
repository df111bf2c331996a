"""FakeRuntime (in memory, for the engine's unit tests) behaves as the Docker runtime does."""

from __future__ import annotations

import inspect
import threading

import pytest

from emulator.runtime import labels
from emulator.runtime.base import (
    ContainerCreateError,
    ContainerSpec,
    ContainerStartError,
    HealthCheck,
    ImagePullError,
    PortBinding,
    Runtime,
)
from emulator.runtime.docker_runtime import DockerRuntime
from emulator.runtime.fake import FakeRuntime

TASK = {labels.TASK_ARN: "arn:task/1"}


def spec(name: str, network: str = "bridge", **fields) -> ContainerSpec:
    return ContainerSpec(name=f"c-{name}", image="app:1",
                         labels={**TASK, labels.CONTAINER_NAME: name}, network=network, **fields)


def started(fake: FakeRuntime, container: ContainerSpec) -> str:
    fake.ensure_image(container.image, None)
    container_id = fake.create_container(container)
    fake.start_container(container_id)
    return container_id


def drain(fake: FakeRuntime) -> list[tuple]:
    """(action, exit code, health) of every event the fake has sent."""
    return [(e.action, e.exit_code, e.health) for e in fake.history]


@pytest.mark.parametrize("implementation", [FakeRuntime, DockerRuntime])
def test_both_runtimes_have_every_method_of_the_interface(implementation):
    wanted = {name for name, member in vars(Runtime).items()
              if callable(member) and not name.startswith("_")}
    for name in wanted:
        theirs = inspect.signature(getattr(implementation, name))
        ours = inspect.signature(getattr(Runtime, name))
        assert list(theirs.parameters) == list(ours.parameters), name


def test_exit_is_reported_as_die_with_the_code():
    fake = FakeRuntime()
    container_id = started(fake, spec("web"))
    assert fake.inspect_container(container_id).running
    fake.exit(container_id, 3)
    state = fake.inspect_container(container_id)
    assert (state.status, state.exit_code, state.running) == ("exited", 3, False)
    assert drain(fake)[-2:] == [("start", None, None), ("die", 3, None)]
    assert fake.history[-1].labels[labels.CONTAINER_NAME] == "web"


def test_events_are_delivered_and_end_when_stopped():
    fake = FakeRuntime()
    container_id = started(fake, spec("web"))
    stop = threading.Event()
    seen = []

    def consume():
        for event in fake.events(stop):
            seen.append(event.action)
            if event.action == "die":
                stop.set()

    thread = threading.Thread(target=consume)
    thread.start()
    fake.exit(container_id, 0)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert seen == ["die"]


def test_events_since_replays_history():
    fake = FakeRuntime()
    container_id = started(fake, spec("web"))
    fake.exit(container_id, 1)
    stop = threading.Event()
    actions = []
    for event in fake.events(stop, since=0):
        actions.append(event.action)
        if event.action == "die":
            stop.set()
    assert actions == ["start", "die"]


def test_stop_ends_with_sigterm_or_sigkill():
    fake = FakeRuntime()
    polite, stubborn = started(fake, spec("a")), started(fake, spec("b"))
    fake.ignore_sigterm(stubborn)
    fake.stop_container(polite, 30)
    fake.stop_container(stubborn, 30)
    assert fake.inspect_container(polite).exit_code == 0
    assert fake.inspect_container(stubborn).exit_code == 137


def test_oom_and_health():
    fake = FakeRuntime()
    check = HealthCheck(["CMD", "true"])
    container_id = started(fake, spec("web", healthcheck=check))
    assert fake.inspect_container(container_id).health == "starting"
    fake.set_health(container_id, "healthy")
    assert fake.inspect_container(container_id).health == "healthy"
    fake.oom(container_id)
    state = fake.inspect_container(container_id)
    assert (state.oom_killed, state.exit_code) == (True, 137)
    assert [a for a, _, _ in drain(fake)] == ["start", "health_status", "oom", "die"]


def test_failures_raise_the_runtime_errors():
    fake = FakeRuntime(images=("app:1",))
    fake.fail_pull("private:1", "pull access denied")
    with pytest.raises(ImagePullError, match="pull access denied"):
        fake.ensure_image("private:1", None)
    fake.fail_create("bad", "invalid mount")
    with pytest.raises(ContainerCreateError, match="invalid mount"):
        fake.create_container(spec("bad"))
    fake.fail_start("worse")
    container_id = fake.create_container(spec("worse"))
    with pytest.raises(ContainerStartError):
        fake.start_container(container_id)
    strict = FakeRuntime(pull_all=False)
    with pytest.raises(ImagePullError):
        strict.ensure_image("app:1", None)


def test_on_start_hooks_script_a_container():
    fake = FakeRuntime()
    fake.exit_on_start("job", 0)
    fake.healthy_on_start("db")
    job, db = started(fake, spec("job")), started(fake, spec("db"))
    assert fake.inspect_container(job).exit_code == 0
    assert fake.inspect_container(db).health == "healthy"
    assert fake.find("db") == db


def test_awsvpc_containers_take_the_sandbox_address_and_ports():
    fake = FakeRuntime()
    sandbox = fake.create_sandbox("sb", TASK, "awsvpc", [PortBinding(80), PortBinding(81, host_port=9000)])
    container_id = started(fake, spec("web", network=sandbox.network))
    state = fake.inspect_container(container_id)
    assert state.ip_address == sandbox.ip_address
    assert [(p.container_port, p.host_ip) for p in state.published] == [(80, "127.0.0.1"),
                                                                          (81, "127.0.0.1")]
    assert state.published[1].host_port == 9000
    assert fake.create_sandbox("b", TASK, "bridge", []).network == fake.ensure_network()[0]


def test_logs_follow_until_the_container_exits():
    fake = FakeRuntime()
    container_id = started(fake, spec("web"))
    fake.write_log(container_id, "one")
    fake.write_log(container_id, "two", "stderr")
    lines = []

    def follow():
        lines.extend((stream, line) for _, stream, line in fake.logs(container_id, follow=True))

    thread = threading.Thread(target=follow)
    thread.start()
    fake.exit(container_id, 0)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert lines == [("stdout", "one"), ("stderr", "two")]


def test_remove_labelled_removes_containers_and_volumes_of_the_task():
    fake = FakeRuntime()
    started(fake, spec("web"))
    fake.ensure_volume("v1", TASK)
    fake.ensure_volume("other", {labels.TASK_ARN: "arn:task/2"})
    assert fake.remove_labelled(TASK) == 2
    assert fake.find("web") is None
    assert list(fake.volumes) == ["other"]
    assert fake.history[-1].action == "destroy"
    assert fake.stats("gone") == {}
    assert fake.host_resources() == (4096, 8192)


def test_docker_kill_events_carry_their_signal():
    """dockerd's kill event names the signal (task_events.py tells a HUP from an ending one)."""
    from emulator.runtime.docker_streams import to_event

    event = to_event({"Action": "kill", "timeNano": 1, "Actor": {"ID": "c1", "Attributes": {
        "signal": "1", "name": "x", "ecs-emulator.container-name": "app"}}})
    assert (event.action, event.signal, event.labels) == (
        "kill", "1", {"ecs-emulator.container-name": "app"})
