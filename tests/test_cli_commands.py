"""The everyday client commands (status, ps, logs, exec, reset, spot-interrupt), run through
main(argv) against the plugin's emulator, over HTTP as a user's would."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest

from emulator.cli import main
from tests.waiting import page_text, quick_cli_polls, wait_for, wait_for_task

CLUSTER = "cli"


@pytest.fixture
def cli(clean_emulator, monkeypatch, tmp_path, capfd):
    """Run `ecs-emulator ARGS...` in this process; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ecs/config of the machine's
    monkeypatch.setenv("AWS_ENDPOINT_URL", clean_emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", clean_emulator.region)
    monkeypatch.chdir(tmp_path)
    quick_cli_polls(monkeypatch)

    def run(*argv: str):
        capfd.readouterr()
        code = main(list(argv))
        out, err = capfd.readouterr()
        return code, out, err

    return run


def run_busybox(ecs, image, script, *, name="main", ports=(), log_configuration=None):
    container = {"name": name, "image": image, "memory": 64, "command": ["sh", "-c", script],
                 "portMappings": [{"containerPort": p} for p in ports], "stopTimeout": 1}
    if log_configuration:
        container["logConfiguration"] = log_configuration
    arn = ecs.register_task_definition(family="cli", containerDefinitions=[container])[
        "taskDefinition"]["taskDefinitionArn"]
    answer = ecs.run_task(cluster=CLUSTER, taskDefinition=arn)
    assert answer["failures"] == []
    return answer["tasks"][0]["taskArn"]


def test_status_counts_what_the_emulator_holds(cli, cluster, ecs, busybox_image):
    arn = run_busybox(ecs, busybox_image, "sleep 60")
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    code, out, _ = cli("status")
    assert code == 0
    assert "ecs-emulator 0.1.0" in out and ": ok" in out
    assert "Docker:   available" in out
    assert "Clusters: 1" in out
    assert "Tasks:    1 running, 0 pending" in out


def test_status_when_nothing_listens(cli):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _, err = cli("status", "--endpoint-url", f"http://127.0.0.1:{port}")
    assert code == 1
    assert f"cannot reach the emulator at http://127.0.0.1:{port}" in err



@pytest.mark.parametrize("command", [["status"], ["ps"], ["logs", "abc"], ["exec", "abc", "--", "sh"],
                                     ["reset"], ["compose", "service", "ps"]])
@pytest.mark.parametrize("endpoint", ["localhost:4566", "notaurl", "ftp://127.0.0.1:4566",
                                      "http://127.0.0.1:99999", "http://[::1", "http://:4566"])
def test_an_endpoint_that_is_no_url_is_one_line_not_a_traceback(cli, command, endpoint):
    # `localhost:4566` (no scheme) is the usual slip; urllib and botocore raised ValueError
    # deep inside the first call for most of these (a traceback), or said "unknown url type".
    code, _, err = cli(command[0], "--endpoint-url", endpoint, *command[1:])
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(
        f"] --endpoint-url / AWS_ENDPOINT_URL {endpoint!r} is not an http:// or https:// URL "
        "with a host and a valid port (e.g. http://127.0.0.1:4566)")


@pytest.fixture
def another_server():
    """A web server that is not the emulator: it answers every request with an HTML page (501)."""
    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # its lines would mix with the command's stderr
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("command", [["status"], ["ps"], ["reset"], ["engines"]])
def test_a_server_that_is_not_the_emulator_is_named_in_one_line(cli, another_server, command):
    # The front doors' port, or another server on the port: its HTML page was printed whole.
    code, _, err = cli(command[0], "--endpoint-url", another_server, *command[1:])
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "<" not in lines[0]
    assert f"the server at {another_server} answered HTTP 50" in lines[0] or \
        f"the server at {another_server} answered HTTP 40" in lines[0]
    assert "is it the emulator's port?" in lines[0]


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(clean_emulator, tmp_path):
    # `ecs-emulator ps | head -1`: a Unix tool dies of SIGPIPE without a word; this one printed
    # a BrokenPipeError traceback.
    environment = {**os.environ, "AWS_ENDPOINT_URL": clean_emulator.endpoint_url,
                   "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "testing",
                   "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": clean_emulator.region}
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before the first line
    try:
        done = subprocess.run([sys.executable, "-m", "emulator", "status"], stdout=writer,
                              stderr=subprocess.PIPE, env=environment, timeout=60)
    finally:
        os.close(writer)
    assert done.stderr.decode() == ""
    assert done.returncode == 141


def test_ps_shows_the_address_a_port_is_reached_at(cli, cluster, ecs, busybox_image):
    script = "mkdir -p /www && echo hello-ps > /www/index.html && exec httpd -f -p 80 -h /www"
    arn = run_busybox(ecs, busybox_image, script, name="web", ports=[80])
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    code, out, _ = cli("ps")
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["Name", "State", "Ports", "TaskDefinition", "Health"]
    name, state, ports, definition, health = row.split()
    assert name == f"{CLUSTER}/{arn.rsplit('/', 1)[1]}/web"
    assert (state, definition, health) == ("RUNNING", "cli:1", "UNKNOWN")
    address = ports.split("->")[0]
    assert ports.endswith("->80/tcp") and address.startswith("127.0.0.1:")
    page = wait_for(lambda: page_text(f"http://{address}/"), lambda body: body is not None)
    assert page == "hello-ps\n"


def test_ps_of_one_cluster_and_with_stopped_tasks(cli, cluster, ecs, busybox_image):
    ecs.create_cluster(clusterName="other")
    arn = run_busybox(ecs, busybox_image, "true")
    wait_for_task(ecs, CLUSTER, arn, "STOPPED")
    assert cli("ps")[1].splitlines()[1:] == []
    code, out, _ = cli("ps", "--all", "--cluster", CLUSTER)
    assert code == 0
    assert "STOPPED" in out.splitlines()[1]
    assert cli("ps", "--all", "--cluster", "other")[1].splitlines()[1:] == []


def test_logs_from_docker_without_awslogs(cli, cluster, ecs, busybox_image):
    arn = run_busybox(ecs, busybox_image, "echo first line; echo second line >&2; sleep 60")
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    task_id = arn.rsplit("/", 1)[1]
    code, out, _ = wait_for(lambda: cli("logs", task_id),
                            lambda result: "second line" in result[1])
    assert code == 0
    assert sorted(out.splitlines()) == ["first line", "second line"]  # two pipes: any order
    # --timestamps stamps Docker's lines too, as CloudWatch's are (it was ignored for them).
    code, out, _ = cli("logs", task_id, "--timestamps")
    stamped = [line.split("\t") for line in out.splitlines()]
    assert code == 0 and sorted(message for _, message in stamped) == ["first line", "second line"]
    for stamp, _ in stamped:
        assert abs(datetime.fromisoformat(stamp).timestamp() - time.time()) < 120
    code, _, err = cli("logs", task_id, "--container", "nope")
    assert code == 1 and "has no container 'nope'" in err


def test_logs_from_cloudwatch_and_follow_until_the_task_stops(cli, cluster, ecs, clean_emulator,
                                                             busybox_image):
    clean_emulator.client("logs").create_log_group(logGroupName="cli")
    awslogs = {"logDriver": "awslogs", "options": {
        "awslogs-group": "cli", "awslogs-region": clean_emulator.region,
        "awslogs-stream-prefix": "app"}}
    arn = run_busybox(ecs, busybox_image, "for i in 1 2 3; do echo line $i; sleep 1; done",
                      log_configuration=awslogs)
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    code, out, _ = cli("logs", "--task-id", arn.rsplit("/", 1)[1], "--follow")
    assert code == 0
    assert out.splitlines() == ["line 1", "line 2", "line 3"]
    assert task_status(ecs, arn) == "STOPPED"
    code, out, _ = cli("logs", arn, "--timestamps")
    assert code == 0 and out.splitlines()[0].endswith("\tline 1")


def task_status(ecs, arn: str) -> str:
    return ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]["lastStatus"]


