"""Services meet the AWS services around them, on real containers: ELBv2 targets, Cloud Map
instances and EventBridge events (through a rule to an SQS queue), all in moto."""

import json
import re

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.busybox import SERVE
from tests.waiting import wait_for

pytestmark = pytest.mark.docker

FAST_WAITER = {"Delay": 1, "MaxAttempts": 90}
SUBNETS = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def cluster(ecs):
    ecs.create_cluster(clusterName="near")
    yield "near"
    stop_everything(ecs, "near")


def stop_everything(ecs, cluster):
    for arn in ecs.list_services(cluster=cluster)["serviceArns"]:
        ecs.delete_service(cluster=cluster, service=arn, force=True)
    for arn in ecs.list_tasks(cluster=cluster)["taskArns"]:
        ecs.stop_task(cluster=cluster, task=arn)
    wait_for(lambda: ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"]
             + ecs.list_tasks(cluster=cluster)["taskArns"],
             lambda arns: all(t["lastStatus"] == "STOPPED" for t in describe(ecs, cluster, arns)),
             timeout=90)


def describe(ecs, cluster, arns):
    tasks = []
    for start in range(0, len(arns), 100):
        tasks += ecs.describe_tasks(cluster=cluster, tasks=arns[start:start + 100])["tasks"]
    return tasks


def fargate_definition(ecs, image, family="web", **extra):
    container = {"name": "main", "image": image, "memory": 64, "command": SERVE,
                 "portMappings": [{"containerPort": 8080}], **extra}
    return ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]


def bridge_definition(ecs, image, family="web"):
    container = {"name": "main", "image": image, "memory": 64, "command": SERVE,
                 "portMappings": [{"containerPort": 8080, "hostPort": 0}]}
    return ecs.register_task_definition(
        family=family, networkMode="bridge",
        containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]


def target_group(emulator, target_type, *, listener=True):
    """A target group in a new VPC; with `listener`, an ALB's listener forwards to it (ECS
    takes only a target group a load balancer uses)."""
    ec2, elbv2 = emulator.client("ec2"), emulator.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    arn = elbv2.create_target_group(
        Name=f"web-{target_type}", Protocol="HTTP", Port=8080, VpcId=vpc,
        TargetType=target_type)["TargetGroups"][0]["TargetGroupArn"]
    if listener:
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                     AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
                   for i, zone in ((1, "a"), (2, "b"))]
        balancer = elbv2.create_load_balancer(Name=f"lb-{target_type}", Subnets=subnets)[
            "LoadBalancers"][0]["LoadBalancerArn"]
        elbv2.create_listener(LoadBalancerArn=balancer, Protocol="HTTP", Port=80,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}])
    return arn


def targets(elbv2, arn):
    return {(d["Target"]["Id"], d["Target"]["Port"]): d["TargetHealth"]["State"]
            for d in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]}


def running_tasks(ecs, cluster, service="web"):
    arns = ecs.list_tasks(cluster=cluster, serviceName=service)["taskArns"]
    return [t for t in describe(ecs, cluster, arns) if t["lastStatus"] == "RUNNING"]


def private_ip(task):
    return task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]


def messages(ecs, cluster, service="web"):
    return [e["message"] for e in ecs.describe_services(cluster=cluster, services=[service])
            ["services"][0]["events"]]


def test_ip_targets_follow_the_tasks_through_a_rolling_update(clean_emulator, ecs, cluster,
                                                              busybox_image):
    elbv2 = clean_emulator.client("elbv2")
    group = target_group(clean_emulator, "ip")
    balancers = [{"targetGroupArn": group, "containerName": "main", "containerPort": 8080}]
    first = fargate_definition(ecs, busybox_image)
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=2, taskDefinition=first,
                       launchType="FARGATE", networkConfiguration=SUBNETS,
                       loadBalancers=balancers,
                       deploymentConfiguration={"maximumPercent": 200,
                                                "minimumHealthyPercent": 50})
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"],
                                           WaiterConfig=FAST_WAITER)

    def registered_are_running():
        expected = {(private_ip(t), 8080): "healthy" for t in running_tasks(ecs, cluster)}
        return targets(elbv2, group), expected
    seen, expected = wait_for(registered_are_running, lambda pair: pair[0] == pair[1])
    assert len(seen) == 2
    wait_for(lambda: messages(ecs, cluster), lambda ms: sum(
        m.startswith(f"(service web) registered 1 targets in (target-group {group})")
        for m in ms) == 2)
    old_ips = {ip for ip, _ in seen}

    second = fargate_definition(ecs, busybox_image, environment=[{"name": "V", "value": "2"}])
    ecs.update_service(cluster=cluster, service="web", taskDefinition=second)
    wait_for(lambda: ecs.describe_services(cluster=cluster, services=["web"])["services"][0],
             lambda s: len(s["deployments"]) == 1
             and s["deployments"][0]["taskDefinition"] == second and s["runningCount"] == 2,
             timeout=120)
    seen, expected = wait_for(registered_are_running, lambda pair: pair[0] == pair[1])
    assert len(seen) == 2
    assert {t["taskDefinitionArn"] for t in running_tasks(ecs, cluster)} == {second}
    assert not old_ips & {ip for ip, _ in seen}
    wait_for(lambda: messages(ecs, cluster), lambda ms: sum(
        m.startswith(f"(service web) deregistered 1 targets in (target-group {group})")
        for m in ms) == 2)

    ecs.update_service(cluster=cluster, service="web", desiredCount=0)
    wait_for(lambda: targets(elbv2, group), lambda t: t == {})


