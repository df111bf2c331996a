"""Tasks run as real Docker containers: RunTask, the ECS lifecycle, StopTask, DescribeTasks."""

import pytest
from botocore.exceptions import ClientError

from tests.busybox import SERVE
from tests.waiting import task_of, wait_for, wait_for_task

pytestmark = pytest.mark.docker

TASK_LABEL = "ecs-emulator.task-arn"


def register(ecs, image, *containers, family="app", network_mode="bridge", **extra):
    definitions = list(containers) or [{"name": "main", "image": image, "memory": 64,
                                        "command": SERVE}]
    for definition in definitions:
        definition.setdefault("image", image)
    return ecs.register_task_definition(
        family=family, networkMode=network_mode, containerDefinitions=definitions, **extra
    )["taskDefinition"]["taskDefinitionArn"]


def run(ecs, cluster, task_definition, **extra) -> str:
    response = ecs.run_task(cluster=cluster, taskDefinition=task_definition, **extra)
    assert response["failures"] == []
    return response["tasks"][0]["taskArn"]


def test_run_answers_at_once_then_runs_and_stops(ecs, cluster, busybox_image, docker_client):
    arn = run(ecs, cluster, register(ecs, busybox_image), startedBy="me")
    first = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    assert first["lastStatus"] in ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING")
    assert first["desiredStatus"] == "RUNNING"

    running = wait_for_task(ecs, cluster, arn, "RUNNING")
    assert running["lastStatus"] == "RUNNING"
    assert running["containers"][0]["lastStatus"] == "RUNNING"
    assert running["startedAt"] >= running["createdAt"]
    assert running["pullStartedAt"] <= running["pullStoppedAt"]
    containers = docker_client.containers.list(filters={"label": f"{TASK_LABEL}={arn}"})
    assert len(containers) == 1
    assert ecs.list_tasks(cluster=cluster)["taskArns"] == [arn]
    assert ecs.list_tasks(cluster=cluster, startedBy="me")["taskArns"] == [arn]
    cluster_view = ecs.describe_clusters(clusters=[cluster])["clusters"][0]
    assert cluster_view["runningTasksCount"] == 1

    stopping = ecs.stop_task(cluster=cluster, task=arn, reason="enough")["task"]
    assert stopping["desiredStatus"] == "STOPPED"
    stopped = wait_for_task(ecs, cluster, arn, "STOPPED")
    assert stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "enough"
    assert stopped["containers"][0]["exitCode"] == 0  # it exited on SIGTERM by itself
    assert stopped["stoppingAt"] <= stopped["stoppedAt"]
    assert docker_client.containers.list(all=True, filters={"label": f"{TASK_LABEL}={arn}"}) == []
    assert ecs.list_tasks(cluster=cluster)["taskArns"] == []
    assert ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"] == [arn]


def test_essential_exit_stops_task_with_its_exit_code(ecs, cluster, busybox_image):
    task_definition = register(ecs, busybox_image, {
        "name": "main", "memory": 64, "command": ["sh", "-c", "exit 3"]})
    arn = run(ecs, cluster, task_definition)
    stopped = wait_for_task(ecs, cluster, arn, "STOPPED")
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["containers"][0]["exitCode"] == 3


def test_non_essential_exit_keeps_task_running(ecs, cluster, busybox_image):
    task_definition = register(
        ecs, busybox_image,
        {"name": "main", "memory": 64, "command": SERVE},
        {"name": "side", "memory": 64, "essential": False, "command": ["sh", "-c", "exit 1"]},
    )
    arn = run(ecs, cluster, task_definition)
    task = wait_for(lambda: task_of(ecs, cluster, arn),
                    lambda t: t["lastStatus"] != "ACTIVATING" and t["lastStatus"] != "PENDING" and
                    {c["name"]: c["lastStatus"] for c in t["containers"]}.get("side") == "STOPPED")
    assert task["lastStatus"] == "RUNNING"
    side = next(c for c in task["containers"] if c["name"] == "side")
    assert side["exitCode"] == 1
    ecs.stop_task(cluster=cluster, task=arn)
    wait_for_task(ecs, cluster, arn, "STOPPED")