def test_logs_of_an_unknown_task(cli, cluster, clean_emulator):
    code, _, err = cli("logs", "0123456789abcdef0123456789abcdef")
    assert code == 1 and ("no task 0123456789abcdef0123456789abcdef in any cluster of "
                          f"{clean_emulator.region}") in err
    # An id of no task's length (mistyped, cut short) gets the same answer, not ECS's
    # "taskId length should be one of [32,36]" from DescribeTasks.
    arn = f"arn:aws:ecs:{clean_emulator.region}:123456789012:task/{CLUSTER}/abc"
    for short in ("0123abcd", arn):
        code, _, err = cli("logs", short)
        assert code == 1 and f"no task {short} in " in err and "taskId length" not in err, err
    code, _, err = cli("exec", "0123abcd", "--", "true")
    assert code == 1 and "no task 0123abcd in any cluster" in err, err


def test_exec_runs_in_the_task_container_and_returns_its_exit_code(cli, cluster, ecs,
                                                                  busybox_image, clean_emulator):
    arn = run_busybox(ecs, busybox_image, "echo inside > /marker; sleep 60")
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    task_id = arn.rsplit("/", 1)[1]
    code, out, _ = wait_for(lambda: cli("exec", task_id, "--", "cat", "/marker"),
                            lambda result: result[0] == 0)
    assert out == "inside\n"
    assert cli("exec", task_id, "--", "sh", "-c", "exit 3")[0] == 3
    # The README's form: flags between the task and `--` are the command line's, not the command's.
    code, out, err = cli("exec", task_id, "--container", "main", "--region",
                         clean_emulator.region, "--", "cat", "/marker")
    assert (code, out) == (0, "inside\n"), err
    code, _, err = cli("exec", task_id, "--container", "nope", "--", "true")
    assert code == 1 and "has no container 'nope'" in err


