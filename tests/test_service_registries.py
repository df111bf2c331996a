"""A service's (and a task set's) serviceRegistries as ECS checks them: one registry, a Cloud Map
service's ARN, and a container and port or a port as the network mode and the registry's DNS
records call for. No task is started: every service here has a desired count of 0."""

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

CLUSTER = "registries"
SUBNETS = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
IMAGE = "ecs-emulator-test/busybox:latest"


def definition(ecs, network_mode, family):
    mapping = {"containerPort": 8080} if network_mode == "awsvpc" else {"containerPort": 8080,
                                                                         "hostPort": 0}
    return ecs.register_task_definition(
        family=family, networkMode=network_mode,
        containerDefinitions=[{"name": "main", "image": IMAGE, "memory": 32,
                               "portMappings": [mapping]}])["taskDefinition"]["taskDefinitionArn"]


@pytest.fixture
def registries(clean_emulator):
    """Two Cloud Map services of a private DNS namespace: one with an A record, one with SRV."""
    discovery = clean_emulator.client("servicediscovery", config=Config(inject_host_prefix=False))
    ec2 = clean_emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    discovery.create_private_dns_namespace(Name="internal.local", Vpc=vpc)
    namespace = discovery.list_namespaces()["Namespaces"][0]["Id"]

    def service(name, record):
        return discovery.create_service(Name=name, NamespaceId=namespace, DnsConfig={
            "DnsRecords": [{"Type": record, "TTL": 10}]})["Service"]["Arn"]
    return {"A": service("a-only", "A"), "SRV": service("srv", "SRV")}


def refusal(call, **params) -> str:
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    error = excinfo.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InvalidParameterException", 400)
    return error["Error"]["Message"]


def test_registries_are_held_to_the_network_mode_and_the_records(ecs, registries):
    ecs.create_cluster(clusterName=CLUSTER)
    awsvpc, bridge = definition(ecs, "awsvpc", "vpc"), definition(ecs, "bridge", "br")

    def create(task_definition, registry, name="s"):
        extra = {"networkConfiguration": SUBNETS} if task_definition == awsvpc else {}
        return ecs.create_service(cluster=CLUSTER, serviceName=name, desiredCount=0,
                                  taskDefinition=task_definition, serviceRegistries=[registry],
                                  **extra)

    # An A record has no port: ECS's own words for both ways of giving one.
    assert refusal(create, task_definition=awsvpc, registry={
        "registryArn": registries["A"], "port": 8080}) == (
        "A port was provided but is not required by the specified service registry")
    assert refusal(create, task_definition=awsvpc, registry={
        "registryArn": registries["A"], "containerName": "main", "containerPort": 8080}) == (
        "The values specified for serviceRegistries do not require a value for 'containerPort'. "
        "Remove the value and retry.")
    # awsvpc and SRV: a container and port, or a port, not both (ECS's words).
    assert refusal(create, task_definition=awsvpc, registry={
        "registryArn": registries["SRV"], "port": 8080, "containerName": "main",
        "containerPort": 8080}) == (
        "Specify a value for either 'port' or the 'containerName' and 'containerPort' "
        "combination, but not both. Remove one and retry.")
    bridge_words = ("When specifying 'host' or 'bridge' for networkMode, values for "
                    "'containerName' and 'containerPort' must be specified from the task "
                    f"definition. Registry: {registries['SRV']}")
    # bridge: a container and port of the task definition, an SRV record, no bare port.
    for registry, words in (
            ({"registryArn": registries["SRV"]}, bridge_words),
            ({"registryArn": registries["SRV"], "port": 8080}, bridge_words),
            ({"registryArn": registries["SRV"], "containerName": "main"}, "together"),
            ({"registryArn": registries["SRV"], "containerName": "side", "containerPort": 8080},
             "The container side does not exist in the task definition."),
            ({"registryArn": registries["SRV"], "containerName": "main", "containerPort": 9},
             "did not have a container port 9"),
            ({"registryArn": registries["A"], "containerName": "main", "containerPort": 8080},
             "no SRV record"),
            ({"registryArn": "srv-123", "containerName": "main", "containerPort": 8080},
             "Invalid service registry ARN")):
        assert words in refusal(create, task_definition=bridge, registry=registry)
    assert ecs.list_services(cluster=CLUSTER)["serviceArns"] == []

    good = {"registryArn": registries["SRV"], "containerName": "main", "containerPort": 8080}
    made = create(bridge, good)["service"]
    assert made["serviceRegistries"] == [good]
    assert create(awsvpc, {"registryArn": registries["A"]}, name="vpc")["service"][
        "serviceRegistries"] == [{"registryArn": registries["A"]}]

    # UpdateService: new registries are checked, and so is the kept one against a new task
    # definition (an awsvpc one, where the registry's container and port still serve).
    assert refusal(ecs.update_service, cluster=CLUSTER, service="s", serviceRegistries=[
        {"registryArn": registries["SRV"], "port": 8080}]) == bridge_words
    other = ecs.register_task_definition(
        family="br", networkMode="bridge",
        containerDefinitions=[{"name": "other", "image": IMAGE, "memory": 32}]
    )["taskDefinition"]["taskDefinitionArn"]
    assert "does not exist" in refusal(ecs.update_service, cluster=CLUSTER, service="s",
                                       taskDefinition=other)
    service = ecs.describe_services(cluster=CLUSTER, services=["s"])["services"][0]
    assert service["taskDefinition"] == made["taskDefinition"]
    assert service["serviceRegistries"] == [good]


def test_a_task_sets_registry_is_checked(ecs, registries):
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.create_service(cluster=CLUSTER, serviceName="ext", desiredCount=0,
                       deploymentController={"type": "EXTERNAL"})
    assert refusal(
        ecs.create_task_set, cluster=CLUSTER, service="ext",
        taskDefinition=definition(ecs, "bridge", "br"),
        serviceRegistries=[{"registryArn": registries["SRV"]}]) == (
        "When specifying 'host' or 'bridge' for networkMode, values for 'containerName' and "
        "'containerPort' must be specified from the task definition. "
        f"Registry: {registries['SRV']}")
    assert ecs.describe_task_sets(cluster=CLUSTER, service="ext")["taskSets"] == []


def test_another_accounts_or_regions_registry_is_refused(clean_emulator, registries):
    """Tasks register their addresses in the registry: another account's would take this
    account's tasks (and tell whether its id exists). Only a registry of the caller's own account
    and region is accepted (AWS reaches another's only through a namespace shared with RAM)."""
    theirs = clean_emulator.client("ecs", account="111122223333")
    theirs.create_cluster(clusterName=CLUSTER)
    other_region = registries["A"].replace(":us-east-1:", ":eu-west-1:")
    ours = clean_emulator.client("ecs")
    ours.create_cluster(clusterName=CLUSTER)
    for ecs, arn in ((theirs, registries["A"]), (ours, other_region)):
        message = refusal(ecs.create_service, cluster=CLUSTER, serviceName="s", desiredCount=0,
                          taskDefinition=definition(ecs, "awsvpc", "vpc"),
                          networkConfiguration=SUBNETS, serviceRegistries=[{"registryArn": arn}])
        assert "must be in this account" in message, message
    # The same registry from its own account is accepted.
    ours.create_service(cluster=CLUSTER, serviceName="s", desiredCount=0,
                        taskDefinition=definition(ours, "awsvpc", "vpc"),
                        networkConfiguration=SUBNETS,
                        serviceRegistries=[{"registryArn": registries["A"]}])
