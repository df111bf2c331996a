"""The `ecs-emulator` command in a real process: the ways to start it, settings from environment
variables, flags over variables, and a clean exit on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests

from emulator import __version__
from emulator.cli import _parser, _serve_only, _serve_options_before, _settings, main
from tests.waiting import patience

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict:
    """This environment without ECS_EMULATOR_* settings (ours are given explicitly)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECS_EMULATOR_")}
    # Keep the host as it is: no 169.254.170.2 on the Docker bridge for a test of the command.
    env["ECS_EMULATOR_LINK_LOCAL_CREDENTIALS"] = "false"
    env.update(extra)
    return env


class Running:
    def __init__(self, argv: list[str], port: int, env: dict):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)

    def wait_until_healthy(self) -> dict:
        started = time.monotonic()
        while time.monotonic() - started < patience(START_TIMEOUT_S):
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode}: {self.output()}")
            try:
                return requests.get(f"{self.url}/_emulator/health",
                                    timeout=patience(5)).json()
            except (requests.ConnectionError, requests.Timeout):  # bound, still starting
                time.sleep(0.1)
        raise AssertionError(f"no health answer within {time.monotonic() - started:.0f}s "
                             f"({START_TIMEOUT_S}s, stretched for the load)")

    def ecs(self, access_key: str = "testing"):
        return boto3.client("ecs", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=access_key, aws_secret_access_key="testing")

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=patience(90))

    def output(self) -> str:
        return self.process.stdout.read() if self.process.stdout else ""

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def start():
    started: list[Running] = []

    def run(argv: list[str], port: int, **env: str) -> Running:
        running = Running(argv, port, clean_env(**env))
        started.append(running)
        return running

    yield run
    for running in started:
        running.kill()


COMMANDS = {
    "serve-subcommand": lambda port: [str(BIN / "ecs-emulator"), "serve", "--port", str(port)],
    "default-command": lambda port: [str(BIN / "ecs-emulator"), "--port", str(port)],
    "python-m": lambda port: [sys.executable, "-m", "emulator", "--port", str(port)],
}


@pytest.mark.parametrize(
    "command, signum",
    [("serve-subcommand", signal.SIGTERM), ("default-command", signal.SIGINT),
     ("python-m", signal.SIGTERM)],
)
def test_the_command_serves_ecs_and_stops_cleanly(start, command, signum):
    port = free_port()
    running = start(COMMANDS[command](port), port)
    health = running.wait_until_healthy()
    assert health["version"] == __version__
    arn = running.ecs().create_cluster(clusterName="cli")["cluster"]["clusterArn"]
    assert running.ecs().list_clusters()["clusterArns"] == [arn]
    assert running.stop(signum) == 0, running.output()
    assert "stopping" in running.output()


def test_settings_come_from_environment_variables(start):
    port = free_port()
    running = start([str(BIN / "ecs-emulator")], port, ECS_EMULATOR_PORT=str(port),
                    ECS_EMULATOR_ACCOUNT_ID="999988887777", ECS_EMULATOR_REGION="eu-north-1",
                    ECS_EMULATOR_HOST="127.0.0.1")
    running.wait_until_healthy()
    # The default account answers callers whose key is not an account id.
    arn = running.ecs().create_cluster(clusterName="env")["cluster"]["clusterArn"]
    assert arn == "arn:aws:ecs:us-east-1:999988887777:cluster/env"
    # The default region answers unsigned requests.
    unsigned = requests.post(running.url, data="{}", timeout=30, headers={
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.CreateCluster",
        "Content-Type": "application/x-amz-json-1.1"})
    assert unsigned.json()["cluster"]["clusterArn"] == (
        "arn:aws:ecs:eu-north-1:999988887777:cluster/default")
    assert running.stop() == 0


def test_a_flag_wins_over_its_environment_variable(start):
    port = free_port()
    running = start([str(BIN / "ecs-emulator"), "--port", str(port)], port,
                    ECS_EMULATOR_PORT=str(free_port()))
    running.wait_until_healthy()
    assert running.stop() == 0


