"""Clusters through boto3 over real HTTP."""

import pytest
from botocore.exceptions import ClientError

from tests.busybox import register
from tests.waiting import wait_for, wait_for_task

ACCOUNT = "123456789012"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_create_describe_list_delete(ecs):
    created = ecs.create_cluster(clusterName="alpha", tags=[{"key": "team", "value": "a"}])["cluster"]
    assert created["clusterArn"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/alpha"
    assert created["status"] == "ACTIVE"
    ecs.create_cluster(clusterName="beta")

    assert ecs.list_clusters()["clusterArns"] == [
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/alpha",
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/beta",
    ]
    described = ecs.describe_clusters(clusters=["alpha", created["clusterArn"], "gone"],
                                      include=["TAGS", "STATISTICS"])
    assert [c["clusterName"] for c in described["clusters"]] == ["alpha", "alpha"]
    assert described["clusters"][0]["tags"] == [{"key": "team", "value": "a"}]
    stats = {s["name"]: s["value"] for s in described["clusters"][0]["statistics"]}
    assert stats["runningFargateTasksCount"] == "0"
    assert described["failures"] == [
        {"arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/gone", "reason": "MISSING"}
    ]

    deleted = ecs.delete_cluster(cluster="alpha")["cluster"]
    assert deleted["status"] == "INACTIVE"
    assert ecs.list_clusters()["clusterArns"] == [f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/beta"]
    # A deleted cluster stays describable as INACTIVE, as on ECS.
    assert ecs.describe_clusters(clusters=["alpha"])["clusters"][0]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as excinfo:
        ecs.delete_cluster(cluster="alpha")
    assert error_code(excinfo) == "ClusterNotFoundException"


def test_describe_capacity_providers_names_the_missing_by_arn(ecs):
    ecs.create_capacity_provider(name="cp-found", autoScalingGroupProvider={
        "autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
                               "0b0b0b0b-0000-0000-0000-000000000000:autoScalingGroupName/asg"})
    described = ecs.describe_capacity_providers(capacityProviders=["cp-found", "cp-gone"])
    assert [p["name"] for p in described["capacityProviders"]] == ["cp-found"]
    assert described["failures"] == [{
        "arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:capacity-provider/cp-gone", "reason": "MISSING"}]


def test_describe_without_names_means_default(ecs):
    assert ecs.describe_clusters()["failures"][0]["arn"].endswith(":cluster/default")
    ecs.create_cluster()
    assert ecs.describe_clusters()["clusters"][0]["clusterName"] == "default"


def test_create_is_idempotent(ecs):
    first = ecs.create_cluster(clusterName="same")["cluster"]
    again = ecs.create_cluster(clusterName="same")["cluster"]
    assert first["clusterArn"] == again["clusterArn"]
    assert len(ecs.list_clusters()["clusterArns"]) == 1


@pytest.mark.docker
def test_a_cluster_created_again_is_a_new_cluster(ecs, busybox_image):
    """Its ARN is the deleted one's; the deleted one's stopped tasks, services and container
    instances are not its own (ECS lists and describes none of them)."""
    old = ecs.create_cluster(clusterName="again")["cluster"]["clusterArn"]
    definition = register(ecs, busybox_image, command=["true"], family="again")
    task = ecs.run_task(cluster="again", taskDefinition=definition)["tasks"][0]["taskArn"]
    service = ecs.create_service(cluster="again", serviceName="idle", taskDefinition=definition,
                                 desiredCount=0)["service"]["serviceArn"]
    wait_for_task(ecs, "again", task, "STOPPED")
    ecs.delete_service(cluster="again", service="idle")
    instances = ecs.list_container_instances(cluster="again")["containerInstanceArns"]
    ecs.delete_cluster(cluster="again")

    assert ecs.create_cluster(clusterName="again")["cluster"]["clusterArn"] == old
    assert ecs.list_tasks(cluster="again", desiredStatus="STOPPED")["taskArns"] == []
    described = ecs.describe_tasks(cluster="again", tasks=[task])
    assert described["tasks"] == []
    assert described["failures"] == [{"arn": task, "reason": "MISSING"}]
    services = ecs.describe_services(cluster="again", services=["idle"])
    assert services["services"] == []
    assert services["failures"] == [{"arn": service, "reason": "MISSING"}]
    # The local host registers anew; the instance that left with the old cluster is gone.
    assert instances
    again = ecs.describe_container_instances(cluster="again", containerInstances=instances)
    assert again["containerInstances"] == []
    assert again["failures"] == [{"arn": arn, "reason": "MISSING"} for arn in instances]


def test_settings_and_configuration(ecs):
    ecs.create_cluster(clusterName="c", settings=[{"name": "containerInsights", "value": "enabled"}])
    ecs.update_cluster_settings(cluster="c", settings=[{"name": "containerInsights", "value": "enhanced"}])
    config = {"executeCommandConfiguration": {"logging": "DEFAULT"}}
    ecs.update_cluster(cluster="c", configuration=config)
    cluster = ecs.describe_clusters(clusters=["c"], include=["SETTINGS", "CONFIGURATIONS"])["clusters"][0]
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    assert cluster["configuration"] == config
    # `configuration` is one member: UpdateCluster replaces it whole (AWS documents no merge of
    # its two parts; CloudFormation and Terraform send both every time), and leaves the
    # settings; `settings` change by name and leave the configuration.
    storage = {"managedStorageConfiguration": {"kmsKeyId": "alias/ebs"}}
    updated = ecs.update_cluster(cluster="c", configuration=storage)["cluster"]
    assert updated["configuration"] == storage
    both = {**config, **storage}
    ecs.update_cluster(cluster="c", configuration=both,
                       settings=[{"name": "containerInsights", "value": "disabled"}])
    ecs.update_cluster_settings(cluster="c", settings=[{"name": "containerInsights",
                                                         "value": "enabled"}])
    cluster = ecs.describe_clusters(clusters=["c"],
                                    include=["SETTINGS", "CONFIGURATIONS"])["clusters"][0]
    assert (cluster["configuration"], cluster["settings"]) == (
        both, [{"name": "containerInsights", "value": "enabled"}])
    with pytest.raises(ClientError) as excinfo:
        ecs.update_cluster_settings(cluster="c", settings=[{"name": "containerInsights", "value": "loud"}])
    assert error_code(excinfo) == "InvalidParameterException"


def test_invalid_name_is_refused(ecs):
    with pytest.raises(ClientError) as excinfo:
        ecs.create_cluster(clusterName="has space")
    assert error_code(excinfo) == "InvalidParameterException"


def test_list_clusters_paginates(ecs):
    names = [f"c{i:02d}" for i in range(7)]
    for name in names:
        ecs.create_cluster(clusterName=name)
    seen, token = [], None
    while True:
        page = ecs.list_clusters(maxResults=3, **({"nextToken": token} if token else {}))
        assert len(page["clusterArns"]) <= 3
        seen += page["clusterArns"]
        token = page.get("nextToken")
        if not token:
            break
    assert [arn.rsplit("/", 1)[1] for arn in seen] == names
    paginator = ecs.get_paginator("list_clusters")
    assert sum(len(p["clusterArns"]) for p in paginator.paginate(PaginationConfig={"PageSize": 2})) == 7
    with pytest.raises(ClientError) as excinfo:
        ecs.list_clusters(nextToken="garbage!")
    assert error_code(excinfo) == "InvalidParameterException"


def test_capacity_providers_on_a_cluster(ecs):
    ecs.create_cluster(clusterName="c")
    cluster = ecs.put_cluster_capacity_providers(
        cluster="c",
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[
            {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
            {"capacityProvider": "FARGATE_SPOT", "weight": 3},
        ],
    )["cluster"]
    assert cluster["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert cluster["defaultCapacityProviderStrategy"][1] == {
        "capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0}
    with pytest.raises(ClientError) as excinfo:
        ecs.put_cluster_capacity_providers(
            cluster="c", capacityProviders=["FARGATE"],
            defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    assert error_code(excinfo) == "InvalidParameterException"


def test_describe_clusters_takes_at_most_100_and_tags_take_any_letters(ecs):
    names = [f"c{i}" for i in range(101)]
    with pytest.raises(ClientError) as excinfo:
        ecs.describe_clusters(clusters=names)
    assert error_code(excinfo) == "InvalidParameterException"
    assert len(ecs.describe_clusters(clusters=names[:100])["failures"]) == 100
    ecs.create_cluster(clusterName="t", tags=[
        {"key": "Team name_1.x:/=+-@", "value": "Équipe ü 2"}])
    tagged = ecs.describe_clusters(clusters=["t"], include=["TAGS"])["clusters"][0]
    assert tagged["tags"][0]["value"] == "Équipe ü 2"  # letters and spaces of any script


def test_a_strategy_names_only_the_clusters_capacity_providers(ecs):
    """RunTask, CreateService and UpdateService refuse a strategy of a provider the cluster
    does not have (even FARGATE); with neither strategy nor launch type, EC2 as before."""
    ecs.create_cluster(clusterName="s1")
    ecs.register_task_definition(
        family="f", networkMode="awsvpc", requiresCompatibilities=["FARGATE", "EC2"],
        cpu="256", memory="512",
        containerDefinitions=[{"name": "main", "image": "busybox", "command": ["true"]}])
    fargate = [{"capacityProvider": "FARGATE", "weight": 1}]
    net = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    ecs.create_service(cluster="s1", serviceName="ec2", taskDefinition="f", desiredCount=0,
                       networkConfiguration=net)
    calls = [
        (ecs.run_task, dict(taskDefinition="f", networkConfiguration=net)),
        (ecs.create_service, dict(serviceName="web", taskDefinition="f", desiredCount=0,
                                  networkConfiguration=net)),
        (ecs.update_service, dict(service="ec2")),
    ]
    for call, params in calls:
        with pytest.raises(ClientError) as excinfo:
            call(cluster="s1", capacityProviderStrategy=fargate, **params)
        assert error_code(excinfo) == "InvalidParameterException", call
        assert "not associated with the cluster" in excinfo.value.response["Error"]["Message"]
    described = ecs.describe_services(cluster="s1", services=["ec2"])["services"][0]
    assert described["launchType"] == "EC2" and "capacityProviderStrategy" not in described

    ecs.put_cluster_capacity_providers(cluster="s1", capacityProviders=["FARGATE"],
                                       defaultCapacityProviderStrategy=[])
    service = ecs.create_service(cluster="s1", serviceName="web", taskDefinition="f",
                                 desiredCount=0, networkConfiguration=net,
                                 capacityProviderStrategy=fargate)["service"]
    assert service["capacityProviderStrategy"][0]["capacityProvider"] == "FARGATE"


def test_a_provider_a_services_strategy_names_stays_on_its_cluster(ecs):
    """PutClusterCapacityProviders keeps a provider an ACTIVE or DRAINING service's strategy
    names (no task of it runs yet); once the service is gone, the provider may go."""
    ecs.create_cluster(clusterName="p", capacityProviders=["FARGATE", "FARGATE_SPOT"])
    ecs.register_task_definition(
        family="f", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "main", "image": "busybox"}])
    ecs.create_service(cluster="p", serviceName="spot", taskDefinition="f", desiredCount=0,
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
                       capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT",
                                                  "weight": 1}])
    with pytest.raises(ClientError) as excinfo:
        ecs.put_cluster_capacity_providers(cluster="p", capacityProviders=["FARGATE"],
                                           defaultCapacityProviderStrategy=[])
    assert error_code(excinfo) == "ResourceInUseException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    ecs.delete_service(cluster="p", service="spot")
    wait_for(lambda: ecs.describe_services(cluster="p", services=["spot"])["services"],
             lambda services: services[0]["status"] == "INACTIVE", timeout=20)
    assert ecs.put_cluster_capacity_providers(
        cluster="p", capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[])[
        "cluster"]["capacityProviders"] == ["FARGATE"]


def test_accounts_and_regions_are_apart(clean_emulator):
    default = clean_emulator.client("ecs")
    other_account = clean_emulator.client("ecs", account="111122223333")
    other_region = clean_emulator.client("ecs", region="eu-west-1")
    default.create_cluster(clusterName="mine")
    assert other_account.list_clusters()["clusterArns"] == []
    assert other_region.list_clusters()["clusterArns"] == []
    arn = other_account.create_cluster(clusterName="theirs")["cluster"]["clusterArn"]
    assert arn == "arn:aws:ecs:us-east-1:111122223333:cluster/theirs"


def test_capacity_provider_strategy_spreads_by_base_then_weight():
    from emulator.ecs.capacity_providers import next_provider

    strategy = [{"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                {"capacityProvider": "FARGATE_SPOT", "weight": 3}]
    counts: dict[str, int] = {}
    for _ in range(8):
        chosen = next_provider(strategy, counts)
        counts[chosen] = counts.get(chosen, 0) + 1
    # base 1 on FARGATE, the other 7 split 1:3
    assert counts == {"FARGATE": 2, "FARGATE_SPOT": 6}
    assert next_provider(strategy, {}) == "FARGATE"  # the base comes first


def test_list_services_and_tasks_pages_as_ecs_does(ecs, busybox_image):
    """ListServices gives 10 a page unless told (1 to 100); maxResults out of 1-100 and a
    nextToken that is not one of theirs (garbage; another List's, where there is something to
    page) are InvalidParameterException, for ListTasks too, never a 500."""
    ecs.create_cluster(clusterName="c")
    definition = register(ecs, busybox_image)
    for i in range(12):
        ecs.create_service(cluster="c", serviceName=f"s{i:02d}", desiredCount=0,
                           taskDefinition=definition)
    first = ecs.list_services(cluster="c")
    assert len(first["serviceArns"]) == 10 and first["nextToken"]
    rest = ecs.list_services(cluster="c", nextToken=first["nextToken"])
    assert [a.rsplit("/", 1)[1] for a in first["serviceArns"] + rest["serviceArns"]] == [
        f"s{i:02d}" for i in range(12)] and "nextToken" not in rest
    assert len(ecs.list_services(cluster="c", maxResults=100)["serviceArns"]) == 12
    register(ecs, busybox_image, family="other")
    foreign = ecs.list_task_definitions(maxResults=1)["nextToken"]
    refused = [(ecs.list_services, {"nextToken": foreign})]
    for call in (ecs.list_services, ecs.list_tasks):
        refused += [(call, {"maxResults": 0}), (call, {"maxResults": 101}),
                    (call, {"nextToken": "garbage!"})]
    for call, params in refused:
        with pytest.raises(ClientError) as excinfo:
            call(cluster="c", **params)
        assert error_code(excinfo) == "InvalidParameterException", (call, params)
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
