"""The image check's limits (engine/task_images.py): a registry that never answers holds no
request past the deadline, nor more than AT_ONCE threads; answers are kept; an engine that is
not answering refuses rather than lets its copy pass unchecked."""

from __future__ import annotations

import threading
from functools import partial
from types import SimpleNamespace

import pytest

from emulator.engine.task_images import ImageChecks, Throttled


class _Runtime:
    """An engine's unserved_image: `answers` per image; an image in `hang` waits for `release`."""

    def __init__(self, answers=None, hang=()):
        self.answers, self.hang, self.asked = answers or {}, set(hang), []
        self.release = threading.Event()

    def unserved_image(self, image):
        self.asked.append(image)
        if image in self.hang:
            self.release.wait(10)
        return self.answers.get(image)


def _engines(*runtimes, answering=True):
    return SimpleNamespace(engines={
        f"e{i}": SimpleNamespace(name=f"e{i}", runtime=runtime,
                                 health=SimpleNamespace(answering=lambda: answering))
        for i, runtime in enumerate(runtimes)})


def test_a_registry_that_never_answers_holds_a_request_only_until_the_deadline():
    runtime = _Runtime(answers={"203.0.113.1/x:1": "which its registry could not be asked about"},
                       hang={"203.0.113.1/x:1", "203.0.113.1/y:1", "203.0.113.1/z:1"})
    checks = ImageChecks(_engines(runtime), deadline=0.05, at_once=2)
    try:
        assert checks.unserved_image("203.0.113.1/x:1") == (
            "which its registry did not answer about within 0.05 s; try again")
        assert "did not answer" in checks.unserved_image("203.0.113.1/y:1")
        # Two checks still asking: a third is throttled without asking anyone.
        with pytest.raises(Throttled, match=r"'203.0.113.1/z:1' cannot be checked now \(other "
                           r"images are being checked\); try again"):
            checks.unserved_image("203.0.113.1/z:1")
        assert runtime.asked == ["203.0.113.1/x:1", "203.0.113.1/y:1"]
    finally:
        runtime.release.set()
    # The answers that came late are kept: the call made again is answered without asking.
    assert all(checks._slots.acquire(timeout=5) for _ in range(2))  # both threads are done
    checks._slots.release(), checks._slots.release()
    assert checks.unserved_image("203.0.113.1/x:1") == "which its registry could not be asked about"
    assert checks.unserved_image("203.0.113.1/y:1") is None
    assert runtime.asked == ["203.0.113.1/x:1", "203.0.113.1/y:1"]


def test_a_caller_has_one_check_in_flight_and_leaves_the_other_to_other_callers():
    """A task naming silent registries again and again holds one check, not every one."""
    runtime = _Runtime(hang={"203.0.113.1/a:1", "203.0.113.1/b:1"})
    checks = ImageChecks(_engines(runtime), deadline=0.05, at_once=2)
    try:
        assert "did not answer" in checks.unserved_image("203.0.113.1/a:1", caller="task-1")
        # Its check still asks: the flooder's next call is throttled at once, asking no one.
        for image in ("203.0.113.1/b:1", "nginx:1"):
            with pytest.raises(Throttled, match="an image this caller named before is still "
                               "being checked"):
                checks.unserved_image(image, caller="task-1")
        assert runtime.asked == ["203.0.113.1/a:1"]
        # Another task's check takes the other slot, and is answered.
        assert checks.unserved_image("nginx:1", caller="task-2") is None
        assert runtime.asked == ["203.0.113.1/a:1", "nginx:1"]
    finally:
        runtime.release.set()
    assert all(checks._slots.acquire(timeout=5) for _ in range(2))  # both checks are done
    checks._slots.release(), checks._slots.release()
    assert checks.unserved_image("nginx:2", caller="task-1") is None


def test_answers_are_kept_per_engine_for_a_while_and_errors_not_at_all():
    now = [0.0]
    first, second = _Runtime(), _Runtime(answers={"app:1": "whose copy no registry served"})
    checks = ImageChecks(_engines(first, second), keep=60, clock=lambda: now[0])
    assert checks.unserved_image("nginx:1") is None
    assert checks.unserved_image("nginx:1") is None
    assert checks.unserved_image("app:1") == "whose copy no registry served"
    assert checks.unserved_image("app:1") == "whose copy no registry served"
    assert (first.asked, second.asked) == (["nginx:1", "app:1"], ["nginx:1", "app:1"])
    now[0] = 61.0  # kept no longer: asked again
    assert checks.unserved_image("nginx:1") is None
    assert first.asked == ["nginx:1", "app:1", "nginx:1"]

    class Flapping:
        asked = 0

        def unserved_image(self, image):
            Flapping.asked += 1
            raise TimeoutError("read timed out")

    checks = ImageChecks(_engines(Flapping()))
    for _ in range(2):
        assert checks.unserved_image("nginx:1") == (
            "which the Docker Engine 'e0' could not be asked about (TimeoutError: read timed "
            "out); try again")
    assert Flapping.asked == 2


