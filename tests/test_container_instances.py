"""Container instances through boto3 over real HTTP: register, describe, list (with the cluster
query language), drain and deregister."""

import json
import re

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
ARN_PREFIX = f"arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def identity(instance_id: str, instance_type: str = "t3.large", zone: str = "us-east-1a") -> str:
    return json.dumps({
        "instanceId": instance_id,
        "instanceType": instance_type,
        "availabilityZone": zone,
        "imageId": "ami-0123456789abcdef0",
        "region": "us-east-1",
    })


def register(ecs, cluster="default", instance_id="i-0000000000000001", **kwargs):
    return ecs.register_container_instance(
        cluster=cluster, instanceIdentityDocument=identity(instance_id, **kwargs.pop("doc", {})),
        **kwargs,
    )["containerInstance"]


def resources_by_name(resources):
    return {r["name"]: r for r in resources}


def test_register_with_defaults_and_describe(ecs):
    ecs.create_cluster(clusterName="prod")
    instance = register(ecs, "prod", versionInfo={"agentVersion": "1.80.0"},
                        tags=[{"key": "team", "value": "a"}])
    arn = instance["containerInstanceArn"]
    assert re.fullmatch(rf"{ARN_PREFIX}/prod/[0-9a-f]{{32}}", arn)
    assert instance["ec2InstanceId"] == "i-0000000000000001"
    assert instance["status"] == "ACTIVE"
    assert instance["agentConnected"] is True
    assert instance["runningTasksCount"] == 0
    assert instance["tags"] == [{"key": "team", "value": "a"}]
    registered = resources_by_name(instance["registeredResources"])
    assert list(registered) == ["CPU", "MEMORY", "PORTS", "PORTS_UDP"]
    assert registered["CPU"]["type"] == "INTEGER" and registered["CPU"]["integerValue"] > 0
    assert sorted(registered["PORTS"]["stringSetValue"]) == ["22", "2375", "2376", "51678", "51679"]
    assert registered["PORTS_UDP"]["stringSetValue"] == []
    assert instance["remainingResources"] == instance["registeredResources"]
    attributes = {a["name"]: a.get("value") for a in instance["attributes"]}
    assert attributes["ecs.instance-type"] == "t3.large"
    assert attributes["ecs.availability-zone"] == "us-east-1a"
    assert attributes["ecs.ami-id"] == "ami-0123456789abcdef0"

    instance_id = arn.rsplit("/", 1)[-1]
    described = ecs.describe_container_instances(
        cluster="prod", containerInstances=[instance_id, arn, "0" * 32]
    )
    assert [i["containerInstanceArn"] for i in described["containerInstances"]] == [arn, arn]
    assert "tags" not in described["containerInstances"][0]
    assert "healthStatus" not in described["containerInstances"][0]
    assert described["failures"] == [{"arn": f"{ARN_PREFIX}/prod/{'0' * 32}", "reason": "MISSING"}]
    assert ecs.describe_clusters(clusters=["prod"])["clusters"][0][
        "registeredContainerInstancesCount"] == 1


def test_describe_includes_tags_and_health(ecs):
    ecs.create_cluster()
    arn = register(ecs, tags=[{"key": "k", "value": "v"}])["containerInstanceArn"]
    described = ecs.describe_container_instances(
        containerInstances=[arn], include=["TAGS", "CONTAINER_INSTANCE_HEALTH"]
    )["containerInstances"][0]
    assert described["tags"] == [{"key": "k", "value": "v"}]
    assert described["healthStatus"]["overallStatus"] == "OK"
    assert described["healthStatus"]["details"][0]["type"] == "CONTAINER_RUNTIME"


def test_register_with_given_resources_attributes_and_version(ecs):
    ecs.create_cluster()
    instance = register(
        ecs,
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 3900},
            {"name": "GPU", "type": "STRINGSET", "stringSetValue": ["gpu0"]},
        ],
        versionInfo={"agentVersion": "1.70.2"},
        attributes=[{"name": "ecs.os-type", "value": "linux"}, {"name": "stack", "value": "prod"}],
    )
    registered = resources_by_name(instance["registeredResources"])
    assert registered["CPU"]["integerValue"] == 2048
    assert registered["MEMORY"]["integerValue"] == 3900
    assert registered["GPU"]["stringSetValue"] == ["gpu0"]
    assert "PORTS" in registered and "PORTS_UDP" in registered  # defaults fill the rest
    assert instance["versionInfo"] == {"agentVersion": "1.70.2"}
    attributes = {a["name"]: a.get("value") for a in instance["attributes"]}
    assert attributes["ecs.os-type"] == "linux" and attributes["stack"] == "prod"


