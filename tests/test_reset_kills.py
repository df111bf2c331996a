"""A reset is not a StopTask: task containers are killed at once, also those whose PID 1
ignores SIGTERM (which a StopTask would wait out for their whole stopTimeout). On real
containers, through the three ways in: /_emulator/reset, /moto-api/reset, the pytest handle."""

import pytest
import requests

from tests.waiting import wait_for

pytestmark = pytest.mark.docker

STUBBORN = ["sleep", "3600"]  # PID 1 without a handler: SIGTERM does nothing
TASKS = 20


def start_stubborn_tasks(emulator, busybox_image) -> list[str]:
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName="stubborn")
    ecs.register_task_definition(family="stubborn", containerDefinitions=[
        {"name": "main", "image": busybox_image, "memory": 16, "command": STUBBORN,
         "stopTimeout": 120}])
    arns = []
    for _ in range(TASKS // 10):
        arns += [t["taskArn"] for t in ecs.run_task(cluster="stubborn", taskDefinition="stubborn",
                                                    count=10)["tasks"]]
    wait_for(lambda: ecs.describe_tasks(cluster="stubborn", tasks=arns)["tasks"],
             lambda tasks: all(t["lastStatus"] == "RUNNING" for t in tasks), timeout=120,
             interval=0.5)
    return arns


def running_containers(docker_client, arns) -> list:
    """(The low-level list: it does not inspect each container, which may be going away.)"""
    wanted = set(arns)
    return [c for c in docker_client.api.containers(filters={"label": "ecs-emulator.task-arn"})
            if c["Labels"].get("ecs-emulator.task-arn") in wanted]


@pytest.mark.parametrize("how", ["/_emulator/reset", "/moto-api/reset", "handle"])
def test_reset_kills_tasks_that_ignore_sigterm(clean_emulator, busybox_image, docker_client, how):
    arns = start_stubborn_tasks(clean_emulator, busybox_image)
    assert len(running_containers(docker_client, arns)) == TASKS
    # One is being stopped already: its runner waits in `docker stop` for the 120 s timeout.
    clean_emulator.client("ecs").stop_task(cluster="stubborn", task=arns[0])
    wait_for(lambda: clean_emulator.client("ecs").describe_tasks(
        cluster="stubborn", tasks=arns[:1])["tasks"][0]["lastStatus"], lambda s: s == "STOPPING")
    if how == "handle":
        clean_emulator.reset()
    else:
        response = requests.post(clean_emulator.endpoint_url + how, timeout=30)
        assert response.status_code == 200
    # Killed, not waited for: nothing of those tasks runs once the reset has answered (a
    # StopTask would leave each running for its 120 s stopTimeout).
    assert running_containers(docker_client, arns) == []
    wait_for(lambda: docker_client.api.containers(
        all=True, filters={"label": "ecs-emulator.cluster=stubborn"}), lambda left: not left,
        timeout=30)
    assert clean_emulator.client("ecs").list_clusters()["clusterArns"] == []


def test_stopping_the_emulator_cuts_a_stop_task_short(busybox_image, docker_client):
    """A StopTask under way waits out the container's stopTimeout (120 s here); the emulator's
    own stop gives every task its shutdown grace and then kills, so no runner is left behind."""
    from emulator.config import Settings
    from emulator.pytest_plugin import EmulatorHandle, start_server

    server = start_server(Settings(host="127.0.0.1", port=0, link_local_credentials=False))
    try:
        handle = EmulatorHandle(server)
        ecs = handle.client("ecs")
        ecs.create_cluster(clusterName="stubborn")
        ecs.register_task_definition(family="stubborn", containerDefinitions=[
            {"name": "main", "image": busybox_image, "memory": 16, "command": STUBBORN,
             "stopTimeout": 120}])
        arn = ecs.run_task(cluster="stubborn", taskDefinition="stubborn")["tasks"][0]["taskArn"]
        wait_for(lambda: ecs.describe_tasks(cluster="stubborn", tasks=[arn])["tasks"][0],
                 lambda t: t["lastStatus"] == "RUNNING")
        ecs.stop_task(cluster="stubborn", task=arn)
        wait_for(lambda: ecs.describe_tasks(cluster="stubborn", tasks=[arn])["tasks"][0],
                 lambda t: t["lastStatus"] == "STOPPING")
        engine = server.emulator.engine
    finally:
        server.stop()
    assert not any(thread.is_alive() for thread, _ in engine._runners.values())
    assert running_containers(docker_client, [arn]) == []
