"""Gateways through boto3: their state machines and validation, cluster associations, and the
routes services get through gateway connectors, which carry real traffic to the tasks."""

import socket
import threading

import pytest
import requests
from botocore.exceptions import ClientError

from waiting import wait_for

ROLE = "arn:aws:iam::123456789012:role/ecsInfrastructureRole"
ALB = {"hostSharedAlb": {}}
# httpd serving a page, and at /cgi-bin/stream an answer that never ends (a line every 0.2 s)
SERVE = ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www/cgi-bin && echo routed > /www/index.html"
         " && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\n"
         "while true; do echo line; sleep 0.2; done\\n' > /www/cgi-bin/stream"
         " && chmod +x /www/cgi-bin/stream && httpd -f -p 8080 -h /www & wait"]


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def refused(call, code, **params):
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    assert error_code(excinfo) == code, params


def test_gateway_lifecycle_and_validation(ecs):
    created = ecs.create_gateway(name="edge", infrastructureRoleArn=ROLE, configuration=ALB,
                                 tags=[{"key": "team", "value": "net"}], clientToken="t")
    assert created["status"] == "ACTIVE" and created["gatewayArn"].endswith(":gateway/edge")
    assert ecs.create_gateway(name="edge", infrastructureRoleArn=ROLE, configuration=ALB,
                              clientToken="t")["gatewayArn"] == created["gatewayArn"]
    refused(ecs.create_gateway, "InvalidParameterException", name="edge",
            infrastructureRoleArn=ROLE, configuration=ALB)
    refused(ecs.create_gateway, "InvalidParameterException", name="x",
            infrastructureRoleArn="not-a-role", configuration=ALB)
    refused(ecs.create_gateway, "InvalidParameterException", name="x",
            infrastructureRoleArn=ROLE, configuration={"hostSharedAlb": {"protocol": "HTTP"}})
    refused(ecs.create_gateway, "InvalidParameterException", name="x",
            infrastructureRoleArn=ROLE, configuration={"hostSharedAlb": {"maxAlbCount": 0}})

    gateway = ecs.describe_gateway(gateway="edge")["gateway"]
    alb = gateway["configuration"]["hostSharedAlb"]
    assert (alb["scheme"], alb["port"], alb["protocol"], alb["maxAlbCount"]) == \
        ("internet-facing", 443, "HTTPS", 10)
    assert gateway["deletionProtection"] is True and gateway["accessType"] == "PUBLIC"
    assert gateway["propagateTags"] == "GATEWAY"

    updated = ecs.update_gateway(gateway=created["gatewayArn"], deletionProtection=False,
                                 configuration={"hostSharedAlb": {"maxAlbCount": 3}})
    assert updated["status"] == "UPDATE_IN_PROGRESS"
    refused(ecs.update_gateway, "ClientException", gateway="edge", deletionProtection=True)
    wait_for(lambda: ecs.describe_gateway(gateway="edge")["gateway"]["status"],
             lambda s: s == "UPDATE_COMPLETE", timeout=10)
    assert ecs.describe_gateway(gateway="edge")["gateway"]["configuration"]["hostSharedAlb"][
        "maxAlbCount"] == 3
    assert [g["name"] for g in ecs.list_gateways(status=["UPDATE_COMPLETE"])["gateways"]] == \
        ["edge"]
    assert ecs.list_gateways(names=["other"])["gateways"] == []

    ecs.create_gateway(name="locked", infrastructureRoleArn=ROLE, configuration=ALB)
    refused(ecs.delete_gateway, "ClientException", gateway="locked")  # deletion protection
    assert ecs.delete_gateway(gateway="edge")["status"] == "DELETED"
    refused(ecs.describe_gateway, "GatewayNotFoundException", gateway="edge")
    refused(ecs.update_gateway, "GatewayNotFoundException", gateway="edge")


