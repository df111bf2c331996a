"""Faults on purpose through /_emulator/tasks/<task>/...: a Fargate Spot interruption, a killed
container and a failing health check, each replaced by its service, on real containers."""

import json
import shutil
import subprocess

import pytest
import requests

from tests.test_service_integrations import (
    FAST_WAITER,
    SUBNETS,
    bridge_definition,
    event_queue,
    fargate_definition,
    target_group,
    targets,
    task_events,
)
from tests.test_service_integrations import stop_everything
from tests.waiting import task_of, wait_for, wait_for_task

pytestmark = pytest.mark.docker


@pytest.fixture
def cluster(ecs):
    ecs.create_cluster(clusterName="faults", capacityProviders=["FARGATE", "FARGATE_SPOT"])
    yield "faults"
    stop_everything(ecs, "faults")


def fault(emulator, task, action, body=None):
    return requests.post(f"{emulator.endpoint_url}/_emulator/tasks/{task}/{action}",
                         json=body, timeout=30)


def only_task(ecs, cluster):
    arns = ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]
    assert len(arns) == 1
    return arns[0]


def replacement(ecs, cluster, old):
    """The service's task that replaced `old`, once it runs."""
    arns = wait_for(lambda: ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"],
                    lambda arns: len(arns) == 1 and arns[0] != old, timeout=90)
    return wait_for_task(ecs, cluster, arns[0], "RUNNING")


def test_spot_interruption_is_announced_stopped_and_replaced(clean_emulator, ecs, cluster,
                                                             busybox_image):
    receive = event_queue(clean_emulator, {"source": ["aws.ecs"],
                                           "detail-type": ["ECS Task State Change"]})
    # sleep as PID 1 ignores SIGTERM, so the warning period is what ends it (with SIGKILL);
    # the replacement, the same, is stopped at teardown after 2 s rather than ECS's default 30.
    definition = fargate_definition(ecs, busybox_image, command=["sleep", "3600"],
                                    stopTimeout=2)
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=1,
                       taskDefinition=definition, networkConfiguration=SUBNETS,
                       capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT",
                                                  "weight": 1}])
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"],
                                           WaiterConfig=FAST_WAITER)
    arn = only_task(ecs, cluster)
    assert task_of(ecs, cluster, arn)["capacityProviderName"] == "FARGATE_SPOT"

    response = fault(clean_emulator, arn.rsplit("/", 1)[-1], "spot-interruption",
                     {"warningSeconds": 1})
    assert response.status_code == 200, response.text
    assert response.json()["desiredStatus"] == "STOPPED"
    assert response.json()["stopCode"] == "SpotInterruption"

    stopped = wait_for_task(ecs, cluster, arn, "STOPPED", timeout=60)
    assert stopped["stopCode"] == "SpotInterruption"
    assert stopped["stoppedReason"] == "Your Spot Task was interrupted."
    assert stopped["containers"][0]["exitCode"] == 137  # killed when the warning ran out
    new = replacement(ecs, cluster, arn)
    assert new["capacityProviderName"] == "FARGATE_SPOT"

    received = wait_for(receive, lambda r: any(d["lastStatus"] == "STOPPED"
                                               for d in task_events(r, arn)))
    notice = next(d for d in task_events(received, arn) if d["desiredStatus"] == "STOPPED")
    assert notice["lastStatus"] == "RUNNING"  # announced while it still runs
    assert notice["stopCode"] == "SpotInterruption"
    assert notice["stoppedReason"] == "Your Spot Task was interrupted."


def test_faults_are_refused_with_clear_errors(clean_emulator, ecs, cluster, busybox_image):
    arn = ecs.run_task(cluster=cluster, launchType="FARGATE", networkConfiguration=SUBNETS,
                       taskDefinition=fargate_definition(ecs, busybox_image))["tasks"][0]["taskArn"]
    response = fault(clean_emulator, arn, "spot-interruption")
    assert response.status_code == 400
    assert response.json()["__type"] == "InvalidParameterException"
    assert "FARGATE_SPOT" in response.json()["message"]
    assert task_of(ecs, cluster, arn)["desiredStatus"] == "RUNNING"

    response = fault(clean_emulator, "0123456789abcdef0123456789abcdef", "kill")
    assert response.status_code == 404
    assert response.json()["__type"] == "InvalidParameterException"
    response = fault(clean_emulator, arn, "health", {"status": "POORLY"})
    assert response.status_code == 400 and "HEALTHY" in response.json()["message"]
    response = fault(clean_emulator, arn, "kill", {"container": "ghost"})
    assert response.status_code == 400 and "ghost" in response.json()["message"]
    ecs.stop_task(cluster=cluster, task=arn)
    response = fault(clean_emulator, arn, "kill")
    assert response.status_code == 400 and "already stopping" in response.json()["message"]


