"""The everyday client commands (status, ps, logs, exec, reset, spot-interrupt), run through
main(argv) against the plugin's emulator, over HTTP as a user's would."""

from __future__ import annotations

import contextlib
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
                                      "http://127.0.0.1:99999", "http://[::1", "http://:4566",
                                      "http://h_x:4566", "http://127.0.0.1:4566?x=1",
                                      "http://127.0.0.1:4566/#top"])
def test_an_endpoint_that_is_no_url_is_one_line_not_a_traceback(cli, command, endpoint):
    # `localhost:4566` (no scheme) is the usual slip; urllib and botocore raised ValueError
    # deep inside the first call for most of these (a traceback), or said "unknown url type".
    code, _, err = cli(command[0], "--endpoint-url", endpoint, *command[1:])
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    # botocore refuses a host name with `_` (urllib does not: a traceback in the first call).
    underscore = " (botocore takes no `_` in a host name)" if "_" in endpoint else ""
    assert lines[0].endswith(
        f"] --endpoint-url / AWS_ENDPOINT_URL {endpoint!r} is not an http:// or https:// URL "
        "with a host and a valid port, without a query or fragment (e.g. "
        f"http://127.0.0.1:4566){underscore}")


@pytest.fixture
def another_server():
    """A web server that is not the emulator: it answers every request with an HTML page (501)."""
    with serving(http.server.BaseHTTPRequestHandler) as address:
        yield address


@contextlib.contextmanager
def serving(handler_class):
    class Quiet(handler_class):
        def log_message(self, *args):  # its lines would mix with the command's stderr
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
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


def test_a_route_the_emulator_lacks_is_named_not_taken_for_another_server(cli):
    # Flask's HTML 404/405 of the emulator's control endpoint was "is it the emulator's port?".
    code, _, err = cli("engines", "remove", "")
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert "the emulator has no DELETE /_emulator/engines/ (HTTP 40" in lines[0]
    assert "is the server older than this command line?" in lines[0]
    assert "is it the emulator's port?" not in lines[0]


# Answers of the emulator's that are not its JSON: the connection layer's plain text
# (http_connections.py), Flask's page of a body too large, an error whose JSON names no __type.
OWN_ANSWERS = {
    "text": (400, "text/plain", "This port speaks plain HTTP.\r\n",
             "HTTP 400: This port speaks plain HTTP."),
    "html": (413, "text/html; charset=utf-8",
             "<!doctype html>\n<html lang=en>\n<title>413 Request Entity Too Large</title>\n"
             "<h1>Request Entity Too Large</h1>\n<p>The data value transmitted exceeds the "
             "capacity limit.</p>\n",
             "HTTP 413: The data value transmitted exceeds the capacity limit."),
    "json": (400, "application/json", '{"message": "no such thing &amp; more"}',
             "no such thing &amp; more"),
}


@pytest.mark.parametrize("answer", sorted(OWN_ANSWERS))
@pytest.mark.parametrize("command", [["status"], ["ps"], ["reset"]])
def test_the_emulators_own_error_answers_print_their_message(cli, command, answer):
    status, content_type, body, expected = OWN_ANSWERS[answer]

    class Emulator(http.server.BaseHTTPRequestHandler):
        def version_string(self):
            return "ecs-emulator"  # as every answer of the emulator's says (http_heads.py)

        def answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = answer

    with serving(Emulator) as address:
        code, _, err = cli(command[0], "--endpoint-url", address, *command[1:])
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert "emulator's port" not in lines[0]
    if command == ["ps"]:  # an AWS call: no `METHOD PATH`, its operation
        expected = expected.replace(f"HTTP {status}:", "").strip()
        assert lines[0].endswith(f"] ListClusters: HTTP {status}: {expected}")
    else:
        assert expected in lines[0]


@pytest.fixture
def cli_environment(clean_emulator, tmp_path):
    """The environment of an `ecs-emulator` run as its own process against the plugin's emulator."""
    return {**os.environ, "AWS_ENDPOINT_URL": clean_emulator.endpoint_url,
            "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": clean_emulator.region}


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(cli_environment):
    # `ecs-emulator ps | head -1`: a Unix tool dies of SIGPIPE without a word; this one printed
    # a BrokenPipeError traceback.
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before the first line
    try:
        done = subprocess.run([sys.executable, "-m", "emulator", "status"], stdout=writer,
                              stderr=subprocess.PIPE, env=cli_environment, timeout=60)
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


def test_logs_timestamps_keep_every_word_of_a_line_with_a_carriage_return(cli, cluster, ecs,
                                                                          busybox_image):
    # Docker stamps a line per "\n"; the lines were split at "\r" and "\f" too, and the first
    # word of each piece was taken for a stamp and dropped.
    arn = run_busybox(ecs, busybox_image,
                      r"printf 'progress 10%%\rprogress done\fnext page here\n'; sleep 60")
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    task_id = arn.rsplit("/", 1)[1]
    code, out, _ = wait_for(lambda: cli("logs", task_id, "--timestamps"),
                            lambda result: "here" in result[1])
    stamp, message = out.rstrip("\n").split("\t")
    assert code == 0 and message == "progress 10%\rprogress done\fnext page here"
    assert abs(datetime.fromisoformat(stamp).timestamp() - time.time()) < 120
    code, out, _ = cli("logs", task_id)
    assert out == "progress 10%\rprogress done\fnext page here\n"


