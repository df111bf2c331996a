"""One contract, every runtime: the Runtime interface (runtime/base.py) as the task engine relies on
it, run over the Docker runtime and the fake (as distribution runs one storage suite over every
driver). A fake that passes here may stand in for Docker in the engine's unit tests.

Containers are asked to behave through a small harness per runtime: Docker runs a shell script,
the fake is scripted through its hooks. The assertions are the same for both.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid

import pytest

from emulator.runtime import labels
from emulator.runtime.base import (
    ContainerCreateError,
    ContainerSpec,
    ContainerGoneError,
    HealthCheck,
    ImagePullError,
    PortBinding,
)
from emulator.runtime.fake import FakeRuntime
from tests.waiting import wait_for

BUSYBOX = "ecs-emulator-test/busybox:latest"
LOOP = "while true; do sleep 0.2; done"
# What each behaviour is, said as a shell script for Docker.
SCRIPTS = {
    "serve": f"trap 'exit 0' TERM; {LOOP}",
    "stubborn": f"trap '' TERM; {LOOP}",
    "exit3": "exit 3",
    "talk": "echo hello; echo trouble >&2; sleep 0.3",
    "healthy": f"trap 'exit 0' TERM; {LOOP}",
}


class DockerHarness:
    def __init__(self, busybox_image):
        from emulator.runtime.docker_runtime import DockerRuntime

        self.runtime = DockerRuntime(instance_id=f"contract-{uuid.uuid4().hex[:10]}")
        self.image = busybox_image

    def command(self, name: str, behaviour: str) -> list[str]:
        return ["sh", "-c", SCRIPTS[behaviour]]

    def volume_exists(self, name: str) -> bool:
        import docker.errors

        try:
            self.runtime.api.inspect_volume(name)
            return True
        except docker.errors.NotFound:
            return False

    def missing_image(self) -> str:
        return f"ecs-emulator-test/does-not-exist-{uuid.uuid4().hex[:8]}:latest"

    def leftovers(self) -> list:
        selector = {"label": f"{labels.INSTANCE}={self.runtime.instance_id}"}
        api = self.runtime.api
        return (api.containers(all=True, filters=selector) + api.networks(filters=selector)
                + (api.volumes(filters=selector).get("Volumes") or []))


class FakeHarness:
    def __init__(self):
        self.runtime = FakeRuntime(images=(BUSYBOX,), pull_all=False,
                                   instance_id=f"contract-{uuid.uuid4().hex[:10]}")
        self.image = BUSYBOX

    def command(self, name: str, behaviour: str) -> list[str]:
        fake = self.runtime
        if behaviour == "stubborn":
            fake.on_start(name, fake.ignore_sigterm)
        elif behaviour == "exit3":
            fake.exit_on_start(name, 3)
        elif behaviour == "healthy":
            fake.healthy_on_start(name)
        elif behaviour == "talk":
            def talk(cid):
                fake.write_log(cid, "hello")
                fake.write_log(cid, "trouble", "stderr")
                fake.exit(cid, 0)
            fake.on_start(name, talk)
        return ["sh", "-c", SCRIPTS[behaviour]]

    def volume_exists(self, name: str) -> bool:
        return name in self.runtime.volumes

    def leftovers(self) -> list:
        return [*self.runtime.containers, *self.runtime.volumes]

    def missing_image(self) -> str:
        return f"ecs-emulator-test/does-not-exist-{uuid.uuid4().hex[:8]}:latest"


@pytest.fixture(scope="module", params=["fake", pytest.param("docker", marks=pytest.mark.docker)])
def harness(request):
    made = (FakeHarness() if request.param == "fake"
            else DockerHarness(request.getfixturevalue("busybox_image")))
    yield made
    made.runtime.remove_labelled({})
    assert made.leftovers() == [], "the runtime left resources behind"
    assert not made.runtime.closed
    made.runtime.close()
    assert made.runtime.closed  # what a runner of a task torn down under it asks


@pytest.fixture
def runtime(harness):
    return harness.runtime


@pytest.fixture
def task(harness):
    """Labels naming a fresh task; whatever carries them is removed after the test."""
    arn = f"arn:aws:ecs:us-east-1:123456789012:task/contract/{uuid.uuid4().hex}"
    yield {labels.TASK_ARN: arn, labels.CLUSTER: "contract"}
    harness.runtime.remove_labelled({labels.TASK_ARN: arn})


def make(harness, task, behaviour: str, **fields) -> ContainerSpec:
    name = f"k-{uuid.uuid4().hex[:10]}"
    return ContainerSpec(name=name, image=harness.image,
                         labels={**task, labels.CONTAINER_NAME: name},
                         command=harness.command(name, behaviour), **fields)


def run(runtime, spec: ContainerSpec) -> str:
    runtime.ensure_image(spec.image, None)
    container_id = runtime.create_container(spec)
    runtime.start_container(container_id)
    return container_id


def exited(runtime, container_id: str):
    return wait_for(lambda: runtime.inspect_container(container_id),
                    lambda s: s is not None and not s.running and s.exit_code is not None,
                    timeout=30)


# -- lifecycle --------------------------------------------------------------------------------


def test_a_container_runs_then_reports_its_own_exit_code(harness, runtime, task):
    container = run(runtime, make(harness, task, "exit3"))
    state = exited(runtime, container)
    assert (state.id, state.status, state.exit_code, state.running) == (container, "exited", 3, False)
    assert state.started_at and state.finished_at and not state.oom_killed


def test_a_running_container_is_running_until_stopped(harness, runtime, task):
    container = run(runtime, make(harness, task, "serve"))
    state = runtime.inspect_container(container)
    assert state.running and state.status == "running" and state.exit_code is None
    runtime.stop_container(container, 5)
    assert exited(runtime, container).exit_code == 0  # SIGTERM, and it left on its own


def test_stop_kills_what_ignores_sigterm_once_the_timeout_is_up(harness, runtime, task):
    container = run(runtime, make(harness, task, "stubborn"))
    runtime.stop_container(container, 1)
    assert exited(runtime, container).exit_code == 137


def test_kill_ends_a_running_container(harness, runtime, task):
    container = run(runtime, make(harness, task, "serve"))
    runtime.kill_container(container)
    assert exited(runtime, container).exit_code == 137


def test_gone_containers_are_none_to_inspect_and_quiet_to_stop_kill_remove(harness, runtime, task):
    container = run(runtime, make(harness, task, "serve"))
    runtime.remove_container(container)
    assert runtime.inspect_container(container) is None
    runtime.stop_container(container, 1)
    runtime.kill_container(container)
    runtime.remove_container(container)
    with pytest.raises(ContainerGoneError):  # a start error that says it is gone
        runtime.start_container(container)


def test_a_name_in_use_is_a_create_error(harness, runtime, task):
    spec = make(harness, task, "serve")
    run(runtime, spec)
    with pytest.raises(ContainerCreateError):
        runtime.create_container(spec)


def test_images_that_cannot_be_had_fail_pull_then_create(harness, runtime, task):
    image = harness.missing_image()
    with pytest.raises(ImagePullError) as raised:
        runtime.ensure_image(image, None)
    assert raised.value.reason.startswith("CannotPullContainerError: Error response from daemon: ")
    spec = make(harness, task, "serve")
    spec.image = image
    with pytest.raises(ContainerCreateError) as raised:
        runtime.create_container(spec)
    assert raised.value.reason.startswith("CannotCreateContainerError: ")


def test_a_present_image_is_used_without_a_pull(harness, runtime):
    said = []
    runtime.ensure_image(harness.image, None, said.append)
    assert said == []
    assert runtime.image_digest(harness.image).startswith("sha256:")


def test_a_health_check_reports_healthy(harness, runtime, task):
    check = HealthCheck(["CMD-SHELL", "true"], interval_s=0.5, timeout_s=2, retries=1)
    container = run(runtime, make(harness, task, "healthy", healthcheck=check))
    wait_for(lambda: runtime.inspect_container(container).health, lambda h: h == "healthy",
             timeout=30)


# -- events and logs --------------------------------------------------------------------------


def test_events_say_start_and_die_with_the_code_and_our_labels(harness, runtime, task):
    received: queue.Queue = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=lambda: [received.put(e) for e in runtime.events(stop)],
                              daemon=True)
    thread.start()
    time.sleep(0.5)  # let the stream connect before the test makes events
    try:
        spec = make(harness, task, "exit3")
        container = run(runtime, spec)
        seen = []
        deadline = time.monotonic() + 30
        while "die" not in [a for a, _ in seen] and time.monotonic() < deadline:
            try:
                event = received.get(timeout=1)
            except queue.Empty:
                continue
            if event.container_id == container:
                seen.append((event.action, event.exit_code))
                assert event.labels[labels.CONTAINER_NAME] == spec.name
                assert event.labels[labels.INSTANCE] == runtime.instance_id
        assert ("start", None) in seen and ("die", 3) in seen
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive(), "events() went on after until_stopped was set"


def test_logs_keep_stdout_and_stderr_apart(harness, runtime, task):
    before = time.time() - 1
    container = run(runtime, make(harness, task, "talk"))
    exited(runtime, container)
    lines = list(runtime.logs(container))
    # Docker keeps order within a stream, not across the two.
    assert sorted((stream, line) for _, stream, line in lines) == [("stderr", "trouble"),
                                                                   ("stdout", "hello")]
    assert all(when >= before for when, _, _ in lines)
    assert list(runtime.logs(container, follow=True))  # an ended container's follow ends


def test_stats_of_a_running_container_and_of_a_gone_one(harness, runtime, task):
    container = run(runtime, make(harness, task, "serve"))
    assert "memory_stats" in runtime.stats(container)
    runtime.remove_container(container)
    assert runtime.stats(container) == {}
    cpu, memory = runtime.host_resources()
    assert cpu >= 1024 and memory > 0


# -- networks and sandboxes ----------------------------------------------------------------------


def test_the_network_is_made_once_and_lists_its_members(harness, runtime, task):
    name, gateway = runtime.ensure_network()
    assert runtime.ensure_network() == (name, gateway) and gateway
    assert gateway in runtime.gateways()  # what the checks count as the engine's host
    spec = make(harness, task, "serve", network=name,
                ports=[PortBinding(80, host_ip="127.0.0.1", host_port=0)])
    container = run(runtime, spec)
    state = runtime.inspect_container(container)
    assert state.ip_address
    assert [(p.container_port, p.host_ip) for p in state.published] == [(80, "127.0.0.1")]
    assert state.published[0].host_port > 0
    members = runtime.network_members()
    assert members.subnets and members.addresses.get(state.ip_address) == container


def test_modes_without_a_namespace_of_their_own_need_no_sandbox(harness, runtime, task):
    assert runtime.create_sandbox("b", task, "bridge", []).network == runtime.ensure_network()[0]
    for mode in ("host", "none"):
        sandbox = runtime.create_sandbox(mode, task, mode, [])
        assert (sandbox.network, sandbox.ip_address, sandbox.sandbox_id) == (mode, None, None)
    with pytest.raises(ValueError):
        runtime.create_sandbox("x", task, "overlay", [])


def test_awsvpc_containers_take_the_sandbox_address_and_ports(harness, runtime, task):
    sandbox = runtime.create_sandbox(f"p-{uuid.uuid4().hex[:8]}", task, "awsvpc",
                                     [PortBinding(8080, host_ip="127.0.0.1", host_port=0)])
    assert sandbox.ip_address and sandbox.sandbox_id
    assert sandbox.network == f"container:{sandbox.sandbox_id}"
    container = run(runtime, make(harness, task, "serve", network=sandbox.network))
    state = runtime.inspect_container(container)
    assert state.ip_address == sandbox.ip_address
    assert [p.container_port for p in state.published] == [8080]
    runtime.remove_container(container)
    runtime.remove_sandbox(sandbox)
    assert runtime.inspect_container(sandbox.sandbox_id) is None


# -- volumes and cleanup ----------------------------------------------------------------------


def test_remove_labelled_takes_the_tasks_containers_and_volumes_only(harness, runtime, task):
    other = {**task, labels.TASK_ARN: task[labels.TASK_ARN] + "-other"}
    volume = runtime.ensure_volume(f"v-{uuid.uuid4().hex[:8]}", task)
    mine = run(runtime, make(harness, task, "serve"))
    theirs = run(runtime, make(harness, other, "serve"))
    try:
        assert harness.volume_exists(volume)
        assert runtime.remove_labelled({labels.TASK_ARN: task[labels.TASK_ARN]}) >= 2
        assert runtime.inspect_container(mine) is None and not harness.volume_exists(volume)
        assert runtime.inspect_container(theirs).running
    finally:
        runtime.remove_labelled({labels.TASK_ARN: other[labels.TASK_ARN]})
    runtime.remove_volume(volume)  # gone already: quiet


def test_a_volumes_labels_say_whose_it_is(runtime, task):
    """What the host-access check reads (access/host_access.py): ours carry the instance."""
    name = f"v-{uuid.uuid4().hex[:8]}"
    assert runtime.volume_labels(name) is None
    runtime.ensure_volume(name, task)
    try:
        found = runtime.volume_labels(name)
        assert found[labels.TASK_ARN] == task[labels.TASK_ARN] and labels.INSTANCE in found
    finally:
        runtime.remove_volume(name)


def test_remove_orphans_spares_a_live_emulators_containers(harness, runtime, task):
    container = run(runtime, make(harness, task, "serve"))
    assert runtime.remove_orphans() >= 0
    assert runtime.inspect_container(container).running
