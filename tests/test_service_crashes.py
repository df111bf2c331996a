"""Services whose containers die soon after they start, on real containers through boto3: the
circuit breaker trips (with and without a rollback), healthy tasks stay until new ones are
steady, and launches back off. The scheduler's rules in detail: test_service_failures.py."""

from dataclasses import replace

import pytest

from emulator.config import Settings
from emulator.pytest_plugin import running_emulator
from tests.busybox import SERVE, register
from tests.waiting import wait_for

pytestmark = pytest.mark.docker

CRASH = ["sh", "-c", "sleep 1; exit 3"]  # RUNNING, then gone before it is steady (3 s)


@pytest.fixture(scope="module")
def ecs_emulator(ecs_emulator_settings):
    """Steady after the default 3 s, not the suite's 1 (conftest.py): CRASH's tasks must die,
    and be seen to, well before they count as steady, on a loaded machine too."""
    with running_emulator(replace(ecs_emulator_settings,
                                  steady_after_s=Settings.steady_after_s)) as handle:
        yield handle
FAST_WAITER = {"Delay": 1, "MaxAttempts": 90}
STEADY = "(service web) has reached a steady state."


CLUSTER = "crash"  # the name the `cluster` fixture (conftest.py) gives the cluster


def service_of(ecs, cluster):
    return ecs.describe_services(cluster=cluster, services=["web"])["services"][0]


def messages(service):
    return [e["message"] for e in service["events"]]


def deployment_records(ecs, cluster):
    listed = ecs.list_service_deployments(cluster=cluster, service="web")["serviceDeployments"]
    arns = [d["serviceDeploymentArn"] for d in listed]
    return ecs.describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"]


