"""Express Mode services through boto3, on real containers: one call makes the service, its load
balancer, target group and listener (moto's ELBv2), its scaling settings and its tasks; the page
is reachable at the ingress path's endpoint; updates roll out; deletion removes it all."""

import pytest
import requests
from botocore.exceptions import ClientError

from waiting import wait_for

ROLE = "arn:aws:iam::123456789012:role/ecsInfrastructureRole"
SERVE = ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www && echo \"rev $REV $(hostname)\" "
         "> /www/index.html && httpd -f -p 8080 -h /www & wait"]
FAST_WAITER = {"Delay": 1, "MaxAttempts": 90}


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def container(image, rev):
    return {"image": image, "containerPort": 8080, "command": SERVE,
            "environment": [{"name": "REV", "value": rev}]}


def pages(url, count):
    return [requests.get(url, timeout=10) for _ in range(count)]


def test_express_service_end_to_end(ecs, clean_emulator, busybox_image):
    elbv2 = clean_emulator.client("elbv2")
    ecs.create_cluster(clusterName="default")
    created = ecs.create_express_gateway_service(
        infrastructureRoleArn=ROLE, serviceName="shop", healthCheckPath="/index.html",
        primaryContainer=container(busybox_image, "1"),
        scalingTarget={"minTaskCount": 2, "maxTaskCount": 4},
        tags=[{"key": "team", "value": "web"}])["service"]
    assert created["status"]["statusCode"] == "ACTIVE"
    config = created["activeConfigurations"][0]
    assert config["scalingTarget"] == {"minTaskCount": 2, "maxTaskCount": 4,
                                       "autoScalingMetric": "AVERAGE_CPU",
                                       "autoScalingTargetValue": 60}
    assert config["cpu"] == "256" and config["memory"] == "512"
    assert config["networkConfiguration"]["subnets"][0].startswith("subnet-")  # default VPC's
    endpoint = config["ingressPaths"][0]["endpoint"]
    assert endpoint == f"{clean_emulator.front_door_url}/express/default/shop/"
    arn = created["serviceArn"]

    # its load balancer, target group and listener exist in ELBv2
    balancers = elbv2.describe_load_balancers()["LoadBalancers"]
    assert len(balancers) == 1 and balancers[0]["Scheme"] == "internet-facing"
    group = elbv2.describe_target_groups()["TargetGroups"][0]
    assert (group["Port"], group["TargetType"], group["HealthCheckPath"]) == \
        (8080, "ip", "/index.html")
    listener = elbv2.describe_listeners(LoadBalancerArn=balancers[0]["LoadBalancerArn"])
    assert listener["Listeners"][0]["DefaultActions"][0]["TargetGroupArn"] == \
        group["TargetGroupArn"]

    # its scaling settings are in Application Auto Scaling
    scaling = clean_emulator.client("application-autoscaling")
    target = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == \
        ("service/default/shop", 2, 4)
    policy = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"][0]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 60.0
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == \
        "ECSServiceAverageCPUUtilization"

    # the tasks run, join the target group, and serve the page through the endpoint in turn
    ecs.get_waiter("services_stable").wait(cluster="default", services=["shop"],
                                           WaiterConfig=FAST_WAITER)
    wait_for(lambda: elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])[
        "TargetHealthDescriptions"], lambda t: len(t) == 2, timeout=30)
    answers = pages(endpoint, 4)
    assert all(a.status_code == 200 and a.text.startswith("rev 1 ") for a in answers)
    assert len({a.text for a in answers}) == 2  # both tasks answered
    assert requests.get(endpoint + "absent", timeout=10).status_code == 404
    # the address the front door had on the API's port sends the browser there (308: a POST too)
    moved = requests.post(f"{clean_emulator.endpoint_url}/_emulator/express/default/shop/a?b=1",
                          data=b"x", allow_redirects=False, timeout=10)
    assert moved.status_code == 308 and moved.headers["Location"] == endpoint + "a?b=1"

    # an update rolls a new revision out, and scales
    updated = ecs.update_express_gateway_service(
        serviceArn=arn, primaryContainer=container(busybox_image, "2"),
        scalingTarget={"minTaskCount": 1})["service"]
    assert updated["targetConfiguration"]["scalingTarget"]["minTaskCount"] == 1
    assert updated["targetConfiguration"]["scalingTarget"]["maxTaskCount"] == 4
    wait_for(lambda: [a.text for a in pages(endpoint, 2)],
             lambda texts: all(t.startswith("rev 2 ") for t in texts), timeout=60)
    ecs.get_waiter("services_stable").wait(cluster="default", services=["shop"],
                                           WaiterConfig=FAST_WAITER)
    described = ecs.describe_express_gateway_service(serviceArn=arn, include=["TAGS"])["service"]
    assert described["tags"] == [{"key": "team", "value": "web"}]
    assert len(described["activeConfigurations"]) == 1
    assert ecs.describe_services(cluster="default", services=["shop"])["services"][0][
        "desiredCount"] == 1
    assert scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0][
        "MinCapacity"] == 1

    deleted = ecs.delete_express_gateway_service(serviceArn=arn)["service"]
    assert deleted["status"]["statusCode"] == "DRAINING"
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []
    assert scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    with pytest.raises(ClientError) as excinfo:
        ecs.update_express_gateway_service(serviceArn=arn, scalingTarget={"minTaskCount": 2})
    assert error_code(excinfo) == "ServiceNotActiveException"
    wait_for(lambda: ecs.describe_express_gateway_service(serviceArn=arn)["service"]["status"],
             lambda s: s["statusCode"] == "INACTIVE", timeout=60)
    assert requests.get(endpoint, timeout=10).status_code == 404


