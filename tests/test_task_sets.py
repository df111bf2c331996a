"""Task sets of services with the EXTERNAL deployment controller, on real containers: scale
changes, the primary switch, counts and stability, deletion, tags, and ECS's refusals."""

import pytest
from botocore.exceptions import ClientError

from tests.busybox import SERVE
from tests.waiting import wait_for

pytestmark = pytest.mark.docker

FAST_WAITER = {"Delay": 1, "MaxAttempts": 90}


CLUSTER = "ext"  # the name the `cluster` fixture (conftest.py) gives the cluster


def register(ecs, image, version="1"):
    return ecs.register_task_definition(
        family="web",
        containerDefinitions=[{"name": "main", "image": image, "memory": 64, "command": SERVE,
                               "environment": [{"name": "V", "value": version}]}],
    )["taskDefinition"]["taskDefinitionArn"]


def external_service(ecs, cluster, desired):
    return ecs.create_service(cluster=cluster, serviceName="web", desiredCount=desired,
                              deploymentController={"type": "EXTERNAL"})["service"]


def task_sets(ecs, cluster, *refs):
    params = {"taskSets": list(refs)} if refs else {}
    return ecs.describe_task_sets(cluster=cluster, service="web", **params)["taskSets"]


def settled(ecs, cluster, expected: dict):
    """Wait until every task set named in `expected` (id -> count) runs that many tasks, steady,
    and no other task of the service is left; the task sets, by id."""
    def done(sets):
        by_id = {s["id"]: s for s in sets}
        return all(by_id[i]["computedDesiredCount"] == n and by_id[i]["runningCount"] == n
                   and by_id[i]["pendingCount"] == 0
                   and by_id[i]["stabilityStatus"] == "STEADY_STATE" for i, n in expected.items())
    sets = wait_for(lambda: task_sets(ecs, cluster), done, timeout=90)
    wait_for(lambda: ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"],
             lambda arns: len(arns) == sum(expected.values()))
    return {s["id"]: s for s in sets}


def started_by(ecs, cluster):
    arns = ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]
    if not arns:
        return []
    return sorted(t["startedBy"] for t in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"])


def code_of(call, **params):
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    return excinfo.value.response["Error"]["Code"]


def test_a_task_sets_tasks_carry_the_service_tags(ecs, cluster, busybox_image):
    """propagateTags is the service's (CreateTaskSet has none): with SERVICE, a task set's
    tasks get the service's tags, not the task set's own."""
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=1,
                       deploymentController={"type": "EXTERNAL"}, propagateTags="SERVICE",
                       tags=[{"key": "team", "value": "a"}])
    blue = ecs.create_task_set(cluster=cluster, service="web",
                               taskDefinition=register(ecs, busybox_image),
                               tags=[{"key": "color", "value": "blue"}])["taskSet"]
    settled(ecs, cluster, {blue["id"]: 1})
    arns = ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]
    task = ecs.describe_tasks(cluster=cluster, tasks=arns, include=["TAGS"])["tasks"][0]
    assert task["startedBy"] == blue["id"] and task["tags"] == [{"key": "team", "value": "a"}]
    ecs.update_task_set(cluster=cluster, service="web", taskSet=blue["id"],
                        scale={"value": 0, "unit": "PERCENT"})


