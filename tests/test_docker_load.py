"""Docker under load, on real Docker through boto3: threads of RunTask/StopTask for a few seconds
against an emulator of the test's own, then: no task left short of STOPPED, stop codes as ECS
gives them (UserInitiated for StopTask, TaskFailedToStart for a start Docker refused, the first
reason kept), and nothing of the emulator's left on Docker once it has stopped. The figures of
a longer run are scripts/bench/docker_load.py's."""

from __future__ import annotations

import threading
import time
from collections import deque

import pytest

from tests.waiting import wait_for

pytestmark = pytest.mark.docker

THREADS = 4
LOAD_S = 8.0
LAG = 3  # each thread stops the task it ran this many runs before
AWSVPC = {"launchType": "FARGATE",
          "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-load"]}}}


@pytest.fixture
def own_emulator():
    """An emulator this test stops itself, so that what its stop leaves can be seen."""
    from emulator.config import Settings
    from emulator.pytest_plugin import EmulatorHandle, start_server

    server = start_server(Settings(host="127.0.0.1", port=0, strict_responses=True,
                                   link_local_credentials=False))
    stopped = []

    def stop():
        if not stopped:
            stopped.append(True)
            server.stop()

    try:
        yield server, EmulatorHandle(server), stop
    finally:
        stop()


def register(ecs, busybox_image) -> dict[str, str]:
    def definition(family: str, command: list[str], **extra) -> str:
        return ecs.register_task_definition(family=family, containerDefinitions=[
            {"name": "main", "image": busybox_image, "memory": 16, "command": command}],
            **extra)["taskDefinition"]["taskDefinitionArn"]

    ends_on_term = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    return {"bridge": definition("load-bridge", ends_on_term),
            "awsvpc": definition("load-awsvpc", ends_on_term, networkMode="awsvpc",
                                 requiresCompatibilities=["FARGATE"], cpu="256", memory="512"),
            "fails": definition("load-fails", ["/no/such/command"])}


def load(ecs, definitions: dict[str, str], until: float, ran: dict, answered: dict, lock) -> None:
    """Run tasks in turn, stopping the one run LAG runs before; note what StopTask answered."""
    kinds = ("bridge", "awsvpc", "fails")
    recent: deque[str] = deque()
    turn = 0
    while time.monotonic() < until or recent:
        if time.monotonic() < until:
            kind = kinds[turn % len(kinds)]
            turn += 1
            arn = ecs.run_task(cluster="load", taskDefinition=definitions[kind],
                               **(AWSVPC if kind == "awsvpc" else {}))["tasks"][0]["taskArn"]
            recent.append(arn)
            with lock:
                ran[arn] = kind
            if len(recent) <= LAG:
                continue
        arn = recent.popleft()
        code = ecs.stop_task(cluster="load", task=arn, reason="load")["task"].get("stopCode")
        with lock:
            answered[arn] = code


def describe(ecs, arns: list[str]) -> list[dict]:
    return [task for start in range(0, len(arns), 100)
            for task in ecs.describe_tasks(cluster="load", tasks=arns[start:start + 100])["tasks"]]


def test_under_load_tasks_all_stop_with_their_codes_and_nothing_leaks(own_emulator, busybox_image,
                                                                       docker_client):
    server, emulator, stop_emulator = own_emulator
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName="load")
    definitions = register(ecs, busybox_image)
    # Tasks nobody stops: a start Docker refuses is TaskFailedToStart; the others keep running.
    failing = [ecs.run_task(cluster="load", taskDefinition=definitions["fails"])["tasks"][0]
               ["taskArn"] for _ in range(2)]
    lasting = ecs.run_task(cluster="load", taskDefinition=definitions["awsvpc"],
                           **AWSVPC)["tasks"][0]["taskArn"]
    ran, answered, lock = {}, {}, threading.Lock()
    until = time.monotonic() + LOAD_S
    threads = [threading.Thread(target=load, daemon=True, args=(
        emulator.client("ecs"), definitions, until, ran, answered, lock)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=LOAD_S + 60)
    assert len(answered) == len(ran) > THREADS * LAG

    # Docker answers throughout: every stopped task reaches STOPPED, the lasting one RUNNING.
    stopped = wait_for(lambda: describe(ecs, list(ran) + failing),
                       lambda tasks: all(t["lastStatus"] == "STOPPED" for t in tasks),
                       timeout=90, interval=1.0)
    assert wait_for(lambda: describe(ecs, [lasting])[0]["lastStatus"],
                    lambda status: status == "RUNNING", timeout=60) == "RUNNING"
    codes = {t["taskArn"]: t["stopCode"] for t in stopped}
    assert {codes[arn] for arn in failing} == {"TaskFailedToStart"}
    # What StopTask answered stands: UserInitiated, or TaskFailedToStart for a task whose start
    # had already failed; never UserInitiated for a start that failed before StopTask came.
    assert {arn: codes[arn] for arn in ran} == answered
    assert set(answered.values()) <= {"UserInitiated", "TaskFailedToStart"}
    assert {codes[arn] for arn, kind in ran.items() if kind != "fails"} == {"UserInitiated"}

    instance = server.emulator.engine.runtime.instance_id
    stop_emulator()
    label = {"label": [f"ecs-emulator.instance={instance}"]}
    assert docker_client.api.containers(all=True, filters=label) == []
    assert docker_client.api.networks(filters=label) == []
    assert (docker_client.api.volumes(filters=label) or {}).get("Volumes") in (None, [])