def test_register_without_identity_document_is_an_external_instance(ecs):
    ecs.create_cluster()
    instance = ecs.register_container_instance()["containerInstance"]
    assert re.fullmatch(r"mi-[0-9a-f]{17}", instance["ec2InstanceId"])


def test_reregister_keeps_the_arn(ecs):
    ecs.create_cluster()
    first = register(ecs, versionInfo={"agentVersion": "1.0.0"})
    ecs.put_attributes(attributes=[{"name": "custom", "value": "x",
                                    "targetId": first["containerInstanceArn"]}])
    again = register(ecs, containerInstanceArn=first["containerInstanceArn"],
                     versionInfo={"agentVersion": "1.1.0"})
    assert again["containerInstanceArn"] == first["containerInstanceArn"]
    assert again["versionInfo"]["agentVersion"] == "1.1.0"
    assert again["version"] > first["version"]
    assert {"name": "custom", "value": "x"} in again["attributes"]
    assert len(ecs.list_container_instances()["containerInstanceArns"]) == 1

    with pytest.raises(ClientError) as excinfo:
        register(ecs, containerInstanceArn=first["containerInstanceArn"],
                 doc={"instance_type": "m5.xlarge"})
    assert error_code(excinfo) == "ClientException"
    with pytest.raises(ClientError) as excinfo:
        register(ecs, containerInstanceArn=f"{ARN_PREFIX}/default/{'f' * 32}")
    assert error_code(excinfo) == "InvalidParameterException"


def test_register_refusals(ecs):
    with pytest.raises(ClientError) as excinfo:
        register(ecs, "nowhere")
    assert error_code(excinfo) == "ClusterNotFoundException"
    ecs.create_cluster()
    bad_requests = [
        {"instanceIdentityDocument": "{not json"},
        {"totalResources": [{"name": "CPU", "type": "FLOAT", "doubleValue": 1.0}]},
        {"totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1},
                            {"name": "CPU", "type": "INTEGER", "integerValue": 2}]},
        {"attributes": [{"name": "bad name!", "value": "x"}]},
        {"attributes": [{"name": "ok", "value": " leading-space"}]},
    ]
    for request in bad_requests:
        with pytest.raises(ClientError) as excinfo:
            ecs.register_container_instance(**request)
        assert error_code(excinfo) == "InvalidParameterException", request


def test_list_by_status_and_pages(ecs):
    ecs.create_cluster()
    arns = sorted(
        register(ecs, instance_id=f"i-{n:017d}")["containerInstanceArn"] for n in range(5)
    )
    ecs.update_container_instances_state(containerInstances=arns[:2], status="DRAINING")
    assert ecs.list_container_instances()["containerInstanceArns"] == arns
    assert ecs.list_container_instances(status="DRAINING")["containerInstanceArns"] == arns[:2]
    assert ecs.list_container_instances(status="ACTIVE")["containerInstanceArns"] == arns[2:]

    first = ecs.list_container_instances(maxResults=2)
    assert first["containerInstanceArns"] == arns[:2]
    rest = ecs.list_container_instances(maxResults=100, nextToken=first["nextToken"])
    assert rest["containerInstanceArns"] == arns[2:] and "nextToken" not in rest
    with pytest.raises(ClientError) as excinfo:
        ecs.list_container_instances(maxResults=101)
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.list_container_instances(cluster="nowhere")
    assert error_code(excinfo) == "ClusterNotFoundException"