def test_an_engine_not_answering_refuses_rather_than_lets_its_copy_pass():
    """Its copy may be the operator's local build; a service's tasks would start from it once it
    is back."""
    runtime = _Runtime()
    checks = ImageChecks(_engines(runtime, answering=False))
    assert checks.unserved_image("nginx:1") == (
        "which the Docker Engine 'e0' cannot be asked about while it is not answering; try again")
    assert runtime.asked == []


def test_the_engines_image_checks_time_out_sooner_than_its_pulls():
    """dockerd waits ~30 s on a registry that never answers; docker-py's timeout is 60 s."""
    from emulator.runtime.base import RuntimeClosed
    from emulator.runtime.docker_runtime import CHECK_TIMEOUT, DockerRuntime

    runtime = DockerRuntime()
    try:
        assert runtime.check_api.timeout == CHECK_TIMEOUT <= 5 < runtime.api.timeout
        assert runtime.check_api is runtime.check_api  # one client, kept
    finally:
        runtime.close()
    with pytest.raises(RuntimeClosed):  # a closed runtime makes no client again
        runtime.check_api


def test_a_definition_of_many_slow_images_is_refused_at_the_first_that_says_try_again():
    """Each image waits up to the deadline: a definition naming many would hold a request for
    as many deadlines."""
    from emulator.access import host_access

    asked = []

    def unserved_image(image):
        asked.append(image)
        return "which its registry did not answer about within 5 s; try again"

    view = host_access.EngineView(foreign_volume=lambda n, a: None, own_registry=lambda i: False,
                                  unserved_image=unserved_image)
    spec = {"containerDefinitions": [{"name": f"c{i}", "image": f"203.0.113.1/x{i}:1"}
                                     for i in range(10)]}
    assert "'203.0.113.1/x0:1', which its registry did not answer" in host_access.refusal(
        "RegisterTaskDefinition", spec, view)
    assert asked == ["203.0.113.1/x0:1"]


def test_a_registrys_name_is_resolved_under_the_checks_limits():
    """A task may name a domain whose name servers never answer: the resolution of the
    registry's name (is it this host?) waits no longer, nor on more threads, than a check."""
    from emulator.access import host_access
    from emulator.engine.task_images import Late

    release = threading.Event()
    checks = ImageChecks(_engines(_Runtime()), deadline=0.05, at_once=2)
    resolved, asked = [], []

    def resolve(host, caller=None):
        resolved.append(host)
        return checks.within_limits(lambda: release.wait(10) and [], caller, host)

    view = host_access.EngineView(foreign_volume=lambda n, a: None, own_registry=lambda i: False,
                                  unserved_image=lambda i, caller=None: asked.append(i),
                                  resolve=partial(resolve, caller="task-1"))
    spec = {"containerDefinitions": [{"name": "a", "image": "silent.example/x:1"},
                                     {"name": "b", "image": "other.example/y:1"}]}
    try:
        assert host_access.engine_reasons(spec, view) == [
            "container 'a' pulls its image from a registry whose name did not resolve in time; "
            "try again"]
        assert resolved == ["silent.example"] and asked == []  # the rest is not asked
        with pytest.raises(Throttled):  # its resolution still waits: the task's next call
            host_access.engine_reasons(spec, view)
        # Addresses and this host's names need no name server: never bounded, never throttled.
        spec = {"containerDefinitions": [{"name": "c", "image": "203.0.113.1:5000/z:1"}]}
        assert host_access.engine_reasons(spec, view) == [] and asked == ["203.0.113.1:5000/z:1"]
        with pytest.raises(Late):
            checks.within_limits(lambda: release.wait(10), caller="task-2")
    finally:
        release.set()
    assert all(checks._slots.acquire(timeout=5) for _ in range(2))


def test_a_registrys_name_is_resolved_once_a_minute_not_on_every_call():
    """A task's calls that name one registry over and over ask its name servers once per KEEP
    (and take no slot meanwhile: two threads of one task naming it are not throttled)."""
    now = [0.0]
    checks = ImageChecks(_engines(_Runtime()), clock=lambda: now[0], keep=60)
    asked = []

    def reaches(host):
        asked.append(host)
        return False

    for _ in range(3):
        assert checks.kept("ghcr.io", partial(reaches, "ghcr.io"), caller="task-1") is False
    assert asked == ["ghcr.io"]
    now[0] = 61.0
    assert checks.kept("ghcr.io", partial(reaches, "ghcr.io"), caller="task-1") is False
    assert asked == ["ghcr.io", "ghcr.io"]