def test_task_set_lifecycle_scales_switches_primary_and_drains(ecs, cluster, busybox_image):
    external_service(ecs, cluster, desired=2)
    blue_definition = register(ecs, busybox_image)
    green_definition = register(ecs, busybox_image, "2")
    blue = ecs.create_task_set(cluster=cluster, service="web", taskDefinition=blue_definition,
                               externalId="blue", scale={"value": 100, "unit": "PERCENT"},
                               tags=[{"key": "color", "value": "blue"}])["taskSet"]
    assert blue["status"] == "ACTIVE" and blue["computedDesiredCount"] == 2
    assert blue["taskSetArn"].endswith(f":task-set/{cluster}/web/{blue['id']}")
    assert blue["id"].startswith("ecs-svc/") and blue["launchType"] == "EC2"
    assert blue["scale"] == {"value": 100.0, "unit": "PERCENT"} and blue["externalId"] == "blue"
    assert blue["tags"] == [{"key": "color", "value": "blue"}]
    settled(ecs, cluster, {blue["id"]: 2})
    assert started_by(ecs, cluster) == [blue["id"]] * 2

    primary = ecs.update_service_primary_task_set(cluster=cluster, service="web",
                                                  primaryTaskSet=blue["taskSetArn"])["taskSet"]
    assert primary["status"] == "PRIMARY"
    service = ecs.describe_services(cluster=cluster, services=["web"])["services"][0]
    assert service["taskDefinition"] == blue_definition
    assert service["runningCount"] == 2 and service["deployments"] == []
    assert [s["id"] for s in service["taskSets"]] == [blue["id"]]

    # A green set at 50% of 2 (one task) beside blue; then 3 desired: 3 blue and 2 green (1.5 up).
    green = ecs.create_task_set(cluster=cluster, service="web", taskDefinition=green_definition,
                                scale={"value": 50, "unit": "PERCENT"})["taskSet"]
    assert green["computedDesiredCount"] == 1 and green["stabilityStatus"] == "STABILIZING"
    settled(ecs, cluster, {blue["id"]: 2, green["id"]: 1})
    ecs.update_service(cluster=cluster, service="web", desiredCount=3)
    settled(ecs, cluster, {blue["id"]: 3, green["id"]: 2})
    assert ecs.describe_services(cluster=cluster, services=["web"])["services"][0][
        "runningCount"] == 5

    # Traffic moves to green: green becomes primary at 100%, blue is scaled to 0 and deleted.
    ecs.update_task_set(cluster=cluster, service="web", taskSet=green["id"],
                        scale={"value": 100, "unit": "PERCENT"})
    ecs.update_service_primary_task_set(cluster=cluster, service="web", primaryTaskSet=green["id"])
    assert code_of(ecs.delete_task_set, cluster=cluster, service="web",
                   taskSet=blue["taskSetArn"]) == "InvalidParameterException"  # still at 100%
    updated = ecs.update_task_set(cluster=cluster, service="web", taskSet=blue["taskSetArn"],
                                  scale={"value": 0, "unit": "PERCENT"})["taskSet"]
    assert updated["status"] == "ACTIVE" and updated["computedDesiredCount"] == 0
    sets = settled(ecs, cluster, {blue["id"]: 0, green["id"]: 3})
    assert sets[green["id"]]["status"] == "PRIMARY"
    assert started_by(ecs, cluster) == [green["id"]] * 3
    service = ecs.describe_services(cluster=cluster, services=["web"])["services"][0]
    assert service["taskDefinition"] == green_definition

    deleted = ecs.delete_task_set(cluster=cluster, service="web", taskSet=blue["id"])["taskSet"]
    assert deleted["status"] == "DRAINING"
    wait_for(lambda: [s["id"] for s in task_sets(ecs, cluster)], lambda ids: ids == [green["id"]])
    missing = ecs.describe_task_sets(cluster=cluster, service="web", taskSets=[blue["taskSetArn"]])
    assert missing["taskSets"] == [] and missing["failures"] == [
        {"arn": blue["taskSetArn"], "reason": "MISSING"}]

    # The primary set goes only with force; the service's tasks all stop.
    assert code_of(ecs.delete_task_set, cluster=cluster, service="web",
                   taskSet=green["id"]) == "InvalidParameterException"
    ecs.delete_task_set(cluster=cluster, service="web", taskSet=green["id"], force=True)
    wait_for(lambda: task_sets(ecs, cluster), lambda sets: sets == [])
    wait_for(lambda: ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"],
             lambda arns: arns == [])
    ecs.delete_service(cluster=cluster, service="web", force=True)
    ecs.get_waiter("services_inactive").wait(cluster=cluster, services=["web"],
                                             WaiterConfig=FAST_WAITER)


