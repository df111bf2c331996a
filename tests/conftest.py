"""Shared fixtures. The emulator itself comes from our pytest plugin (emulator.pytest_plugin);
here its settings for this suite, and an emulator of its own for the modules that need the
host's one 169.254.170.2:80.

At the session's end, a check that nothing this session made on the Docker Engine is left
(whatever order the test files ran in, and across pytest-xdist's workers): see
pytest_sessionfinish.

Under pytest-xdist (scripts/test.sh) each worker has its own session emulator; tests/groups.py
names what must not run on two workers at once.
"""

import os
import socket
import time
from dataclasses import replace

import pytest

from emulator.pytest_plugin import running_emulator
from tests import docker_hang
from emulator.runtime import labels

# Services are steady after 1 s of serving here, not the default 3: every rollout, scale and
# services_stable wait in the suite is 2 s shorter. Tests of steadiness itself start an emulator
# with the window they need.
STEADY_AFTER_S = 1.0


@pytest.fixture(scope="session")
def ecs_emulator_settings(ecs_emulator_settings):
    """The session emulator (one per xdist worker) serves no 169.254.170.2: only one process on
    the host can, so only link_local_emulator does, and its tests share one xdist group."""
    return replace(ecs_emulator_settings, steady_after_s=STEADY_AFTER_S,
                   link_local_credentials=False)


@pytest.fixture(scope="module")
def link_local_emulator(ecs_emulator_settings):
    """An emulator for one module that serves task credentials on 169.254.170.2 where the host
    allows (Linux, root). Mark the module tests.groups.HOST and make this its
    `ecs_emulator`."""
    with running_emulator(replace(ecs_emulator_settings, link_local_credentials=True)) as handle:
        yield handle


@pytest.fixture(scope="module")
def emulator_network_emulator(ecs_emulator_settings):
    """An emulator for one module whose tasks are on its own user-defined network
    (ECS_EMULATOR_TASK_NETWORK=emulator), not Docker's default bridge, the default: for tests of
    what only that network has (containers' names and aliases, its `ecs-emulator-<id>` name).
    Make it the module's `ecs_emulator`."""
    with running_emulator(replace(ecs_emulator_settings, task_network="emulator")) as handle:
        yield handle


@pytest.fixture
def ecs(clean_emulator):
    """An ECS client on clean state; every response it receives is checked against the model."""
    return clean_emulator.client("ecs")


@pytest.fixture
def cluster(request, ecs):
    """A cluster on clean state, named by the test module's CLUSTER (default "work"); its name."""
    name = getattr(request.module, "CLUSTER", "work")
    ecs.create_cluster(clusterName=name)
    return name


BUSYBOX = "ecs-emulator-test/busybox:latest"


@pytest.fixture(scope="session")
def busybox_image():
    """The offline test image (scripts/build-test-images.sh makes it; CI runs that first)."""
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "build-test-images.sh"
    subprocess.run([str(script)], check=True)
    return BUSYBOX


@pytest.fixture
def docker_client():
    import docker

    client = docker.from_env()
    yield client
    client.close()


# -- nothing leaks --------------------------------------------------------------------------------

LEAK_GRACE_S = 2  # a removal Docker has begun may take a moment to finish


def this_sessions_labels() -> dict[str, str]:
    """What every resource made by an emulator (or runtime) of this process carries: its host,
    pid and the pid's start time (labels.owner_labels). Other engineers' sessions on the same
    Docker Engine are other processes, so their resources never match."""
    pid = os.getpid()
    owner = {labels.HOST: socket.gethostname(), labels.PID: str(pid),
             labels.PID_START: labels.process_start(pid)}
    return {key: value for key, value in owner.items() if value}


def leftovers(api, selector: dict[str, str], state_under: str | None) -> dict[str, dict]:
    """Each container, network and volume carrying every label of `selector`, or made by a
    persisted emulator whose state directory lies under `state_under` (those carry the
    directory, not a pid): 'kind name' -> the labels that select it for removal."""
    found = {}
    for filters, chosen in (({"label": labels.label_filters(selector)}, lambda _: selector),
                            ({"label": [labels.STATE_DIR]}, _state_dir_of(state_under))):
        listed = ([("container", c["Names"][0].lstrip("/"), c.get("Labels"))
                   for c in api.containers(all=True, filters=filters)]
                  + [("network", n["Name"], n.get("Labels")) for n in api.networks(filters=filters)]
                  + [("volume", v["Name"], v.get("Labels"))
                     for v in api.volumes(filters=filters).get("Volumes") or []])
        for kind, name, their_labels in listed:
            selected = chosen(their_labels or {})
            if selected:
                found[f"{kind} {name}"] = selected
    return found


def _state_dir_of(state_under: str | None):
    def chosen(their_labels: dict) -> dict | None:
        state_dir = their_labels.get(labels.STATE_DIR, "")
        if state_under and state_dir.startswith(state_under + os.sep):
            return {labels.STATE_DIR: state_dir}
        return None
    return chosen


def _session_temp(config) -> str | None:
    """This session's temporary directory (tmp_path lives under it), if it made one."""
    factory = getattr(config, "_tmp_path_factory", None)
    made = getattr(factory, "_basetemp", None)
    return str(made) if made else None


