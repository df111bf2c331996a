"""The ECS lifecycle details on real containers: dependsOn order, health, OOM, the steps and
timestamps a task passes through."""

import pytest

from tests.busybox import SERVE
from tests.waiting import task_of, wait_for, wait_for_task

pytestmark = pytest.mark.docker


CLUSTER = "life"  # the name the `cluster` fixture (conftest.py) gives the cluster


def run(ecs, cluster, *containers, **extra) -> str:
    arn = ecs.register_task_definition(family="life", containerDefinitions=list(containers),
                                       **extra)["taskDefinition"]["taskDefinitionArn"]
    return ecs.run_task(cluster=cluster, taskDefinition=arn)["tasks"][0]["taskArn"]


def test_depends_on_orders_starts(ecs, cluster, busybox_image, clean_emulator, docker_client):
    # "init" must finish with success before "app" starts; "sidecar" starts after "app" started.
    arn = run(
        ecs, cluster,
        {"name": "init", "image": busybox_image, "memory": 32, "essential": False,
         "command": ["sh", "-c", "sleep 1; exit 0"]},
        {"name": "app", "image": busybox_image, "memory": 32, "command": SERVE,
         "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
        {"name": "sidecar", "image": busybox_image, "memory": 32, "command": SERVE, "essential": False,
         "dependsOn": [{"containerName": "app", "condition": "START"}]},
    )
    wait_for_task(ecs, cluster, arn, "RUNNING")
    started = {}
    for container in docker_client.containers.list(all=True, filters={"label": f"ecs-emulator.task-arn={arn}"}):
        name = container.labels["ecs-emulator.container-name"]
        started[name] = container.attrs["State"]["StartedAt"]
    finished_init = docker_client.containers.list(
        all=True, filters={"label": ["ecs-emulator.container-name=init", f"ecs-emulator.task-arn={arn}"]}
    )[0].attrs["State"]["FinishedAt"]
    assert finished_init <= started["app"] <= started["sidecar"]
    ecs.stop_task(cluster=cluster, task=arn)
    wait_for_task(ecs, cluster, arn, "STOPPED")


def test_failed_success_dependency_fails_the_task(ecs, cluster, busybox_image):
    arn = run(
        ecs, cluster,
        {"name": "init", "image": busybox_image, "memory": 32, "essential": False,
         "command": ["sh", "-c", "exit 2"]},
        {"name": "app", "image": busybox_image, "memory": 32, "command": SERVE,
         "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
    )
    stopped = wait_for_task(ecs, cluster, arn, "STOPPED")
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert "init" in stopped["stoppedReason"]
    app = next(c for c in stopped["containers"] if c["name"] == "app")
    assert app.get("exitCode") is None  # it never ran


def test_health_check_and_task_health(ecs, cluster, busybox_image):
    arn = run(
        ecs, cluster,
        {"name": "web", "image": busybox_image, "memory": 32, "command": SERVE,
         "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5, "timeout": 2,
                         "retries": 1, "startPeriod": 0}},
        {"name": "waits", "image": busybox_image, "memory": 32, "command": SERVE, "essential": False,
         "dependsOn": [{"containerName": "web", "condition": "HEALTHY"}]},
    )
    task = wait_for(lambda: task_of(ecs, cluster, arn), lambda t: t["healthStatus"] == "HEALTHY",
                    timeout=30)
    assert {c["name"]: c["healthStatus"] for c in task["containers"]}["web"] == "HEALTHY"
    task = wait_for_task(ecs, cluster, arn, "RUNNING")
    assert {c["name"]: c["lastStatus"] for c in task["containers"]}["waits"] == "RUNNING"
    ecs.stop_task(cluster=cluster, task=arn)
    wait_for_task(ecs, cluster, arn, "STOPPED")


def test_unhealthy_container_makes_the_task_unhealthy(ecs, cluster, busybox_image):
    arn = run(ecs, cluster, {
        "name": "web", "image": busybox_image, "memory": 32, "command": SERVE,
        "healthCheck": {"command": ["CMD-SHELL", "false"], "interval": 5, "timeout": 2, "retries": 1}})
    task = wait_for(lambda: task_of(ecs, cluster, arn), lambda t: t["healthStatus"] == "UNHEALTHY",
                    timeout=30)
    assert task["containers"][0]["healthStatus"] == "UNHEALTHY"
    ecs.stop_task(cluster=cluster, task=arn)
    wait_for_task(ecs, cluster, arn, "STOPPED")


def test_out_of_memory_is_reported_as_ecs_does(ecs, cluster, busybox_image):
    arn = run(ecs, cluster, {
        "name": "hog", "image": busybox_image, "memory": 8,
        "command": ["sh", "-c", "head -c 200m /dev/zero | tail > /dev/null"]})
    stopped = wait_for_task(ecs, cluster, arn, "STOPPED")
    container = stopped["containers"][0]
    assert container["exitCode"] == 137
    assert container["reason"] == "OutOfMemoryError: Container killed due to memory usage"
    assert stopped["stopCode"] == "EssentialContainerExited"


def test_the_steps_and_timestamps(ecs, cluster, busybox_image):
    arn = run(ecs, cluster, {"name": "main", "image": busybox_image, "memory": 32, "command": SERVE})
    seen = []

    def watch():
        task = task_of(ecs, cluster, arn)
        if not seen or seen[-1] != task["lastStatus"]:
            seen.append(task["lastStatus"])
        return task

    wait_for(watch, lambda t: t["lastStatus"] == "RUNNING", interval=0.01)
    ecs.stop_task(cluster=cluster, task=arn)
    stopped = wait_for(watch, lambda t: t["lastStatus"] == "STOPPED", interval=0.01)
    order = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING",
             "DEPROVISIONING", "STOPPED"]
    assert seen == sorted(seen, key=order.index)  # only forward
    assert seen[0] == "PENDING" and seen[-1] == "STOPPED"
    # a bridge task has no ENI: ECS shows neither PROVISIONING nor DEPROVISIONING (lifecycle)
    assert "PROVISIONING" not in seen and "DEPROVISIONING" not in seen
    stamps = ["createdAt", "pullStartedAt", "pullStoppedAt", "startedAt", "stoppingAt",
              "executionStoppedAt", "stoppedAt"]
    values = [stopped[name] for name in stamps]
    assert values == sorted(values)
    assert stopped["desiredStatus"] == "STOPPED" and stopped["stopCode"] == "UserInitiated"
    assert ecs.stop_task(cluster=cluster, task=arn)["task"]["stopCode"] == "UserInitiated"  # idempotent