@pytest.fixture
def fleet(ecs):
    """Three instances: a and b are t3.large in us-east-1a and 1b; c is m5.xlarge with custom
    attributes."""
    ecs.create_cluster()
    a = register(ecs, instance_id="i-aaaaaaaaaaaaaaaaa", versionInfo={"agentVersion": "1.14.5"})
    b = register(ecs, instance_id="i-bbbbbbbbbbbbbbbbb", doc={"zone": "us-east-1b"},
                 versionInfo={"agentVersion": "1.80.0"})
    c = register(ecs, instance_id="i-ccccccccccccccccc", doc={"instance_type": "m5.xlarge"},
                 attributes=[{"name": "stack", "value": "prod"}, {"name": "gpu"}])
    return {name: i["containerInstanceArn"] for name, i in zip("abc", (a, b, c))}


@pytest.mark.parametrize("expression, expected", [
    ("attribute:ecs.instance-type == t3.large", "ab"),
    ("attribute:ecs.instance-type equals 'm5.xlarge'", "c"),
    ("attribute:ecs.instance-type != t3.large", "c"),
    ("attribute:stack exists", "c"),
    ("attribute:gpu exists", "c"),
    ("attribute:stack !exists", "ab"),
    ("attribute:stack not_exists", "ab"),
    ("attribute:ecs.availability-zone in [us-east-1b, us-east-1c]", "b"),
    ("attribute:ecs.availability-zone !in [us-east-1b]", "ac"),
    ("attribute:ecs.instance-type =~ t3.*", "ab"),
    ("attribute:ecs.instance-type !~ t3.*", "c"),
    ("attribute:ecs.instance-type =~ t3", ""),  # the whole value must match, as in Java
    ("ec2InstanceId == i-aaaaaaaaaaaaaaaaa", "a"),
    ("ec2InstanceId in ['i-aaaaaaaaaaaaaaaaa', 'i-ccccccccccccccccc']", "ac"),
    ("agentVersion >= 1.15", "b"),
    ("agentVersion < 1.15.0", "a"),
    ("agentConnected == true", "abc"),
    ("runningTasksCount == 0", "abc"),
    ("runningTasksCount > 0", ""),
    ("registeredAt > 2001-01-01", "abc"),
    ("registeredAt < 2001-01-01T00:00:00Z", ""),
    ("task:group exists", ""),
    ("not(task:group == service:web)", "abc"),
    ("attribute:ecs.instance-type == t3.large and attribute:ecs.availability-zone == us-east-1a",
     "a"),
    ("attribute:stack exists || ec2InstanceId == i-bbbbbbbbbbbbbbbbb", "bc"),
    ("(attribute:stack exists or ec2InstanceId == i-bbbbbbbbbbbbbbbbb) && !(attribute:gpu exists)",
     "b"),
])
def test_list_with_cluster_query(ecs, fleet, expression, expected):
    listed = ecs.list_container_instances(filter=expression)["containerInstanceArns"]
    assert sorted(listed) == sorted(fleet[name] for name in expected)


@pytest.mark.parametrize("expression", [
    "attribute:stack",  # no operator
    "attribute:stack ==",  # no argument
    "colour == red",  # unknown subject
    "attribute: == x",
    "ec2InstanceId > i-1",  # an operator the subject does not allow
    "runningTasksCount exists",
    "runningTasksCount == many",
    "registeredAt > yesterday",
    "agentVersion > latest",
    "attribute:stack in prod",  # `in` needs a list
    "attribute:stack == [a, b]",
    "attribute:stack =~ '('",  # not a regular expression
    "(attribute:stack exists",
    "attribute:stack exists and",
    "attribute:stack exists attribute:gpu exists",
])
def test_list_refuses_what_it_cannot_evaluate(ecs, fleet, expression):
    with pytest.raises(ClientError) as excinfo:
        ecs.list_container_instances(filter=expression)
    assert error_code(excinfo) == "InvalidParameterException"


def test_update_state(ecs):
    ecs.create_cluster()
    arn = register(ecs)["containerInstanceArn"]
    missing = f"{ARN_PREFIX}/default/{'a' * 32}"
    result = ecs.update_container_instances_state(containerInstances=[arn, missing],
                                                  status="DRAINING")
    assert [i["status"] for i in result["containerInstances"]] == ["DRAINING"]
    assert result["failures"] == [{"arn": missing, "reason": "MISSING"}]
    version = result["containerInstances"][0]["version"]
    back = ecs.update_container_instances_state(containerInstances=[arn], status="ACTIVE")
    assert back["containerInstances"][0]["status"] == "ACTIVE"
    assert back["containerInstances"][0]["version"] > version

    for status in ("REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"):
        with pytest.raises(ClientError) as excinfo:
            ecs.update_container_instances_state(containerInstances=[arn], status=status)
        assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.update_container_instances_state(containerInstances=[arn], status="PAUSED")
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.update_container_instances_state(containerInstances=[arn] * 11, status="ACTIVE")
    assert error_code(excinfo) == "InvalidParameterException"


