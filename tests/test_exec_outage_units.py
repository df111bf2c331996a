"""ECS Exec while the Docker Engine is down: the plugin is told so in words, not with the SDK's
tuple of errors ("('Connection aborted.', FileNotFoundError(2, ...))")."""

import docker
import pytest

from emulator.exec.docker_exec import NOT_ANSWERING, DockerExec, ExecStartError


def test_an_engine_that_does_not_answer_is_said_so(tmp_path):
    # A real client of a socket nobody listens on: what the session meets when dockerd is gone.
    api = docker.APIClient(base_url=f"unix://{tmp_path}/docker.sock", version="1.41", timeout=5)
    with pytest.raises(ExecStartError) as refused:
        DockerExec(api, "0" * 64, "sh", 24, 80)
    assert str(refused.value) == NOT_ANSWERING
    assert "is not answering" in str(refused.value) and "Connection aborted" not in str(
        refused.value)


def test_an_engine_too_slow_to_answer_is_said_so_and_its_error_logged(caplog):
    import requests

    class Slow:  # the SDK's wait ran out: the engine is up but busy, not refused
        def exec_create(self, *args, **kwargs):
            raise requests.exceptions.ReadTimeout("Read timed out. (read timeout=60)")

    with caplog.at_level("WARNING", logger="emulator.exec"), \
            pytest.raises(ExecStartError) as refused:
        DockerExec(Slow(), "abc", "sh", 24, 80)
    assert str(refused.value) == NOT_ANSWERING and "no answer in time" in NOT_ANSWERING
    assert "Read timed out" in caplog.text


def test_a_refusal_of_the_engine_is_still_told_as_it_says():
    class Refusing:  # an engine that answers, and says no (docker's APIError carries it)
        def exec_create(self, *args, **kwargs):
            raise docker.errors.APIError("409", explanation="container abc is not running")

    with pytest.raises(ExecStartError, match="^container abc is not running$"):
        DockerExec(Refusing(), "abc", "sh", 24, 80)