def test_stop_timeout_then_sigkill_reports_137(ecs, cluster, busybox_image):
    task_definition = register(ecs, busybox_image, {
        "name": "main", "memory": 64, "stopTimeout": 2,
        "command": ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]})
    arn = run(ecs, cluster, task_definition)
    wait_for_task(ecs, cluster, arn, "RUNNING")
    ecs.stop_task(cluster=cluster, task=arn)
    stopped = wait_for_task(ecs, cluster, arn, "STOPPED")
    assert stopped["containers"][0]["exitCode"] == 137


def test_failed_pull_stops_with_cannot_pull(ecs, cluster):
    task_definition = register(ecs, "ecs-emulator-test/does-not-exist:nope")
    arn = run(ecs, cluster, task_definition)
    stopped = wait_for_task(ecs, cluster, arn, "STOPPED")
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith("CannotPullContainerError")
    assert stopped["containers"][0]["reason"].startswith("CannotPullContainerError")


def test_awsvpc_containers_share_localhost_and_get_an_eni(ecs, cluster, busybox_image):
    task_definition = register(
        ecs, busybox_image,
        {"name": "web", "memory": 64, "portMappings": [{"containerPort": 8080}], "stopTimeout": 2,
         "command": ["sh", "-c", "mkdir -p /w && echo hello-from-web > /w/index.html && exec httpd -f -p 8080 -h /w"]},
        {"name": "client", "memory": 64, "essential": False,
         "dependsOn": [{"containerName": "web", "condition": "START"}],
         "command": ["sh", "-c", "sleep 1; wget -q -O - http://localhost:8080/ | grep -q hello-from-web"]},
        network_mode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
    )
    ran = ecs.run_task(cluster=cluster, taskDefinition=task_definition, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    first = ran["tasks"][0]
    arn = first["taskArn"]
    # RunTask's answer, as AWS's: the ENI to be made, where it runs, its Fargate storage.
    precreated = first["attachments"][0]
    assert (precreated["type"], precreated["status"], precreated["details"]) == (
        "ElasticNetworkInterface", "PRECREATED", [{"name": "subnetId", "value": "subnet-1"}])
    assert first["attributes"][0]["name"] == "ecs.cpu-architecture"
    assert first["attributes"][0]["value"] in ("x86_64", "arm64")
    assert first["fargateEphemeralStorage"] == first["ephemeralStorage"] == {"sizeInGiB": 20}
    task = wait_for(lambda: task_of(ecs, cluster, arn),
                    lambda t: {c["name"]: c["lastStatus"] for c in t["containers"]}.get("client") == "STOPPED")
    client = next(c for c in task["containers"] if c["name"] == "client")
    assert client["exitCode"] == 0
    eni = task["attachments"][0]
    assert (eni["id"], eni["type"], eni["status"]) == (
        precreated["id"], "ElasticNetworkInterface", "ATTACHED")
    details = {d["name"]: d["value"] for d in eni["details"]}
    assert details["privateIPv4Address"]
    web = next(c for c in task["containers"] if c["name"] == "web")
    assert web["networkInterfaces"][0]["privateIpv4Address"] == details["privateIPv4Address"]
    binding = web["networkBindings"][0]
    assert binding["containerPort"] == 8080 and binding["bindIP"] == "127.0.0.1"
    import urllib.request
    body = urllib.request.urlopen(f"http://127.0.0.1:{binding['hostPort']}/", timeout=5).read()
    assert body == b"hello-from-web\n"
    ecs.stop_task(cluster=cluster, task=arn)
    wait_for_task(ecs, cluster, arn, "STOPPED")


def test_run_task_refusals(ecs, cluster, busybox_image):
    bridge = register(ecs, busybox_image)
    cases = [
        (dict(taskDefinition=bridge, count=11), "InvalidParameterException"),
        (dict(taskDefinition=bridge, launchType="FARGATE"), "InvalidParameterException"),
        (dict(taskDefinition=bridge, launchType="EC2",
              capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}]),
         "InvalidParameterException"),
        (dict(taskDefinition="nope:1"), "ClientException"),
        (dict(taskDefinition=bridge, networkConfiguration={
            "awsvpcConfiguration": {"subnets": ["s"]}}), "InvalidParameterException"),
        (dict(taskDefinition=bridge, overrides={"containerOverrides": [{"name": "ghost"}]}),
         "InvalidParameterException"),
        # Roles in overrides are checked as a task definition's are ("Role is not valid").
        (dict(taskDefinition=bridge, overrides={"taskRoleArn": "my role"}), "ClientException"),
        (dict(taskDefinition=bridge, overrides={"executionRoleArn": "arn:aws:s3:::bucket"}),
         "ClientException"),
        # The documented limits: startedBy, the task group (255), subnets, tag characters.
        (dict(taskDefinition=bridge, startedBy="j" * 129), "InvalidParameterException"),
        (dict(taskDefinition=bridge, startedBy="job 1"), "InvalidParameterException"),
        (dict(taskDefinition=bridge, group="g" * 256), "InvalidParameterException"),
        (dict(taskDefinition=bridge, tags=[{"key": "team!", "value": "a"}]),
         "InvalidParameterException"),
        (dict(taskDefinition=bridge, tags=[{"key": "team", "value": "a<b"}]),
         "InvalidParameterException"),
        (dict(taskDefinition=register(ecs, busybox_image, family="vpc", network_mode="awsvpc"),
              networkConfiguration={"awsvpcConfiguration": {
                  "subnets": [f"subnet-{i}" for i in range(17)]}}), "InvalidParameterException"),
    ]
    fargate = register(ecs, busybox_image, family="small", network_mode="awsvpc",
                       requiresCompatibilities=["FARGATE"], cpu="256", memory="512")
    on_fargate = dict(taskDefinition=fargate, launchType="FARGATE", networkConfiguration={
        "awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    cases += [
        # RunTask's model: "An error will be received if you specify the SERVICE option".
        (dict(taskDefinition=bridge, propagateTags="SERVICE"), "InvalidParameterException"),
        # clientToken: up to 64 characters of 33-126
        (dict(taskDefinition=bridge, clientToken="t" * 65), "InvalidParameterException"),
        (dict(taskDefinition=bridge, clientToken="with space"), "InvalidParameterException"),
        # overrides: 8192 characters in all, ephemeral storage 21-200 GiB, a task size that
        # is a Fargate combination and holds the containers' own memory
        (dict(taskDefinition=bridge, overrides={"containerOverrides": [{
            "name": "main", "environment": [{"name": "BIG", "value": "x" * 8192}]}]}),
         "InvalidParameterException"),
        (dict(on_fargate, overrides={"ephemeralStorage": {"sizeInGiB": 20}}),
         "InvalidParameterException"),
        (dict(on_fargate, overrides={"ephemeralStorage": {"sizeInGiB": 201}}),
         "InvalidParameterException"),
        (dict(on_fargate, overrides={"cpu": "256", "memory": "8192"}),
         "InvalidParameterException"),
        (dict(on_fargate, overrides={"memory": "4096"}), "InvalidParameterException"),
        (dict(taskDefinition=bridge, overrides={"memory": "32"}), "InvalidParameterException"),
        (dict(taskDefinition=bridge, overrides={"cpu": "128", "containerOverrides": [
            {"name": "main", "cpu": 256}]}), "InvalidParameterException"),
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as excinfo:
            ecs.run_task(cluster=cluster, **params)
        assert excinfo.value.response["Error"]["Code"] == code, params
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, params
    assert ecs.list_tasks(cluster=cluster)["taskArns"] == []  # each refusal started nothing
    with pytest.raises(ClientError) as excinfo:  # StartTask's startedBy: up to 36 characters
        ecs.start_task(cluster=cluster, taskDefinition=bridge, containerInstances=["i"],
                       startedBy="j" * 37)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    assert excinfo.value.response["Error"]["Message"] == "startedBy longer than 36."
    with pytest.raises(ClientError) as excinfo:
        ecs.run_task(cluster="missing", taskDefinition=bridge)
    assert excinfo.value.response["Error"]["Code"] == "ClusterNotFoundException"


def test_list_tasks_filters_as_ecs_does(ecs, cluster, busybox_image):
    """A PENDING desired status matches nothing (ECS never sets it, even for a PENDING task);
    a service that is not there is ServiceNotFoundException, not an empty list."""
    task_definition = register(
        ecs, busybox_image,
        {"name": "first", "memory": 64, "essential": False, "command": SERVE},
        {"name": "main", "memory": 64, "startTimeout": 30, "command": SERVE,
         "dependsOn": [{"containerName": "first", "condition": "COMPLETE"}]})
    arn = run(ecs, cluster, task_definition)
    wait_for(lambda: task_of(ecs, cluster, arn),
             lambda t: {c["name"]: c["lastStatus"] for c in t["containers"]}["first"] == "RUNNING")
    assert task_of(ecs, cluster, arn)["lastStatus"] == "PENDING"  # main waits for first
    assert ecs.list_tasks(cluster=cluster, desiredStatus="PENDING")["taskArns"] == []
    assert ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"] == [arn]
    with pytest.raises(ClientError) as excinfo:
        ecs.list_tasks(cluster=cluster, serviceName="nope")
    assert excinfo.value.response["Error"]["Code"] == "ServiceNotFoundException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    ecs.stop_task(cluster=cluster, task=arn)
    wait_for_task(ecs, cluster, arn, "STOPPED")


def test_list_tasks_started_by_is_the_only_filter(ecs, cluster, busybox_image):
    """startedBy "must be the only filter that you use" (ListTasks' model): with a service,
    family, container instance, launch type or daemon it is refused; the desired status still
    picks the RUNNING or the STOPPED tasks of that starter."""
    arn = run(ecs, cluster, register(ecs, busybox_image), startedBy="job-1")
    others = [dict(serviceName="web"), dict(family="app"), dict(launchType="EC2"),
              dict(containerInstance="0123456789abcdef"), dict(daemonName="agent")]
    for other in others:
        with pytest.raises(ClientError) as excinfo:
            ecs.list_tasks(cluster=cluster, startedBy="job-1", **other)
        error = excinfo.value.response
        assert error["Error"]["Code"] == "InvalidParameterException", other
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400, other
        # AWS's words (aws/aws-sdk-go-v2#1893)
        assert error["Error"]["Message"] == "cannot specify startedBy with other arguments", other
    # each of them alone is a filter as before
    assert ecs.list_tasks(cluster=cluster, family="app")["taskArns"] == [arn]
    assert ecs.list_tasks(cluster=cluster, startedBy="job-1",
                          desiredStatus="RUNNING")["taskArns"] == [arn]
    assert ecs.list_tasks(cluster=cluster, startedBy="job-2")["taskArns"] == []
    ecs.stop_task(cluster=cluster, task=arn)
    assert ecs.list_tasks(cluster=cluster, startedBy="job-1")["taskArns"] == []
    assert ecs.list_tasks(cluster=cluster, startedBy="job-1",
                          desiredStatus="STOPPED")["taskArns"] == [arn]
    wait_for_task(ecs, cluster, arn, "STOPPED")


def test_stop_task_reason_of_up_to_1024_characters(ecs, cluster, busybox_image):
    """StopTask's reason: up to 1024 characters (the ECS agent trims its own to that, "as per
    back-end model", aws/amazon-ecs-agent#3229). One more is refused and leaves the task
    running; 1024 are what DescribeTasks shows as stoppedReason."""
    arn = run(ecs, cluster, register(ecs, busybox_image))
    with pytest.raises(ClientError) as excinfo:
        ecs.stop_task(cluster=cluster, task=arn, reason="r" * 1025)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    assert excinfo.value.response["Error"]["Message"] == "reason longer than 1024."
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert task_of(ecs, cluster, arn)["desiredStatus"] == "RUNNING"
    reason = "because " + "r" * 1016
    assert ecs.stop_task(cluster=cluster, task=arn, reason=reason)["task"][
        "stoppedReason"] == reason
    assert wait_for_task(ecs, cluster, arn, "STOPPED")["stoppedReason"] == reason


def test_managed_tags_name_the_cluster(ecs, cluster, busybox_image):
    """enableECSManagedTags: ECS adds aws:ecs:clusterName (no service name for RunTask), after
    the caller's own and the definition's propagated tags; a good override is taken."""
    task_definition = ecs.register_task_definition(
        family="tagged", tags=[{"key": "from", "value": "definition"}],
        containerDefinitions=[{"name": "main", "image": busybox_image, "memory": 64,
                               "command": SERVE}])["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(cluster=cluster, taskDefinition=task_definition,
                        enableECSManagedTags=True, propagateTags="TASK_DEFINITION",
                        tags=[{"key": "team", "value": "a"}],
                        overrides={"memory": "128"})["tasks"][0]
    expected = [{"key": "team", "value": "a"}, {"key": "from", "value": "definition"},
                {"key": "aws:ecs:clusterName", "value": cluster}]
    assert task["tags"] == expected and task["memory"] == "128"
    assert ecs.describe_tasks(cluster=cluster, tasks=[task["taskArn"]],
                              include=["TAGS"])["tasks"][0]["tags"] == expected
    assert ecs.list_tags_for_resource(resourceArn=task["taskArn"])["tags"] == expected
    ecs.stop_task(cluster=cluster, task=task["taskArn"])
    wait_for_task(ecs, cluster, task["taskArn"], "STOPPED")


def test_a_service_spreads_the_tasks_of_one_launch_over_its_strategy(ecs, cluster,
                                                                     busybox_image):
    """A service's first launch of three: the base's one on FARGATE, then the weights' two
    on FARGATE_SPOT (all three went to the provider chosen for the first)."""
    ecs.put_cluster_capacity_providers(cluster=cluster,
                                       capacityProviders=["FARGATE", "FARGATE_SPOT"],
                                       defaultCapacityProviderStrategy=[])
    task_definition = register(ecs, busybox_image, {"name": "main", "command": SERVE},
                               network_mode="awsvpc", requiresCompatibilities=["FARGATE"],
                               cpu="256", memory="512")
    ecs.create_service(
        cluster=cluster, serviceName="spread", taskDefinition=task_definition, desiredCount=3,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 2},
                                  {"capacityProvider": "FARGATE", "weight": 1, "base": 1}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    arns = wait_for(lambda: ecs.list_tasks(cluster=cluster, serviceName="spread")["taskArns"],
                    lambda found: len(found) == 3, timeout=30)
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
    assert sorted(t["capacityProviderName"] for t in tasks) == [
        "FARGATE", "FARGATE_SPOT", "FARGATE_SPOT"]
    ecs.delete_service(cluster=cluster, service="spread", force=True)
    for arn in arns:
        wait_for_task(ecs, cluster, arn, "STOPPED")


def test_client_token_makes_run_task_idempotent(ecs, cluster, busybox_image):
    task_definition = register(ecs, busybox_image)
    first = ecs.run_task(cluster=cluster, taskDefinition=task_definition, clientToken="t-1")
    again = ecs.run_task(cluster=cluster, taskDefinition=task_definition, clientToken="t-1")
    assert [t["taskArn"] for t in first["tasks"]] == [t["taskArn"] for t in again["tasks"]]
    for task in first["tasks"]:
        ecs.stop_task(cluster=cluster, task=task["taskArn"])


def test_run_task_spreads_tasks_over_the_capacity_provider_strategy(ecs, cluster, busybox_image):
    """...and a provider the cluster's tasks use cannot leave the cluster until they stop."""
    ecs.put_cluster_capacity_providers(cluster=cluster,
                                       capacityProviders=["FARGATE", "FARGATE_SPOT"],
                                       defaultCapacityProviderStrategy=[])
    task_definition = register(ecs, busybox_image, {"name": "main", "command": SERVE},
                               network_mode="awsvpc", requiresCompatibilities=["FARGATE"],
                               cpu="256", memory="512")
    tasks = ecs.run_task(
        cluster=cluster, taskDefinition=task_definition, count=4,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                                  {"capacityProvider": "FARGATE_SPOT", "weight": 3}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})["tasks"]
    providers = sorted(t["capacityProviderName"] for t in tasks)
    assert providers == ["FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE_SPOT"]
    assert {t["launchType"] for t in tasks} == {"FARGATE"}
    with pytest.raises(ClientError) as excinfo:
        ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=["FARGATE"],
                                           defaultCapacityProviderStrategy=[])
    assert excinfo.value.response["Error"]["Code"] == "ResourceInUseException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for task in tasks:
        ecs.stop_task(cluster=cluster, task=task["taskArn"])
    for task in tasks:
        wait_for_task(ecs, cluster, task["taskArn"], "STOPPED")
    left = ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=["FARGATE"],
                                              defaultCapacityProviderStrategy=[])["cluster"]
    assert left["capacityProviders"] == ["FARGATE"]
