"""ECS's checks of a service's target groups against ELBv2 (moto's), without containers: a load
balancer that forwards to a group by a listener ModifyListener or ModifyRule changed counts, one
whose listener or rule was deleted no longer does (nor does DescribeTargetGroups name it), and a
check made before moto ever loaded neither loads it nor finds a group."""

import pytest
from botocore.exceptions import ClientError

from emulator.app import create_app
from emulator.aws.context import RequestContext
from emulator.aws.errors import AwsError
from emulator.cloudformation.resource import EXTENSION
from emulator.config import Settings

CLUSTER = "groups"
BRIDGE = {"family": "web", "networkMode": "bridge", "containerDefinitions": [
    {"name": "main", "image": "busybox", "memory": 64,
     "portMappings": [{"containerPort": 8080, "hostPort": 0}]}]}


def balancer_of(target: str) -> list[dict]:
    return [{"targetGroupArn": target, "containerName": "main", "containerPort": 8080}]


@pytest.fixture
def elb(clean_emulator):
    """An ALB whose listener forwards to the first of three instance target groups; the
    ELBv2 client, the listener, and the groups."""
    ec2, elbv2 = clean_emulator.client("ec2"), clean_emulator.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
               for i, zone in ((1, "a"), (2, "b"))]
    groups = [elbv2.create_target_group(Name=f"tg{i}", Protocol="HTTP", Port=8080, VpcId=vpc,
                                        TargetType="instance")["TargetGroups"][0]
              ["TargetGroupArn"] for i in range(3)]
    balancer = elbv2.create_load_balancer(Name="lb", Subnets=subnets)["LoadBalancers"][0][
        "LoadBalancerArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": groups[0]}])["Listeners"][0][
        "ListenerArn"]
    return elbv2, listener, groups