def test_deregister(ecs):
    ecs.create_cluster(clusterName="c")
    arn = register(ecs, "c")["containerInstanceArn"]
    with pytest.raises(ClientError) as excinfo:
        ecs.delete_cluster(cluster="c")
    assert error_code(excinfo) == "ClusterContainsContainerInstancesException"

    gone = ecs.deregister_container_instance(cluster="c", containerInstance=arn, force=False)
    assert gone["containerInstance"]["status"] == "INACTIVE"
    assert ecs.list_container_instances(cluster="c")["containerInstanceArns"] == []
    # Still describable, as on ECS, and no longer a target for state changes.
    described = ecs.describe_container_instances(cluster="c", containerInstances=[arn])
    assert described["containerInstances"][0]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as excinfo:
        ecs.update_container_instances_state(cluster="c", containerInstances=[arn], status="ACTIVE")
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.deregister_container_instance(cluster="c", containerInstance="f" * 32)
    assert error_code(excinfo) == "InvalidParameterException"
    ecs.delete_cluster(cluster="c")


def test_instance_of_another_cluster_is_not_found(ecs):
    ecs.create_cluster(clusterName="one")
    ecs.create_cluster(clusterName="two")
    arn = register(ecs, "one")["containerInstanceArn"]
    described = ecs.describe_container_instances(cluster="two", containerInstances=[arn])
    assert described["containerInstances"] == []
    assert described["failures"][0]["reason"] == "MISSING"


def test_container_instance_tags(ecs):
    ecs.create_cluster()
    arn = register(ecs)["containerInstanceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "a", "value": "1"}]


def test_usage_reported_by_the_task_layers(ecs, clean_emulator, monkeypatch):
    """Layers that place tasks report what they use through the app's contributions; the
    instance's counts, remaining resources, the query language and deregistration follow it."""
    from emulator.ecs import container_instances

    ecs.create_cluster()
    busy = register(ecs, instance_id="i-busy")["containerInstanceArn"]
    idle = register(ecs, instance_id="i-idle")["containerInstanceArn"]

    def tasks_on(store, instance):
        if instance.arn != busy:
            return container_instances.Usage()
        return container_instances.Usage(running=2, pending=1, cpu=512, memory=1024,
                                         ports={"8080"}, task_groups={"service:web"})

    monkeypatch.setattr(clean_emulator.emulator.ecs.contributions, "instance_usage", [tasks_on])
    described = ecs.describe_container_instances(containerInstances=[busy])["containerInstances"][0]
    assert (described["runningTasksCount"], described["pendingTasksCount"]) == (2, 1)
    registered = resources_by_name(described["registeredResources"])
    remaining = resources_by_name(described["remainingResources"])
    assert remaining["CPU"]["integerValue"] == registered["CPU"]["integerValue"] - 512
    assert remaining["MEMORY"]["integerValue"] == registered["MEMORY"]["integerValue"] - 1024
    assert "8080" in remaining["PORTS"]["stringSetValue"]
    assert "8080" not in registered["PORTS"]["stringSetValue"]

    assert ecs.list_container_instances(filter="runningTasksCount > 1")[
        "containerInstanceArns"] == [busy]
    assert ecs.list_container_instances(filter="task:group == service:web")[
        "containerInstanceArns"] == [busy]
    assert ecs.list_container_instances(filter="task:group != service:web")[
        "containerInstanceArns"] == [idle]

    with pytest.raises(ClientError) as excinfo:
        ecs.deregister_container_instance(containerInstance=busy)
    assert error_code(excinfo) == "InvalidParameterException"
    forced = ecs.deregister_container_instance(containerInstance=busy, force=True)
    assert forced["containerInstance"]["status"] == "INACTIVE"
