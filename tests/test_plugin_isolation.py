"""The pytest plugin's emulator is the test session's own: a shell that exported a user's
running emulator's settings (ECS_EMULATOR_PERSIST, ECS_EMULATOR_DATA_DIR, its ports, the
registry address and engines it gives Docker) does not make a test session touch that emulator
(README: Quick start: pytest)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import warnings
from dataclasses import replace

import pytest

from emulator import pytest_plugin
from emulator.pytest_plugin import isolated_settings, running_emulator
from tests.busybox import register
from tests.test_cli import clean_env, free_port, start  # noqa: F401  (start is a fixture)
from tests.test_persistence import Emulator, remove_everything
from tests.waiting import patience, wait_for_task

USERS = {"ECS_EMULATOR_PERSIST": "1", "ECS_EMULATOR_DATA_DIR": "/srv/their-emulator",
         "ECS_EMULATOR_HOST": "0.0.0.0", "ECS_EMULATOR_PORT": "4566",
         "ECS_EMULATOR_FRONT_DOOR_PORT": "4567",
         "ECS_EMULATOR_REGISTRY_ADDRESS": "host.docker.internal:4566",
         "ECS_EMULATOR_ENGINES": "b=tcp://10.0.0.5:2375,registry=10.0.0.1:4566",
         "ECS_EMULATOR_REGION": "eu-west-1", "ECS_EMULATOR_TASK_NETWORK": "emulator"}


def test_the_sessions_settings_leave_the_users_emulator_alone(monkeypatch):
    for name, value in USERS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(pytest_plugin, "_warned", set())
    with pytest.warns(UserWarning) as warned:
        settings = isolated_settings()
    assert (settings.persist, settings.data_dir) == (False, None)
    assert (settings.host, settings.port, settings.front_door_port) == ("127.0.0.1", 0, None)
    assert (settings.registry_address, settings.engines) == (None, ())
    assert settings.strict_responses
    # what only says how tasks run still comes from the environment
    assert (settings.default_region, settings.task_network) == ("eu-west-1", "emulator")
    # each variable left unread is named, with the way to ask for it, once
    named = sorted(str(w.message).split()[0] for w in warned)
    assert named == sorted(name for name in USERS if name in pytest_plugin._USERS_PLACES)
    assert all("dataclasses.replace(ecs_emulator_settings" in str(w.message) for w in warned)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        isolated_settings()


def test_a_wrong_value_of_a_variable_left_unread_fails_nothing(monkeypatch):
    for name in ("ECS_EMULATOR_PORT", "ECS_EMULATOR_FRONT_DOOR_PORT", "ECS_EMULATOR_ENGINES",
                 "ECS_EMULATOR_REGISTRY_ADDRESS"):
        monkeypatch.setenv(name, "not valid at all:4566")
    monkeypatch.setattr(pytest_plugin, "_warned", set())
    with pytest.warns(UserWarning):
        settings = isolated_settings()
    assert (settings.port, settings.engines, settings.registry_address) == (0, (), None)


@pytest.mark.parametrize("address", ["docker", "registry.ci.internal", "[fd00::5]"])
def test_a_registry_address_without_a_port_is_kept(monkeypatch, address):
    """Only a :port names the user's emulator: a bare host name is how a Docker-in-Docker or
    remote engine of a CI job reaches this host's registry."""
    monkeypatch.setenv("ECS_EMULATOR_REGISTRY_ADDRESS", address)
    monkeypatch.setattr(pytest_plugin, "_warned", set())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (nothing ignored: nothing to say)
        assert isolated_settings().registry_address == address


def test_a_failed_start_lets_go_of_the_data_directory(tmp_path, monkeypatch):
    """start_server stops what it started when the server's start fails: the data directory's
    lock included, so the next emulator on it starts."""
    from emulator.server import EmulatorServer

    def failing(self):
        raise RuntimeError("the start failed")

    settings = replace(isolated_settings(), data_dir=str(tmp_path), link_local_credentials=False)
    with monkeypatch.context() as patched:
        patched.setattr(EmulatorServer, "start", failing)
        with pytest.raises(RuntimeError, match="the start failed"):
            pytest_plugin.start_server(settings)
    with running_emulator(settings) as handle:
        assert handle.client("ecs").list_clusters()["clusterArns"] == []


def test_a_conftest_asks_for_persistence_explicitly(tmp_path):
    """The opt-in the README names: persist and data_dir given in the settings (a conftest's
    `ecs_emulator_settings`, or `running_emulator`'s); the state is kept across emulators."""
    settings = replace(isolated_settings(), persist=True, data_dir=str(tmp_path),
                       link_local_credentials=False)
    with running_emulator(settings) as first:
        first.client("ecr").create_repository(repositoryName="kept")
    assert (tmp_path / "state").is_dir()
    with running_emulator(settings) as second:
        repositories = second.client("ecr").describe_repositories()["repositories"]
    assert [r["repositoryName"] for r in repositories] == ["kept"]


_INNER_TEST = '''
def test_a_users_test(clean_emulator):
    ecr = clean_emulator.client("ecr")
    ecr.create_repository(repositoryName="the-tests")
    clean_emulator.reset()
    assert ecr.describe_repositories()["repositories"] == []
'''


@pytest.mark.docker
def test_a_pytest_run_beside_a_persisted_emulator_leaves_it_whole(start, tmp_path,
                                                                   busybox_image, docker_client):
    """The QA's case: the user's emulator persists to a data directory and runs a task; a pytest
    run in the shell that exported its settings resets its own emulator, not the user's: the
    task's container still runs, and the user's repository survives a restart."""
    data_dir = tmp_path / "data"
    users = Emulator(start, data_dir, free_port())
    users.env["ECS_EMULATOR_TASK_NETWORK"] = "emulator"  # docker0 is the HOST group's
    users.up()
    try:
        ecs, ecr = users.client("ecs"), users.client("ecr")
        ecr.create_repository(repositoryName="theirs")
        ecs.create_cluster(clusterName="theirs")
        task = ecs.run_task(cluster="theirs",
                            taskDefinition=register(ecs, busybox_image))["tasks"][0]
        wait_for_task(ecs, "theirs", task["taskArn"], "RUNNING")

        (tmp_path / "inner").mkdir()
        (tmp_path / "inner" / "test_theirs.py").write_text(textwrap.dedent(_INNER_TEST))
        env = clean_env(**users.env, ECS_EMULATOR_PORT=str(users.port))
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "-p", "no:xdist", "test_theirs.py"],
                             cwd=tmp_path / "inner", env=env, capture_output=True, text=True,
                             timeout=patience(180))
        assert run.returncode == 0, run.stdout + run.stderr

        described = ecs.describe_tasks(cluster="theirs", tasks=[task["taskArn"]])["tasks"][0]
        assert described["lastStatus"] == "RUNNING"
        container = docker_client.containers.get(described["containers"][0]["runtimeId"])
        assert container.status == "running"
        users.running.stop(signal.SIGKILL)
        users.up()
        repositories = users.client("ecr").describe_repositories()["repositories"]
        assert [r["repositoryName"] for r in repositories] == ["theirs"]
        assert users.running.stop() == 0  # a stop removes what the user's emulator made
    finally:
        users.running.kill()
        remove_everything(docker_client, (data_dir / "state" / "instance").read_text().strip())
