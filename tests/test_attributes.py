"""PutAttributes, DeleteAttributes and ListAttributes on container instances, through boto3."""

import json

import pytest
from botocore.exceptions import ClientError


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def register(ecs, cluster="default", instance_id="i-0000000000000001", instance_type="t3.large"):
    document = json.dumps({"instanceId": instance_id, "instanceType": instance_type})
    return ecs.register_container_instance(
        cluster=cluster, instanceIdentityDocument=document
    )["containerInstance"]["containerInstanceArn"]


def attributes_of(ecs, arn, cluster="default"):
    described = ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])
    return {a["name"]: a.get("value") for a in described["containerInstances"][0]["attributes"]}


@pytest.fixture
def instance(ecs):
    ecs.create_cluster()
    return register(ecs)


def test_put_by_arn_and_by_id(ecs, instance):
    answered = ecs.put_attributes(attributes=[
        {"name": "stack", "value": "prod", "targetId": instance},
        {"name": "team", "value": "core", "targetId": instance.rsplit("/", 1)[-1],
         "targetType": "container-instance"},
        {"name": "marker", "targetId": instance},  # a value is optional
    ])["attributes"]
    assert [a["name"] for a in answered] == ["stack", "team", "marker"]
    attributes = attributes_of(ecs, instance)
    assert attributes["stack"] == "prod" and attributes["team"] == "core"
    assert "marker" in attributes and attributes["marker"] is None
    assert attributes["ecs.instance-type"] == "t3.large"  # built-ins stay

    # Putting again replaces the value.
    ecs.put_attributes(attributes=[{"name": "stack", "value": "dev", "targetId": instance}])
    assert attributes_of(ecs, instance)["stack"] == "dev"


def test_put_bumps_the_version(ecs, instance):
    def describe():
        return ecs.describe_container_instances(containerInstances=[instance])[
            "containerInstances"][0]

    before = describe()
    ecs.put_attributes(attributes=[{"name": "stack", "value": "prod", "targetId": instance}])
    after = describe()
    assert after["version"] > before["version"]


def test_put_refusals(ecs, instance):
    refusals = {
        "InvalidParameterException": [
            [],
            [{"name": f"a{n}", "value": "v", "targetId": instance} for n in range(11)],
            [{"name": "stack", "value": "prod"}],  # no target
            [{"name": "stack", "value": "prod", "targetId": "0" * 32}],  # short id, no type
            [{"name": "bad name", "value": "prod", "targetId": instance}],
            [{"name": "x" * 129, "value": "prod", "targetId": instance}],
            [{"name": "stack", "value": "no#hash", "targetId": instance}],
            [{"name": "stack", "value": "trailing ", "targetId": instance}],
            [{"name": "stack", "value": "", "targetId": instance}],
        ],
        "TargetNotFoundException": [
            [{"name": "stack", "value": "prod", "targetId": "0" * 32,
              "targetType": "container-instance"}],
            [{"name": "stack", "value": "prod",
              "targetId": instance.replace("/default/", "/other/")}],
        ],
    }
    for code, requests in refusals.items():
        for attributes in requests:
            with pytest.raises(ClientError) as excinfo:
                ecs.put_attributes(attributes=attributes)
            assert error_code(excinfo) == code, attributes
    assert "stack" not in attributes_of(ecs, instance)
    with pytest.raises(ClientError) as excinfo:
        ecs.put_attributes(cluster="nowhere",
                           attributes=[{"name": "a", "value": "b", "targetId": instance}])
    assert error_code(excinfo) == "ClusterNotFoundException"


def test_values_may_hold_the_allowed_punctuation(ecs, instance):
    value = "user@example.com:/path\\to it_1.0-x"
    ecs.put_attributes(attributes=[{"name": "a/b\\c.d-e_f", "value": value, "targetId": instance}])
    assert attributes_of(ecs, instance)["a/b\\c.d-e_f"] == value


