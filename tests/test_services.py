"""Services keep their desired count, roll out deployments and trip the circuit breaker,
on real containers."""

import pytest
from botocore.exceptions import ClientError

from tests.busybox import SERVE, register
from tests.waiting import wait_for

pytestmark = pytest.mark.docker

FAST_WAITER = {"Delay": 1, "MaxAttempts": 90}


CLUSTER = "svc"  # the name the `cluster` fixture (conftest.py) gives the cluster


def service_of(ecs, cluster, name="web"):
    return ecs.describe_services(cluster=cluster, services=[name])["services"][0]


def wait_completed(ecs, cluster, name="web"):
    """The deployment is COMPLETED once its tasks have been steady (services_stable can pass
    before: it looks at counts only, as on AWS)."""
    return wait_for(lambda: service_of(ecs, cluster, name),
                    lambda s: s["deployments"][0]["rolloutState"] == "COMPLETED", timeout=60)


def messages(service):
    return [e["message"] for e in service["events"]]


def test_service_reaches_and_keeps_desired_count(ecs, cluster, busybox_image, docker_client,
                                                 ecs_emulator):
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=3,
                       taskDefinition=register(ecs, busybox_image))
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"], WaiterConfig=FAST_WAITER)
    service = wait_completed(ecs, cluster)
    assert service["runningCount"] == 3 and service["pendingCount"] == 0
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"
    assert "(service web) has reached a steady state." in messages(service)
    assert any(m.startswith("(service web) has started 3 tasks:") for m in messages(service))
    tasks = ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]
    assert len(tasks) == 3

    # Kill one container from outside, as a crash would: the service replaces the task.
    victim = docker_client.containers.list(filters={"label": f"ecs-emulator.task-arn={tasks[0]}"})[0]
    victim.kill()
    wait_for(lambda: ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"],
             lambda arns: tasks[0] not in arns and len(arns) == 3)
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"], WaiterConfig=FAST_WAITER)
    stopped = ecs.describe_tasks(cluster=cluster, tasks=[tasks[0]])["tasks"][0]
    assert stopped["stopCode"] == "EssentialContainerExited"
    # Docker's kill event came before its die: ended from outside, not a crash, so its service
    # is not throttled as a crash loop would be (engine/service_failures.py).
    [known] = [t for store in ecs_emulator.emulator.engine.state.stores()
               for t in store.tasks.values() if t.arn == tasks[0]]
    assert known.containers[0].killed

    ecs.update_service(cluster=cluster, service="web", desiredCount=1)
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"], WaiterConfig=FAST_WAITER)
    assert len(ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]) == 1

    with pytest.raises(ClientError) as excinfo:
        ecs.delete_service(cluster=cluster, service="web")
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    ecs.delete_service(cluster=cluster, service="web", force=True)
    ecs.get_waiter("services_inactive").wait(cluster=cluster, services=["web"], WaiterConfig=FAST_WAITER)
    assert ecs.list_tasks(cluster=cluster)["taskArns"] == []


