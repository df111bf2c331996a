"""ARNs of another account or region, through boto3 over real HTTP: ECS never takes one for the
caller's own resource of the same name. Another region's is refused ("Invalid Region in ARN",
InvalidParameterException, as ECS answers); another account's names nothing here (not found, or a
MISSING failure naming the ARN as given). The rule lives in emulator/ecs/arns.resource_in."""

import pytest
from botocore.exceptions import ClientError

from tests.busybox import register
from tests.waiting import wait_for_task

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "999999999999"
CLUSTER = "dev"


def arn(resource: str, *, account: str = ACCOUNT, region: str = "us-east-1") -> str:
    return f"arn:aws:ecs:{region}:{account}:{resource}"


def refused(call, code: str, **kwargs) -> str:
    """The call's error code is `code`; its message."""
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    error = excinfo.value.response["Error"]
    assert error["Code"] == code, error
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Message"]


def invalid_region(call, **kwargs) -> None:
    assert refused(call, "InvalidParameterException", **kwargs) == "Invalid Region in ARN"


@pytest.fixture
def service(ecs, cluster, busybox_image):
    """Service "w" of cluster "dev", with no tasks (desired 0): nothing runs."""
    definition = register(ecs, busybox_image)
    ecs.create_service(cluster=cluster, serviceName="w", taskDefinition=definition,
                       desiredCount=0)
    return "w"


def test_a_cluster_arn_of_another_account_or_region_is_not_ours(ecs, cluster):
    foreign = arn(f"cluster/{CLUSTER}", account=OTHER_ACCOUNT)
    described = ecs.describe_clusters(clusters=[CLUSTER, foreign])
    assert [c["clusterName"] for c in described["clusters"]] == [CLUSTER]
    assert described["failures"] == [{"arn": foreign, "reason": "MISSING"}]
    refused(ecs.update_cluster_settings, "ClusterNotFoundException", cluster=foreign,
            settings=[{"name": "containerInsights", "value": "enabled"}])
    refused(ecs.delete_cluster, "ClusterNotFoundException", cluster=foreign)
    invalid_region(ecs.describe_clusters, clusters=[arn(f"cluster/{CLUSTER}", region="eu-west-1")])
    invalid_region(ecs.delete_cluster, cluster=arn(f"cluster/{CLUSTER}", region="ap-south-1"))
    # Ours, by name and by its own ARN, is still there.
    assert ecs.describe_clusters(clusters=[arn(f"cluster/{CLUSTER}")])["clusters"][0][
        "status"] == "ACTIVE"


def test_a_service_is_not_changed_through_another_accounts_or_regions_arn(ecs, service):
    refused(ecs.update_service, "ClusterNotFoundException",
            cluster=arn(f"cluster/{CLUSTER}", account=OTHER_ACCOUNT), service=service,
            desiredCount=1)
    invalid_region(ecs.delete_service, cluster=arn(f"cluster/{CLUSTER}", region="ap-south-1"),
                   service=service, force=True)
    refused(ecs.update_service, "ServiceNotFoundException", cluster=CLUSTER,
            service=arn(f"service/{CLUSTER}/{service}", account=OTHER_ACCOUNT), desiredCount=1)
    invalid_region(ecs.delete_service, cluster=CLUSTER,
                   service=arn(f"service/{CLUSTER}/{service}", region="eu-west-1"), force=True)
    # Another cluster's service ARN names no service of this one.
    refused(ecs.delete_service, "ServiceNotFoundException", cluster=CLUSTER,
            service=arn(f"service/prod/{service}"), force=True)

    [ours] = ecs.describe_services(cluster=CLUSTER, services=[service])["services"]
    assert (ours["status"], ours["desiredCount"]) == ("ACTIVE", 0)


def test_describe_services_names_another_accounts_arn_as_missing(ecs, service):
    foreign = arn(f"service/{CLUSTER}/{service}", account=OTHER_ACCOUNT)
    other_cluster = arn(f"service/prod/{service}")
    described = ecs.describe_services(
        cluster=CLUSTER, services=[arn(f"service/{CLUSTER}/{service}"), foreign, other_cluster])
    assert [s["serviceName"] for s in described["services"]] == [service]
    assert described["failures"] == [{"arn": foreign, "reason": "MISSING"},
                                     {"arn": other_cluster, "reason": "MISSING"}]
    invalid_region(ecs.describe_services, cluster=CLUSTER,
                   services=[arn(f"service/{CLUSTER}/{service}", region="eu-west-1")])


def test_a_task_is_not_found_or_stopped_by_another_accounts_arn(ecs, cluster, busybox_image):
    definition = register(ecs, busybox_image)
    task_arn = ecs.run_task(cluster=cluster, taskDefinition=definition)["tasks"][0]["taskArn"]
    try:
        foreign = task_arn.replace(f":{ACCOUNT}:", f":{OTHER_ACCOUNT}:")
        described = ecs.describe_tasks(cluster=cluster, tasks=[task_arn, foreign])
        assert [t["taskArn"] for t in described["tasks"]] == [task_arn]
        assert described["failures"] == [{"arn": foreign, "reason": "MISSING"}]
        refused(ecs.stop_task, "InvalidParameterException", cluster=cluster, task=foreign)
        invalid_region(ecs.stop_task, cluster=cluster,
                       task=task_arn.replace(":us-east-1:", ":eu-west-1:"))
        invalid_region(ecs.list_tags_for_resource,
                       resourceArn=task_arn.replace(":us-east-1:", ":eu-west-1:"))
        assert ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0][
            "desiredStatus"] == "RUNNING"
    finally:
        ecs.stop_task(cluster=cluster, task=task_arn)
    wait_for_task(ecs, cluster, task_arn, "STOPPED")


