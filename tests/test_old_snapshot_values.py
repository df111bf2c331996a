"""What a snapshot of an older build holds reads as ECS would show it, without Docker: a service
saved before availabilityZoneRebalancing existed shows ENABLED, and tags saved before the tag
pattern was checked neither refuse TagResource nor the launches of a service that propagates
them (only the tags a request brings are checked)."""

from __future__ import annotations

import pytest

from emulator.app import create_app
from emulator.aws.context import RequestContext
from emulator.cloudformation.resource import EXTENSION
from emulator.config import Settings
from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.launch_request import LaunchRequest, Origin
from emulator.ecs.task_launch import build_tasks
from emulator.persistence import snapshot

CTX = RequestContext(account="123456789012", region="us-east-1")
OLD_TAG = {"key": "cost#centre", "value": "a"}  # "#" fits no tag pattern now


@pytest.fixture
def world():
    """An app (not started) with a cluster and a service that propagates its tags; the app,
    its ECS API, the service and its ARN."""
    app = create_app(Settings(keep_resources=True))
    api = app.moto.extensions[EXTENSION].ecs
    api.invoke("CreateCluster", {"clusterName": "old"}, CTX)
    api.invoke("RegisterTaskDefinition", {"family": "web", "containerDefinitions": [
        {"name": "main", "image": "busybox", "memory": 64}]}, CTX)
    arn = api.invoke("CreateService", {"cluster": "old", "serviceName": "s",
                                       "taskDefinition": "web", "desiredCount": 0,
                                       "propagateTags": "SERVICE"}, CTX)["service"]["serviceArn"]
    store = app.ecs.store_for(CTX.account, CTX.region)
    return app, api, store.services[("old", "s")], arn


def test_a_service_of_an_older_snapshot_shows_rebalancing_enabled(world):
    _, _, service, _ = world
    del service.__dict__["availability_zone_rebalancing"]  # pickled by a build before the field
    assert snapshot.loads(snapshot.dumps(service)).availability_zone_rebalancing == "ENABLED"


def test_tags_stored_before_the_pattern_refuse_nothing_later(world):
    app, api, service, arn = world
    service.tags = [OLD_TAG]
    api.invoke("TagResource", {"resourceArn": arn, "tags": [{"key": "team", "value": "b"}]}, CTX)
    assert api.invoke("ListTagsForResource", {"resourceArn": arn}, CTX)["tags"] == [
        OLD_TAG, {"key": "team", "value": "b"}]
    with pytest.raises(InvalidParameterException):  # what a request brings is still checked
        api.invoke("TagResource", {"resourceArn": arn, "tags": [OLD_TAG]}, CTX)

    launch = LaunchRequest(task_definition="web", origin=Origin.SERVICE, cluster="old",
                           launch_type="EC2", tags=tuple(service.tags), group="service:s")
    store = app.ecs.store_for(CTX.account, CTX.region)
    with app.ecs.lock:
        tasks = build_tasks(store, launch, store.clusters["old"])
    assert [t.tags for t in tasks] == [[OLD_TAG, {"key": "team", "value": "b"}]]
