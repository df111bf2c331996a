"""A Docker Engine restarted under a running service (issue 11, "When Docker itself fails").

The test runs its own dockerd (tests/extra_engines.py), so the machine's engine is untouched: an
emulator drives it through `docker_host`, and the test stops and starts it under a service. While
it is down, the engine's container instance shows agentConnected false and the scheduler holds
its launches (no task fails for want of an engine); once it is back, the tasks it killed say so,
their dead containers are removed, and the service is steady again.
"""

from __future__ import annotations

import time

import pytest

from emulator.config import Settings
from emulator.pytest_plugin import EmulatorHandle, start_server
from emulator.runtime import labels
from tests.busybox import SERVE
from tests.extra_engines import ExtraEngine, needs_root_and_dockerd
from tests.groups import HOST

pytestmark = [needs_root_and_dockerd, HOST]

CLUSTER = "restarts"


@pytest.fixture(scope="module")
def engine(busybox_image):
    engine = ExtraEngine("restart", 1)
    engine.start()
    try:
        engine.load(busybox_image)
        yield engine
    finally:
        engine.remove()


@pytest.fixture(scope="module")
def emulator(engine):
    settings = Settings(host="127.0.0.1", port=0, strict_responses=True, docker_host=engine.host,
                        link_local_credentials=False, steady_after_s=1.0)
    server = start_server(settings)
    try:
        yield EmulatorHandle(server)
    finally:
        server.stop()
        api = engine.api()
        # the emulator removes what it made on its engine when it stops
        assert api.containers(all=True, filters={"label": [labels.INSTANCE]}) == []
        api.close()


def _wait(what, timeout=60.0, interval=0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what.__doc__ or what}")
        time.sleep(interval)


def _instance(ecs):
    [arn] = ecs.list_container_instances(cluster=CLUSTER)["containerInstanceArns"]
    return ecs.describe_container_instances(cluster=CLUSTER,
                                            containerInstances=[arn])["containerInstances"][0]


def _tasks(ecs, status):
    arns = ecs.list_tasks(cluster=CLUSTER, desiredStatus=status)["taskArns"]
    return ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []


def _steady(ecs, count):
    service = ecs.describe_services(cluster=CLUSTER, services=["web"])["services"][0]
    primary = service["deployments"][0]
    running = [t for t in _tasks(ecs, "RUNNING") if t["lastStatus"] == "RUNNING"]
    return len(service["deployments"]) == 1 and primary["runningCount"] == count \
        and primary["rolloutState"] == "COMPLETED" \
        and len(running) == count and running


def test_a_restarted_engine_holds_launches_and_comes_back_steady(emulator, engine, busybox_image):
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="web", networkMode="awsvpc", requiresCompatibilities=["EC2"],
        containerDefinitions=[{"name": "main", "image": busybox_image, "memory": 32,
                               "command": SERVE}])
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition="web", desiredCount=2,
                       launchType="EC2", networkConfiguration={
                           "awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    before = _wait(lambda: _steady(ecs, 2))
    assert _instance(ecs)["agentConnected"] is True

    engine.stop()
    _wait(lambda: _instance(ecs)["agentConnected"] is False, timeout=15)
    time.sleep(3)  # several scheduler passes with the engine gone
    # dockerd stops its containers as it goes (the event stream, still open, tells of it): the
    # tasks say the engine stopped them, and nothing was launched to fail meanwhile.
    assert _tasks(ecs, "RUNNING") == []
    stopped = _tasks(ecs, "STOPPED")
    assert {t["taskArn"] for t in stopped} == {t["taskArn"] for t in before}
    for task in stopped:
        assert task["stopCode"] == "EssentialContainerExited"
        assert task["stoppedReason"] == ("Essential container in task exited: the Docker Engine "
                                         f"at {engine.host} stopped or restarted")

    engine.start()
    _wait(lambda: _instance(ecs)["agentConnected"] is True, timeout=15)
    after = _wait(lambda: _steady(ecs, 2))
    assert not {t["taskArn"] for t in after} & {t["taskArn"] for t in before}
    assert {t["taskArn"] for t in _tasks(ecs, "STOPPED")} == {t["taskArn"] for t in before}
    # Only the replacements were launched, and none failed (no throttle, no circuit breaker).
    service = ecs.describe_services(cluster=CLUSTER, services=["web"])["services"][0]
    assert not any("unable to consistently start" in e["message"] for e in service["events"])
    assert service["deployments"][0]["failedTasks"] == 0

    # The dead task and pause containers are gone from the engine: only the live tasks' remain.
    api = engine.api()
    try:
        def only_live():
            mine = api.containers(all=True, filters={"label": [labels.TASK_ARN]})
            return all(c["State"] == "running" for c in mine) and \
                {c["Labels"][labels.TASK_ARN] for c in mine} == {t["taskArn"] for t in after}
        _wait(only_live, timeout=15)
    finally:
        api.close()

    ecs.delete_service(cluster=CLUSTER, service="web", force=True)