def test_a_target_is_initial_until_its_tasks_health_check_passes(clean_emulator, ecs, cluster,
                                                                   busybox_image):
    """ECS counts a task behind a load balancer as healthy only once its target is: a task
    whose container health check has not passed yet is an `initial` target (ELB's
    Elb.RegistrationInProgress), not a `healthy` one, and turns `healthy` when it passes."""
    elbv2 = clean_emulator.client("elbv2")
    group = target_group(clean_emulator, "ip")
    ready_later = fargate_definition(
        ecs, busybox_image,
        command=["sh", "-c", "trap 'exit 0' TERM; sleep 4; touch /tmp/ready; "
                 "while true; do sleep 1; done"],
        healthCheck={"command": ["CMD-SHELL", "test -f /tmp/ready"], "interval": 5,
                     "timeout": 2, "retries": 3, "startPeriod": 0})
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=1,
                       taskDefinition=ready_later, launchType="FARGATE",
                       networkConfiguration=SUBNETS,
                       loadBalancers=[{"targetGroupArn": group, "containerName": "main",
                                       "containerPort": 8080}])
    task = wait_for(lambda: running_tasks(ecs, cluster), lambda ts: len(ts) == 1,
                    timeout=60)[0]
    described = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    assert task["healthStatus"] != "HEALTHY"
    assert [(d["Target"]["Id"], d["TargetHealth"]["State"], d["TargetHealth"].get("Reason"))
            for d in described] == [(private_ip(task), "initial", "Elb.RegistrationInProgress")]

    wait_for(lambda: targets(elbv2, group),
             lambda seen: seen == {(private_ip(task), 8080): "healthy"}, timeout=60)
    assert describe(ecs, cluster, [task["taskArn"]])[0]["healthStatus"] == "HEALTHY"


def test_bridge_tasks_are_instance_targets_on_their_host_ports(clean_emulator, ecs, cluster,
                                                               busybox_image):
    elbv2 = clean_emulator.client("elbv2")
    group = target_group(clean_emulator, "instance")
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=2, launchType="EC2",
                       taskDefinition=bridge_definition(ecs, busybox_image),
                       loadBalancers=[{"targetGroupArn": group, "containerName": "main",
                                       "containerPort": 8080}])
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"],
                                           WaiterConfig=FAST_WAITER)
    tasks = running_tasks(ecs, cluster)
    instance_arns = {t["containerInstanceArn"] for t in tasks}
    instance = ecs.describe_container_instances(
        cluster=cluster, containerInstances=list(instance_arns))["containerInstances"][0]
    # Both tasks run on the one local host: one instance id, two host ports.
    expected = {(instance["ec2InstanceId"], t["containers"][0]["networkBindings"][0]["hostPort"])
                for t in tasks}
    assert len(expected) == 2
    assert wait_for(lambda: targets(elbv2, group), lambda t: set(t) == expected) == {
        key: "healthy" for key in expected}

    ecs.update_service(cluster=cluster, service="web", desiredCount=1)
    wait_for(lambda: targets(elbv2, group), lambda t: len(t) == 1 and set(t) < expected)
    ecs.update_service(cluster=cluster, service="web", desiredCount=0)
    wait_for(lambda: targets(elbv2, group), lambda t: t == {})