def test_task_set_tags_tokens_and_describe(ecs, cluster, busybox_image):
    external_service(ecs, cluster, desired=0)
    definition = register(ecs, busybox_image)
    first = ecs.create_task_set(cluster=cluster, service="web", taskDefinition=definition,
                                clientToken="once")["taskSet"]
    again = ecs.create_task_set(cluster=cluster, service="web", taskDefinition=definition,
                                clientToken="once")["taskSet"]
    assert again["id"] == first["id"] and len(task_sets(ecs, cluster)) == 1
    assert first["scale"] == {"value": 100.0, "unit": "PERCENT"}
    assert first["computedDesiredCount"] == 0

    ecs.tag_resource(resourceArn=first["taskSetArn"], tags=[{"key": "team", "value": "a"}])
    assert ecs.list_tags_for_resource(resourceArn=first["taskSetArn"])["tags"] == [
        {"key": "team", "value": "a"}]
    described = ecs.describe_task_sets(cluster=cluster, service="web", taskSets=[first["id"]],
                                       include=["TAGS"])["taskSets"][0]
    assert described["tags"] == [{"key": "team", "value": "a"}]
    assert "tags" not in task_sets(ecs, cluster, first["id"])[0]
    ecs.untag_resource(resourceArn=first["taskSetArn"], tagKeys=["team"])
    assert ecs.list_tags_for_resource(resourceArn=first["taskSetArn"])["tags"] == []
    # Nothing to run: the set is steady at once.
    wait_for(lambda: task_sets(ecs, cluster)[0]["stabilityStatus"],
             lambda status: status == "STEADY_STATE")
    ecs.delete_task_set(cluster=cluster, service="web", taskSet=first["id"], force=True)
    wait_for(lambda: task_sets(ecs, cluster), lambda sets: sets == [])

    # A Fargate set: awsvpc needs its network configuration; the platform version defaults.
    fargate = ecs.register_task_definition(
        family="f", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "main", "image": busybox_image}],
    )["taskDefinition"]["taskDefinitionArn"]
    assert code_of(ecs.create_task_set, cluster=cluster, service="web", taskDefinition=fargate,
                   launchType="FARGATE") == "InvalidParameterException"
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    created = ecs.create_task_set(cluster=cluster, service="web", taskDefinition=fargate,
                                  launchType="FARGATE", networkConfiguration=network)["taskSet"]
    assert created["platformVersion"] == "LATEST" and created["platformFamily"] == "Linux"
    # assignPublicIp is DISABLED when not given, as ECS keeps a service's.
    kept = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "DISABLED"}}
    assert created["networkConfiguration"] == kept
    assert task_sets(ecs, cluster, created["id"])[0]["networkConfiguration"] == kept
    assert code_of(ecs.create_task_set, cluster=cluster, service="web", taskDefinition=fargate,
                   launchType="FARGATE", networkConfiguration=network,
                   platformVersion="9.9.9") == "PlatformUnknownException"
    ecs.delete_service(cluster=cluster, service="web")


