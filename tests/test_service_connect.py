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
def test_create_service_refuses_what_ecs_refuses(ecs, cluster, configuration, words):
    message = _refused(ecs.create_service, cluster=cluster, serviceName="web", desiredCount=0,
                       taskDefinition=_definition(ecs, "http", "admin"),
                       serviceConnectConfiguration=configuration)
    assert words in message
    assert ecs.list_services(cluster=cluster)["serviceArns"] == []


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