def test_target_groups_are_checked_as_ecs_checks_them(clean_emulator, ecs, cluster,
                                                     busybox_image):
    """CreateService and UpdateService take a target group that exists, that a load balancer
    uses, and whose target type suits the network mode (ECS's messages)."""
    bare = target_group(clean_emulator, "ip", listener=False)
    instance = target_group(clean_emulator, "instance")
    awsvpc, bridge = fargate_definition(ecs, busybox_image), bridge_definition(ecs, busybox_image,
                                                                                family="b")
    missing = instance.replace("web-instance", "web-gone")
    cases = [
        (awsvpc, bare, f"The target group with targetGroupArn {bare} does not have an "
                       "associated load balancer."),
        (awsvpc, instance, f"The provided target group {instance} has target type instance, "
                           "which is incompatible with the awsvpc network mode specified in the "
                           "task definition."),
        (bridge, missing, "Unable to assume role and validate the specified targetGroupArn."),
    ]
    for definition, group, message in cases:
        network = {"networkConfiguration": SUBNETS} if definition == awsvpc else {}
        with pytest.raises(ClientError) as excinfo:
            ecs.create_service(cluster=cluster, serviceName="web", desiredCount=0,
                               taskDefinition=definition, **network,
                               loadBalancers=[{"targetGroupArn": group, "containerName": "main",
                                               "containerPort": 8080}])
        error = excinfo.value.response["Error"]
        assert (error["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
            "InvalidParameterException", 400)
        assert error["Message"].startswith(message), error["Message"]
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=0, taskDefinition=bridge,
                       loadBalancers=[{"targetGroupArn": instance, "containerName": "main",
                                       "containerPort": 8080}])
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster=cluster, service="web", loadBalancers=[
            {"targetGroupArn": bare, "containerName": "main", "containerPort": 8080}])
    assert "does not have an associated load balancer" in excinfo.value.response["Error"][
        "Message"]


def test_cloud_map_discovers_the_running_tasks(clean_emulator, ecs, cluster, busybox_image):
    # DiscoverInstances goes to data-<endpoint> on AWS; a local endpoint has no such host.
    discovery = clean_emulator.client("servicediscovery",
                                      config=Config(inject_host_prefix=False))
    discovery.create_http_namespace(Name="internal")
    namespace = discovery.list_namespaces()["Namespaces"][0]["Id"]
    registry = discovery.create_service(Name="web", NamespaceId=namespace)["Service"]["Arn"]
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=2, launchType="FARGATE",
                       taskDefinition=fargate_definition(ecs, busybox_image, family="api"),
                       networkConfiguration=SUBNETS,
                       serviceRegistries=[{"registryArn": registry, "port": 8080}])
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"],
                                           WaiterConfig=FAST_WAITER)

    def discovered():
        return {i["InstanceId"]: i["Attributes"] for i in discovery.discover_instances(
            NamespaceName="internal", ServiceName="web")["Instances"]}
    tasks = {t["taskArn"].rsplit("/", 1)[-1]: t for t in running_tasks(ecs, cluster)}
    instances = wait_for(discovered, lambda found: set(found) == set(tasks))
    for task_id, attributes in instances.items():
        assert attributes["AWS_INSTANCE_IPV4"] == private_ip(tasks[task_id])
        assert attributes["AWS_INSTANCE_PORT"] == "8080"
        assert attributes["AVAILABILITY_ZONE"] == tasks[task_id]["availabilityZone"]
        assert attributes["ECS_CLUSTER_NAME"] == cluster
        assert attributes["ECS_SERVICE_NAME"] == "web"
        assert attributes["ECS_TASK_DEFINITION_FAMILY"] == "api"
        assert attributes["REGION"] == "us-east-1"

    ecs.update_service(cluster=cluster, service="web", desiredCount=1)
    left = wait_for(discovered, lambda found: len(found) == 1)
    assert set(left) < set(tasks)
    assert set(left) == {t["taskArn"].rsplit("/", 1)[-1] for t in running_tasks(ecs, cluster)}


