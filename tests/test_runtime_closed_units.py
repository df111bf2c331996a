"""A closed runtime (its engine removed from the emulator) stays closed, without Docker: no
client is made again behind it (a connection pool nobody would close), each call says why, and
what reads of a removed engine's tasks answer plainly rather than fail."""

from __future__ import annotations

import pytest

from emulator.metadata.stats import StatsSampler
from emulator.runtime.base import RuntimeClosed, RuntimeError_
from emulator.runtime.docker_runtime import DockerRuntime


class Client:
    """A stand-in for the SDK's DockerClient: its `api` answers, and counts its closes."""

    def __init__(self, made: list):
        made.append(self)
        self.closes = 0
        self.api = self

    def close(self):
        self.closes += 1

    def stats(self, container_id, stream):
        return {"id": container_id}

    def inspect_image(self, image):
        return {"Id": "sha256:one", "RepoDigests": []}


@pytest.fixture
def made():
    made: list[Client] = []
    runtime = DockerRuntime(client_factory=lambda: Client(made))
    yield runtime, made
    runtime.close()


def test_a_closed_runtime_makes_no_client_again_and_says_why(made):
    runtime, clients = made
    assert runtime.stats("c1") == {"id": "c1"}
    runtime.close(why="its engine d was removed from the emulator")
    for call in (lambda: runtime.api, lambda: runtime.stats("c1"),
                 lambda: runtime.inspect_container("c1"), lambda: runtime.image_digest("app")):
        with pytest.raises(RuntimeClosed) as raised:
            call()
        assert isinstance(raised.value, RuntimeError_)  # what runners and readers catch
        assert raised.value.message == (
            "the Docker Engine cannot be used: its engine d was removed from the emulator")
    runtime.close()  # again (the emulator's stop closes every engine's): still the first why
    assert [c.closes for c in clients] == [1]
    with pytest.raises(RuntimeClosed, match="its engine d was removed"):
        runtime.api


def test_a_runtime_closed_before_its_first_call_never_makes_a_client(made):
    runtime, clients = made
    runtime.close()
    with pytest.raises(RuntimeClosed, match="the emulator is stopping"):
        runtime.image_digest("app")  # (its image event watch would ask for one too)
    assert clients == []


def test_stats_of_a_container_on_a_removed_engine_are_none_as_for_one_gone(made):
    runtime, _ = made
    sampler = StatsSampler()
    assert sampler.container(runtime, "c1", 4) == {"id": "c1"}
    runtime.close(why="its engine d was removed from the emulator")
    assert sampler.container(runtime, "c1", 4) is None  # the endpoint answers its 404
    assert sampler.task(runtime, ["c1", None], 4) == {"c1": None}
