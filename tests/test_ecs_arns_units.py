"""ECS ARNs taken apart, and what makes one name something of a store (its account, region and,
where the caller asks, resource type): the one rule every look-up by ARN applies."""

from types import SimpleNamespace

import pytest

from emulator.ecs import arns
from emulator.ecs.errors import InvalidParameterException

STORE = SimpleNamespace(account="123456789012", region="us-east-1")


@pytest.mark.parametrize("arn, resource_type, ours", [
    ("arn:aws:ecs:us-east-1:123456789012:daemon/c/d", "daemon", True),
    ("arn:aws:ecs:us-east-1:123456789012:daemon/c/d", None, True),
    ("arn:aws:ecs:us-east-1:123456789012:daemon/c/d", "service", False),
    ("arn:aws:ecs:us-east-1:111122223333:daemon/c/d", None, False),
])
def test_an_arn_is_a_stores_by_its_account_region_and_type(arn, resource_type, ours):
    parsed = arns.parse(arn)
    assert str(parsed) == arn
    assert parsed.in_store(STORE, resource_type) is ours


def test_a_deployment_arn_is_taken_apart_as_it_is_built():
    service = SimpleNamespace(cluster_name="c", name="web")
    arn = arns.deployment(STORE, "service-deployment", service, "123")
    assert arn == "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/web/123"
    assert arns.deployment_parts(STORE, arn, "service-deployment") == ("c", "web", "123")
    assert arns.deployment_parts(STORE, arn, "daemon-deployment") is None
    assert arns.deployment_parts(STORE, arn.replace("/123", ""), "service-deployment") is None
    assert arns.deployment_parts(STORE, "web", "service-deployment") is None


@pytest.mark.parametrize("arn", [
    "arn:aws:ecs:eu-west-1:123456789012:cluster/dev",
    "arn:aws:ecs:ap-south-1:111122223333:service/dev/w",
    "arn:aws-cn:ecs:cn-north-1:123456789012:task/dev/abc",
])
def test_another_regions_arn_is_refused_as_ecs_refuses_it(arn):
    with pytest.raises(InvalidParameterException) as excinfo:
        arns.resource_in(STORE, arn, arns.parse(arn).resource_type)
    assert excinfo.value.message == "Invalid Region in ARN"


@pytest.mark.parametrize("ref, resource_type, resource", [
    ("dev", "cluster", "dev"),  # a name is itself
    ("arn:aws:ecs:us-east-1:123456789012:cluster/dev", "cluster", "dev"),
    ("arn:aws:ecs:us-east-1:999999999999:cluster/dev", "cluster", None),  # another account's
    ("arn:aws:ecs:us-east-1:123456789012:service/dev/w", "cluster", None),  # another type's
    ("arn:aws:iam::123456789012:role/dev", "cluster", None),  # not ECS's
    ("arn:aws:ecs:us-east-1:123456789012:service/dev/w", "service", "dev/w"),
])
def test_what_a_reference_names_here(ref, resource_type, resource):
    assert arns.resource_in(STORE, ref, resource_type) == resource


@pytest.mark.parametrize("ref, name", [
    ("w", "w"),
    ("arn:aws:ecs:us-east-1:123456789012:service/dev/w", "w"),
    ("arn:aws:ecs:us-east-1:123456789012:service/w", "w"),  # the old format names no cluster
    ("arn:aws:ecs:us-east-1:123456789012:service/prod/w", None),  # another cluster's
    ("arn:aws:ecs:us-east-1:999999999999:service/dev/w", None),
])
def test_a_service_arn_names_its_own_cluster_only(ref, name):
    assert arns.in_cluster(STORE, ref, "service", "dev") == name


def test_a_failure_names_an_arn_as_given_and_a_name_as_its_arn_here():
    foreign = "arn:aws:ecs:us-east-1:999999999999:cluster/dev"
    assert arns.given_or_built(STORE, foreign, "cluster") == foreign
    assert (arns.given_or_built(STORE, "w", "service", "dev")
            == "arn:aws:ecs:us-east-1:123456789012:service/dev/w")
