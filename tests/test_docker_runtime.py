"""DockerRuntime against the real Docker Engine: sandboxes, lifecycle, events, logs, cleanup.

What every runtime must do (lifecycle, stop and kill, errors, events, cleanup) is in
test_runtime_contract.py, run over the fake too; this file holds what only Docker can show.
Every resource is made by one runtime with its own instance id; the module's teardown removes
them all and checks with the docker CLI that nothing carrying that id is left.
"""

from __future__ import annotations

import http.server
import json
import queue
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest

from emulator.runtime import labels
from emulator.runtime.base import (
    ContainerCreateError,
    ContainerSpec,
    HealthCheck,
    ImageGoneError,
    ImagePullError,
    Mount,
    PortBinding,
    RuntimeError_,
)
from emulator.runtime.docker_runtime import DockerRuntime
from tests.waiting import wait_for

pytestmark = pytest.mark.docker

MIB = 1024 * 1024


def _docker_ls(kind: str, label: str) -> list[str]:
    """IDs the docker CLI lists for `kind` (ps -a, network ls, volume ls) carrying `label`."""
    args = {"container": ["ps", "-a"], "network": ["network", "ls"], "volume": ["volume", "ls"]}[kind]
    out = subprocess.run(["docker", *args, "-q", "--filter", f"label={label}"],
                         check=True, capture_output=True, text=True).stdout
    return out.split()


@pytest.fixture(scope="module")
def runtime(busybox_image):
    rt = DockerRuntime(instance_id=f"test-{uuid.uuid4().hex[:10]}")
    yield rt
    rt.remove_labelled({})
    selector = f"{labels.INSTANCE}={rt.instance_id}"
    leftovers = {kind: _docker_ls(kind, selector) for kind in ("container", "network", "volume")}
    rt.close()
    assert leftovers == {"container": [], "network": [], "volume": []}


@pytest.fixture
def task(runtime):
    """Labels naming a fresh task; whatever carries them is removed after the test."""
    arn = f"arn:aws:ecs:us-east-1:123456789012:task/test/{uuid.uuid4().hex}"
    yield {labels.TASK_ARN: arn, labels.CLUSTER: "test"}
    runtime.remove_labelled({labels.TASK_ARN: arn})


def spec(task: dict, name: str, command: str, **fields) -> ContainerSpec:
    return ContainerSpec(
        name=f"t-{uuid.uuid4().hex[:8]}-{name}",
        image="ecs-emulator-test/busybox:latest",
        labels={**task, labels.CONTAINER_NAME: name},
        command=["sh", "-c", command],
        **fields,
    )


def run(runtime, container_spec: ContainerSpec) -> str:
    container_id = runtime.create_container(container_spec)
    runtime.start_container(container_id)
    return container_id


def wait_exited(runtime, container_id: str, timeout: float = 60):
    return wait_for(lambda: runtime.inspect_container(container_id),
                    lambda state: state is not None and not state.running, timeout=timeout)


def output(runtime, container_id: str) -> list[tuple[str, str]]:
    return [(stream, line) for _, stream, line in runtime.logs(container_id)]


@pytest.fixture
def events(runtime):
    """A queue fed by runtime.events() from a thread; the thread must end when told to stop."""
    stop = threading.Event()
    received: queue.Queue = queue.Queue()
    thread = threading.Thread(target=lambda: [received.put(e) for e in runtime.events(stop)],
                              daemon=True)
    thread.start()
    time.sleep(0.5)  # let the stream connect before the test makes events
    yield received
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive(), "events() went on after until_stopped was set"


