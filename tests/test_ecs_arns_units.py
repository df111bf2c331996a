"""ECS ARNs taken apart, and what makes one name something of a store (its account, region and,
where the caller asks, resource type): the one rule every look-up by ARN applies."""

from types import SimpleNamespace

import pytest

from emulator.ecs import arns

STORE = SimpleNamespace(account="123456789012", region="us-east-1")


@pytest.mark.parametrize("arn, resource_type, ours", [
    ("arn:aws:ecs:us-east-1:123456789012:daemon/c/d", "daemon", True),
    ("arn:aws:ecs:us-east-1:123456789012:daemon/c/d", None, True),
    ("arn:aws:ecs:us-east-1:123456789012:daemon/c/d", "service", False),
    ("arn:aws:ecs:eu-west-1:123456789012:daemon/c/d", "daemon", False),
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
