"""CreateService and UpdateService check a serviceConnectConfiguration as ECS does and keep it
on the deployments they make (emulator/ecs/service_connect.py). No containers: every service
here wants none."""

import pytest
from botocore.exceptions import ClientError

CLUSTER = "connect"
IMAGE = "example/app:1"  # never pulled: desiredCount is 0


def _definition(ecs, *port_names) -> str:
    mappings = [{"containerPort": 8080 + i, "name": name} for i, name in enumerate(port_names)]
    return ecs.register_task_definition(
        family="connect", networkMode="bridge",
        containerDefinitions=[{"name": "main", "image": IMAGE, "memory": 64,
                               "portMappings": mappings}],
    )["taskDefinition"]["taskDefinitionArn"]


def _refused(call, **kwargs) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidParameterException"
    return error["Error"]["Message"]


@pytest.fixture
def namespaces(clean_emulator):
    """The Cloud Map namespaces these tests name ("local", "other"); their ARNs by name."""
    cloud_map = clean_emulator.client("servicediscovery")
    for name in ("local", "other"):
        cloud_map.create_http_namespace(Name=name)
    return {n["Name"]: n["Arn"] for n in cloud_map.list_namespaces()["Namespaces"]}


def _deployments(ecs, cluster):
    return ecs.describe_services(cluster=cluster, services=["web"])["services"][0]["deployments"]


@pytest.mark.parametrize("configuration, words", [
    ({"enabled": True, "namespace": "local", "services": [{"portName": "nope"}]}, "'nope'"),
    ({"enabled": True, "services": [{"portName": "http"}]}, "namespace"),
    ({"enabled": True, "namespace": "local",
      "services": [{"portName": "http", "discoveryName": "api"},
                   {"portName": "admin", "discoveryName": "api"}]}, "'api'"),
    # Without a discoveryName the port's name is the discovery name.
    ({"enabled": True, "namespace": "local",
      "services": [{"portName": "http"}, {"portName": "admin", "discoveryName": "http"}]},
     "'http'"),
], ids=["unknown-port", "no-namespace", "repeated-discovery", "repeated-default-discovery"])
@pytest.mark.usefixtures("namespaces")
def test_create_service_refuses_what_ecs_refuses(ecs, cluster, configuration, words):
    message = _refused(ecs.create_service, cluster=cluster, serviceName="web", desiredCount=0,
                       taskDefinition=_definition(ecs, "http", "admin"),
                       serviceConnectConfiguration=configuration)
    assert words in message
    assert ecs.list_services(cluster=cluster)["serviceArns"] == []


@pytest.mark.usefixtures("namespaces")
def test_configuration_is_kept_on_deployments(ecs):
    # The cluster's default namespace stands in for the request's.
    ecs.create_cluster(clusterName="defaults", serviceConnectDefaults={"namespace": "local"})
    first = {"enabled": True, "services": [
        {"portName": "http", "discoveryName": "web",
         "clientAliases": [{"port": 80, "dnsName": "web.local"}]}]}
    ecs.create_service(cluster="defaults", serviceName="web", desiredCount=0,
                       taskDefinition=_definition(ecs, "http"),
                       serviceConnectConfiguration=first)
    [created] = _deployments(ecs, "defaults")
    assert created["serviceConnectConfiguration"] == first
    assert "serviceConnectResources" not in created

    # An update without it keeps it on the new deployment. (With no tasks to drain, the
    # scheduler soon retires the old deployments: only the primary is compared.)
    ecs.update_service(cluster="defaults", service="web", forceNewDeployment=True)
    kept = _deployments(ecs, "defaults")[0]
    assert kept["id"] != created["id"] and kept["serviceConnectConfiguration"] == first

    # A refused update changes nothing; an accepted one makes a deployment that carries it.
    _refused(ecs.update_service, cluster="defaults", service="web",
             serviceConnectConfiguration={"enabled": True, "services": [{"portName": "gone"}]})
    assert _deployments(ecs, "defaults")[0]["id"] == kept["id"]
    second = {"enabled": True, "namespace": "other", "services": [{"portName": "http"}]}
    ecs.update_service(cluster="defaults", service="web", serviceConnectConfiguration=second)
    latest = _deployments(ecs, "defaults")[0]
    assert latest["id"] != kept["id"] and latest["serviceConnectConfiguration"] == second

    # A new task definition must still have the kept configuration's port.
    message = _refused(ecs.update_service, cluster="defaults", service="web",
                       taskDefinition=_definition(ecs, "grpc"))
    assert "'http'" in message


def test_disabled_configuration_needs_no_namespace(ecs, cluster):
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=0,
                       taskDefinition=_definition(ecs, "http"),
                       serviceConnectConfiguration={"enabled": False})
    [deployment] = _deployments(ecs, cluster)
    assert deployment["serviceConnectConfiguration"] == {"enabled": False}


def test_a_clusters_default_namespace_by_name_is_made_in_cloud_map(clean_emulator, ecs):
    cloud_map = clean_emulator.client("servicediscovery")
    cluster = ecs.create_cluster(clusterName="made", serviceConnectDefaults={
        "namespace": "newns"})["cluster"]
    [made] = cloud_map.list_namespaces()["Namespaces"]
    assert (made["Name"], made["Type"]) == ("newns", "HTTP")
    assert made["Id"].startswith("ns-")
    assert cluster["serviceConnectDefaults"] == {"namespace": made["Arn"]}

    # Named again (another cluster, or by its ARN), it is the same namespace.
    other = ecs.create_cluster(clusterName="again", serviceConnectDefaults={
        "namespace": "newns"})["cluster"]
    assert other["serviceConnectDefaults"] == {"namespace": made["Arn"]}
    updated = ecs.update_cluster(cluster="again", serviceConnectDefaults={
        "namespace": made["Arn"]})["cluster"]
    assert updated["serviceConnectDefaults"] == {"namespace": made["Arn"]}
    assert len(cloud_map.list_namespaces()["Namespaces"]) == 1
    # An empty name takes the defaults away.
    cleared = ecs.update_cluster(cluster="again", serviceConnectDefaults={"namespace": ""})
    assert "serviceConnectDefaults" not in cleared["cluster"]

    # An ARN that names no namespace is not made up.
    missing = f"{made['Arn'].rsplit('/', 1)[0]}/ns-doesnotexist0000"
    with pytest.raises(ClientError) as caught:
        ecs.create_cluster(clusterName="nope", serviceConnectDefaults={"namespace": missing})
    assert caught.value.response["Error"]["Code"] == "NamespaceNotFoundException"
    assert ecs.describe_clusters(clusters=["nope"])["clusters"] == []


@pytest.mark.parametrize("namespace", [
    "nosuchns", "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-doesnotexist"])
def test_a_services_namespace_must_exist(ecs, cluster, namespace):
    configuration = {"enabled": True, "namespace": namespace, "services": [{"portName": "http"}]}
    with pytest.raises(ClientError) as caught:
        ecs.create_service(cluster=cluster, serviceName="web", desiredCount=0,
                           taskDefinition=_definition(ecs, "http"),
                           serviceConnectConfiguration=configuration)
    error = caught.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (
        400, "NamespaceNotFoundException")
    assert ecs.list_services(cluster=cluster)["serviceArns"] == []

    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=0,
                       taskDefinition=_definition(ecs, "http"))
    with pytest.raises(ClientError) as caught:
        ecs.update_service(cluster=cluster, service="web",
                           serviceConnectConfiguration=configuration)
    assert caught.value.response["Error"]["Code"] == "NamespaceNotFoundException"
