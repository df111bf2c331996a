"""How DescribeTasks finds a task by the reference it is given (emulator/ecs/tasks.py find):
its ARN, its id, or its ARN of the older format without the cluster, each only in the cluster
the call names. No Docker: the tasks are never started (the fake runtime's engine is not)."""

import pytest

from emulator import app as app_module
from emulator.app import create_app
from emulator.aws.context import RequestContext
from emulator.cloudformation.resource import EXTENSION
from emulator.config import Settings
from emulator.runtime.fake import FakeRuntime

CTX = RequestContext(account="123456789012", region="us-east-1")


@pytest.fixture
def ecs(monkeypatch):
    monkeypatch.setattr(app_module, "_docker_runtime",
                        lambda keeper, settings, environment=None, bridge_claims=None,
                        own_container=None: FakeRuntime())
    app = create_app(Settings(keep_resources=True))
    return app.moto.extensions[EXTENSION].ecs


def test_a_task_is_found_by_each_reference_only_in_its_own_cluster(ecs):
    for name in ("a", "b"):
        ecs.invoke("CreateCluster", {"clusterName": name}, CTX)
    ecs.invoke("RegisterTaskDefinition", {"family": "f", "containerDefinitions": [
        {"name": "main", "image": "busybox", "memory": 64}]}, CTX)
    arn = ecs.invoke("RunTask", {"cluster": "a", "taskDefinition": "f"},
                     CTX)["tasks"][0]["taskArn"]
    task_id = arn.rsplit("/", 1)[1]
    old_format = arn.replace("task/a/", "task/")
    refs = [arn, task_id, old_format]
    found = ecs.invoke("DescribeTasks", {"cluster": "a", "tasks": refs}, CTX)
    assert [t["taskArn"] for t in found["tasks"]] == [arn] * 3 and found["failures"] == []
    elsewhere = ecs.invoke("DescribeTasks", {"cluster": "b", "tasks": refs}, CTX)
    assert elsewhere["tasks"] == []
    assert elsewhere["failures"] == [{"arn": ref, "reason": "MISSING"} for ref in refs]
