"""Task definitions through boto3 over real HTTP: the lifecycle, and what registration returns."""

import datetime as dt

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
ARN_PREFIX = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/"


def container(name="web", **extra):
    """A container definition; a member given as None is left out."""
    definition = {"name": name, "image": "nginx:latest", "memory": 128, **extra}
    return {key: value for key, value in definition.items() if value is not None}


def register(ecs, family="web", containers=None, **params):
    return ecs.register_task_definition(
        family=family, containerDefinitions=containers or [container()], **params
    )["taskDefinition"]


def fargate(**params):
    return {"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256",
            "memory": "512", **params}


def error_of(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def attribute_names(definition):
    return {a["name"] for a in definition["requiresAttributes"]}


# -- registration: what ECS answers ------------------------------------------------------------


def test_register_returns_what_ecs_fills_in(ecs):
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    definition = register(ecs)
    assert definition["taskDefinitionArn"] == ARN_PREFIX + "web:1"
    assert definition["family"] == "web"
    assert definition["revision"] == 1
    assert definition["status"] == "ACTIVE"
    # ECS Anywhere could run it: AWS lists EXTERNAL first (test_ecs_fidelity.py)
    assert definition["compatibilities"] == ["EXTERNAL", "EC2"]
    assert definition["registeredBy"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert definition["registeredAt"] >= before
    assert definition["volumes"] == []
    assert definition["placementConstraints"] == []
    assert definition["containerDefinitions"] == [{
        "name": "web", "image": "nginx:latest", "memory": 128, "cpu": 0, "essential": True,
        "portMappings": [], "environment": [], "mountPoints": [], "volumesFrom": [],
        "systemControls": [],
    }]
    assert definition["requiresAttributes"] == []


def test_describe_gives_what_register_gave(ecs):
    registered = register(ecs, containers=[container(healthCheck={"command": ["CMD", "true"]})])
    described = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
    assert described == registered
    health = described["containerDefinitions"][0]["healthCheck"]
    assert health == {"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3}


def test_revisions_count_up_and_are_never_reused(ecs):
    assert [register(ecs)["revision"] for _ in range(3)] == [1, 2, 3]
    ecs.deregister_task_definition(taskDefinition="web:3")
    ecs.delete_task_definitions(taskDefinitions=["web:3"])
    assert register(ecs)["revision"] == 4
    assert register(ecs, family="other")["revision"] == 1


@pytest.mark.parametrize("cpu,memory,want_cpu,want_memory", [
    ("1024", "2048", "1024", "2048"),
    ("1 vCPU", "2 GB", "1024", "2048"),
    ("0.25 vcpu", "0.5GB", "256", "512"),
    ("2vCPU", "2GB", "2048", "2048"),
])
def test_task_cpu_and_memory_are_normalized(ecs, cpu, memory, want_cpu, want_memory):
    definition = register(ecs, containers=[container(memory=64)],
                          cpu=cpu, memory=memory)
    assert (definition["cpu"], definition["memory"]) == (want_cpu, want_memory)


def test_roles_register_by_name_or_iam_arn(ecs):
    definition = register(ecs, taskRoleArn="notanarn",
                          executionRoleArn="arn:aws:iam::123456789012:role/service/exec-1")
    assert (definition["taskRoleArn"], definition["executionRoleArn"]) == (
        "notanarn", "arn:aws:iam::123456789012:role/service/exec-1")


def test_fargate_definition_is_compatible_with_both(ecs):
    definition = register(
        ecs, containers=[{"name": "app", "image": "nginx",
                          "logConfiguration": {"logDriver": "awslogs", "options": {
                              "awslogs-group": "g", "awslogs-region": "us-east-1"}}}],
        executionRoleArn="arn:aws:iam::123456789012:role/exec", **fargate())
    assert definition["compatibilities"] == ["EC2", "FARGATE"]
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert attribute_names(definition) == {
        "ecs.capability.task-eni",
        "com.amazonaws.ecs.capability.logging-driver.awslogs",
        "ecs.capability.execution-role-awslogs",
        "com.amazonaws.ecs.capability.docker-remote-api.1.18",
        "com.amazonaws.ecs.capability.docker-remote-api.1.19",
    }
    assert definition["containerDefinitions"][0]["essential"] is True


def test_fargate_compatibility_is_computed_without_being_required(ecs):
    compatible = register(ecs, containers=[{"name": "a", "image": "nginx"}],
                          networkMode="awsvpc", cpu="512", memory="1 GB")
    assert compatible["compatibilities"] == ["EC2", "FARGATE"]
    assert "requiresCompatibilities" not in compatible
    bridge = register(ecs, family="b", cpu="512", memory="1024",
                      containers=[{"name": "a", "image": "nginx"}])
    assert bridge["compatibilities"] == ["EXTERNAL", "EC2"]
    privileged = register(ecs, family="p", networkMode="awsvpc", cpu="256", memory="512",
                          containers=[{"name": "a", "image": "nginx", "privileged": True}])
    assert privileged["compatibilities"] == ["EC2"]


def test_requires_attributes_follow_the_features_used(ecs):
    definition = register(
        ecs, networkMode="host", taskRoleArn="arn:aws:iam::123456789012:role/task",
        executionRoleArn="arn:aws:iam::123456789012:role/exec",
        containers=[
            container("app", memoryReservation=64, dependsOn=[
                {"containerName": "side", "condition": "HEALTHY"}],
                secrets=[{"name": "A",
                          "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/a"},
                         {"name": "B", "valueFrom":
                          "arn:aws:secretsmanager:us-east-1:123456789012:secret:b"}],
                image="123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"),
            container("side", essential=False, healthCheck={"command": ["CMD", "true"]},
                      ulimits=[{"name": "nofile", "softLimit": 10, "hardLimit": 20}]),
        ])
    assert attribute_names(definition) == {
        "com.amazonaws.ecs.capability.task-iam-role",
        "com.amazonaws.ecs.capability.task-iam-role-network-host",
        "com.amazonaws.ecs.capability.docker-remote-api.1.21",
        "ecs.capability.container-ordering",
        "ecs.capability.secrets.ssm.environment-variables",
        "ecs.capability.secrets.asm.environment-variables",
        "com.amazonaws.ecs.capability.ecr-auth",
        "ecs.capability.execution-role-ecr-pull",
        "ecs.capability.container-health-check",
        "com.amazonaws.ecs.capability.docker-remote-api.1.18",
    }


def test_port_mappings_are_filled_per_network_mode(ecs):
    awsvpc = register(ecs, networkMode="awsvpc",
                      containers=[container(portMappings=[{"containerPort": 80}])])
    assert awsvpc["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 80, "hostPort": 80, "protocol": "tcp"}]
    bridge = register(ecs, containers=[container(portMappings=[
        {"containerPort": 80}, {"containerPort": 81, "hostPort": 0, "protocol": "udp"},
        {"containerPort": 82, "hostPort": 8082}])])
    assert bridge["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 80, "protocol": "tcp"},
        {"containerPort": 81, "hostPort": 0, "protocol": "udp"},
        {"containerPort": 82, "hostPort": 8082, "protocol": "tcp"}]
    ranged = register(ecs, networkMode="awsvpc", containers=[container(portMappings=[
        {"containerPortRange": "8000-8010"}, {"containerPort": 8011}])])
    assert "ecs.capability.network.container-port-range" in attribute_names(ranged)
    # The same port under two protocols is two mappings.
    register(ecs, containers=[container(portMappings=[
        {"containerPort": 53, "protocol": "udp"}, {"containerPort": 53, "protocol": "tcp"}])])


def test_accepted_references_between_containers(ecs):
    definition = register(
        ecs,
        volumes=[{"name": "data", "host": {"sourcePath": "/tmp"}},
                 {"name": "shared", "dockerVolumeConfiguration": {"scope": "shared",
                                                                  "autoprovision": True}},
                 {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
        proxyConfiguration={"containerName": "envoy"},
        networkMode="awsvpc",
        containers=[
            container("init", essential=False),
            container("envoy", essential=False),
            container("app", mountPoints=[{"sourceVolume": "data", "containerPath": "/data"}],
                      volumesFrom=[{"sourceContainer": "init"}],
                      dependsOn=[{"containerName": "init", "condition": "SUCCESS"},
                                 {"containerName": "envoy", "condition": "START"}]),
        ])
    assert definition["volumes"][2]["efsVolumeConfiguration"]["rootDirectory"] == "/"
    assert definition["proxyConfiguration"]["type"] == "APPMESH"
    links = register(ecs, family="links", containers=[
        container("db"), container("app", links=["db:database"])])
    assert links["containerDefinitions"][1]["links"] == ["db:database"]


# -- registration: refusals ---------------------------------------------------------------------

C = container
REFUSALS = [
    # family and container names
    ("family-chars", {"family": "has space"}, "Family contains invalid characters"),
    ("family-long", {"family": "f" * 256}, "Family contains invalid characters"),
    ("no-containers", {"containers": []}, "Container list cannot be empty"),
    ("eleven-containers", {"containers": [C(f"c{i}") for i in range(11)]}, "Too many containers"),
    ("container-no-name", {"containers": [{"image": "nginx", "memory": 64}]},
     "Container.name should not be null or empty"),
    ("container-name-chars", {"containers": [C("web.1")]}, "Container.name contains invalid"),
    ("container-no-image", {"containers": [{"name": "a", "memory": 64}]},
     "Container.image should not be null or empty"),
    ("duplicate-names", {"containers": [C("a"), C("a")]}, "Container names must be unique"),
    ("no-essential", {"containers": [C(essential=False)]}, "doesn't have any essential container"),
    # cpu and memory
    ("bad-cpu", {"cpu": "lots"}, "Invalid 'cpu' setting for task"),
    ("bad-memory", {"memory": "2 TB"}, "Invalid 'memory' setting for task"),
    # AWS's words for both (developer guide, "task definition invalid CPU or memory errors")
    ("ec2-cpu-low", {"cpu": "64"}, "Invalid 'cpu' setting for task. For more information, see "
                                   "the Troubleshooting section of the Amazon ECS Developer Guide."),
    ("no-memory", {"containers": [{"name": "a", "image": "nginx"}]},
     "At least one of 'memory' or 'memoryReservation' must be specified"),
    ("reservation-above-memory", {"containers": [C(memory=100, memoryReservation=200)]},
     "'memoryReservation' must be less than or equal to 'memory'"),
    ("memory-below-6", {"containers": [C(memory=4)]}, "The minimum is 6 MiB"),
    ("reservation-below-6", {"containers": [C(memory=None, memoryReservation=5)]},
     "The minimum is 6 MiB"),
    ("container-memory-above-task", {"memory": "512", "containers": [C(memory=1024)]},
     "The 'memory' setting for container 'web' is greater than for the task"),
    ("reservations-above-task", {"memory": "512",
                                 "containers": [C("a", memory=300), C("b", memory=300)]},
     "The sum of all container 'memoryReservation' values cannot be greater"),
    ("cpu-above-task", {"cpu": "256", "containers": [C("a", cpu=200), C("b", cpu=100)]},
     "The sum of all container 'cpu' values cannot be greater"),
    # Fargate
    ("fargate-bridge", fargate(networkMode="bridge"), "Fargate only supports network mode"),
    ("fargate-no-cpu", fargate(cpu=None), "Fargate requires that 'cpu' be defined"),
    ("fargate-no-memory", fargate(memory=None), "Fargate requires that 'memory' be defined"),
    ("fargate-bad-pair", fargate(cpu="256", memory="4096"),
     "No Fargate configuration exists for given values: 256 CPU, 4096 memory"),
    ("fargate-bad-step", fargate(cpu="8192", memory="18432"),
     "No Fargate configuration exists for given values: 8192 CPU, 18432 memory"),
    ("fargate-privileged", fargate(containers=[C(privileged=True)]), "privileged containers"),
    ("fargate-host-volume", fargate(volumes=[{"name": "v", "host": {"sourcePath": "/x"}}]),
     "do not support sourcePath"),
    ("fargate-docker-volume", fargate(volumes=[{"name": "v", "dockerVolumeConfiguration": {}}]),
     "do not support dockerVolumeConfiguration"),
    ("fargate-placement", fargate(placementConstraints=[
        {"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}]),
     "do not support placementConstraints"),
    ("fargate-ipc", fargate(ipcMode="host"), "do not support ipcMode"),
    ("fargate-pid-host", fargate(pidMode="host"), "do not support pidMode 'host'"),
    ("fargate-windows-arm", fargate(cpu="1024", memory="2048", runtimePlatform={
        "operatingSystemFamily": "WINDOWS_SERVER_2022_CORE", "cpuArchitecture": "ARM64"}),
     "ARM64"),
    ("fargate-windows-small", fargate(runtimePlatform={
        "operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}), "No Fargate configuration"),
    ("fargate-json-file", fargate(containers=[C(logConfiguration={"logDriver": "json-file"})]),
     "log driver json-file"),
    ("fargate-awslogs-no-role", fargate(containers=[C(logConfiguration={
        "logDriver": "awslogs",
        "options": {"awslogs-group": "g", "awslogs-region": "us-east-1"}})]),
     "execution role ARN to support log driver awslogs"),
    ("fargate-ecr-no-role", fargate(containers=[
        C(image="123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1")]),
     "execution role ARN to support ECR images"),
    ("fargate-capability", fargate(containers=[C(linuxParameters={
        "capabilities": {"add": ["NET_ADMIN"]}})]), "other than SYS_PTRACE"),
    ("ephemeral-small", fargate(ephemeralStorage={"sizeInGiB": 20}), "between 21 and 200"),
    ("ephemeral-large", fargate(ephemeralStorage={"sizeInGiB": 201}), "between 21 and 200"),
    ("external-awsvpc", {"requiresCompatibilities": ["EXTERNAL"], "networkMode": "awsvpc"},
     "external instances"),
    # awslogs options
    ("awslogs-no-options", {"containers": [C(logConfiguration={"logDriver": "awslogs"})]},
     "Log driver awslogs requires options: awslogs-region, awslogs-group"),
    ("awslogs-no-region", {"containers": [C(logConfiguration={
        "logDriver": "awslogs", "options": {"awslogs-group": "g"}})]},
     "Log driver awslogs requires options: awslogs-region"),
    ("awslogs-empty-group", {"containers": [C(logConfiguration={
        "logDriver": "awslogs", "options": {"awslogs-group": "", "awslogs-region": "us-east-1"}})]},
     "Log driver awslogs option 'awslogs-group' should not be null or empty."),
    ("awslogs-group-chars", {"containers": [C(logConfiguration={"logDriver": "awslogs", "options": {
        "awslogs-group": "arn:aws:logs:us-east-1:1:log-group:g", "awslogs-region": "us-east-1"}})]},
     "Log driver awslogs option 'awslogs-group' contains invalid characters."),
    ("awslogs-create-group-false", {"containers": [C(logConfiguration={
        "logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-region": "us-east-1",
                                            "awslogs-create-group": "false"}})]},
     "Log driver awslogs option 'awslogs-create-group' should only be set to 'true', else "
     "omit option."),
    # roles: a role's name or its IAM ARN
    ("task-role-spaces", {"taskRoleArn": "my role"}, "Role is not valid"),
    ("task-role-user-arn", {"taskRoleArn": "arn:aws:iam::123456789012:user/bob"},
     "Role is not valid"),
    ("execution-role-other-arn", {"executionRoleArn": "arn:aws:s3:::bucket"}, "Role is not valid"),
    # ports and links
    ("awsvpc-host-port", {"networkMode": "awsvpc", "containers": [
        C(portMappings=[{"containerPort": 80, "hostPort": 8080}])]},
     "When networkMode=awsvpc, the host ports and container ports in port mappings must match"),
    ("host-host-port", {"networkMode": "host", "containers": [
        C(portMappings=[{"containerPort": 80, "hostPort": 8080}])]},
     "When networkMode=host, the host ports and container ports"),
    ("none-ports", {"networkMode": "none", "containers": [C(portMappings=[{"containerPort": 80}])]},
     "Port mappings are not supported when networkMode=none"),
    ("container-port-zero", {"containers": [C(portMappings=[{"containerPort": 0}])]},
     "Invalid 'containerPort' setting for container 'web'"),
    ("host-port-too-big", {"containers": [C(portMappings=[
        {"containerPort": 80, "hostPort": 70000}])]}, "Invalid 'hostPort' setting"),
    ("duplicate-port", {"containers": [C(portMappings=[
        {"containerPort": 80}, {"containerPort": 80, "hostPort": 8080}])]},
     "Container port 80/tcp is mapped more than once"),
    ("shared-port-awsvpc", {"networkMode": "awsvpc", "containers": [
        C("a", portMappings=[{"containerPort": 80}]),
        C("b", portMappings=[{"containerPort": 80}])]},
     "Containers 'a' and 'b' both map port 80/tcp"),
    ("range-form", {"containers": [C(portMappings=[{"containerPortRange": "80"}])]},
     "Use the form 'start-end'"),
    ("range-order", {"containers": [C(portMappings=[{"containerPortRange": "90-80"}])]},
     "the first port must be less than the last"),
    ("range-overlap", {"containers": [C(portMappings=[
        {"containerPortRange": "80-90"}, {"containerPortRange": "85-95"}])]},
     "Container port 85/tcp is mapped more than once"),
    ("range-host-mode", {"networkMode": "host", "containers": [
        C(portMappings=[{"containerPortRange": "80-90"}])]}, "only supported when networkMode is"),
    ("range-with-host-port", {"containers": [C(portMappings=[
        {"containerPortRange": "80-90", "hostPort": 80}])]}, "cannot also set"),
    ("port-name", {"containers": [C(portMappings=[{"containerPort": 80, "name": "Web"}])]},
     "Invalid port mapping name"),
    ("port-name-twice", {"containers": [C("a", portMappings=[{"containerPort": 80, "name": "p"}]),
                                        C("b", portMappings=[{"containerPort": 81, "name": "p"}])]},
     "Port mapping names must be unique"),
    ("links-awsvpc", {"networkMode": "awsvpc", "containers": [C("a"), C("b", links=["a"])]},
     "Links are not supported when networkMode=awsvpc"),
    ("hostname-awsvpc", {"networkMode": "awsvpc", "containers": [C(hostname="box")]},
     "hostname is not supported on container when networkMode=awsvpc"),
    ("extra-hosts-awsvpc", {"networkMode": "awsvpc", "containers": [
        C(extraHosts=[{"hostname": "db", "ipAddress": "10.0.0.5"}])]},
     "Extra hosts are not supported on container when networkMode=awsvpc"),
    ("dns-awsvpc", {"networkMode": "awsvpc", "containers": [C(dnsServers=["10.0.0.2"])]},
     "DNS servers are not supported on container when networkMode=awsvpc"),
    ("dns-search-awsvpc", {"networkMode": "awsvpc", "containers": [
        C(dnsSearchDomains=["example.internal"])]},
     "DNS search domains are not supported on container when networkMode=awsvpc"),
    ("links-unknown", {"containers": [C("a", links=["db"])]}, "Invalid link 'db'"),
    # dependencies
    ("depends-unknown", {"containers": [C(dependsOn=[{"containerName": "db",
                                                      "condition": "START"}])]},
     "Cannot depend on container 'db' because it does not exist"),
    ("depends-self", {"containers": [C(dependsOn=[{"containerName": "web",
                                                   "condition": "START"}])]},
     "cannot depend on itself"),
    ("depends-success-essential", {"containers": [
        C("a", dependsOn=[{"containerName": "b", "condition": "SUCCESS"}]), C("b")]},
     "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"),
    ("depends-complete-essential", {"containers": [
        C("a", dependsOn=[{"containerName": "b", "condition": "COMPLETE"}]), C("b")]},
     "SUCCESS or COMPLETE"),
    ("depends-healthy-no-check", {"containers": [
        C("a", dependsOn=[{"containerName": "b", "condition": "HEALTHY"}]), C("b")]},
     "has no healthCheck"),
    ("depends-cycle", {"containers": [
        C("a", dependsOn=[{"containerName": "b", "condition": "START"}]),
        C("b", dependsOn=[{"containerName": "a", "condition": "START"}])]}, "form a cycle"),
    ("links-cycle", {"containers": [C("a", links=["b"]), C("b", links=["a"])]}, "form a cycle"),
    # volumes and mounts
    ("volume-twice", {"volumes": [{"name": "v"}, {"name": "v"}]}, "Volume names must be unique"),
    ("volume-no-name", {"volumes": [{"host": {}}]}, "Volume.name should not be null or empty"),
    ("volume-two-kinds", {"volumes": [{"name": "v", "host": {},
                                       "dockerVolumeConfiguration": {}}]}, "only one of"),
    ("autoprovision-task-scope", {"volumes": [{"name": "v", "dockerVolumeConfiguration": {
        "scope": "task", "autoprovision": True}}]}, "autoprovision can only be set"),
    ("efs-iam-unencrypted", {"volumes": [{"name": "v", "efsVolumeConfiguration": {
        "fileSystemId": "fs-1", "authorizationConfig": {"iam": "ENABLED"}}}]},
     "transitEncryption must be ENABLED"),
    ("unknown-volume", {"containers": [C(mountPoints=[{"sourceVolume": "data",
                                                       "containerPath": "/d"}])]},
     "Unknown volume 'data'"),
    ("mount-no-path", {"volumes": [{"name": "v"}],
                       "containers": [C(mountPoints=[{"sourceVolume": "v"}])]},
     "needs a containerPath"),
    # a path Docker's "source:target[:ro]" would read options from, or a relative one
    *[(f"mount-path-{path}", {"volumes": [{"name": "v"}], "containers": [C(mountPoints=[
        {"sourceVolume": "v", "containerPath": path, "readOnly": True}])]},
       f"Invalid 'containerPath' setting for container 'web': '{path}'")
      for path in ("/x:rw", "/x:/y", "/data:rshared", "relative", "x/../y")],
    ("tmpfs-path-relative", {"containers": [C(linuxParameters={"tmpfs": [
        {"containerPath": "run:noexec", "size": 8}]})]}, "'run:noexec' is not an absolute"),
    # a device goes to Docker as "hostPath:containerPath:rwm"
    ("device-host-path-colon", {"containers": [C(linuxParameters={"devices": [
        {"hostPath": "/dev/null:/dev/sda"}]})]},
     "Invalid 'hostPath' setting for container 'web': '/dev/null:/dev/sda'"),
    ("device-path-relative", {"containers": [C(linuxParameters={"devices": [
        {"hostPath": "/dev/null", "containerPath": "dev/x"}]})]},
     "Invalid 'containerPath' setting for container 'web': 'dev/x'"),
    ("volumes-from-unknown", {"containers": [C(volumesFrom=[{"sourceContainer": "x"}])]},
     "sourceContainer 'x' must name another container"),
    # health checks
    ("health-interval", {"containers": [C(healthCheck={"command": ["CMD", "true"],
                                                       "interval": 4})]},
     "'interval' must be between 5 and 300"),
    ("health-timeout", {"containers": [C(healthCheck={"command": ["CMD", "true"],
                                                      "timeout": 61})]},
     "'timeout' must be between 2 and 60"),
    ("health-retries", {"containers": [C(healthCheck={"command": ["CMD", "true"],
                                                      "retries": 11})]},
     "'retries' must be between 1 and 10"),
    ("health-start-period", {"containers": [C(healthCheck={"command": ["CMD", "true"],
                                                           "startPeriod": 301})]},
     "'startPeriod' must be between 0 and 300"),
    ("health-no-command", {"containers": [C(healthCheck={"command": []})]}, "needs a command"),
    # other settings
    ("proxy-unknown", {"networkMode": "awsvpc", "proxyConfiguration": {"containerName": "envoy"}},
     "names container 'envoy'"),
    ("env-no-name", {"containers": [C(environment=[{"value": "x"}])]},
     "environment variable of container 'web' has no name"),
    ("secret-empty", {"executionRoleArn": "arn:aws:iam::123456789012:role/r",
                      "containers": [C(secrets=[{"name": "", "valueFrom": "p"}])]},
     "needs both a name and a valueFrom"),
    ("secrets-no-role", {"containers": [C(secrets=[{"name": "A", "valueFrom": "p"}])]},
     "you must also specify a value for 'executionRoleArn'"),
    ("ulimit-twice", {"containers": [C(ulimits=[
        {"name": "nofile", "softLimit": 1, "hardLimit": 2},
        {"name": "nofile", "softLimit": 1, "hardLimit": 2}])]}, "set twice"),
    ("ulimit-soft-above-hard", {"containers": [C(ulimits=[
        {"name": "nofile", "softLimit": 3, "hardLimit": 2}])]}, "softLimit cannot be greater"),
    ("capability-unknown", {"containers": [C(linuxParameters={
        "capabilities": {"add": ["FLY"]}})]}, "Invalid kernel capability 'FLY'"),
    ("swappiness", {"containers": [C(linuxParameters={"swappiness": 101})]}, "swappiness"),
    ("restart-period", {"containers": [C(restartPolicy={"enabled": True,
                                                        "restartAttemptPeriod": 10})]},
     "restartAttemptPeriod"),
    ("firelens-twice", {"containers": [
        C("a", firelensConfiguration={"type": "fluentbit"}),
        C("b", firelensConfiguration={"type": "fluentd"})]}, "Only one container"),
    ("firelens-missing", {"containers": [C(logConfiguration={"logDriver": "awsfirelens"})]},
     "no container of the task definition has a firelensConfiguration"),
    ("placement-no-expression", {"placementConstraints": [{"type": "memberOf"}]},
     "must be of type memberOf and have an expression"),
]


@pytest.mark.parametrize("params,fragment", [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_register_refuses(ecs, params, fragment):
    params = {key: value for key, value in params.items() if value is not None}
    family = params.pop("family", "web")
    containers = params.pop("containers", None)
    if containers is None:
        containers = [container()]
    with pytest.raises(ClientError) as excinfo:
        ecs.register_task_definition(family=family, containerDefinitions=containers, **params)
    code, message = error_of(excinfo)
    assert code == "ClientException"
    assert fragment in message
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []


def test_mount_paths_linux_and_windows(ecs):
    """Absolute Linux paths pass (a ':' or a relative one is refused, REFUSALS); a Windows
    definition's C:\\ paths are its own rule, not refused as Linux ones."""
    volumes = [{"name": "v"}]
    ecs.register_task_definition(family="linux", volumes=volumes, containerDefinitions=[
        container(mountPoints=[{"sourceVolume": "v", "containerPath": "/data/x.y-z"}])])
    windows = ecs.register_task_definition(
        family="windows", volumes=volumes, cpu="1024", memory="2048",
        runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"},
        containerDefinitions=[container(mountPoints=[{"sourceVolume": "v",
                                                       "containerPath": "C:\\data"}])])
    assert windows["taskDefinition"]["containerDefinitions"][0]["mountPoints"][0][
        "containerPath"] == "C:\\data"
    # An EC2 Windows definition need not name its runtimePlatform: its drive paths pass too.
    ec2_windows = ecs.register_task_definition(
        family="windows-ec2", volumes=volumes, containerDefinitions=[
            container(mountPoints=[{"sourceVolume": "v", "containerPath": "D:\\logs"}])])
    assert ec2_windows["taskDefinition"]["containerDefinitions"][0]["mountPoints"][0][
        "containerPath"] == "D:\\logs"
    # Only a mount point's, and only where no Linux system is declared: Windows has no tmpfs
    # nor devices, and a Linux definition's "C:\x" is a relative path with a ':' (Docker's).
    for family, platform, extra in (
            ("linux-declared", {"operatingSystemFamily": "LINUX"},
             {"mountPoints": [{"sourceVolume": "v", "containerPath": "C:\\data"}]}),
            ("tmpfs", {}, {"linuxParameters": {"tmpfs": [{"containerPath": "C:\\t",
                                                          "size": 64}]}}),
            ("device", {}, {"linuxParameters": {"devices": [{"hostPath": "C:\\dev",
                                                             "containerPath": "/dev/x"}]}})):
        with pytest.raises(ClientError) as excinfo:
            ecs.register_task_definition(family=family, volumes=volumes,
                                         containerDefinitions=[container(**extra)],
                                         **({"runtimePlatform": platform} if platform else {}))
        assert excinfo.value.response["Error"]["Code"] == "ClientException"
        assert "is not an absolute path without ':'" in excinfo.value.response["Error"]["Message"]


def test_register_refuses_bad_values_of_the_model(ecs):
    with pytest.raises(ClientError) as excinfo:
        register(ecs, containers=[container(ulimits=[
            {"name": "files", "softLimit": 1, "hardLimit": 1}])])
    # The ulimit name is an enum of ECS's model; boto3 does not check enums, ECS does.
    assert error_of(excinfo)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        register(ecs, tags=[{"key": "aws:reserved", "value": "x"}])
    assert error_of(excinfo)[0] == "InvalidParameterException"


@pytest.mark.parametrize("cpu,memories", [
    ("256", ["512", "1024", "2048"]),
    ("512", ["1024", "4096"]),
    ("1024", ["2048", "8192"]),
    ("2048", ["4096", "16384"]),
    ("4096", ["8192", "30720"]),
    ("8192", ["16384", "61440"]),
    ("16384", ["32768", "122880"]),
])
def test_every_fargate_size_is_accepted(ecs, cpu, memories):
    for memory in memories:
        definition = register(ecs, family=f"f{cpu}", containers=[{"name": "a", "image": "nginx"}],
                              **fargate(cpu=cpu, memory=memory))
        assert (definition["cpu"], definition["memory"]) == (cpu, memory)


def test_fargate_accepts_ephemeral_storage_and_ranges(ecs):
    definition = register(ecs, containers=[{"name": "a", "image": "nginx", "portMappings": [
        {"containerPortRange": "9000-9100"}]}], **fargate(ephemeralStorage={"sizeInGiB": 200}))
    assert definition["ephemeralStorage"] == {"sizeInGiB": 200}



def test_limits_are_accepted_at_their_edges(ecs):
    """The acceptance side of the refusals above: every limit, exactly at its edge."""
    family = "F_" + "a-" * 126 + "z"
    assert len(family) == 255
    health = {"command": ["CMD-SHELL", "true"], "interval": 5, "timeout": 60, "retries": 10,
              "startPeriod": 300}
    definition = register(
        ecs, family=family, cpu="1024", memory="1024", placementConstraints=[
            {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}],
        containers=[container(f"c{i}", memory=None, memoryReservation=6, cpu=0) for i in range(8)]
        + [container("edge", memory=848, memoryReservation=848, cpu=1024, healthCheck=health,
                     ulimits=[{"name": "nofile", "softLimit": 9, "hardLimit": 9}],
                     linuxParameters={"capabilities": {"add": ["NET_ADMIN"]}, "swappiness": 100},
                     restartPolicy={"enabled": True, "restartAttemptPeriod": 60},
                     environment=[{"name": "A", "value": "1"}],
                     portMappings=[{"containerPort": 65535, "hostPort": 65535,
                                    "name": "p_1-x"}]),
           container("done", essential=False, dependsOn=[
               {"containerName": "edge", "condition": "HEALTHY"}])],
    )
    assert len(definition["containerDefinitions"]) == 10
    assert definition["containerDefinitions"][8]["healthCheck"] == health
    host = register(ecs, family="host", networkMode="host",
                    containers=[container(portMappings=[{"containerPort": 80, "hostPort": 80}])])
    assert host["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 80
    none = register(ecs, family="none", networkMode="none")
    assert none["networkMode"] == "none"
    complete = register(ecs, family="complete", containers=[
        container("app", dependsOn=[{"containerName": "migrate", "condition": "COMPLETE"}]),
        container("migrate", essential=False)])
    assert complete["containerDefinitions"][0]["dependsOn"][0]["condition"] == "COMPLETE"
    firelens = register(ecs, family="firelens", containers=[
        container("router", firelensConfiguration={"type": "fluentbit"}),
        container("app", logConfiguration={"logDriver": "awsfirelens"})])
    assert {"ecs.capability.firelens.fluentbit",
            "com.amazonaws.ecs.capability.logging-driver.awsfirelens"} <= attribute_names(firelens)


def test_other_launch_types_when_required(ecs):
    external = register(ecs, family="ext", requiresCompatibilities=["EXTERNAL"])
    assert external["compatibilities"] == ["EXTERNAL", "EC2"]
    managed = register(ecs, family="mi", requiresCompatibilities=["MANAGED_INSTANCES"],
                       networkMode="host")
    assert managed["compatibilities"] == ["EXTERNAL", "EC2", "MANAGED_INSTANCES"]  # host mode
    windows = register(ecs, family="win", containers=[{"name": "a", "image": "iis"}],
                       **fargate(cpu="1024", memory="2048", runtimePlatform={
                           "operatingSystemFamily": "WINDOWS_SERVER_2022_CORE",
                           "cpuArchitecture": "X86_64"}))
    assert windows["compatibilities"] == ["EC2", "FARGATE"]
    with pytest.raises(ClientError) as excinfo:
        register(ecs, family="mi", requiresCompatibilities=["MANAGED_INSTANCES"])
    assert error_of(excinfo)[0] == "ClientException"

# -- describe, list, deregister, delete, tags ----------------------------------------------------


def test_describe_by_family_revision_and_arn(ecs):
    register(ecs)
    register(ecs)
    assert ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]["revision"] == 2
    assert ecs.describe_task_definition(taskDefinition="web:1")["taskDefinition"]["revision"] == 1
    by_arn = ecs.describe_task_definition(taskDefinition=ARN_PREFIX + "web:1")
    assert by_arn["taskDefinition"]["revision"] == 1
    assert "tags" not in by_arn
    ecs.deregister_task_definition(taskDefinition="web:2")
    # The family alone means its latest ACTIVE revision; an INACTIVE one is still describable.
    assert ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]["revision"] == 1
    inactive = ecs.describe_task_definition(taskDefinition="web:2")["taskDefinition"]
    assert inactive["status"] == "INACTIVE"
    for ref in ("nope", "web:9", "web:x", ARN_PREFIX.replace(ACCOUNT, "111122223333") + "web:1"):
        with pytest.raises(ClientError) as excinfo:
            ecs.describe_task_definition(taskDefinition=ref)
        assert error_of(excinfo) == ("ClientException", "Unable to describe task definition.")
    ecs.deregister_task_definition(taskDefinition="web:1")
    with pytest.raises(ClientError) as excinfo:
        ecs.describe_task_definition(taskDefinition="web")
    assert error_of(excinfo)[0] == "ClientException"


def test_tags_on_register_describe_and_tag_resource(ecs):
    registered = ecs.register_task_definition(
        family="web", containerDefinitions=[container()], tags=[{"key": "team", "value": "a"}])
    assert registered["tags"] == [{"key": "team", "value": "a"}]
    arn = registered["taskDefinition"]["taskDefinitionArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "dev"}])
    ecs.untag_resource(resourceArn=arn, tagKeys=["team"])
    described = ecs.describe_task_definition(taskDefinition="web:1", include=["TAGS"])
    assert described["tags"] == [{"key": "env", "value": "dev"}]
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "dev"}]
    with pytest.raises(ClientError) as excinfo:
        ecs.tag_resource(resourceArn=ARN_PREFIX + "web:7", tags=[{"key": "a", "value": "b"}])
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_list_filters_and_sorts(ecs):
    for family in ("beta", "alpha", "alpha", "alphabet"):
        register(ecs, family=family)
    ecs.deregister_task_definition(taskDefinition="alpha:1")
    arns = ecs.list_task_definitions()["taskDefinitionArns"]
    assert [a.removeprefix(ARN_PREFIX) for a in arns] == ["alpha:2", "alphabet:1", "beta:1"]
    desc = ecs.list_task_definitions(sort="DESC", status="ACTIVE")["taskDefinitionArns"]
    assert desc == list(reversed(arns))
    # familyPrefix names a whole family on ListTaskDefinitions.
    only = ecs.list_task_definitions(familyPrefix="alpha")["taskDefinitionArns"]
    assert only == [ARN_PREFIX + "alpha:2"]
    inactive = ecs.list_task_definitions(status="INACTIVE")["taskDefinitionArns"]
    assert inactive == [ARN_PREFIX + "alpha:1"]
    ecs.delete_task_definitions(taskDefinitions=["alpha:1"])
    assert ecs.list_task_definitions(status="INACTIVE")["taskDefinitionArns"] == []
    deleting = ecs.list_task_definitions(status="DELETE_IN_PROGRESS")["taskDefinitionArns"]
    assert deleting == [ARN_PREFIX + "alpha:1"]


def test_list_task_definitions_paginates_both_ways(ecs):
    for family in ("a", "b"):
        for _ in range(3):
            register(ecs, family=family)
    for sort in ("ASC", "DESC"):
        seen, token = [], None
        while True:
            page = ecs.list_task_definitions(sort=sort, maxResults=4,
                                             **({"nextToken": token} if token else {}))
            assert len(page["taskDefinitionArns"]) <= 4
            seen += page["taskDefinitionArns"]
            token = page.get("nextToken")
            if not token:
                break
        names = [a.removeprefix(ARN_PREFIX) for a in seen]
        ascending = ["a:1", "a:2", "a:3", "b:1", "b:2", "b:3"]
        assert names == (ascending if sort == "ASC" else list(reversed(ascending)))
    paginator = ecs.get_paginator("list_task_definitions")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 5}))
    assert sum(len(p["taskDefinitionArns"]) for p in pages) == 6 and len(pages) == 2
    with pytest.raises(ClientError) as excinfo:
        ecs.list_task_definitions(maxResults=101)
    assert error_of(excinfo)[0] == "InvalidParameterException"


def test_list_families_by_status_and_prefix(ecs):
    for family in ("web", "web-worker", "db"):
        register(ecs, family=family)
    ecs.deregister_task_definition(taskDefinition="db:1")
    assert ecs.list_task_definition_families()["families"] == ["db", "web", "web-worker"]
    assert ecs.list_task_definition_families(status="ALL")["families"] == [
        "db", "web", "web-worker"]
    assert ecs.list_task_definition_families(status="ACTIVE")["families"] == ["web", "web-worker"]
    assert ecs.list_task_definition_families(status="INACTIVE")["families"] == ["db"]
    assert ecs.list_task_definition_families(familyPrefix="web")["families"] == [
        "web", "web-worker"]
    first = ecs.list_task_definition_families(maxResults=2)
    assert first["families"] == ["db", "web"]
    rest = ecs.list_task_definition_families(maxResults=2, nextToken=first["nextToken"])
    assert rest["families"] == ["web-worker"] and "nextToken" not in rest


def test_deregister(ecs):
    register(ecs)
    deregistered = ecs.deregister_task_definition(taskDefinition=ARN_PREFIX + "web:1")
    definition = deregistered["taskDefinition"]
    assert definition["status"] == "INACTIVE"
    assert definition["deregisteredAt"] >= definition["registeredAt"]
    again = ecs.deregister_task_definition(taskDefinition="web:1")["taskDefinition"]
    assert again["deregisteredAt"] == definition["deregisteredAt"]
    for ref, message in (("web", "Revision is missing."),
                         ("web:5", "The specified task definition does not exist.")):
        with pytest.raises(ClientError) as excinfo:
            ecs.deregister_task_definition(taskDefinition=ref)
        assert error_of(excinfo) == ("ClientException", message)


def test_delete_only_inactive_revisions(ecs):
    register(ecs)
    register(ecs)
    ecs.deregister_task_definition(taskDefinition="web:1")
    answer = ecs.delete_task_definitions(
        taskDefinitions=["web:1", "web:2", "web:9", "web", ARN_PREFIX + "web:1"])
    deleted = answer["taskDefinitions"]
    assert [d["revision"] for d in deleted] == [1, 1]
    assert deleted[0]["status"] == "DELETE_IN_PROGRESS"
    assert deleted[0]["deleteRequestedAt"] >= deleted[0]["deregisteredAt"]
    reasons = {f["arn"]: f["reason"] for f in answer["failures"]}
    assert reasons == {
        "web:2": "The specified task definition is still in ACTIVE status. Please deregister "
                 "the target and try again.",
        "web:9": "The specified task definition does not exist. Specify a valid account, "
                 "family, revision and try again.",
        "web": "The specified task definition identifier is invalid. Specify a valid name or "
               "ARN and try again.",
    }
    described = ecs.describe_task_definition(taskDefinition="web:1")["taskDefinition"]
    assert described["status"] == "DELETE_IN_PROGRESS"
    assert ecs.list_task_definition_families(status="ACTIVE")["families"] == ["web"]
    with pytest.raises(ClientError) as excinfo:
        ecs.delete_task_definitions(taskDefinitions=[f"web:{i}" for i in range(1, 12)])
    assert error_of(excinfo)[0] == "InvalidParameterException"


def test_task_definitions_are_per_account_and_region(clean_emulator):
    mine = clean_emulator.client("ecs")
    other = clean_emulator.client("ecs", region="eu-west-1")
    register(mine)
    assert other.list_task_definitions()["taskDefinitionArns"] == []
    assert register(other)["taskDefinitionArn"] == (
        f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/web:1")