def test_custom_attribute_limit(ecs, instance):
    ten = [{"name": f"custom{n}", "value": "v", "targetId": instance} for n in range(10)]
    ecs.put_attributes(attributes=ten)
    # Replacing an existing one is fine; built-in names do not count against the limit.
    ecs.put_attributes(attributes=[{"name": "custom0", "value": "w", "targetId": instance},
                                   {"name": "ecs.extra", "value": "x", "targetId": instance}])
    with pytest.raises(ClientError) as excinfo:
        ecs.put_attributes(attributes=[{"name": "eleventh", "value": "v", "targetId": instance}])
    assert error_code(excinfo) == "AttributeLimitExceededException"
    assert "eleventh" not in attributes_of(ecs, instance)

    ecs.delete_attributes(attributes=[{"name": "custom9", "targetId": instance}])
    ecs.put_attributes(attributes=[{"name": "eleventh", "value": "v", "targetId": instance}])
    assert "eleventh" in attributes_of(ecs, instance)


def test_delete(ecs, instance):
    ecs.put_attributes(attributes=[{"name": "stack", "value": "prod", "targetId": instance},
                                   {"name": "team", "value": "core", "targetId": instance}])
    answered = ecs.delete_attributes(attributes=[{"name": "stack", "targetId": instance}])
    assert answered["attributes"] == [{"name": "stack", "targetId": instance}]
    attributes = attributes_of(ecs, instance)
    assert "stack" not in attributes and attributes["team"] == "core"
    # Deleting an attribute the instance does not have is not an error.
    ecs.delete_attributes(attributes=[{"name": "stack", "targetId": instance}])

    with pytest.raises(ClientError) as excinfo:
        ecs.delete_attributes(attributes=[{"name": "team", "targetId": "0" * 32,
                                           "targetType": "container-instance"}])
    assert error_code(excinfo) == "TargetNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ecs.delete_attributes(attributes=[{"name": "team"}])
    assert error_code(excinfo) == "InvalidParameterException"


def test_deregistered_instance_is_no_target(ecs, instance):
    ecs.deregister_container_instance(containerInstance=instance)
    with pytest.raises(ClientError) as excinfo:
        ecs.put_attributes(attributes=[{"name": "a", "value": "b", "targetId": instance}])
    assert error_code(excinfo) == "TargetNotFoundException"


def test_list(ecs):
    ecs.create_cluster()
    ecs.create_cluster(clusterName="other")
    first = register(ecs, instance_id="i-1")
    second = register(ecs, instance_id="i-2", instance_type="m5.large")
    elsewhere = register(ecs, "other", instance_id="i-3")
    for arn in (first, second, elsewhere):
        ecs.put_attributes(cluster="other" if arn == elsewhere else "default",
                           attributes=[{"name": "stack", "value": "prod", "targetId": arn}])
    ecs.put_attributes(attributes=[{"name": "stack", "value": "dev", "targetId": second}])

    listed = ecs.list_attributes(targetType="container-instance")["attributes"]
    assert {a["targetId"] for a in listed} == {first, second}
    assert all(a["targetType"] == "container-instance" for a in listed)
    assert {"name": "ecs.instance-type", "value": "m5.large", "targetType": "container-instance",
            "targetId": second} in listed

    by_name = ecs.list_attributes(targetType="container-instance", attributeName="stack")
    assert sorted((a["targetId"], a["value"]) for a in by_name["attributes"]) == sorted(
        [(first, "prod"), (second, "dev")]
    )
    by_value = ecs.list_attributes(targetType="container-instance", attributeName="stack",
                                   attributeValue="prod")
    assert [a["targetId"] for a in by_value["attributes"]] == [first]
    other = ecs.list_attributes(cluster="other", targetType="container-instance",
                                attributeName="stack")
    assert [a["targetId"] for a in other["attributes"]] == [elsewhere]

    with pytest.raises(ClientError) as excinfo:
        ecs.list_attributes(targetType="container-instance", attributeValue="prod")
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.list_attributes(cluster="nowhere", targetType="container-instance")
    assert error_code(excinfo) == "ClusterNotFoundException"


def test_list_pages(ecs, instance):
    ecs.put_attributes(attributes=[{"name": f"a{n}", "value": "v", "targetId": instance}
                                   for n in range(5)])
    everything = ecs.list_attributes(targetType="container-instance")["attributes"]
    seen, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = ecs.list_attributes(targetType="container-instance", maxResults=2, **kwargs)
        assert len(page["attributes"]) <= 2
        seen += page["attributes"]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == everything and len(seen) == 5 + 1  # five custom, plus ecs.instance-type
    with pytest.raises(ClientError) as excinfo:
        ecs.list_attributes(targetType="container-instance", maxResults=0)
    assert error_code(excinfo) == "InvalidParameterException"