def test_rolling_update_respects_min_and_max_percent(ecs, cluster, busybox_image):
    first = register(ecs, busybox_image)
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=2, taskDefinition=first,
                       deploymentConfiguration={"maximumPercent": 150, "minimumHealthyPercent": 50})
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"], WaiterConfig=FAST_WAITER)
    second = register(ecs, busybox_image, environment=[{"name": "V", "value": "2"}])
    ecs.update_service(cluster=cluster, service="web", taskDefinition=second)

    seen_max, seen_min_running = 0, 99
    def observe():
        nonlocal seen_max, seen_min_running
        service = service_of(ecs, cluster)
        live = len(ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"])
        seen_max = max(seen_max, live)
        seen_min_running = min(seen_min_running, service["runningCount"])
        return service
    service = wait_for(observe, lambda s: len(s["deployments"]) == 1
                       and s["deployments"][0]["taskDefinition"] == second
                       and s["runningCount"] == 2, timeout=90, interval=0.1)
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"
    assert seen_max <= 3  # 150% of 2
    assert seen_min_running >= 1  # 50% of 2
    running = ecs.describe_tasks(cluster=cluster, tasks=ecs.list_tasks(
        cluster=cluster, serviceName="web")["taskArns"])["tasks"]
    assert {t["taskDefinitionArn"] for t in running} == {second}


def test_circuit_breaker_rolls_back(ecs, cluster, busybox_image):
    good = register(ecs, busybox_image)
    ecs.create_service(
        cluster=cluster, serviceName="web", desiredCount=1, taskDefinition=good,
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                 "maximumPercent": 200, "minimumHealthyPercent": 100})
    wait_completed(ecs, cluster)
    broken = ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "main", "image": "ecs-emulator-test/missing:1",
                                             "memory": 64}])["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service="web", taskDefinition=broken)
    service = wait_for(lambda: service_of(ecs, cluster),
                       lambda s: any("rolling back to deployment" in m for m in messages(s)),
                       timeout=120)
    failed = [d for d in service["deployments"] if d["rolloutState"] == "FAILED"]
    assert failed and failed[0]["taskDefinition"] == broken and failed[0]["failedTasks"] >= 3
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"], WaiterConfig=FAST_WAITER)
    service = service_of(ecs, cluster)
    assert service["deployments"][0]["taskDefinition"] == good
    assert service["taskDefinition"] == good
    ecs.delete_service(cluster=cluster, service="web", force=True)


def test_service_refusals(ecs, cluster, busybox_image):
    task_definition = register(ecs, busybox_image)
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=0, taskDefinition=task_definition)
    cases = [
        (dict(serviceName="web", desiredCount=1, taskDefinition=task_definition), "InvalidParameterException"),
        (dict(serviceName="x", desiredCount=1, taskDefinition=task_definition, launchType="FARGATE"),
         "InvalidParameterException"),
        (dict(serviceName="n", desiredCount=-1, taskDefinition=task_definition),
         "InvalidParameterException"),
        (dict(serviceName="z", desiredCount=1, taskDefinition=task_definition,
              loadBalancers=[{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/1",
                              "containerName": "main", "containerPort": 80}]), "InvalidParameterException"),
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as excinfo:
            ecs.create_service(cluster=cluster, **params)
        assert excinfo.value.response["Error"]["Code"] == code, params
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster=cluster, service="nope", desiredCount=1)
    assert excinfo.value.response["Error"]["Code"] == "ServiceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster=cluster, service="web", desiredCount=-1)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert ecs.describe_services(cluster=cluster, services=["web"])["services"][0][
        "desiredCount"] == 0
    listed = ecs.list_services(cluster=cluster)["serviceArns"]
    assert listed == ["arn:aws:ecs:us-east-1:123456789012:service/svc/web"]
    described = ecs.describe_services(cluster=cluster, services=["web", "ghost"])
    assert described["failures"][0]["reason"] == "MISSING"
    assert ecs.describe_clusters(clusters=[cluster])["clusters"][0]["activeServicesCount"] == 1
    with pytest.raises(ClientError) as excinfo:
        ecs.delete_cluster(cluster=cluster)
    assert excinfo.value.response["Error"]["Code"] == "ClusterContainsServicesException"
    # A grace period without a load balancer is for container health checks (AWS's model).
    graced = ecs.create_service(cluster=cluster, serviceName="y", desiredCount=0,
                                taskDefinition=task_definition,
                                healthCheckGracePeriodSeconds=10)["service"]
    assert graced["healthCheckGracePeriodSeconds"] == 10