def next_event(received: queue.Queue, container_id: str, action: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = received.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if event.container_id == container_id and event.action == action:
            return event
    raise AssertionError(f"no {action} event for {container_id[:12]}")


# -- networking -------------------------------------------------------------------------------


def test_awsvpc_containers_share_localhost_and_the_published_port(runtime, task):
    sandbox = runtime.create_sandbox(f"sb-{uuid.uuid4().hex[:8]}", task, "awsvpc",
                                     [PortBinding(8080)])
    assert sandbox.network == f"container:{sandbox.sandbox_id}"
    assert sandbox.ip_address and sandbox.mac_address

    server = run(runtime, spec(task, "server", "mkdir -p /www && echo hello-from-server > "
                                               "/www/index.html && exec httpd -f -p 8080 -h /www",
                               network=sandbox.network))
    client = run(runtime, spec(task, "client", "until wget -q -O - http://localhost:8080/; "
                                               "do sleep 0.2; done", network=sandbox.network))
    assert wait_exited(runtime, client).exit_code == 0
    assert ("stdout", "hello-from-server") in output(runtime, client)

    state = runtime.inspect_container(server)
    assert state.ip_address == sandbox.ip_address
    [port] = state.published
    assert (port.container_port, port.protocol, port.host_ip) == (8080, "tcp", "127.0.0.1")
    body = urllib.request.urlopen(f"http://127.0.0.1:{port.host_port}/", timeout=10).read()
    assert body == b"hello-from-server\n"

    runtime.remove_sandbox(sandbox)
    assert runtime.inspect_container(sandbox.sandbox_id) is None


def test_pause_container_stops_on_sigterm(runtime, task):
    sandbox = runtime.create_sandbox(f"sb-{uuid.uuid4().hex[:8]}", task, "awsvpc", [])
    runtime.stop_container(sandbox.sandbox_id, 30)
    state = runtime.inspect_container(sandbox.sandbox_id)
    # 0, not 137: it handled SIGTERM itself rather than waiting out the timeout for SIGKILL.
    assert (state.running, state.exit_code) == (False, 0)


def test_a_sandbox_remakes_the_network_if_it_was_removed(task):
    rt = DockerRuntime(instance_id=f"test-{uuid.uuid4().hex[:10]}")
    try:
        network, _ = rt.ensure_network()
        subprocess.run(["docker", "network", "rm", network], check=True, capture_output=True)
        sandbox = rt.create_sandbox(f"sb-{uuid.uuid4().hex[:8]}", task, "awsvpc", [])
        assert sandbox.ip_address
    finally:
        rt.remove_labelled({})
        rt.close()
    assert _docker_ls("network", f"{labels.INSTANCE}={rt.instance_id}") == []


def test_the_emulators_own_container_leaves_the_network_without_a_word(busybox_image, caplog):
    """An emulator run in a container joins its tasks' network (attach_to_network); removing
    that network takes it off quietly, by the short id "auto" finds (its host name), and leaves
    the container itself alone."""
    import logging

    import docker

    client = docker.from_env()
    stand_in = client.containers.run(busybox_image, ["sleep", "30"], detach=True, labels={
        "ecs-emulator-test.own-container": "1"})
    rt = DockerRuntime(instance_id=f"test-{uuid.uuid4().hex[:10]}", own_container=stand_in.short_id)
    try:
        rt.attach_to_network(stand_in.id)
        network, _ = rt.ensure_network()
        with caplog.at_level(logging.DEBUG, logger="emulator.runtime.docker_cleanup"):
            rt.remove_labelled({})
        assert _docker_ls("network", f"{labels.INSTANCE}={rt.instance_id}") == []
        stand_in.reload()
        assert network not in stand_in.attrs["NetworkSettings"]["Networks"]
        said = [r.getMessage() for r in caplog.records]
        assert [line for line in said if stand_in.id[:12] in line or network in line] == [
            f"the emulator's container left network {network}"], said
    finally:
        rt.remove_labelled({})
        rt.close()
        stand_in.remove(force=True)
        client.close()


def test_containers_made_from_many_threads_at_once(runtime, task):
    results: dict[int, int | None] = {}

    def one(code: int) -> None:
        container = run(runtime, spec(task, f"n{code}", f"exit {code}"))
        results[code] = wait_exited(runtime, container).exit_code

    threads = [threading.Thread(target=one, args=(code,)) for code in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {code: code for code in range(1, 7)}


def test_a_server_on_the_gateway_ip_is_reachable_from_a_task(runtime, task):
    network, gateway = runtime.ensure_network()
    assert runtime.ensure_network() == (network, gateway)

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"emulator-here")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((gateway, 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://{gateway}:{server.server_address[1]}/"
        container = run(runtime, spec(task, "caller", f"wget -q -O - {url}", network=network))
        assert wait_exited(runtime, container).exit_code == 0
        assert output(runtime, container) == [("stdout", "emulator-here")]
    finally:
        server.shutdown()
        server.server_close()


def test_bridge_mode_publishes_ports_and_gives_an_address(runtime, task):
    network, _ = runtime.ensure_network()
    container = run(runtime, spec(task, "web", "mkdir /w && echo hi > /w/index.html && "
                                               "exec httpd -f -p 80 -h /w", network=network,
                                  ports=[PortBinding(80, host_ip="127.0.0.1")]))
    state = runtime.inspect_container(container)
    assert state.ip_address
    [port] = state.published
    body = wait_for(lambda: _get(f"http://127.0.0.1:{port.host_port}/"), lambda b: b is not None)
    assert body == b"hi\n"


def _get(url: str) -> bytes | None:
    try:
        return urllib.request.urlopen(url, timeout=5).read()
    except OSError:
        return None


# -- lifecycle ---------------------------------------------------------------------------------


def test_out_of_memory_is_detected(runtime, task, events):
    container = run(runtime, spec(task, "hog", "head -c 200m /dev/zero | tail",
                                  memory_bytes=16 * MIB, memory_swap_bytes=16 * MIB))
    next_event(events, container, "oom")  # what the engine goes by (engine/task_events.py)
    state = wait_exited(runtime, container)
    # Docker's own OOMKilled flag may miss it: the process killed is `tail`, not the
    # container's first, and the flag races the exit (a loaded CI run saw it False)
    assert state.exit_code == 137


def test_health_checks_report_healthy_and_unhealthy(runtime, task, events):
    check = dict(interval_s=0.5, timeout_s=2, retries=1)
    healthy = run(runtime, spec(task, "fine", "touch /tmp/ok; exec sleep 600",
                                healthcheck=HealthCheck(["CMD-SHELL", "test -f /tmp/ok"], **check)))
    unhealthy = run(runtime, spec(task, "sick", "exec sleep 600",
                                  healthcheck=HealthCheck(["CMD", "false"], **check)))
    assert next_event(events, healthy, "health_status").health == "healthy"
    assert next_event(events, unhealthy, "health_status").health == "unhealthy"
    assert runtime.inspect_container(healthy).health == "healthy"
    assert runtime.inspect_container(unhealthy).health == "unhealthy"


def test_the_container_list_tells_a_running_container_as_an_inspect_does(runtime, task):
    """What adoption reads from one list instead of an inspect per container; a container that
    is not running is left to an inspect (its exit code is not in the list)."""
    network, _ = runtime.ensure_network()
    web = run(runtime, spec(task, "web", "touch /tmp/ok; exec httpd -f -p 80", network=network,
                            ports=[PortBinding(80, host_ip="127.0.0.1")],
                            healthcheck=HealthCheck(["CMD-SHELL", "test -f /tmp/ok"],
                                                    interval_s=0.5, timeout_s=2, retries=1)))
    done = run(runtime, spec(task, "done", "true"))
    inspected = wait_for(lambda: runtime.inspect_container(web),
                         lambda state: state.health == "healthy")
    wait_exited(runtime, done)
    listed = {c["Id"]: c for c in runtime.owned()[0]
              if c["Labels"].get(labels.TASK_ARN) == task[labels.TASK_ARN]}
    state = runtime.listed_state(listed[web], listed)

    def seen(s):
        return (s.id, s.status, s.running, s.exit_code, s.oom_killed, s.health, s.ip_address,
                set(s.published), s.image_id)

    assert seen(state) == seen(inspected) and state.published
    assert runtime.listed_state(listed[done], listed) is None


def test_events_resume_from_since(runtime, task):
    before = time.time() - 1
    container = run(runtime, spec(task, "past", "exit 5"))
    wait_exited(runtime, container)
    stop = threading.Event()
    for event in runtime.events(stop, since=before):
        if event.container_id == container and event.action == "die":
            stop.set()
    assert event.exit_code == 5


# -- logs, stats, host ---------------------------------------------------------------------------


def test_logs_have_timestamps_and_streams(runtime, task):
    started = time.time()
    container = run(runtime, spec(task, "talker", "echo out1; echo err1 >&2; echo out2"))
    wait_exited(runtime, container)
    lines = list(runtime.logs(container))
    assert [(s, l) for _, s, l in lines if s == "stdout"] == [("stdout", "out1"), ("stdout", "out2")]
    assert [(s, l) for _, s, l in lines if s == "stderr"] == [("stderr", "err1")]
    for stamp, _, _ in lines:
        assert started - 60 < stamp < time.time() + 60
    last = max(stamp for stamp, _, _ in lines)
    assert list(runtime.logs(container, since=last + 0.001)) == []


def test_a_long_line_comes_back_whole(runtime, task):
    # Docker stores a line over 16 KiB as several messages, each with its own timestamp.
    container = run(runtime, spec(task, "long", "head -c 40000 /dev/zero | tr '\\0' a; echo; echo next"))
    wait_exited(runtime, container)
    assert output(runtime, container) == [("stdout", "a" * 40000), ("stdout", "next")]


def test_followed_logs_end_with_the_container(runtime, task):
    container = run(runtime, spec(task, "counter", "for i in 1 2 3; do echo line$i; sleep 0.3; done"))
    lines = [line for _, _, line in runtime.logs(container, follow=True)]
    assert lines == ["line1", "line2", "line3"]


def test_stats_and_host_resources(runtime, task):
    container = run(runtime, spec(task, "idle", "exec sleep 600", memory_bytes=64 * MIB))
    sample = runtime.stats(container)
    assert sample["memory_stats"]["limit"] == 64 * MIB
    assert "cpu_usage" in sample["cpu_stats"]
    cpu_units, memory_mib = runtime.host_resources()
    assert cpu_units >= 1024 and cpu_units % 1024 == 0
    assert memory_mib > 0


def test_docker_info_is_asked_once_for_identity_and_resources():
    """An engine's identity and its resources come from one `docker info`."""
    fresh = DockerRuntime(instance_id=f"test-{uuid.uuid4().hex[:10]}")
    try:
        asked = []
        real_info = fresh.api.info
        fresh.api.info = lambda: asked.append(1) or real_info()
        info = fresh.daemon_info()
        info["ID"] = "changed by a caller"  # a caller's copy: the kept answer is not touched
        assert fresh.host_resources() == (info["NCPU"] * 1024, info["MemTotal"] // MIB)
        assert fresh.daemon_info()["ID"] != "changed by a caller"
        assert len(asked) == 1
    finally:
        fresh.close()


# -- images, create ---------------------------------------------------------------------------


def test_pull_progress_is_told_in_short_lines():
    from emulator.runtime.docker_images import progress_line

    assert progress_line({"status": "Pulling from library/busybox", "id": "latest"}) == \
        "latest: Pulling from library/busybox"
    assert progress_line({"status": "Downloading", "id": "abc", "progress": "[==>  ] 1MB/9MB"}) is None
    assert progress_line({"status": "Pull complete", "id": "abc"}) == "abc: Pull complete"
    assert progress_line({"status": "Digest: sha256:00"}) == "Digest: sha256:00"


def test_create_errors_carry_dockers_message(runtime, task):
    bad = spec(task, "ghost", "true")
    bad.image = "ecs-emulator-test/no-such-image:latest"
    with pytest.raises(ContainerCreateError, match="No such image"):
        runtime.create_container(bad)


def test_an_image_removed_after_it_was_ensured_is_reported_as_gone(runtime, task):
    image = f"ecs-emulator-test/busybox:gone-{uuid.uuid4().hex[:8]}"
    runtime.api.tag("ecs-emulator-test/busybox:latest", *image.split(":"))
    runtime.ensure_image(image, None)
    runtime.api.remove_image(image)
    gone = spec(task, "gone", "true")
    gone.image = image
    with pytest.raises(ImageGoneError, match="No such image"):
        runtime.create_container(gone)
    with pytest.raises(ImagePullError):  # forgotten: ensuring it asks Docker (and a pull) again
        runtime.ensure_image(image, None)


def test_an_image_rebuilt_under_the_same_tag_shows_its_new_digest(runtime):
    """Digests are kept per image (one inspect per image, not per container), and a local
    `docker build -t same:tag` is seen: Docker's image event forgets what was kept."""
    image = f"ecs-emulator-test/busybox:rebuilt-{uuid.uuid4().hex[:8]}"

    def build(label: str) -> str:
        dockerfile = f"FROM ecs-emulator-test/busybox:latest\nLABEL rebuilt={label}\n"
        subprocess.run(["docker", "build", "-q", "-t", image, "-"], input=dockerfile.encode(),
                       check=True, capture_output=True, timeout=120)
        return runtime.api.inspect_image(image)["Id"]

    try:
        first = build("1")
        assert runtime.image_digest(image) == first  # a local image: its id
        # Kept once the image events are heard (the first look-up opens their stream).
        wait_for(lambda: runtime.image_digest(image) and image in runtime._digests._known,
                 bool, timeout=5, interval=0.05)
        second = build("2")
        assert second != first
        wait_for(lambda: runtime.image_digest(image), lambda digest: digest == second,
                 timeout=5, interval=0.05)
    finally:
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, timeout=60)


def test_every_spec_field_reaches_docker(runtime, task):
    network, _ = runtime.ensure_network()
    helper = run(runtime, spec(task, "helper", "exec sleep 600", network=network))
    helper_name = runtime.api.inspect_container(helper)["Name"].lstrip("/")
    full = spec(
        task, "full", "exec sleep 600",
        entrypoint=["/bin/sh"], environment={"A": "1", "B": "two words"}, working_dir="/tmp",
        user="nobody", hostname="full-host", network=network, network_aliases=["alias-one"],
        ports=[PortBinding(81, "udp", "127.0.0.1", 0)],
        mounts=[Mount("tmpfs", "/scratch", tmpfs_size_bytes=MIB, tmpfs_options=("noexec",))],
        volumes_from=[f"{helper}:ro"], links=[f"{helper_name}:buddy"], extra_hosts={"db": "10.9.9.9"},
        dns=["10.0.0.2"], dns_search=["example.internal"], cpu_shares=256, nano_cpus=500_000_000,
        memory_bytes=128 * MIB, memory_reservation_bytes=64 * MIB,
        ulimits=[("nofile", 1024, 2048)], cap_add=["NET_ADMIN"], cap_drop=["MKNOD"],
        devices=["/dev/null:/dev/nothing:r"], init=True, shm_size_bytes=32 * MIB, read_only=True,
        sysctls={"net.ipv4.ip_unprivileged_port_start": "0"}, tty=True, stdin_open=True,
        healthcheck=HealthCheck(["CMD", "true"], 2, 3, 4, 5), stop_timeout_s=7,
        security_opt=["no-new-privileges"], ipc_mode="private",
    )
    info = runtime.api.inspect_container(runtime.create_container(full))
    config, host = info["Config"], info["HostConfig"]
    assert config["Entrypoint"] == ["/bin/sh"] and config["Cmd"] == ["sh", "-c", "exec sleep 600"]
    assert {"A=1", "B=two words"} <= set(config["Env"])
    assert (config["WorkingDir"], config["User"], config["Hostname"]) == ("/tmp", "nobody", "full-host")
    assert config["Labels"][labels.CONTAINER_NAME] == "full"
    assert config["Labels"][labels.PID] == str(__import__("os").getpid())
    assert (config["Tty"], config["OpenStdin"], config["StopTimeout"]) == (True, True, 7)
    assert config["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 2_000_000_000,
                                     "Timeout": 3_000_000_000, "Retries": 4,
                                     "StartPeriod": 5_000_000_000}
    assert "81/udp" in config["ExposedPorts"]
    assert host["PortBindings"] == {"81/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    assert host["Tmpfs"] == {"/scratch": f"noexec,size={MIB}"}
    assert host["VolumesFrom"] == [f"{helper}:ro"]
    assert host["ExtraHosts"] == ["db:10.9.9.9"]
    assert (host["Dns"], host["DnsSearch"]) == (["10.0.0.2"], ["example.internal"])
    assert (host["CpuShares"], host["NanoCpus"]) == (256, 500_000_000)
    assert (host["Memory"], host["MemoryReservation"]) == (128 * MIB, 64 * MIB)
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert (host["CapAdd"], host["CapDrop"]) == (["NET_ADMIN"], ["MKNOD"])
    assert host["Devices"] == [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/nothing",
                                "CgroupPermissions": "r"}]
    assert (host["Init"], host["ShmSize"], host["ReadonlyRootfs"]) == (True, 32 * MIB, True)
    assert host["Sysctls"] == {"net.ipv4.ip_unprivileged_port_start": "0"}
    assert host["SecurityOpt"] == ["no-new-privileges"] and host["IpcMode"] == "private"
    assert host["LogConfig"]["Type"] == "json-file"
    endpoint = info["NetworkSettings"]["Networks"][network]
    assert "alias-one" in endpoint["Aliases"]
    assert endpoint["Links"] == [f"{helper_name}:buddy"]


def test_a_read_only_bind_mount_and_a_named_volume(runtime, task, tmp_path):
    (tmp_path / "in.txt").write_text("from-host\n")
    volume = runtime.ensure_volume(f"ecs-test-{uuid.uuid4().hex[:8]}", task)
    mounts = [Mount("bind", "/host", str(tmp_path), read_only=True), Mount("volume", "/data", volume)]
    writer = run(runtime, spec(task, "writer", "cat /host/in.txt > /data/out.txt; "
                                               "touch /host/x 2>/dev/null && exit 9; exit 0",
                               mounts=mounts))
    assert wait_exited(runtime, writer).exit_code == 0
    reader = run(runtime, spec(task, "reader", "cat /data/out.txt", mounts=mounts[1:]))
    assert wait_exited(runtime, reader).exit_code == 0
    assert output(runtime, reader) == [("stdout", "from-host")]
    runtime.kill_container(writer)  # exited: Docker's 409 (not running) is what a kill wants
    with pytest.raises(RuntimeError_, match="in use"):  # a 409 here says the volume stays
        runtime.remove_volume(volume)
    runtime.remove_container(writer)
    runtime.remove_container(reader)
    runtime.remove_volume(volume)
    assert _docker_ls("volume", f"{labels.TASK_ARN}={task[labels.TASK_ARN]}") == []


def test_volume_driver_options_and_labels(runtime, task):
    name = runtime.ensure_volume(f"ecs-test-{uuid.uuid4().hex[:8]}", task, driver="local",
                                 driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    assert runtime.ensure_volume(name, task) == name  # again: the same volume
    info = runtime.api.inspect_volume(name)
    assert info["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    assert info["Labels"][labels.TASK_ARN] == task[labels.TASK_ARN]
    assert info["Labels"][labels.INSTANCE] == runtime.instance_id


# -- cleanup -------------------------------------------------------------------------------------


def test_remove_labelled_leaves_nothing_of_the_task(runtime, task):
    selector = f"{labels.TASK_ARN}={task[labels.TASK_ARN]}"
    sandbox = runtime.create_sandbox(f"sb-{uuid.uuid4().hex[:8]}", task, "awsvpc", [PortBinding(80)])
    run(runtime, spec(task, "app", "exec sleep 600", network=sandbox.network))
    runtime.ensure_volume(f"ecs-test-{uuid.uuid4().hex[:8]}", task)
    assert len(_docker_ls("container", selector)) == 2
    assert runtime.remove_labelled({labels.TASK_ARN: task[labels.TASK_ARN]}) == 3
    assert _docker_ls("container", selector) == _docker_ls("volume", selector) == []


def test_remove_orphans_takes_only_a_dead_emulators_resources(runtime, task):
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan_owner = {**runtime.owner_labels, labels.PID: str(dead.pid), labels.PID_START: "1"}
    api = runtime.api
    orphan = api.create_container_from_config(
        {"Image": "ecs-emulator-test/busybox:latest", "Cmd": ["true"],
         "Labels": {**task, **orphan_owner}}, f"orphan-{uuid.uuid4().hex[:8]}")["Id"]
    mine = runtime.create_container(spec(task, "mine", "true"))
    assert runtime.remove_orphans() >= 1
    assert runtime.inspect_container(orphan) is None
    assert runtime.inspect_container(mine) is not None


def test_owner_labels_tell_live_from_gone():
    live = labels.owner_labels("x")
    assert not labels.owner_is_gone(live)
    assert labels.owner_is_gone({**live, labels.PID_START: "1"})  # our pid, but another process
    assert not labels.owner_is_gone({**live, labels.HOST: "another-host", labels.PID: "1"})
    assert not labels.owner_is_gone({labels.INSTANCE: "x"})


def test_docker_names_are_made_valid():
    assert labels.docker_name("ecs-web-1-app/weird name") == "ecs-web-1-app-weird-name"
    assert labels.docker_name("_x") == "c_x"
    assert labels.docker_name("--") == "c"


def test_pause_elf_is_a_static_executable_for_each_machine():
    from emulator.runtime.pause_image import pause_elf, pause_image_tag

    for machine, e_machine in (("x86_64", 62), ("aarch64", 183)):
        elf = pause_elf(machine)
        assert elf[:4] == b"\x7fELF" and elf[4] == 2
        assert int.from_bytes(elf[18:20], "little") == e_machine
        assert len(elf) < 512
    assert pause_image_tag("x86_64") != pause_image_tag("aarch64")
    with pytest.raises(ValueError):
        pause_elf("sparc")


def test_json_logs_go_to_files_the_engine_reads(runtime, task):
    container = run(runtime, spec(task, "json", "echo '{\"k\": 1}'"))
    wait_exited(runtime, container)
    [(_, stream, line)] = list(runtime.logs(container))
    assert (stream, json.loads(line)) == ("stdout", {"k": 1})


def test_an_engine_that_does_not_answer_is_named_plainly(tmp_path):
    """RunTask with Docker down: the task's reason says which engine cannot be reached, not
    the SDK's tuple of errors."""
    import docker

    socket = tmp_path / "no-docker.sock"
    runtime = DockerRuntime(client_factory=lambda: docker.DockerClient(
        base_url=f"unix://{socket}", version="1.41"))
    with pytest.raises(Exception) as excinfo:
        runtime.inspect_container("anything")
    assert runtime.explain(excinfo.value) == (
        f"the Docker Engine at unix://{socket} cannot be reached; start it, or set DOCKER_HOST "
        "to an engine that answers")