def test_task_set_refusals(ecs, cluster, busybox_image):
    definition = register(ecs, busybox_image)
    ecs.create_service(cluster=cluster, serviceName="rolling", desiredCount=0,
                       taskDefinition=definition)
    external_service(ecs, cluster, desired=0)
    create = ecs.create_task_set
    assert code_of(create, cluster=cluster, service="rolling",
                   taskDefinition=definition) == "InvalidParameterException"
    assert code_of(create, cluster=cluster, service="nope",
                   taskDefinition=definition) == "ServiceNotFoundException"
    assert code_of(create, cluster="nope", service="web",
                   taskDefinition=definition) == "ClusterNotFoundException"
    assert code_of(create, cluster=cluster, service="web",
                   taskDefinition="missing:1") == "ClientException"
    for bad in ({"scale": {"value": 101, "unit": "PERCENT"}},
                {"scale": {"value": -1, "unit": "PERCENT"}},
                {"launchType": "EC2", "capacityProviderStrategy": [
                    {"capacityProvider": "FARGATE", "weight": 1}]},
                {"platformVersion": "1.4.0"},  # EC2
                {"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}},
                {"tags": [{"key": "aws:reserved", "value": "x"}]}):
        assert code_of(create, cluster=cluster, service="web", taskDefinition=definition,
                       **bad) == "InvalidParameterException", bad

    made = [create(cluster=cluster, service="web", taskDefinition=definition)["taskSet"]
            for _ in range(5)]
    assert code_of(create, cluster=cluster, service="web",
                   taskDefinition=definition) == "InvalidParameterException"  # the sixth
    unknown = made[0]["taskSetArn"].rsplit("/", 1)[0] + "/1234567890123456789"
    for call, params in ((ecs.update_task_set, {"scale": {"value": 5, "unit": "PERCENT"}}),
                         (ecs.delete_task_set, {}),
                         (ecs.update_service_primary_task_set, None)):
        if params is None:
            assert code_of(call, cluster=cluster, service="web",
                           primaryTaskSet=unknown) == "TaskSetNotFoundException"
        else:
            assert code_of(call, cluster=cluster, service="web", taskSet=unknown,
                           **params) == "TaskSetNotFoundException"
    assert code_of(ecs.describe_task_sets, cluster=cluster,
                   service="rolling") == "InvalidParameterException"
    assert code_of(ecs.describe_task_sets, cluster=cluster,
                   service="gone") == "ServiceNotFoundException"
    ecs.delete_service(cluster=cluster, service="web")
    ecs.delete_service(cluster=cluster, service="rolling")
    assert code_of(ecs.describe_task_sets, cluster=cluster,
                   service="web") == "ServiceNotActiveException"


def test_external_services_refuse_what_task_sets_own(ecs, busybox_image):
    ecs.create_cluster(clusterName="ext")
    arn = ecs.register_task_definition(
        family="ext", containerDefinitions=[{"name": "main", "image": busybox_image, "memory": 32}]
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="ext", serviceName="s", desiredCount=0,
                       deploymentController={"type": "EXTERNAL"})
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster="ext", service="s", taskDefinition=arn)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    assert excinfo.value.response["Error"]["Message"].startswith(
        "Unable to update taskDefinition on services with a EXTERNAL deployment controller.")
    ecs.update_service(cluster="ext", service="s", desiredCount=2)
    # Naming the controller again (CloudFormation sends the template's properties) is no change.
    ecs.update_service(cluster="ext", service="s", desiredCount=1,
                       deploymentController={"type": "EXTERNAL"})
    # CreateService takes no task definition with EXTERNAL: the task sets carry it (AWS's words).
    for given, message in ((arn, "TaskDefinition must be blank."),
                           ("", "Family should not be null or empty.")):
        with pytest.raises(ClientError) as excinfo:
            ecs.create_service(cluster="ext", serviceName="t", taskDefinition=given,
                               deploymentController={"type": "EXTERNAL"})
        assert excinfo.value.response["Error"] == {"Code": "InvalidParameterException",
                                                   "Message": message}
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    missing = ecs.describe_services(cluster="ext", services=["t"])["failures"]
    assert missing[0]["reason"] == "MISSING"
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster="ext", serviceName="d", schedulingStrategy="DAEMON",
                           deploymentController={"type": "EXTERNAL"})
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_services_deployment_controller_is_not_changed_in_silence(ecs, busybox_image):
    """UpdateService takes a deploymentController; moving a service to another controller is
    not emulated, so it is refused rather than ignored, and the same one is no change."""
    ecs.create_cluster(clusterName="ctl")
    arn = ecs.register_task_definition(
        family="ctl", containerDefinitions=[{"name": "main", "image": busybox_image, "memory": 32}]
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="ctl", serviceName="s", desiredCount=0, taskDefinition=arn)
    ecs.update_service(cluster="ctl", service="s", deploymentController={"type": "ECS"})
    for other in ("EXTERNAL", "CODE_DEPLOY"):
        with pytest.raises(ClientError) as excinfo:
            ecs.update_service(cluster="ctl", service="s", deploymentController={"type": other})
        assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
        assert "not emulated" in excinfo.value.response["Error"]["Message"]
    service = ecs.describe_services(cluster="ctl", services=["s"])["services"][0]
    assert service["deploymentController"] == {"type": "ECS"}
    # Task sets are the EXTERNAL controller's: every task set call on this service is refused
    # in AWS's words (as `aws ecs describe-task-sets` users report them).
    task_set = service["serviceArn"].replace(":service/", ":task-set/") + "/ecs-svc/1234"
    for call, params in ((ecs.create_task_set, {"taskDefinition": arn}),
                         (ecs.describe_task_sets, {}),
                         (ecs.update_task_set, {"taskSet": task_set,
                                                "scale": {"value": 50, "unit": "PERCENT"}}),
                         (ecs.delete_task_set, {"taskSet": task_set}),
                         (ecs.update_service_primary_task_set, {"primaryTaskSet": task_set})):
        with pytest.raises(ClientError) as excinfo:
            call(cluster="ctl", service="s", **params)
        assert excinfo.value.response["Error"] == {
            "Code": "InvalidParameterException",
            "Message": "Amazon ECS only supports task set management on services configured to "
                       "use external deployment controllers."}, call
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster="ctl", serviceName="cd", desiredCount=0, taskDefinition=arn,
                           deploymentController={"type": "CODE_DEPLOY"})
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