def test_associations_routes_and_traffic(ecs, clean_emulator, busybox_image):
    ecs.create_cluster(clusterName="apps")
    gateway = ecs.create_gateway(name="edge", infrastructureRoleArn=ROLE, configuration=ALB,
                                 deletionProtection=False)["gatewayArn"]
    assert ecs.associate_gateway_with_cluster(gateway="edge", cluster="apps")["status"] == \
        "ACTIVE"
    refused(ecs.associate_gateway_with_cluster, "ClientException", gateway="edge",
            cluster="apps")
    refused(ecs.associate_gateway_with_cluster, "ClusterNotFoundException", gateway="edge",
            cluster="absent")
    refused(ecs.associate_gateway_with_cluster, "GatewayNotFoundException", gateway="nope",
            cluster="apps")
    for name in ("g2", "g3", "g4", "g5", "g6"):
        ecs.create_gateway(name=name, infrastructureRoleArn=ROLE, configuration=ALB)
    for name in ("g2", "g3", "g4", "g5"):
        ecs.associate_gateway_with_cluster(gateway=name, cluster="apps")
    refused(ecs.associate_gateway_with_cluster, "ClientException", gateway="g6",
            cluster="apps")  # five per cluster
    for name in ("g2", "g3", "g4", "g5"):
        ecs.disassociate_gateway_from_cluster(gateway=name, cluster="apps")

    ecs.register_task_definition(family="web", networkMode="awsvpc", containerDefinitions=[
        {"name": "web", "image": busybox_image, "memory": 64, "command": SERVE,
         "portMappings": [{"containerPort": 8080, "name": "http"}]}])
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    refused(ecs.create_service, "InvalidParameterException", cluster="apps", serviceName="web",
            taskDefinition="web", desiredCount=1, networkConfiguration=network,
            gatewayConnectors=[{"portName": "nope"}])
    assert ecs.list_services(cluster="apps")["serviceArns"] == []  # a refused call made nothing
    ecs.create_service(cluster="apps", serviceName="web", taskDefinition="web", desiredCount=1,
                       networkConfiguration=network,
                       gatewayConnectors=[{"portName": "http"}])
    routes = ecs.list_gateway_routes(gateway="edge")["gatewayRoutes"]
    assert len(routes) == 1 and routes[0]["status"] == "ACTIVE"
    assert routes[0]["serviceContainerPortName"] == "http"
    route = ecs.describe_gateway_route(gatewayRouteArn=routes[0]["gatewayRouteArn"])[
        "gatewayRoute"]
    url = route["serviceUrl"]
    assert url == f"{clean_emulator.front_door_url}/gateways/edge/apps/web/"
    ecs.get_waiter("services_stable").wait(cluster="apps", services=["web"],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    page = wait_for(lambda: requests.get(url, timeout=10), lambda r: r.status_code == 200,
                    timeout=30)
    assert page.text == "routed\n"
    # An answer that never ends comes through as it comes: never held whole in the emulator.
    with requests.get(url + "cgi-bin/stream", stream=True, timeout=10) as endless:
        assert endless.status_code == 200
        assert next(endless.iter_lines()) == b"line"
    resources = ecs.describe_gateway_resources(gateway="edge")["gatewayResources"]
    assert resources["gatewayArn"] == gateway

    # disassociating waits for the route to go; the service update removes it
    refused(ecs.delete_gateway, "ClientException", gateway="edge")
    assert ecs.disassociate_gateway_from_cluster(gateway="edge", cluster="apps")["status"] == \
        "DISASSOCIATING"
    listed = ecs.list_gateway_cluster_associations(gateway="edge")["gatewayClusterAssociations"]
    assert [a["status"] for a in listed] == ["DISASSOCIATING"]
    ecs.update_service(cluster="apps", service="web", gatewayConnectors=[])
    assert ecs.list_gateway_routes(gateway="edge")["gatewayRoutes"] == []
    assert ecs.list_gateway_cluster_associations(gateway="edge")[
        "gatewayClusterAssociations"] == []
    assert requests.get(url, timeout=10).status_code == 404
    refused(ecs.describe_gateway_route, "ResourceNotFoundException",
            gatewayRouteArn=routes[0]["gatewayRouteArn"])
    refused(ecs.disassociate_gateway_from_cluster, "ResourceNotFoundException", gateway="edge",
            cluster="apps")
    assert ecs.delete_gateway(gateway="edge")["status"] == "DELETED"


def _routed(ecs, name: str, containers: list[dict]) -> str:
    """A bridge service `name` of `containers` on cluster apps behind gateway edge's route (its
    port name http), stable; its task's ARN."""
    ecs.create_cluster(clusterName="apps")
    ecs.create_gateway(name="edge", infrastructureRoleArn=ROLE, configuration=ALB,
                       deletionProtection=False)
    ecs.associate_gateway_with_cluster(gateway="edge", cluster="apps")
    ecs.register_task_definition(family=name, networkMode="bridge",
                                 containerDefinitions=containers)
    ecs.create_service(cluster="apps", serviceName=name, taskDefinition=name, desiredCount=1,
                       launchType="EC2", gatewayConnectors=[{"portName": "http"}])
    ecs.get_waiter("services_stable").wait(cluster="apps", services=[name],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    [arn] = ecs.list_tasks(cluster="apps", serviceName=name)["taskArns"]
    return arn


def test_a_reported_binding_never_aims_a_route_at_this_host(ecs, clean_emulator, busybox_image):
    """A task's container publishes nothing (no network); a report that it binds the API's port
    would make the route's page this host's, on the front doors' origin: not taken."""
    arn = _routed(ecs, "dark", [
        {"name": "web", "image": busybox_image, "memory": 32, "disableNetworking": True,
         "command": ["sleep", "300"], "portMappings": [{"containerPort": 80, "name": "http"}]}])
    api_port = int(clean_emulator.endpoint_url.rsplit(":", 1)[1])
    forged = [{"containerPort": 80, "hostPort": api_port, "bindIP": "127.0.0.1",
               "protocol": "tcp"}]
    ecs.submit_container_state_change(cluster="apps", task=arn, containerName="web",
                                      status="RUNNING", networkBindings=forged)
    ecs.submit_task_state_change(cluster="apps", task=arn, containers=[
        {"containerName": "web", "status": "RUNNING", "networkBindings": forged}])
    [task] = ecs.describe_tasks(cluster="apps", tasks=[arn])["tasks"]
    assert not task["containers"][0].get("networkBindings")
    url = f"{clean_emulator.front_door_url}/gateways/edge/apps/dark/_emulator/engines"
    answer = requests.get(url, headers={"Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert answer.status_code == 503, answer.text  # no task serves, as an ALB with no target
    ecs.delete_service(cluster="apps", service="dark", force=True)


class _HostListener:
    """A program of this host's on a TCP port: answers every connection with a page of its own
    and counts them."""

    def __init__(self, port: int = 0):
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with sock:
                sock.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 17\r\n\r\nhost-only secret\n")

    def close(self):
        self._listener.close()


def test_a_udp_port_never_aims_a_route_at_what_listens_on_that_port_over_tcp(
        ecs, clean_emulator, busybox_image):
    """A task publishes UDP port X; a program of this host listens on TCP port X. The route
    names the UDP mapping: it carries no HTTP, so the front door answers 503 (no target) and
    never dials X (the program's page would be on the front doors' origin)."""
    host = _HostListener()
    try:
        arn = _routed(ecs, "udp", [
            {"name": "web", "image": busybox_image, "memory": 32, "command": ["sleep", "300"],
             "portMappings": [{"containerPort": 8080, "hostPort": host.port,
                               "protocol": "udp", "name": "http"}]}])
        [task] = ecs.describe_tasks(cluster="apps", tasks=[arn])["tasks"]
        bindings = task["containers"][0]["networkBindings"]
        assert {(b["hostPort"], b["protocol"]) for b in bindings} == {(host.port, "udp")}
        url = f"{clean_emulator.front_door_url}/gateways/edge/apps/udp/"
        answer = requests.get(url, headers={"Sec-Fetch-Site": "same-origin"}, timeout=10)
        assert answer.status_code == 503, answer.text
        assert "host-only" not in answer.text and host.connections == 0
        ecs.delete_service(cluster="apps", service="udp", force=True)
    finally:
        host.close()


def test_the_port_a_stopped_container_freed_is_no_target_while_its_task_runs_on(
        ecs, clean_emulator, busybox_image):
    """A non-essential container that published the route's port exits; its task runs on.
    Docker freed the port, and a program of this host takes it: the front door answers 503 (no
    running container serves the route) and never dials it; the binding is still shown, as
    ECS shows a stopped container's."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    arn = _routed(ecs, "st", [
        {"name": "web", "image": busybox_image, "memory": 32, "essential": False,
         "command": ["sh", "-c", "sleep 3"],
         "portMappings": [{"containerPort": 8080, "hostPort": port, "name": "http"}]},
        {"name": "keep", "image": busybox_image, "memory": 32, "command": ["sleep", "300"]}])

    def web():
        [task] = ecs.describe_tasks(cluster="apps", tasks=[arn])["tasks"]
        return task, next(c for c in task["containers"] if c["name"] == "web")

    task, stopped = wait_for(web, lambda found: found[1]["lastStatus"] == "STOPPED", timeout=30)
    assert task["lastStatus"] == "RUNNING"
    assert {b["hostPort"] for b in stopped["networkBindings"]} == {port}
    host = _HostListener(port)
    try:
        url = f"{clean_emulator.front_door_url}/gateways/edge/apps/st/"
        answer = requests.get(url, headers={"Sec-Fetch-Site": "same-origin"}, timeout=10)
        assert answer.status_code == 503, answer.text
        assert "host-only" not in answer.text and host.connections == 0
    finally:
        host.close()
        ecs.delete_service(cluster="apps", service="st", force=True)


def test_a_route_takes_the_tcp_port_of_a_container_port_published_both_ways(
        ecs, clean_emulator, busybox_image):
    """The same container port over UDP (to a host port a program holds over TCP) and TCP: the
    route's TCP mapping reaches the task's own server."""
    host = _HostListener()
    try:
        _routed(ecs, "both", [
            {"name": "web", "image": busybox_image, "memory": 32, "command": SERVE,
             "portMappings": [
                 {"containerPort": 8080, "hostPort": host.port, "protocol": "udp",
                  "name": "dgram"},
                 {"containerPort": 8080, "protocol": "tcp", "name": "http"}]}])
        url = f"{clean_emulator.front_door_url}/gateways/edge/apps/both/"
        page = wait_for(lambda: requests.get(url, timeout=10), lambda r: r.status_code == 200,
                        timeout=30)
        assert page.text == "routed\n" and host.connections == 0
        ecs.delete_service(cluster="apps", service="both", force=True)
    finally:
        host.close()


def test_routes_list_by_a_services_name_or_arn(ecs):
    # ListGatewayRoutes' `service` is "the name or ARN of a service" (botocore); a service's
    # ARN is service/<cluster>/<name>, so it names the cluster too.
    ecs.create_gateway(name="edge", infrastructureRoleArn=ROLE, configuration=ALB,
                       deletionProtection=False)
    ecs.register_task_definition(family="web", networkMode="awsvpc", containerDefinitions=[
        {"name": "web", "image": "busybox", "memory": 64,
         "portMappings": [{"containerPort": 8080, "name": "http"}]}])
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    arns = {}
    for cluster in ("apps", "more"):
        ecs.create_cluster(clusterName=cluster)
        ecs.associate_gateway_with_cluster(gateway="edge", cluster=cluster)
        arns[cluster] = ecs.create_service(
            cluster=cluster, serviceName="web", taskDefinition="web", desiredCount=0,
            networkConfiguration=network, gatewayConnectors=[{"portName": "http"}])[
            "service"]["serviceArn"]

    def clusters_of(**params):
        routes = ecs.list_gateway_routes(gateway="edge", **params)["gatewayRoutes"]
        return sorted(r["gatewayRouteArn"].split("/")[2] for r in routes)

    assert clusters_of(service="web") == ["apps", "more"]
    assert clusters_of(service=arns["apps"]) == ["apps"]
    assert clusters_of(service=arns["more"]) == ["more"]
    assert clusters_of(service=arns["apps"], cluster="more") == []
    assert clusters_of(service=arns["apps"].replace("123456789012", "210987654321")) == []
    with pytest.raises(ClientError) as excinfo:
        ecs.list_gateway_routes(gateway="edge", service=arns["apps"] + "/extra")
    assert excinfo.value.response["Error"] == {
        "Code": "InvalidParameterException",
        "Message": "Invalid identifier: Unexpected number of separators"}