def test_logs_follow_into_a_closed_pipe_ends_quietly(cluster, ecs, busybox_image,
                                                      cli_environment):
    # `logs --follow | head -1`: the following thread printed a BrokenPipeError traceback and the
    # command exited 0.
    arn = run_busybox(ecs, busybox_image, "while true; do echo tick; sleep 0.2; done")
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run([sys.executable, "-m", "emulator", "logs", arn, "--follow"],
                              stdout=writer, stderr=subprocess.PIPE, env=cli_environment,
                              timeout=60)
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr.decode()) == (141, "")


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


def test_exec_with_i_passes_a_piped_stdin_to_the_command(cluster, ecs, busybox_image,
                                                         cli_environment):
    # `ecs-emulator exec -i T -- sh < script.sh`, as `docker exec -i`.
    arn = run_busybox(ecs, busybox_image, "sleep 60")
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    task = arn.rsplit("/", 1)[1]
    for flags in (["-i", task], [task, "--interactive"]):
        done = subprocess.run([sys.executable, "-m", "emulator", "exec", *flags, "--", "sh"],
                              input=b"echo from-the-pipe; exit 4\n", capture_output=True,
                              env=cli_environment, timeout=60)
        assert (done.returncode, done.stdout) == (4, b"from-the-pipe\n"), done.stderr
    # A stdin closed from the start is none to pass: the command reads an end, and runs.
    done = subprocess.run(["sh", "-c", f'"{sys.executable}" -m emulator exec -i {task} -- cat <&-'],
                          capture_output=True, env=cli_environment, timeout=60)
    assert (done.returncode, done.stdout) == (0, b""), done.stderr


def test_exec_without_i_leaves_stdin_to_the_caller(cluster, ecs, busybox_image, cli_environment,
                                                   tmp_path):
    # `while read t; do ecs-emulator exec "$t" -- hostname; done < tasks.txt` ran once: every
    # non-terminal stdin was passed, and `docker exec -i` reads it at once (as ssh without -n).
    arn = run_busybox(ecs, busybox_image, "sleep 60")
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    task = arn.rsplit("/", 1)[1]
    script = tmp_path / "tasks.txt"
    script.write_text("\n".join(["one", "two", "three"]) + "\n")
    loop = f'n=0; while read line; do {sys.executable} -m emulator exec {task} -- true; ' \
           'n=$((n+1)); done; echo "$n"'
    with script.open("rb") as lines:
        done = subprocess.run(["sh", "-c", loop], stdin=lines, capture_output=True,
                              env=cli_environment, timeout=120)
    assert done.stdout == b"3\n", done.stderr
    # A pipe that stays open (a writer that never ends it): the command reads no stdin, so it
    # ends rather than wait for one.
    reader, writer = os.pipe()
    try:
        done = subprocess.run([sys.executable, "-m", "emulator", "exec", task, "--", "cat"],
                              stdin=reader, capture_output=True, env=cli_environment, timeout=60)
    finally:
        os.close(reader)
        os.close(writer)
    assert (done.returncode, done.stdout) == (0, b""), done.stderr


def test_exec_without_the_docker_command(cli, cluster, ecs, busybox_image, monkeypatch):
    """The Docker SDK's fallback passes no stdin: -i is refused in one line, not dropped."""
    from emulator.cli_commands import docker_access

    arn = run_busybox(ecs, busybox_image, "echo inside > /marker; sleep 60")
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    task = arn.rsplit("/", 1)[1]
    wait_for(lambda: cli("exec", task, "--", "cat", "/marker"), lambda result: result[0] == 0)
    monkeypatch.setattr(docker_access.shutil, "which", lambda name: None)
    assert cli("exec", task, "--", "cat", "/marker")[:2] == (0, "inside\n")
    code, out, err = cli("exec", "-i", task, "--", "cat")
    assert (code, out) == (1, "")
    assert "-i needs the docker command" in err and len(err.strip().splitlines()) == 1


def test_exec_when_the_docker_command_dies_of_a_signal(cli, cluster, ecs, busybox_image,
                                                      monkeypatch, tmp_path):
    # subprocess gives -15 for a docker command killed by SIGTERM; exiting with it made 241.
    from emulator.cli_commands import docker_access

    arn = run_busybox(ecs, busybox_image, "sleep 60")
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    docker = tmp_path / "docker"
    docker.write_text("#!/bin/sh\nkill -TERM $$\n")
    docker.chmod(0o755)
    monkeypatch.setattr(docker_access.shutil, "which", lambda name: str(docker))
    assert cli("exec", arn, "--", "true")[0] == 128 + 15


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