# Under pytest-xdist each worker is a process of its own, so its emulators' resources carry its
# pid. Each worker looks for its own after its fixtures are torn down, while it still runs (once
# it has exited, any emulator on the machine may reap what a dead process left, and a leak would
# go unseen), and hands what it found to the controller (workeroutput), which reports it all
# once every worker has finished and fails the run.
_WORKER_LEAKS = "ecs_emulator_leaks"
_workers_leaks: list[str] = []


@pytest.hookimpl(optionalhook=True)  # xdist's hook: absent with -p no:xdist
def pytest_testnodedown(node, error):
    """(xdist controller) A worker finished: keep what it left. A worker that went down before
    its check reported (an error in the check, a crash in teardown) fails the run too: its
    leftovers would otherwise go unseen, reaped later by another emulator."""
    output = getattr(node, "workeroutput", None) or {}
    if error is not None or _WORKER_LEAKS not in output:
        worker = getattr(getattr(node, "gateway", None), "id", "?")
        _workers_leaks.append(f"(worker {worker} could not check for leftovers: {error})")
    _workers_leaks.extend(output.get(_WORKER_LEAKS, ()))
    _docker_stuck.extend(output.get(_DOCKER_STUCK, ()))


def pytest_collection_finish(session):
    """(xdist worker) The HOST group only holds if xdist could tag its tests' ids with it (it
    cannot on pytest 9): refuse to run spread over workers rather than fail at random."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    untagged = [item.nodeid for item in session.items
                if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if untagged:
        raise pytest.UsageError(
            f"pytest-xdist did not group {untagged[0]} (pytest {pytest.__version__}): the HOST "
            "group's tests would run on several workers at once; install pytest<9")


# Failed tests whose Docker calls timed out (the controller sees every worker's reports), and
# what dockerd was waiting on then: printed last of all (pytest_unconfigure), below the summary,
# where a CI log's tail shows it.
_docker_timeouts: set[str] = set()  # (a test whose call and teardown both failed counts once)
_docker_hang_lines: list[str] = []


def pytest_runtest_logreport(report):
    if report.failed and docker_hang.timed_out_on_docker(report.longreprtext):
        _docker_timeouts.add(report.nodeid)


def pytest_unconfigure(config):
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for line in _docker_hang_lines if reporter is not None else ():
        reporter.write_line(line, yellow=True)


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if this session left a container, network or volume on the Docker Engine.
    Runs after every fixture is torn down (the session's emulators have stopped); what it finds
    it names, removes, and counts as a failure (on an xdist worker: hands to the controller)."""
    left = _leftovers_removed(session) + _workers_leaks
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_LEAKS] = left
        workeroutput[_DOCKER_STUCK] = list(_docker_stuck)
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if _docker_timeouts:
        _docker_hang_lines.extend(docker_hang.explained(len(_docker_timeouts)))
    if _docker_stuck and reporter is not None:
        reporter.write_line("Docker kept networks it says have active endpoints though no "
                            "container is attached (moby#42119; removed once dockerd restarts): "
                            + ", ".join(sorted(set(_docker_stuck))), yellow=True)
    if not left:
        return
    message = "LEAK: this test session left on the Docker Engine: " + ", ".join(sorted(left))
    if reporter is not None:
        reporter.write_line(message, red=True, bold=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _leftovers_removed(session) -> list[str]:
    """What this process's emulators left ('kind name'), removed."""
    if session.config.option.collectonly or not session.items:
        return []
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
    except Exception:  # no Docker Engine: the Docker tests did not run either
        return []
    selector, state_under = this_sessions_labels(), _session_temp(session.config)
    try:
        deadline = time.monotonic() + LEAK_GRACE_S
        left = leftovers(client.api, selector, state_under)
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = leftovers(client.api, selector, state_under)
        if left:
            from emulator.runtime import docker_cleanup

            for chosen in {tuple(sorted(c.items())) for c in left.values()}:
                docker_cleanup.remove_labelled(client.api, dict(chosen))
            stuck = _stuck_networks(client.api, left)
            _docker_stuck.extend(stuck)
            return [name for name in left if name not in stuck]
        return []
    finally:
        client.close()


# Docker's moby#42119: after bursts of removals a network may keep phantom endpoints, so that
# Docker refuses its removal ("has active endpoints") while no container is attached, until
# dockerd restarts. The emulator tried, and said so in its log (README: Docker under load); the
# check tried again. Named in the run's output, not counted as this session's leak: anything
# else left (a container, a volume, a network Docker removes or one with members) still is.
_DOCKER_STUCK = "ecs_emulator_docker_stuck"
_docker_stuck: list[str] = []


def _stuck_networks(api, left: dict) -> list[str]:
    import docker

    stuck = []
    for name in left:
        kind, _, network = name.partition(" ")
        if kind != "network":
            continue
        try:
            if api.inspect_network(network).get("Containers"):
                continue
            api.remove_network(network)
        except docker.errors.NotFound:
            continue  # gone: it was a leak, and it is counted
        except docker.errors.APIError as error:
            if "active endpoints" in str(error):
                stuck.append(name)
    return stuck