def test_a_crash_loop_fails_its_deployment_without_a_rollback(ecs, cluster, busybox_image):
    ecs.create_service(
        cluster=cluster, serviceName="web", desiredCount=1,
        taskDefinition=register(ecs, busybox_image, CRASH),
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": False}})
    service = wait_for(lambda: service_of(ecs, cluster),
                       lambda s: s["deployments"][0]["rolloutState"] != "IN_PROGRESS", timeout=60)
    deployment = service["deployments"][0]
    assert deployment["rolloutState"] == "FAILED"
    assert deployment["rolloutStateReason"] == (
        "ECS deployment circuit breaker: tasks failed to start.")
    assert deployment["failedTasks"] == 3
    assert STEADY not in messages(service)
    assert f"(service web) (deployment {deployment['id']}) deployment failed: tasks failed to " \
           "start." in messages(service)
    record = deployment_records(ecs, cluster)[0]
    assert record["deploymentCircuitBreaker"] == {"status": "TRIGGERED", "failureCount": 3,
                                                  "threshold": 3}
    stopped = ecs.describe_tasks(cluster=cluster, tasks=ecs.list_tasks(
        cluster=cluster, desiredStatus="STOPPED")["taskArns"])["tasks"]
    assert stopped and all(t["stopCode"] == "EssentialContainerExited" for t in stopped)
    assert all(t["containers"][0]["exitCode"] == 3 for t in stopped if t["lastStatus"] == "STOPPED")
    ecs.delete_service(cluster=cluster, service="web", force=True)


def test_a_count_threshold_fails_a_crash_loop_at_that_count_and_is_echoed(
        ecs, cluster, busybox_image):
    breaker = {"enable": True, "rollback": False, "resetOnHealthyTask": False,
               "thresholdConfiguration": {"type": "COUNT", "value": 2}}
    created = ecs.create_service(
        cluster=cluster, serviceName="web", desiredCount=1,
        taskDefinition=register(ecs, busybox_image, CRASH),
        deploymentConfiguration={"deploymentCircuitBreaker": breaker})["service"]
    assert created["deploymentConfiguration"]["deploymentCircuitBreaker"] == breaker
    service = wait_for(lambda: service_of(ecs, cluster),
                       lambda s: s["deployments"][0]["rolloutState"] != "IN_PROGRESS", timeout=60)
    assert service["deploymentConfiguration"]["deploymentCircuitBreaker"] == breaker
    assert service["deployments"][0]["rolloutState"] == "FAILED"
    assert service["deployments"][0]["failedTasks"] == 2  # not the default threshold of 3
    record = deployment_records(ecs, cluster)[0]
    assert record["deploymentCircuitBreaker"] == {"status": "TRIGGERED", "failureCount": 2,
                                                  "threshold": 2}
    percent = {"enable": True, "rollback": False,
               "thresholdConfiguration": {"type": "UNBOUNDED_PERCENT", "value": 100}}
    updated = ecs.update_service(cluster=cluster, service="web", desiredCount=1,
                                 deploymentConfiguration={"deploymentCircuitBreaker": percent},
                                 forceNewDeployment=True)["service"]
    assert updated["deploymentConfiguration"]["deploymentCircuitBreaker"] == percent
    record = next(r for r in deployment_records(ecs, cluster) if r["status"] == "IN_PROGRESS")
    assert record["deploymentCircuitBreaker"]["threshold"] == 1  # 100% of 1, unbounded
    ecs.delete_service(cluster=cluster, service="web", force=True)


@pytest.mark.parametrize("configuration, message", [
    ({"type": "COUNT", "value": 0},
     "thresholdConfiguration value must be at least 1 for type COUNT."),
    ({"type": "BOUNDED_PERCENT", "value": 150},
     "thresholdConfiguration value must be between 1 and 100 for type BOUNDED_PERCENT."),
    ({"type": "HALF", "value": 50}, None),  # not one of the modelled types
])
def test_bad_threshold_configurations_are_invalid_parameters(ecs, cluster, busybox_image,
                                                             configuration, message):
    with pytest.raises(ecs.exceptions.InvalidParameterException) as raised:
        ecs.create_service(
            cluster=cluster, serviceName="web", desiredCount=1,
            taskDefinition=register(ecs, busybox_image, SERVE),
            deploymentConfiguration={"deploymentCircuitBreaker": {
                "enable": True, "rollback": False, "thresholdConfiguration": configuration}})
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    error = raised.value.response["Error"]["Message"]
    assert error == message if message else "HALF" in error
    assert not ecs.list_services(cluster=cluster)["serviceArns"]


def test_a_rolling_update_to_a_crashing_revision_rolls_back_keeping_healthy_tasks(
        ecs, cluster, busybox_image):
    good = register(ecs, busybox_image, SERVE)
    ecs.create_service(
        cluster=cluster, serviceName="web", desiredCount=2, taskDefinition=good,
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                 "maximumPercent": 200, "minimumHealthyPercent": 100})
    wait_for(lambda: service_of(ecs, cluster),
             lambda s: s["deployments"][0]["rolloutState"] == "COMPLETED", timeout=60)
    healthy = set(ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"])
    assert len(healthy) == 2
    first = service_of(ecs, cluster)["deployments"][0]["id"]

    ecs.update_service(cluster=cluster, service="web",
                       taskDefinition=register(ecs, busybox_image, CRASH))

    def observe():
        running = set(ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"])
        assert healthy <= running, "a healthy task was stopped before new ones were steady"
        return service_of(ecs, cluster)
    service = wait_for(observe, lambda s: any("rolling back to deployment" in m
                                              for m in messages(s)), timeout=90)
    failed = next(d for d in service["deployments"] if d["rolloutState"] == "FAILED")
    assert failed["failedTasks"] >= 3
    assert service["deployments"][0]["rolloutStateReason"] == (
        f"ECS deployment circuit breaker: rolling back to deploymentId {first}.")
    # The rollback's own tasks take over once they are steady.
    service = wait_for(lambda: service_of(ecs, cluster), lambda s: len(s["deployments"]) == 1
                       and s["deployments"][0]["rolloutState"] == "COMPLETED", timeout=90)
    assert service["taskDefinition"] == good and service["runningCount"] == 2
    records = {r["status"]: r for r in deployment_records(ecs, cluster)}
    assert records["ROLLBACK_SUCCESSFUL"]["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert records["ROLLBACK_SUCCESSFUL"]["rollback"]["reason"] == (
        "Circuit breaker: tasks failed to start.")
    ecs.delete_service(cluster=cluster, service="web", force=True)


def test_launches_of_a_failing_service_come_further_and_further_apart(ecs, cluster):
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=1,
                       taskDefinition=register(ecs, "ecs-emulator-test/missing:7", SERVE))

    def launches():
        arns = ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"]
        arns += ecs.list_tasks(cluster=cluster)["taskArns"]
        tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
        return sorted(t["createdAt"] for t in tasks)
    created = wait_for(launches, lambda c: len(c) >= 6, timeout=60, interval=0.5)
    gaps = [(b - a).total_seconds() for a, b in zip(created, created[1:])]
    # The first failures are retried at once; from the third on, each wait is longer.
    assert gaps[2] < gaps[3] < gaps[4], gaps
    assert any(m.startswith("(service web) is unable to consistently start tasks successfully.")
               for m in messages(service_of(ecs, cluster)))
    ecs.delete_service(cluster=cluster, service="web", force=True)


def test_an_alarm_set_to_alarm_during_a_deployment_rolls_it_back(clean_emulator, ecs, cluster,
                                                                 busybox_image):
    cloudwatch = clean_emulator.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="errors", MetricName="5xx", Namespace="App", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    good = register(ecs, busybox_image, SERVE)
    ecs.create_service(
        cluster=cluster, serviceName="web", desiredCount=1, taskDefinition=good,
        deploymentConfiguration={"alarms": {"alarmNames": ["errors"], "enable": True,
                                            "rollback": True}})
    wait_for(lambda: service_of(ecs, cluster),
             lambda s: s["deployments"][0]["rolloutState"] == "COMPLETED", timeout=60)
    ecs.update_service(cluster=cluster, service="web", forceNewDeployment=True)
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="test")
    service = wait_for(lambda: service_of(ecs, cluster),
                       lambda s: any("rolling back to deployment" in m for m in messages(s)))
    failed = next(d for d in service["deployments"] if d["rolloutState"] == "FAILED")
    assert failed["rolloutStateReason"] == "ECS deployment failed: alarm(s) errors in ALARM state."
    records = deployment_records(ecs, cluster)
    rolled = next(r for r in records if r["status"] == "ROLLBACK_IN_PROGRESS")
    assert rolled["alarms"] == {"status": "TRIGGERED", "alarmNames": ["errors"],
                                "triggeredAlarmNames": ["errors"]}
    assert rolled["deploymentCircuitBreaker"]["status"] == "DISABLED"
    # The rollback is not watched (its alarm still fires): it completes.
    wait_for(lambda: service_of(ecs, cluster), lambda s: len(s["deployments"]) == 1
             and s["deployments"][0]["rolloutState"] == "COMPLETED", timeout=60)
    ecs.delete_service(cluster=cluster, service="web", force=True)
