"""Resources as the CDK's constructs write them, next to a stack's ECS ones: an SSM parameter
that names none (`ssm.StringParameter`), a Cloud Map namespace and service whose ARN a service's
`ServiceRegistries` names (`cloudMapOptions`), made, updated and deleted through CloudFormation."""

import json
import re

import pytest
from botocore.exceptions import ClientError

from tests.test_cloudformation_deploy import outputs
from tests.test_cloudformation_ecs import SERVE, status, template


def test_an_ssm_parameter_without_a_name_gets_one_and_keeps_it(clean_emulator):
    cfn, ssm = clean_emulator.client("cloudformation"), clean_emulator.client("ssm")
    body = {"Resources": {"Secret": {"Type": "AWS::SSM::Parameter",
                                     "Properties": {"Type": "String", "Value": "one"}}},
            "Outputs": {"Name": {"Value": {"Ref": "Secret"}}}}
    cfn.create_stack(StackName="ssm-param", TemplateBody=json.dumps(body))
    assert status(cfn, "ssm-param") == "CREATE_COMPLETE"
    name = outputs(cfn, "ssm-param")["Name"]
    assert re.fullmatch(r"CFN-Secret-[A-Za-z0-9]{12}", name)  # as AWS's handler names it
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "one"

    body["Resources"]["Secret"]["Properties"]["Value"] = "two"  # "No interruption": same name
    cfn.update_stack(StackName="ssm-param", TemplateBody=json.dumps(body))
    assert status(cfn, "ssm-param") == "UPDATE_COMPLETE"
    assert outputs(cfn, "ssm-param")["Name"] == name
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "two"

    cfn.delete_stack(StackName="ssm-param")
    assert ssm.describe_parameters()["Parameters"] == []


def cloud_map_template(image: str, description: str = "web tasks") -> dict:
    """What the CDK writes for `Cluster.addDefaultCloudMapNamespace` and a FargateService's
    `cloudMapOptions` (its A records), trimmed to what matters."""
    return {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Namespace": {"Type": "AWS::ServiceDiscovery::PrivateDnsNamespace", "Properties": {
            "Name": "shapes.local", "Vpc": {"Ref": "Vpc"}}},
        "Registry": {"Type": "AWS::ServiceDiscovery::Service", "Properties": {
            "Name": "web", "NamespaceId": {"Fn::GetAtt": ["Namespace", "Id"]},
            "Description": description,
            "DnsConfig": {"DnsRecords": [{"TTL": 60, "Type": "A"}],
                          "NamespaceId": {"Fn::GetAtt": ["Namespace", "Id"]},
                          "RoutingPolicy": "MULTIVALUE"},
            "HealthCheckCustomConfig": {"FailureThreshold": 1}}},
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "NetworkMode": "awsvpc", "Cpu": "256", "Memory": "512",
            "RequiresCompatibilities": ["FARGATE"],
            "ContainerDefinitions": [{"Name": "main", "Image": image, "Command": SERVE}]}},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDef"},
            "DesiredCount": 1, "LaunchType": "FARGATE",
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}},
            "ServiceRegistries": [{"RegistryArn": {"Fn::GetAtt": ["Registry", "Arn"]}}]}}},
        "Outputs": {
            "NamespaceRef": {"Value": {"Ref": "Namespace"}},
            "NamespaceArn": {"Value": {"Fn::GetAtt": ["Namespace", "Arn"]}},
            "HostedZoneId": {"Value": {"Fn::GetAtt": ["Namespace", "HostedZoneId"]}},
            "RegistryRef": {"Value": {"Ref": "Registry"}},
            "RegistryArn": {"Value": {"Fn::GetAtt": ["Registry", "Arn"]}},
            "RegistryName": {"Value": {"Fn::GetAtt": ["Registry", "Name"]}}}}


@pytest.mark.docker
def test_a_stacks_cloud_map_namespace_and_service_register_its_ecs_tasks(clean_emulator,
                                                                        busybox_image):
    cfn, sd = clean_emulator.client("cloudformation"), clean_emulator.client("servicediscovery")
    cfn.create_stack(StackName="map", TemplateBody=json.dumps(cloud_map_template(busybox_image)))
    assert status(cfn, "map") == "CREATE_COMPLETE"
    out = outputs(cfn, "map")
    namespace = sd.get_namespace(Id=out["NamespaceRef"])["Namespace"]  # Ref: the ID
    assert (namespace["Name"], namespace["Type"], namespace["Arn"]) == (
        "shapes.local", "DNS_PRIVATE", out["NamespaceArn"])
    assert namespace["Properties"]["DnsProperties"]["HostedZoneId"].endswith(
        out["HostedZoneId"])
    registry = sd.get_service(Id=out["RegistryRef"])["Service"]
    assert (registry["Arn"], registry["Name"], out["RegistryName"]) == (
        out["RegistryArn"], "web", "web")
    assert registry["NamespaceId"] == namespace["Id"]
    instances = sd.list_instances(ServiceId=registry["Id"])["Instances"]
    assert len(instances) == 1 and instances[0]["Attributes"]["AWS_INSTANCE_IPV4"]

    body = cloud_map_template(busybox_image, description="the web tasks")  # no interruption
    cfn.update_stack(StackName="map", TemplateBody=json.dumps(body))
    assert status(cfn, "map") == "UPDATE_COMPLETE"
    assert outputs(cfn, "map")["RegistryRef"] == registry["Id"]
    assert sd.get_service(Id=registry["Id"])["Service"]["Description"] == "the web tasks"

    cfn.delete_stack(StackName="map")
    assert sd.list_services()["Services"] == []
    assert sd.list_namespaces()["Namespaces"] == []


