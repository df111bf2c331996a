"""boto3's ECS waiters succeed and fail against the emulator when they would against AWS; and a
service whose tasks keep failing is throttled, as ECS throttles it."""

import time

import pytest
from botocore.exceptions import WaiterError

from tests.busybox import SERVE
from tests.waiting import wait_for

pytestmark = pytest.mark.docker

QUICK = {"Delay": 1, "MaxAttempts": 60}


CLUSTER = "w"  # the name the `cluster` fixture (conftest.py) gives the cluster


def definition(ecs, image, command=SERVE):
    return ecs.register_task_definition(
        family="w", containerDefinitions=[{"name": "main", "image": image, "memory": 32,
                                           "command": command}])["taskDefinition"]["taskDefinitionArn"]


def test_task_waiters(ecs, cluster, busybox_image):
    good = ecs.run_task(cluster=cluster, taskDefinition=definition(ecs, busybox_image))["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=[good], WaiterConfig=QUICK)
    ecs.stop_task(cluster=cluster, task=good)
    ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[good], WaiterConfig=QUICK)

    broken = ecs.run_task(cluster=cluster, taskDefinition=definition(ecs, "ecs-emulator-test/none:0"))
    with pytest.raises(WaiterError) as excinfo:
        ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=[broken["tasks"][0]["taskArn"]],
                                             WaiterConfig=QUICK)
    assert "failure" in str(excinfo.value).lower()
    with pytest.raises(WaiterError):
        ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=["0123456789abcdef0123456789abcdef"],
                                             WaiterConfig=QUICK)


def test_service_waiters(ecs, cluster, busybox_image):
    with pytest.raises(WaiterError):  # MISSING is a failure at once
        ecs.get_waiter("services_stable").wait(cluster=cluster, services=["ghost"], WaiterConfig=QUICK)
    ecs.create_service(cluster=cluster, serviceName="s", desiredCount=1,
                       taskDefinition=definition(ecs, busybox_image))
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["s"], WaiterConfig=QUICK)
    ecs.delete_service(cluster=cluster, service="s", force=True)
    with pytest.raises(WaiterError):  # DRAINING or INACTIVE: it will never be stable
        ecs.get_waiter("services_stable").wait(cluster=cluster, services=["s"], WaiterConfig=QUICK)
    ecs.get_waiter("services_inactive").wait(cluster=cluster, services=["s"], WaiterConfig=QUICK)


def test_repeatedly_failing_tasks_are_throttled(ecs, cluster):
    ecs.create_service(cluster=cluster, serviceName="bad", desiredCount=1,
                       taskDefinition=definition(ecs, "ecs-emulator-test/none:1"))
    unable = "(service bad) is unable to consistently start tasks successfully."
    wait_for(lambda: ecs.describe_services(cluster=cluster, services=["bad"])["services"][0],
             lambda s: any(e["message"].startswith(unable) for e in s["events"]), timeout=60)
    before = len(ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"])
    time.sleep(6)
    after = len(ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"])
    # Backing off 1, 2, 4 s...: at most a handful of launches in 6 s, where an unthrottled
    # scheduler would start a new task every few milliseconds.
    assert after - before <= 4
    ecs.delete_service(cluster=cluster, service="bad", force=True)