def test_container_instances_and_capacity_providers_of_another_account(ecs, cluster):
    instance = arn(f"container-instance/{CLUSTER}/0123456789abcdef0123456789abcdef",
                   account=OTHER_ACCOUNT)
    described = ecs.describe_container_instances(cluster=cluster, containerInstances=[instance])
    assert described["failures"] == [{"arn": instance, "reason": "MISSING"}]
    invalid_region(ecs.describe_container_instances, cluster=cluster,
                   containerInstances=[instance.replace(":us-east-1:", ":eu-west-1:")])

    ecs.create_capacity_provider(name="cp", autoScalingGroupProvider={
        "autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
                               "0b0b0b0b-0000-0000-0000-000000000000:autoScalingGroupName/asg"})
    foreign = arn("capacity-provider/cp", account=OTHER_ACCOUNT)
    described = ecs.describe_capacity_providers(capacityProviders=[foreign, "FARGATE"])
    assert [p["name"] for p in described["capacityProviders"]] == ["FARGATE"]
    assert described["failures"] == [{"arn": foreign, "reason": "MISSING"}]
    invalid_region(ecs.describe_capacity_providers,
                   capacityProviders=[arn("capacity-provider/cp", region="eu-west-1")])


def test_task_definitions_and_tags_of_another_region(ecs, busybox_image):
    definition = register(ecs, busybox_image)
    invalid_region(ecs.describe_task_definition,
                   taskDefinition=definition.replace(":us-east-1:", ":eu-west-1:"))
    refused(ecs.describe_task_definition, "ClientException",
            taskDefinition=definition.replace(f":{ACCOUNT}:", f":{OTHER_ACCOUNT}:"))
    # Launches too, though the revision a launch names is read before its handler runs
    # (access/launch_pins.py): the same 400, nothing run.
    ecs.create_cluster(clusterName=CLUSTER)
    elsewhere = definition.replace(":us-east-1:", ":eu-west-1:")
    invalid_region(ecs.run_task, cluster=CLUSTER, taskDefinition=elsewhere)
    invalid_region(ecs.create_service, cluster=CLUSTER, serviceName="w",
                   taskDefinition=elsewhere, desiredCount=0)
    assert ecs.list_tasks(cluster=CLUSTER)["taskArns"] == []
    invalid_region(ecs.tag_resource, resourceArn=arn(f"cluster/{CLUSTER}", region="eu-west-1"),
                   tags=[{"key": "k", "value": "v"}])
    refused(ecs.tag_resource, "InvalidParameterException",
            resourceArn=arn(f"cluster/{CLUSTER}", account=OTHER_ACCOUNT),
            tags=[{"key": "k", "value": "v"}])
    assert ecs.list_tags_for_resource(resourceArn=arn(f"cluster/{CLUSTER}"))["tags"] == []


def test_ecr_tags_refuse_a_repository_arn_of_another_account_or_region(clean_emulator):
    ecr = clean_emulator.client("ecr")
    ours = ecr.create_repository(repositoryName="app")["repository"]["repositoryArn"]
    for elsewhere in (ours.replace(f":{ACCOUNT}:", f":{OTHER_ACCOUNT}:"),
                      ours.replace(":us-east-1:", ":eu-west-1:")):
        refused(ecr.tag_resource, "InvalidParameterException", resourceArn=elsewhere,
                tags=[{"Key": "k", "Value": "v"}])
    assert ecr.list_tags_for_resource(resourceArn=ours)["tags"] == []


def test_task_sets_and_instance_filters_of_another_account_or_region(ecs, cluster,
                                                                      busybox_image):
    ecs.create_service(cluster=cluster, serviceName="ext", desiredCount=0,
                       deploymentController={"type": "EXTERNAL"})
    task_set = ecs.create_task_set(cluster=cluster, service="ext",
                                   taskDefinition=register(ecs, busybox_image))["taskSet"]
    ours = task_set["taskSetArn"]
    foreign = ours.replace(f":{ACCOUNT}:", f":{OTHER_ACCOUNT}:")
    described = ecs.describe_task_sets(cluster=cluster, service="ext", taskSets=[ours, foreign])
    assert [s["id"] for s in described["taskSets"]] == [task_set["id"]]
    assert described["failures"] == [{"arn": foreign, "reason": "MISSING"}]
    refused(ecs.delete_task_set, "TaskSetNotFoundException", cluster=cluster, service="ext",
            taskSet=foreign, force=True)
    invalid_region(ecs.delete_task_set, cluster=cluster, service="ext",
                   taskSet=ours.replace(":us-east-1:", ":eu-west-1:"), force=True)
    assert ecs.describe_task_sets(cluster=cluster, service="ext", taskSets=[ours])[
        "taskSets"][0]["status"] == "ACTIVE"

    instance = arn(f"container-instance/{CLUSTER}/0123456789abcdef0123456789abcdef")
    assert ecs.list_tasks(cluster=cluster, containerInstance=instance.replace(
        f":{ACCOUNT}:", f":{OTHER_ACCOUNT}:"))["taskArns"] == []
    invalid_region(ecs.list_tasks, cluster=cluster,
                   containerInstance=instance.replace(":us-east-1:", ":eu-west-1:"))
