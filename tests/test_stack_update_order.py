"""A stack update creates and updates in CloudFormation's order, not the template's, without
containers: an added service after the listener it depends on, and after the update of the
cluster whose new capacity provider it uses."""

import json

NETWORK = {"AwsvpcConfiguration": {"Subnets": [{"Ref": "SubnetA"}]}}


def base(providers: list[str]) -> dict:
    return {
        "Cluster": {"Type": "AWS::ECS::Cluster",
                    "Properties": {"ClusterName": "order", "CapacityProviders": providers}},
        "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "order", "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"],
            "Cpu": "256", "Memory": "512", "ContainerDefinitions": [
                {"Name": "main", "Image": "busybox", "PortMappings": [{"ContainerPort": 8080}]}]}},
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1a"}},
        "SubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.2.0/24", "AvailabilityZone": "us-east-1b"}},
    }


def service(**extra) -> dict:
    return {"Type": "AWS::ECS::Service", "Properties": {
        "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDef"}, "DesiredCount": 0,
        "NetworkConfiguration": NETWORK, **extra}}


def update(cfn, resources: dict) -> dict:
    cfn.update_stack(StackName="order", TemplateBody=json.dumps({"Resources": resources}))
    cfn.get_waiter("stack_update_complete").wait(
        StackName="order", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return cfn.describe_stacks(StackName="order")["Stacks"][0]


def test_added_resources_follow_what_they_depend_on(clean_emulator, ecs):
    cfn = clean_emulator.client("cloudformation")
    cfn.create_stack(StackName="order", TemplateBody=json.dumps({"Resources": base(["FARGATE"])}))
    cfn.get_waiter("stack_create_complete").wait(
        StackName="order", WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    # The service comes first in the template; its listener (DependsOn) and load balancer after.
    balanced = base(["FARGATE"])
    balanced = {"Web": service(LaunchType="FARGATE", LoadBalancers=[
        {"TargetGroupArn": {"Ref": "Group"}, "ContainerName": "main", "ContainerPort": 8080}]),
        **balanced}
    balanced["Web"]["DependsOn"] = "Listener"
    balanced.update({
        "Group": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "Port": 8080, "Protocol": "HTTP", "TargetType": "ip", "VpcId": {"Ref": "Vpc"}}},
        "Listener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Balancer"}, "Port": 80, "Protocol": "HTTP",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Group"}}]}},
        "Balancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]}},
    })
    assert update(cfn, balanced)["StackStatus"] == "UPDATE_COMPLETE"
    assert len(ecs.list_services(cluster="order")["serviceArns"]) == 1

    # The cluster gains FARGATE_SPOT in the update that adds a service using it.
    spot = {**balanced, **base(["FARGATE", "FARGATE_SPOT"]),
            "Spot": service(CapacityProviderStrategy=[
                {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}])}
    assert update(cfn, spot)["StackStatus"] == "UPDATE_COMPLETE"
    services = ecs.describe_services(cluster="order", services=ecs.list_services(
        cluster="order")["serviceArns"])["services"]
    assert sorted(s.get("capacityProviderStrategy", [{}])[0].get("capacityProvider", "")
                  for s in services) == ["", "FARGATE_SPOT"]


def test_what_the_template_drops_goes_last_and_retained_resources_stay(clean_emulator):
    """CloudFormation's clean-up phase: a log group taken out of the template is deleted after
    the rest of the update, so an update that fails deletes nothing; one whose DeletionPolicy
    is Retain leaves the stack and stays."""
    cfn, logs = clean_emulator.client("cloudformation"), clean_emulator.client("logs")

    def ours():  # this test's log groups (names a stack makes up, another test's, have no "/")
        return sorted(g["logGroupName"] for g in
                      logs.describe_log_groups(logGroupNamePrefix="/")["logGroups"])

    groups = {"Old": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/old"}},
              "Kept": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain",
                       "Properties": {"LogGroupName": "/kept"}}}
    cfn.create_stack(StackName="order", TemplateBody=json.dumps({"Resources": groups}))
    # The new repository fails (ECR refuses its name).
    bad = {"New": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": "Not OK"}}}
    cfn.update_stack(StackName="order", TemplateBody=json.dumps({"Resources": bad}))
    assert cfn.describe_stacks(StackName="order")["Stacks"][0]["StackStatus"] == \
        "UPDATE_ROLLBACK_COMPLETE"
    assert ours() == ["/kept", "/old"]
    bad["New"]["Properties"]["RepositoryName"] = "order/new"
    assert update(cfn, bad)["StackStatus"] == "UPDATE_COMPLETE"
    assert ours() == ["/kept"]
    logs.delete_log_group(logGroupName="/kept")