def test_exec_passes_a_piped_stdin_to_the_command(cluster, ecs, busybox_image, clean_emulator,
                                                 tmp_path):
    # `ecs-emulator exec T -- sh < script.sh`, as `docker exec -i`: the pipe was not passed, and
    # the command read nothing.
    arn = run_busybox(ecs, busybox_image, "sleep 60")
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    environment = {**os.environ, "AWS_ENDPOINT_URL": clean_emulator.endpoint_url,
                   "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "testing",
                   "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": clean_emulator.region}
    done = subprocess.run(
        [sys.executable, "-m", "emulator", "exec", arn.rsplit("/", 1)[1], "--", "sh"],
        input=b"echo from-the-pipe; exit 4\n", capture_output=True, env=environment, timeout=60)
    assert (done.returncode, done.stdout) == (4, b"from-the-pipe\n"), done.stderr


def test_exec_into_a_stopped_task_is_refused(cli, cluster, ecs, busybox_image):
    arn = run_busybox(ecs, busybox_image, "true")
    wait_for_task(ecs, CLUSTER, arn, "STOPPED")
    code, _, err = cli("exec", arn, "--", "true")
    assert code == 1 and "is not running" in err


def test_reset_drops_everything(cli, cluster, ecs):
    assert ecs.list_clusters()["clusterArns"]
    code, out, _ = cli("reset")
    assert code == 0 and "reset" in out
    assert ecs.list_clusters()["clusterArns"] == []


def spot_task(ecs, image, provider="FARGATE_SPOT") -> str:
    ecs.put_cluster_capacity_providers(
        cluster=CLUSTER, capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[{"capacityProvider": provider, "weight": 1}])
    arn = ecs.register_task_definition(
        family="spot", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "main", "image": image,
                                             "command": ["sleep", "600"], "stopTimeout": 1}],
    )["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(cluster=CLUSTER, taskDefinition=arn, networkConfiguration={
        "awsvpcConfiguration": {"subnets": ["subnet-1"]}})["tasks"][0]
    return task["taskArn"]


def test_spot_interrupt_stops_a_fargate_spot_task(cli, cluster, ecs, busybox_image):
    arn = spot_task(ecs, busybox_image)
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    code, _, err = cli("spot-interrupt", arn.rsplit("/", 1)[1], "--warning-seconds", "1")
    assert code == 0, err
    assert "Spot interruption sent" in err and "stopCode=SpotInterruption" in err
    stopped = wait_for_task(ecs, CLUSTER, arn, "STOPPED")
    assert stopped["stopCode"] == "SpotInterruption"


def test_spot_interrupt_of_an_on_demand_task_is_refused(cli, cluster, ecs, busybox_image):
    arn = spot_task(ecs, busybox_image, provider="FARGATE")
    code, _, err = cli("spot-interrupt", arn)
    assert code == 1 and "HTTP 400" in err


def test_spot_interrupt_of_an_unknown_task(cli, cluster):
    code, _, err = cli("spot-interrupt", "0123456789abcdef0123456789abcdef")
    assert code == 1 and "no task" in err


def test_a_task_container_removed_as_it_is_listed_is_still_found(monkeypatch, docker_client,
                                                                 busybox_image):
    """The CLI lists a task's container in one call: docker-py's list inspected each container
    it listed, and one removed in between (its task stopping) raised NotFound."""
    import uuid

    from emulator.cli_commands import docker_access
    from emulator.runtime.labels import CONTAINER_NAME, TASK_ARN

    arn = f"arn:aws:ecs:us-east-1:123456789012:task/{CLUSTER}/{uuid.uuid4().hex}"
    container = docker_client.containers.create(busybox_image, ["true"],
                                                labels={TASK_ARN: arn, CONTAINER_NAME: "app"})
    api, listed = docker_client.api, docker_client.api.containers

    def listed_then_removed(*args, **kwargs):
        found = listed(*args, **kwargs)
        api.remove_container(container.id, force=True)
        return found

    try:
        monkeypatch.setattr(api, "containers", listed_then_removed)
        monkeypatch.setattr(docker_access, "docker_client", lambda: docker_client)
        found = docker_access.task_container(arn, "app")
        assert (found.id, found.status) == (container.id, "created")
        monkeypatch.setattr(api, "containers", listed)
        assert docker_access.task_container(arn, "app") is None  # gone by now
    finally:
        monkeypatch.undo()
        if docker_client.api.containers(all=True, filters={"id": container.id}):
            container.remove(force=True)