@pytest.mark.parametrize("target, message", [
    ("Nope", "Template format error: Unresolved resource dependencies [Nope] in the Outputs "
             "block of the template"),
    ("Acl", "Template error: resource Acl is of type AWS::WAFv2::IPSet, which this emulator's "
            "CloudFormation does not model"),
])
def test_an_output_whose_attribute_cannot_be_given_is_refused_in_words(clean_emulator,
                                                                       target, message):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    body = {"Resources": {
        "Acl": {"Type": "AWS::WAFv2::IPSet", "Properties": {
            "Scope": "REGIONAL", "IPAddressVersion": "IPV4", "Addresses": []}},
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "outs"}}},
        "Outputs": {"A": {"Value": {"Fn::GetAtt": [target, "Arn"]}}}}
    with pytest.raises(ClientError) as refused:
        cfn.create_stack(StackName="outs", TemplateBody=json.dumps(body))
    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ValidationError", 400)
    assert error["Error"]["Message"].startswith(message)
    assert ecs.describe_clusters(clusters=["outs"])["clusters"] == []  # nothing was made


@pytest.mark.docker
def test_a_service_without_a_desired_count_starts_one_task_and_keeps_its_count(clean_emulator,
                                                                              busybox_image):
    """The CDK leaves DesiredCount out (its removeDefaultDesiredCount flag, on in new apps): the
    service starts with 1, and an update without one keeps what it has (scaled since)."""
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    body = template(busybox_image, cluster_name="counted")
    del body["Resources"]["Service"]["Properties"]["DesiredCount"]
    cfn.create_stack(StackName="counted", TemplateBody=json.dumps(body))
    assert status(cfn, "counted") == "CREATE_COMPLETE"
    name = outputs(cfn, "counted")["ServiceName"]
    service = ecs.describe_services(cluster="counted", services=[name])["services"][0]
    assert (service["desiredCount"], service["runningCount"]) == (1, 1)

    ecs.update_service(cluster="counted", service=name, desiredCount=2)  # as autoscaling would
    body["Resources"]["Service"]["Properties"]["Tags"] = [{"Key": "team", "Value": "b"}]
    cfn.update_stack(StackName="counted", TemplateBody=json.dumps(body))
    assert status(cfn, "counted") == "UPDATE_COMPLETE"
    assert ecs.describe_services(cluster="counted", services=[name])["services"][0][
        "desiredCount"] == 2
    cfn.delete_stack(StackName="counted")


def _namespaces(names: dict) -> dict:
    """Private DNS namespaces in one VPC: logical id -> Name."""
    resources = {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.1.0.0/16"}}}
    for logical, name in names.items():
        resources[logical] = {"Type": "AWS::ServiceDiscovery::PrivateDnsNamespace",
                              "Properties": {"Name": name, "Vpc": {"Ref": "Vpc"}}}
    return {"Resources": resources}


def test_a_vpc_holds_several_private_namespaces_of_distinct_names(clean_emulator):
    cfn, sd = clean_emulator.client("cloudformation"), clean_emulator.client("servicediscovery")
    cfn.create_stack(StackName="ns-two", TemplateBody=json.dumps(
        _namespaces({"One": "one.local", "Two": "two.local"})))
    assert status(cfn, "ns-two") == "CREATE_COMPLETE"
    assert sorted(n["Name"] for n in sd.list_namespaces()["Namespaces"]) == [
        "one.local", "two.local"]

    # A Name change replaces the namespace: the new one is made in the VPC beside the old.
    cfn.update_stack(StackName="ns-two", TemplateBody=json.dumps(
        _namespaces({"One": "uno.local", "Two": "two.local"})))
    assert status(cfn, "ns-two") == "UPDATE_COMPLETE"
    assert sorted(n["Name"] for n in sd.list_namespaces()["Namespaces"]) == [
        "two.local", "uno.local"]

    route53 = clean_emulator.client("route53")  # each DNS namespace's zone goes with it
    assert len(route53.list_hosted_zones()["HostedZones"]) == 2

    cfn.delete_stack(StackName="ns-two")
    assert sd.list_namespaces()["Namespaces"] == []
    assert route53.list_hosted_zones()["HostedZones"] == []


def test_two_private_namespaces_of_one_name_in_one_vpc_are_refused_in_words(clean_emulator):
    cfn = clean_emulator.client("cloudformation")
    cfn.create_stack(StackName="ns-same", TemplateBody=json.dumps(
        _namespaces({"One": "same.local", "Two": "same.local"})))
    assert status(cfn, "ns-same") == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason", "") for e in
               cfn.describe_stack_events(StackName="ns-same")["StackEvents"]]
    assert any(re.search(r"A namespace named same\.local already exists in VPC vpc-\w+", r)
               for r in reasons), reasons


def test_an_output_of_an_undeclared_condition_is_refused_in_words(clean_emulator):
    """It crashed moto (a KeyError: a 500 the SDKs retried)."""
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    body = {"Conditions": {"Yes": {"Fn::Equals": ["a", "a"]}},
            "Resources": {"Cluster": {"Type": "AWS::ECS::Cluster",
                                      "Properties": {"ClusterName": "outs-cond"}}},
            "Outputs": {"A": {"Condition": "Nope", "Value": {"Ref": "Cluster"}},
                        "B": {"Condition": "Yes", "Value": {"Ref": "Cluster"}}}}
    with pytest.raises(ClientError) as refused:
        cfn.create_stack(StackName="outs-cond", TemplateBody=json.dumps(body))
    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ValidationError", 400)
    assert error["Error"]["Message"] == (
        "Template format error: Unresolved condition dependencies [Nope] in the Outputs block "
        "of the template")
    assert ecs.describe_clusters(clusters=["outs-cond"])["clusters"] == []
