"""The pytest plugin's emulator is the test session's own: a shell that exported a user's
running emulator's settings (ECS_EMULATOR_PERSIST, ECS_EMULATOR_DATA_DIR, its ports, the
registry address and engines it gives Docker) does not make a test session touch that emulator
(README: Quick start: pytest)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

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
    settings = isolated_settings()
    assert (settings.persist, settings.data_dir) == (False, None)
    assert (settings.host, settings.port, settings.front_door_port) == ("127.0.0.1", 0, None)
    assert (settings.registry_address, settings.engines) == (None, ())
    assert settings.strict_responses
    # what only says how tasks run still comes from the environment
    assert (settings.default_region, settings.task_network) == ("eu-west-1", "emulator")


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