def test_groups_a_modified_listener_or_rule_forwards_to_are_taken(elb, ecs, cluster):
    """ModifyListener (to one group, or several by a forward config) and ModifyRule point a
    load balancer at groups: CreateService and UpdateService take them, as ECS does."""
    elbv2, listener, (first, second, third) = elb
    ecs.register_task_definition(**BRIDGE)
    rule = elbv2.create_rule(
        ListenerArn=listener, Priority=1,
        Conditions=[{"Field": "path-pattern", "Values": ["/a"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": first}])["Rules"][0]["RuleArn"]
    with pytest.raises(ClientError) as excinfo:  # nothing forwards to it yet
        ecs.create_service(cluster=cluster, serviceName="s", taskDefinition="web",
                           desiredCount=0, loadBalancers=balancer_of(second))
    assert "does not have an associated load balancer" in excinfo.value.response["Error"][
        "Message"]

    elbv2.modify_listener(ListenerArn=listener, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": second}])
    ecs.create_service(cluster=cluster, serviceName="s", taskDefinition="web", desiredCount=0,
                       loadBalancers=balancer_of(second))

    elbv2.modify_rule(RuleArn=rule, Actions=[{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": first}, {"TargetGroupArn": third}]}}])
    updated = ecs.update_service(cluster=cluster, service="s",
                                 loadBalancers=balancer_of(third))["service"]
    assert updated["loadBalancers"][0]["targetGroupArn"] == third


def test_a_group_names_the_load_balancers_that_forward_to_it_now(elb, ecs, cluster):
    """DescribeTargetGroups' LoadBalancerArns (and its LoadBalancerArn filter) and ECS's check
    follow the listeners and rules, as ELB's do: a second listener names the balancer once, and
    once no rule or listener forwards to a group (deleted), the group has no load balancer
    (moto's own list keeps it)."""
    elbv2, listener, (first, second, _) = elb
    ecs.register_task_definition(**BRIDGE)

    def balancers(group: str) -> list[str]:
        return elbv2.describe_target_groups(TargetGroupArns=[group])["TargetGroups"][0][
            "LoadBalancerArns"]

    def refused(group: str) -> str:
        with pytest.raises(ClientError) as excinfo:
            ecs.create_service(cluster=cluster, serviceName="s", taskDefinition="web",
                               desiredCount=0, loadBalancers=balancer_of(group))
        return excinfo.value.response["Error"]["Message"]

    [balancer] = balancers(first)
    forward = [{"Type": "forward", "TargetGroupArn": second}]
    other = elbv2.create_listener(LoadBalancerArn=balancer, Protocol="HTTP", Port=81,
                                  DefaultActions=forward)["Listeners"][0]["ListenerArn"]
    rule = elbv2.create_rule(ListenerArn=listener, Priority=1, Actions=forward, Conditions=[
        {"Field": "path-pattern", "Values": ["/b"]}])["Rules"][0]["RuleArn"]
    assert balancers(first) == [balancer] and balancers(second) == [balancer]
    assert [g["TargetGroupArn"] for g in elbv2.describe_target_groups(
        LoadBalancerArn=balancer)["TargetGroups"]] == [first, second]

    elbv2.delete_listener(ListenerArn=other)
    assert balancers(second) == [balancer]  # the rule still forwards to it
    elbv2.delete_rule(RuleArn=rule)
    assert balancers(second) == []
    assert "does not have an associated load balancer" in refused(second)
    elbv2.delete_listener(ListenerArn=listener)
    assert balancers(first) == []
    assert "does not have an associated load balancer" in refused(first)


def test_a_check_before_moto_loaded_leaves_it_unloaded():
    """A target group named before anything loaded moto cannot exist: the ECS check refuses it
    as ECS refuses a group it cannot find, and does not import moto under the ECS lock."""
    app = create_app(Settings(keep_resources=True))
    ctx = RequestContext(account="123456789012", region="us-east-1")
    api = app.moto.extensions[EXTENSION].ecs
    api.invoke("CreateCluster", {"clusterName": CLUSTER}, ctx)
    api.invoke("RegisterTaskDefinition", BRIDGE, ctx)
    group = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef"
    with pytest.raises(AwsError) as excinfo:
        api.invoke("CreateService", {"cluster": CLUSTER, "serviceName": "s",
                                     "taskDefinition": "web", "desiredCount": 0,
                                     "loadBalancers": balancer_of(group)}, ctx)
    assert excinfo.value.code == "InvalidParameterException"
    assert str(excinfo.value.message).startswith("Unable to assume role and validate")
    assert not app.moto.loaded


def test_an_entry_without_a_container_or_with_a_classic_name_too_is_refused(elb, ecs, cluster):
    """A loadBalancers entry needs a container name and port ("Container Name can not be
    blank.", ECS's words), and one with a target group takes no loadBalancerName (ECS's words,
    aws/amazon-ecs-cli#211); none of these makes a service."""
    _, _, (first, _, _) = elb
    ecs.register_task_definition(**BRIDGE)
    cases = [
        ({"targetGroupArn": first, "containerPort": 8080}, "Container Name can not be blank."),
        ({"targetGroupArn": first, "containerName": "main"}, "Container Port can not be blank."),
        ({"targetGroupArn": first, "loadBalancerName": "classic", "containerName": "main",
          "containerPort": 8080},
         "loadBalancerName and targetGroupArn cannot both be specified. You must specify either "
         "a loadBalancerName or a targetGroupArn."),
    ]
    for entry, message in cases:
        with pytest.raises(ClientError) as excinfo:
            ecs.create_service(cluster=cluster, serviceName="s", taskDefinition="web",
                               desiredCount=0, loadBalancers=[entry])
        error = excinfo.value.response["Error"]
        assert error["Code"] == "InvalidParameterException"
        assert message in error["Message"]
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert ecs.list_services(cluster=cluster)["serviceArns"] == []


def test_a_kept_entry_made_before_the_checks_does_not_block_a_new_task_definition(
        elb, ecs, cluster, clean_emulator):
    """A service whose entry names both a target group and a Classic Load Balancer (accepted
    before these checks, as a restored one may be) still takes a new task definition:
    UpdateService checks what an entry holds only of the entries it is given."""
    _, _, (first, _, _) = elb
    ecs.register_task_definition(**BRIDGE)
    ecs.create_service(cluster=cluster, serviceName="s", taskDefinition="web", desiredCount=0,
                       loadBalancers=balancer_of(first))
    state = clean_emulator.emulator.engine.state
    with state.lock:
        [service] = [s for store in state.stores() for s in store.services.values()
                     if s.cluster_name == cluster and s.name == "s"]
        service.load_balancers[0]["loadBalancerName"] = "classic"
    second = ecs.register_task_definition(**BRIDGE)["taskDefinition"]["taskDefinitionArn"]
    updated = ecs.update_service(cluster=cluster, service="s", taskDefinition=second)["service"]
    assert updated["taskDefinition"] == second
    # Given again in the request, the entry is checked
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster=cluster, service="s",
                           loadBalancers=[dict(balancer_of(first)[0], loadBalancerName="classic")])
    assert "cannot both be specified" in excinfo.value.response["Error"]["Message"]
