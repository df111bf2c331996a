"""CreateService and UpdateService answer once the tasks they place have started (or at the
bound), so that boto3's services_stable waiter finds the service steady at its first call and
never sleeps its delay; with ECS_EMULATOR_PLACEMENT_WAIT=0 they answer at once, as before.
(engine/first_placement.py; its no-Docker cases are in test_first_placement_units.py.)"""

from dataclasses import replace

import pytest

from emulator.pytest_plugin import running_emulator
from tests.busybox import SERVE

pytestmark = pytest.mark.docker

CLUSTER = "fp"
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
WAIT = {"Delay": 1, "MaxAttempts": 60}


def fargate(ecs, image, **extra) -> str:
    return ecs.register_task_definition(
        family="fp", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "main", "image": image, "command": SERVE}],
        **extra)["taskDefinition"]["taskDefinitionArn"]


def described(ecs) -> list:
    """Counts the DescribeServices calls `ecs` makes from now on (the waiter's among them)."""
    calls = []
    ecs.meta.events.register("before-call.ecs.DescribeServices",
                             lambda **_: calls.append(1))
    return calls


def wait_stable(ecs, name: str) -> int:
    """The services_stable waiter (1 s delay) on `name`; how many DescribeServices it made."""
    calls = described(ecs)
    ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=[name], WaiterConfig=WAIT)
    return len(calls)


@pytest.fixture(scope="module")
def waited(ecs_emulator_settings):
    """An emulator whose calls wait for their tasks as long as they take to start, however
    loaded the machine (the default bound, 2 s, is for users: a test of it is below)."""
    with running_emulator(replace(ecs_emulator_settings, placement_wait_s=30)) as handle:
        yield handle


@pytest.fixture(scope="module")
def unwaited(ecs_emulator_settings):
    """An emulator whose CreateService answers at once (ECS_EMULATOR_PLACEMENT_WAIT=0)."""
    with running_emulator(replace(ecs_emulator_settings, placement_wait_s=0)) as handle:
        yield handle


def test_the_waiter_finds_a_new_or_scaled_out_service_steady_at_its_first_call(
        waited, busybox_image):
    ecs = waited.client("ecs")
    cluster = ecs.create_cluster(clusterName=CLUSTER)["cluster"]["clusterName"]
    created = ecs.create_service(cluster=cluster, serviceName="web", desiredCount=1,
                                 taskDefinition=fargate(ecs, busybox_image), launchType="FARGATE",
                                 networkConfiguration=AWSVPC)["service"]
    # The answer is the state at the call, as AWS's: the deployment has only begun.
    assert (created["runningCount"], created["pendingCount"]) == (0, 0)
    assert [d["rolloutState"] for d in created["deployments"]] == ["IN_PROGRESS"]
    assert wait_stable(ecs, "web") == 1
    updated = ecs.update_service(cluster=cluster, service="web", desiredCount=2)["service"]
    assert updated["runningCount"] == 1
    assert wait_stable(ecs, "web") == 1
    # A new deployment (its tasks replace the old ones) is waited for too.
    ecs.update_service(cluster=cluster, service="web", forceNewDeployment=True)
    service = ecs.describe_services(cluster=cluster, services=["web"])["services"][0]
    primary = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
    assert primary["runningCount"] == 2


def test_a_task_that_cannot_start_holds_the_call_only_until_the_bound(ecs, cluster,
                                                                      busybox_image):
    """On the session's emulator: the default bound."""
    # "main" waits for "gate" to complete, which never does: the task stays PENDING.
    definition = ecs.register_task_definition(family="stuck", containerDefinitions=[
        {"name": "gate", "image": busybox_image, "memory": 32, "command": SERVE,
         "essential": False},
        {"name": "main", "image": busybox_image, "memory": 32, "command": SERVE,
         "dependsOn": [{"containerName": "gate", "condition": "COMPLETE"}]},
    ])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=cluster, serviceName="stuck", desiredCount=1,
                       taskDefinition=definition)
    service = ecs.describe_services(cluster=cluster, services=["stuck"])["services"][0]
    assert (service["runningCount"], service["pendingCount"]) == (0, 1)
    ecs.delete_service(cluster=cluster, service="stuck", force=True)


def test_with_the_wait_off_the_waiter_sleeps_until_the_tasks_run(unwaited, busybox_image):
    ecs = unwaited.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.create_service(cluster=CLUSTER, serviceName="web", desiredCount=1,
                       taskDefinition=fargate(ecs, busybox_image), launchType="FARGATE",
                       networkConfiguration=AWSVPC)
    assert wait_stable(ecs, "web") >= 2  # its first call came before the task ran