def test_express_service_errors(ecs, busybox_image):
    ecs.create_cluster(clusterName="default")
    with pytest.raises(ClientError) as excinfo:  # neither a container nor a task definition
        ecs.create_express_gateway_service(infrastructureRoleArn=ROLE, serviceName="x")
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.create_express_gateway_service(
            infrastructureRoleArn=ROLE, primaryContainer={"image": busybox_image},
            scalingTarget={"minTaskCount": 3, "maxTaskCount": 2})
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.create_express_gateway_service(
            infrastructureRoleArn=ROLE, cluster="absent", primaryContainer={"image": busybox_image})
    assert error_code(excinfo) == "ClusterNotFoundException"
    with pytest.raises(ClientError) as excinfo:  # Fargate's cpu and memory pairs apply
        ecs.create_express_gateway_service(
            infrastructureRoleArn=ROLE, primaryContainer={"image": busybox_image}, cpu="256",
            memory="4096")
    assert error_code(excinfo) == "ClientException"
    # A UDP port carries no HTTP: the load balancer's target is a TCP mapping, and a task
    # definition with none is refused (the front door never dials a UDP binding's host port).
    udp = ecs.register_task_definition(family="udp", networkMode="awsvpc", containerDefinitions=[
        {"name": "c", "image": busybox_image, "memory": 64,
         "portMappings": [{"containerPort": 8080, "protocol": "udp"}]}])
    with pytest.raises(ClientError) as excinfo:
        ecs.create_express_gateway_service(
            infrastructureRoleArn=ROLE, serviceName="udp",
            taskDefinitionArn=udp["taskDefinition"]["taskDefinitionArn"])
    assert error_code(excinfo) == "InvalidParameterException"
    assert "over TCP" in excinfo.value.response["Error"]["Message"]
    missing = "arn:aws:ecs:us-east-1:123456789012:service/default/nope"
    with pytest.raises(ClientError) as excinfo:
        ecs.describe_express_gateway_service(serviceArn=missing)
    assert error_code(excinfo) == "ResourceNotFoundException"
    for call in (ecs.update_express_gateway_service, ecs.delete_express_gateway_service):
        with pytest.raises(ClientError) as excinfo:
            call(serviceArn=missing)
        assert error_code(excinfo) == "ServiceNotFoundException"
    # an ordinary service is not an Express one
    ecs.register_task_definition(family="plain", containerDefinitions=[
        {"name": "c", "image": busybox_image, "memory": 64}])
    plain = ecs.create_service(serviceName="plain", taskDefinition="plain", desiredCount=0)
    with pytest.raises(ClientError) as excinfo:
        ecs.describe_express_gateway_service(serviceArn=plain["service"]["serviceArn"])
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_an_update_to_another_port_moves_the_load_balancer_there(ecs, clean_emulator,
                                                                  busybox_image):
    """The new revision serves on another container port: the service's load balancer (and so
    the front door) sends its traffic there, not to the old port, which the new tasks do not
    publish."""
    ecs.create_cluster(clusterName="default")
    created = ecs.create_express_gateway_service(
        infrastructureRoleArn=ROLE, serviceName="moved", primaryContainer=container(
            busybox_image, "1"), scalingTarget={"minTaskCount": 1, "maxTaskCount": 1})["service"]
    endpoint = created["activeConfigurations"][0]["ingressPaths"][0]["endpoint"]
    arn = created["serviceArn"]
    elsewhere = {**container(busybox_image, "2"), "containerPort": 9090,
                 "command": [SERVE[0], SERVE[1], SERVE[2].replace("8080", "9090")]}
    ecs.update_express_gateway_service(serviceArn=arn, primaryContainer=elsewhere)
    [balancer] = ecs.describe_services(cluster="default", services=["moved"])["services"][0][
        "loadBalancers"]
    assert balancer["containerPort"] == 9090
    wait_for(lambda: requests.get(endpoint, timeout=10),
             lambda page: page.status_code == 200 and page.text.startswith("rev 2 "),
             timeout=90)
    ecs.delete_express_gateway_service(serviceArn=arn)