def test_a_fargate_service_answers_as_aws_does(ecs, cluster, busybox_image):
    """LATEST stays on the service; its deployments and revisions show the version it stands
    for; the defaults AWS fills in are there (the AWS CLI's create-service and update-service
    examples, the model's documented defaults)."""
    ecs.register_task_definition(
        family="f", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "main", "image": busybox_image}])
    service = ecs.create_service(
        cluster=cluster, serviceName="f", taskDefinition="f", desiredCount=0,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})["service"]
    assert service["platformVersion"] == "LATEST"
    assert service["deployments"][0]["platformVersion"] == "1.4.0"
    listed = ecs.list_service_deployments(cluster=cluster, service="f")["serviceDeployments"]
    revision = ecs.describe_service_revisions(
        serviceRevisionArns=[listed[0]["targetServiceRevisionArn"]])["serviceRevisions"][0]
    assert revision["platformVersion"] == "1.4.0"
    assert service["currentServiceDeployment"] == listed[0]["serviceDeploymentArn"]
    assert service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    assert service["healthCheckGracePeriodSeconds"] == 0
    assert service["availabilityZoneRebalancing"] == "ENABLED"  # CreateService's default
    updated = ecs.update_service(cluster=cluster, service="f",
                                 availabilityZoneRebalancing="DISABLED")["service"]
    assert updated["availabilityZoneRebalancing"] == "DISABLED"
    kept = ecs.update_service(cluster=cluster, service="f", desiredCount=0)["service"]
    assert kept["availabilityZoneRebalancing"] == "DISABLED"  # UpdateService keeps it


def test_service_deployments_and_revisions(ecs, cluster, busybox_image):
    good = register(ecs, busybox_image)
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=1, taskDefinition=good)
    wait_completed(ecs, cluster)
    broken = ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "main", "image": "ecs-emulator-test/missing:2",
                                             "memory": 64}])["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service="web", taskDefinition=broken)

    listed = ecs.list_service_deployments(cluster=cluster, service="web")["serviceDeployments"]
    assert [d["status"] for d in listed] == ["IN_PROGRESS", "SUCCESSFUL"]
    current, first = listed
    described = ecs.describe_service_deployments(
        serviceDeploymentArns=[current["serviceDeploymentArn"], "arn:aws:ecs:us-east-1:123456789012:service-deployment/svc/web/1"])
    assert described["failures"][0]["reason"] == "MISSING"
    detail = described["serviceDeployments"][0]
    assert detail["sourceServiceRevisions"][0]["arn"] == first["targetServiceRevisionArn"]
    revisions = ecs.describe_service_revisions(
        serviceRevisionArns=[first["targetServiceRevisionArn"], current["targetServiceRevisionArn"]])
    assert [r["taskDefinition"] for r in revisions["serviceRevisions"]] == [good, broken]
    assert revisions["serviceRevisions"][1]["containerImages"][0]["image"] == "ecs-emulator-test/missing:2"
    # DescribeServices names the revisions running now, the new one first; the first still
    # runs its task (the new one's never start).
    running_now = service_of(ecs, cluster)["currentServiceRevisions"]
    assert [r["arn"] for r in running_now] == [current["targetServiceRevisionArn"],
                                               first["targetServiceRevisionArn"]]
    assert running_now[0]["requestedTaskCount"] == 1 and running_now[0]["runningTaskCount"] == 0
    assert (running_now[1]["requestedTaskCount"], running_now[1]["runningTaskCount"],
            running_now[1]["pendingTaskCount"]) == (1, 1, 0)

    ecs.stop_service_deployment(serviceDeploymentArn=current["serviceDeploymentArn"], stopType="ROLLBACK")
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"], WaiterConfig=FAST_WAITER)
    assert service_of(ecs, cluster)["taskDefinition"] == good
    [settled] = service_of(ecs, cluster)["currentServiceRevisions"]  # the broken one's is gone
    assert (settled["requestedTaskCount"], settled["runningTaskCount"],
            settled["pendingTaskCount"]) == (1, 1, 0)
    statuses = {d["serviceDeploymentArn"]: d["status"] for d in
                ecs.list_service_deployments(cluster=cluster, service="web")["serviceDeployments"]}
    assert statuses[current["serviceDeploymentArn"]] == "ROLLBACK_SUCCESSFUL"
    with pytest.raises(ClientError) as excinfo:
        ecs.stop_service_deployment(serviceDeploymentArn=current["serviceDeploymentArn"])
    assert excinfo.value.response["Error"]["Code"] == "ConflictException"
    only_done = ecs.list_service_deployments(cluster=cluster, service="web", status=["SUCCESSFUL"])
    assert all(d["status"] == "SUCCESSFUL" for d in only_done["serviceDeployments"])
    ecs.delete_service(cluster=cluster, service="web", force=True)


def test_create_service_refuses_as_aws_words_it(ecs, cluster, busybox_image):
    """A name still DRAINING, an INACTIVE revision, two service registries: ECS's refusals."""
    # The task ignores SIGTERM, so the deleted service stays DRAINING for its 10 s stop timeout.
    stubborn = register(ecs, busybox_image, command=["sh", "-c", "trap '' TERM; sleep 3600"],
                        family="stubborn", stopTimeout=10)
    ecs.create_service(cluster=cluster, serviceName="old", desiredCount=1,
                       taskDefinition=stubborn)
    wait_for(lambda: service_of(ecs, cluster, "old"), lambda s: s["runningCount"] == 1,
             timeout=30)
    ecs.delete_service(cluster=cluster, service="old", force=True)
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster=cluster, serviceName="old", desiredCount=0,
                           taskDefinition=stubborn)
    error = excinfo.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterException", "Unable to Start a service that is still Draining.")
    retired = register(ecs, busybox_image, family="retired")
    ecs.deregister_task_definition(taskDefinition=retired)
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster=cluster, serviceName="new", desiredCount=0,
                           taskDefinition=retired)
    assert excinfo.value.response["Error"]["Code"] == "ClientException"
    assert "inactive" in excinfo.value.response["Error"]["Message"]
    registries = [{"registryArn": f"arn:aws:servicediscovery:us-east-1:123456789012:service/srv-{n}"}
                  for n in "ab"]
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster=cluster, serviceName="new", desiredCount=0,
                           taskDefinition=stubborn, serviceRegistries=registries)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    assert [arn.rsplit("/", 1)[1] for arn in ecs.list_services(cluster=cluster)["serviceArns"]
            ] == ["old"]  # still DRAINING: listed, as on AWS; nothing new made
    wait_for(lambda: service_of(ecs, cluster, "old"), lambda s: s["status"] == "INACTIVE",
             timeout=30)