def test_killed_container_is_replaced(clean_emulator, ecs, cluster, busybox_image):
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=1, launchType="EC2",
                       taskDefinition=bridge_definition(ecs, busybox_image))
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"],
                                           WaiterConfig=FAST_WAITER)
    arn = only_task(ecs, cluster)
    response = fault(clean_emulator, arn, "kill")
    assert response.status_code == 200, response.text
    assert response.json()["container"] == "main" and response.json()["signal"] == "SIGKILL"
    stopped = wait_for_task(ecs, cluster, arn, "STOPPED")
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["containers"][0]["exitCode"] == 137
    replacement(ecs, cluster, arn)


def test_unhealthy_task_is_replaced_after_the_grace_period(clean_emulator, ecs, cluster,
                                                           busybox_image):
    elbv2 = clean_emulator.client("elbv2")
    group = target_group(clean_emulator, "instance")
    grace = 10
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=1, launchType="EC2",
                       taskDefinition=bridge_definition(ecs, busybox_image),
                       healthCheckGracePeriodSeconds=grace,
                       loadBalancers=[{"targetGroupArn": group, "containerName": "main",
                                       "containerPort": 8080}])
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"],
                                           WaiterConfig=FAST_WAITER)
    arn = only_task(ecs, cluster)
    wait_for(lambda: targets(elbv2, group), lambda t: len(t) == 1)

    response = fault(clean_emulator, arn, "health", {"status": "UNHEALTHY"})
    assert response.status_code == 200, response.text
    assert response.json()["healthStatus"] == "UNHEALTHY" and response.json()["targets"] == 1

    stopped = wait_for_task(ecs, cluster, arn, "STOPPED", timeout=60)
    assert stopped["healthStatus"] == "UNHEALTHY"
    assert stopped["stopCode"] == "ServiceSchedulerInitiated"
    assert stopped["stoppedReason"] == "Task failed container health checks"
    # Not before the service's grace period was over.
    assert (stopped["stoppingAt"] - stopped["startedAt"]).total_seconds() >= grace
    new = replacement(ecs, cluster, arn)
    assert new["healthStatus"] != "UNHEALTHY"
    host_port = new["containers"][0]["networkBindings"][0]["hostPort"]
    assert wait_for(lambda: targets(elbv2, group),
                    lambda t: [port for _, port in t] == [host_port]) != {}


def curl_fault(emulator, task, action, data, how="--json"):
    """The fault as the README's curl line sends it (`curl --json`), or as `how` says."""
    done = subprocess.run(["curl", "-s", "-XPOST", how, data, "-w", "\n%{http_code}",
                           f"{emulator.endpoint_url}/_emulator/tasks/{task}/{action}"],
                          capture_output=True, text=True, timeout=60, check=True)
    body, status = done.stdout.rsplit("\n", 1)
    return int(status), json.loads(body)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's curl line needs curl")
def test_the_readmes_curl_line_is_read_and_a_form_refused(clean_emulator, ecs, cluster,
                                                          busybox_image):
    spot = {"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
            "networkConfiguration": SUBNETS}
    # SIGTERM ends this one with 42 (SIGKILL would give 137); sleep as PID 1 ignores SIGTERM.
    trapping = fargate_definition(ecs, busybox_image, family="trap", command=[
        "sh", "-c", "trap 'exit 42' TERM; while :; do sleep 1; done"])
    ignoring = fargate_definition(ecs, busybox_image, family="deaf", command=["sleep", "3600"],
                                  stopTimeout=30)
    first = ecs.run_task(cluster=cluster, taskDefinition=trapping, **spot)["tasks"][0]["taskArn"]
    second = ecs.run_task(cluster=cluster, taskDefinition=ignoring, **spot)["tasks"][0]["taskArn"]
    wait_for_task(ecs, cluster, first, "RUNNING")
    wait_for_task(ecs, cluster, second, "RUNNING")

    status, answer = curl_fault(clean_emulator, first, "health", '{"status":"UNHEALTHY"}')
    assert (status, answer["healthStatus"]) == (200, "UNHEALTHY"), answer
    status, answer = curl_fault(clean_emulator, first, "kill", "signal=SIGTERM")
    assert status == 400 and answer["__type"] == "InvalidParameterException"
    assert "not JSON" in answer["message"], answer
    # `curl -d` alone labels its body a form: refused, saying how to send it, not the default
    status, answer = curl_fault(clean_emulator, first, "kill", '{"signal":"SIGTERM"}', how="-d")
    assert status == 415 and answer["__type"] == "UnsupportedMediaTypeException"
    assert "--json" in answer["message"], answer
    status, answer = curl_fault(clean_emulator, first, "kill", '{"signal":"SIGTERM"}')
    assert (status, answer["signal"]) == (200, "SIGTERM"), answer
    assert wait_for_task(ecs, cluster, first, "STOPPED")["containers"][0]["exitCode"] == 42

    # warningSeconds read: SIGKILL after 1 s, not after the 30 s stopTimeout
    status, answer = curl_fault(clean_emulator, second, "spot-interruption",
                                '{"warningSeconds":1}')
    assert (status, answer["stopCode"]) == (200, "SpotInterruption"), answer
    stopped = wait_for_task(ecs, cluster, second, "STOPPED", timeout=60)
    assert (stopped["stoppedAt"] - stopped["stoppingAt"]).total_seconds() < 15, stopped
    assert stopped["containers"][0]["exitCode"] == 137