def event_queue(emulator, pattern=None):
    """An SQS queue that an EventBridge rule on the default bus sends ECS's events to."""
    sqs, events = emulator.client("sqs"), emulator.client("events")
    url = sqs.create_queue(QueueName="ecs-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    events.put_rule(Name="ecs", EventPattern=json.dumps(pattern or {"source": ["aws.ecs"]}))
    events.put_targets(Rule="ecs", Targets=[{"Id": "queue", "Arn": arn}])
    received = []

    def receive():
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return received
    return receive


def task_events(received, arn):
    return [e["detail"] for e in received
            if e["detail-type"] == "ECS Task State Change" and e["resources"] == [arn]]


def test_events_reach_an_sqs_queue_through_a_rule(clean_emulator, ecs, cluster, busybox_image):
    receive = event_queue(clean_emulator)
    ecs.create_service(cluster=cluster, serviceName="web", desiredCount=1, launchType="EC2",
                       taskDefinition=bridge_definition(ecs, busybox_image))
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=["web"],
                                           WaiterConfig=FAST_WAITER)
    service_arn = ecs.describe_services(cluster=cluster, services=["web"])["services"][0][
        "serviceArn"]
    arn = ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"][0]
    ecs.stop_task(cluster=cluster, task=arn, reason="enough")
    received = wait_for(receive, lambda r: any(
        d["lastStatus"] == "STOPPED" for d in task_events(r, arn)), timeout=60)

    shown = [(d["lastStatus"], d["desiredStatus"]) for d in task_events(received, arn)]
    # a bridge task has no ENI to provision: PENDING first, as on ECS
    assert shown[0] == ("PENDING", "RUNNING") and shown[-1] == ("STOPPED", "STOPPED")
    assert ("RUNNING", "RUNNING") in shown
    assert ("RUNNING", "STOPPED") in shown  # StopTask announced before anything stops
    states = [(d["lastStatus"], d["desiredStatus"], tuple(c["lastStatus"] for c in d["containers"]))
              for d in task_events(received, arn)]
    assert len(states) == len(set(states))  # each change once
    stopped = task_events(received, arn)[-1]
    assert stopped["stopCode"] == "UserInitiated" and stopped["stoppedReason"] == "enough"
    assert stopped["taskArn"] == arn and stopped["group"] == "service:web"
    assert ISO_MS.match(stopped["updatedAt"]) and ISO_MS.match(stopped["stoppedAt"])
    assert stopped["containers"][0]["lastStatus"] == "STOPPED"
    assert "healthStatus" not in stopped
    envelope = next(e for e in received if e["detail-type"] == "ECS Task State Change")
    assert envelope["source"] == "aws.ecs"  # (moto's SQS delivery leaves "account" out)
    assert envelope["region"] == "us-east-1" and envelope["version"] == "0"

    received = wait_for(receive, lambda r: {"SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_STEADY_STATE"}
                        <= {e["detail"].get("eventName") for e in r})
    deployments = [e for e in received if e["detail-type"] == "ECS Deployment State Change"]
    assert [e["detail"]["eventName"] for e in deployments] == [
        "SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"]
    assert all(e["resources"] == [service_arn] for e in deployments)
    completed = deployments[-1]["detail"]
    assert completed["eventType"] == "INFO"
    assert completed["reason"] == f"ECS deployment {completed['deploymentId']} completed."
    actions = [e["detail"] for e in received if e["detail-type"] == "ECS Service Action"]
    assert actions and actions[0]["eventName"] == "SERVICE_STEADY_STATE"
    assert actions[0]["eventType"] == "INFO" and actions[0]["clusterArn"].endswith(":cluster/near")


def test_failed_deployment_and_impaired_starts_are_events(clean_emulator, ecs, cluster,
                                                          busybox_image):
    receive = event_queue(clean_emulator, {"source": ["aws.ecs"], "detail-type": [
        "ECS Deployment State Change", "ECS Service Action"]})
    ecs.create_service(
        cluster=cluster, serviceName="web", desiredCount=1, launchType="EC2",
        taskDefinition=bridge_definition(ecs, busybox_image),
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    wait_for(lambda: ecs.describe_services(cluster=cluster, services=["web"])["services"][0],
             lambda s: s["deployments"][0]["rolloutState"] == "COMPLETED")  # a rollback target
    broken = ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "main", "memory": 64,
                                             "image": "ecs-emulator-test/missing:1"}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service="web", taskDefinition=broken)
    def names(r):
        return [e["detail"]["eventName"] for e in r]
    received = wait_for(receive, lambda r: names(r).count("SERVICE_DEPLOYMENT_COMPLETED") == 2
                        and names(r).count("SERVICE_STEADY_STATE") == 2, timeout=150)

    deployments = [e["detail"] for e in received
                   if e["detail-type"] == "ECS Deployment State Change"]
    assert [d["eventName"] for d in deployments] == [
        "SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED",  # the first one
        "SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_FAILED",  # the broken one
        "SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"]  # the rollback
    first, failed, rollback = deployments[0], deployments[3], deployments[4]
    assert failed["eventType"] == "ERROR" and failed["deploymentId"] == deployments[2][
        "deploymentId"]
    assert failed["reason"].startswith("ECS deployment circuit breaker")
    assert rollback["reason"] == (f"ECS deployment circuit breaker: rolling back to "
                                  f"deploymentId {first['deploymentId']}.")
    actions = [e["detail"] for e in received if e["detail-type"] == "ECS Service Action"]
    impaired = [a for a in actions if a["eventName"] == "SERVICE_TASK_START_IMPAIRED"]
    assert impaired and impaired[0]["eventType"] == "WARN"