def test_a_services_tasks_carry_the_tags_it_propagates(ecs, cluster, busybox_image):
    """propagateTags SERVICE: the service's tasks get its tags (after them, the managed ones);
    UpdateService's change starts no deployment and applies to the tasks launched after it."""
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=1,
                       taskDefinition=register(ecs, busybox_image), propagateTags="SERVICE",
                       enableECSManagedTags=True, tags=[{"key": "team", "value": "a"}])
    managed = [{"key": "aws:ecs:clusterName", "value": cluster},
               {"key": "aws:ecs:serviceName", "value": "web"}]

    def tasks():
        arns = ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]
        return ecs.describe_tasks(cluster=cluster, tasks=arns, include=["TAGS"])["tasks"] \
            if arns else []

    first = wait_for(tasks, lambda found: len(found) == 1)[0]
    assert first["tags"] == [{"key": "team", "value": "a"}] + managed
    assert ecs.list_tags_for_resource(resourceArn=first["taskArn"])["tags"] == first["tags"]

    service = ecs.update_service(cluster=cluster, service="web", propagateTags="NONE")["service"]
    assert service["propagateTags"] == "NONE" and len(service["deployments"]) == 1
    assert tasks()[0]["tags"] == first["tags"]  # a running task keeps its tags
    ecs.stop_task(cluster=cluster, task=first["taskArn"])
    second = wait_for(tasks, lambda found: [t for t in found if t["taskArn"] != first["taskArn"]
                                            and t["desiredStatus"] == "RUNNING"])
    assert [t["tags"] for t in second if t["taskArn"] != first["taskArn"]] == [managed]
    ecs.update_service(cluster=cluster, service="web", desiredCount=0)