def test_without_a_docker_engine_it_serves_and_says_so_in_a_few_lines(start, tmp_path):
    # A user who had not started Docker got a warning every second, and pages of traces.
    port = free_port()
    running = start([str(BIN / "ecs-emulator"), "--port", str(port)], port,
                    DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock")
    assert running.wait_until_healthy()["docker"] is False
    running.ecs().create_cluster(clusterName="c")
    time.sleep(2.5)  # the event stream tries again every second
    assert running.stop() == 0
    output = running.output()
    assert output.count("docker event stream failed") == 1, output
    assert "could not remove this emulator's containers" in output
    assert "Traceback" not in output, output


def test_a_port_in_use_is_a_clear_error(start):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = start([str(BIN / "ecs-emulator"), "--port", str(port)], port)
        assert running.process.wait(timeout=START_TIMEOUT_S) == 1
        assert f"cannot listen on 127.0.0.1:{port}" in running.output()


def test_version():
    done = subprocess.run([str(BIN / "ecs-emulator"), "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == f"ecs-emulator {__version__}"


@pytest.mark.parametrize(
    "argv, host, port, quiet",
    [
        (["--port", "5000", "serve"], None, 5000, False),
        (["serve", "--port", "5001"], None, 5001, False),
        (["--port", "5002"], None, 5002, False),
        (["--host", "0.0.0.0", "serve", "--port", "5003", "--quiet"], "0.0.0.0", 5003, True),
        (["--quiet", "serve"], None, None, True),
        ([], None, None, False),
    ],
)
def test_flags_before_and_after_serve_agree(argv, host, port, quiet):
    # A plain `serve` line is parsed without the client commands (start-up); both agree.
    assert _serve_only(argv)
    for parser in (_parser(), _parser(clients=False)):
        args = parser.parse_args(argv)
        assert getattr(args, "host", None) == host
        assert getattr(args, "port", None) == port
        assert getattr(args, "quiet", False) == quiet
        assert _settings(args).log_requests is not quiet


@pytest.mark.parametrize("argv", [["ps"], ["--port", "5000", "status"], ["--help"], ["-h"],
                                  ["--version"], ["serve", "--help"], ["compose", "up"]])
def test_anything_but_a_plain_serve_gets_the_whole_command_line(argv):
    assert not _serve_only(argv)


def test_help_still_lists_the_client_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    assert all(word in shown for word in ("status", "ps", "logs", "compose", "configure"))


def test_flags_override_the_environment(monkeypatch):
    monkeypatch.setenv("ECS_EMULATOR_PORT", "4000")
    monkeypatch.setenv("ECS_EMULATOR_HOST", "0.0.0.0")
    assert (_settings(_parser().parse_args([])).port, _settings(_parser().parse_args([])).host) == (
        4000, "0.0.0.0")
    settings = _settings(_parser().parse_args(["serve", "--port", "4001", "--host", "127.0.0.2"]))
    assert (settings.port, settings.host) == (4001, "127.0.0.2")


@pytest.mark.parametrize("argv, named", [
    (["--port", "4600", "status"], "http://127.0.0.1:4600"),
    (["--host=127.0.0.2", "--quiet", "ps"], "http://127.0.0.1:PORT"),
])
def test_serve_options_before_a_client_command_are_refused(argv, named, capsys):
    # They were parsed and ignored: `--port 4600 status` asked the emulator on 4566.
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "serve's options" in err and f"--endpoint-url {named}" in err


def test_a_client_command_s_own_port_is_its_own():
    # `up --port` is the security group's port (the ECS CLI's), not serve's.
    assert _serve_options_before(["up", "--port", "8080"], "up") == {}


def test_a_closed_pipe_ends_a_client_command_whose_stdout_has_no_descriptor(monkeypatch):
    """`ecs-emulator ps | head -1` quiets stdout by its descriptor; a stand-in without one (an
    in-process caller's io.StringIO) raised io.UnsupportedOperation instead of exiting 141."""
    import io

    from emulator.cli import _run_client

    def reader_gone(args):
        raise BrokenPipeError

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert _run_client(reader_gone, None) == 141
