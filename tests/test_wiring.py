"""Wiring happens in the app factory: importing a module registers nothing and patches nothing,
and two apps in one process keep their own handler tables and contributions."""

import subprocess
import sys
import textwrap

import pytest

from emulator.app import create_app
from emulator.aws.context import RequestContext
from emulator.cloudformation.resource import EXTENSION
from emulator.config import Settings
from emulator.ecr import api as ecr_api
from emulator.ecs import api as ecs_api
from emulator.ecs.errors import InvalidParameterException

CTX = RequestContext(account="123456789012", region="us-east-1")


def _ecs(app):
    return app.moto.extensions[EXTENSION].ecs


def test_two_apps_keep_their_own_contributions():
    """What tasks and services add to a cluster's counts belongs to one app: a contribution
    given to one is not seen by the other."""
    first, second = (create_app(Settings(keep_resources=True)) for _ in range(2))
    assert first.ecs.contributions is not second.ecs.contributions
    first.ecs.contributions.cluster_counts.append(lambda store, cluster: {"runningTasksCount": 7})
    for app in (first, second):
        _ecs(app).invoke("CreateCluster", {"clusterName": "c"}, CTX)
    counts = [_ecs(app).invoke("DescribeClusters", {"clusters": ["c"]}, CTX)["clusters"][0]
              ["runningTasksCount"] for app in (first, second)]
    assert counts == [7, 0]


def test_two_apps_keep_their_own_tag_finders():
    first, second = (create_app(Settings(keep_resources=True)) for _ in range(2))
    del first.ecs.contributions.tag_finders["cluster"]
    tags = [{"key": "k", "value": "v"}]
    for app in (first, second):
        _ecs(app).invoke("CreateCluster", {"clusterName": "c"}, CTX)
    arn = f"arn:aws:ecs:us-east-1:{CTX.account}:cluster/c"
    with pytest.raises(InvalidParameterException, match="cannot be tagged"):
        _ecs(first).invoke("TagResource", {"resourceArn": arn, "tags": tags}, CTX)
    _ecs(second).invoke("TagResource", {"resourceArn": arn, "tags": tags}, CTX)
    assert _ecs(second).invoke("ListTagsForResource", {"resourceArn": arn}, CTX)["tags"] == tags


def test_every_collection_of_handlers_is_a_new_table():
    """Collecting twice neither fails ("two handlers") nor shares a table."""
    for api in (ecs_api, ecr_api):
        first, second = api.handlers(), api.handlers()
        assert first.handlers == second.handlers and first.handlers
        first.handlers.clear()
        assert second.handlers


def test_importing_every_module_leaves_moto_alone():
    """moto's ELBv2 target groups are extended only while an app that loaded moto runs: not by
    importing our modules, not by create_app before moto loads, and no longer once the last app
    holding the extension stops."""
    script = textwrap.dedent("""
        import importlib, pkgutil, sys
        import emulator
        for module in pkgutil.walk_packages(emulator.__path__, "emulator."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
        from emulator.app import create_app
        from emulator.config import Settings
        first, second = (create_app(Settings(keep_resources=True)) for _ in range(2))
        assert "moto" not in sys.modules  # imported on first use, not by us nor by create_app
        from moto.elbv2 import models

        def moto_own():
            return all(getattr(models.FakeTargetGroup, name).__module__ == "moto.elbv2.models"
                       for name in ("register", "deregister", "health_for",
                                    "deregister_terminated_instances")) and (
                "load_balancer_arns" not in vars(models.FakeTargetGroup))  # moto's attribute

        seen = [moto_own()]
        first.moto.load()
        second.moto.load()
        seen.append(moto_own())
        first.stop()
        seen.append(moto_own())
        second.stop()
        seen.append(moto_own())
        print(seen)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    # apps created, moto loaded by both, one app stopped, both stopped
    assert done.stdout.split("\n")[-2] == "[True, False, False, True]"


def test_each_running_apps_engine_gateways_are_this_hosts_until_it_stops(monkeypatch):
    """Two emulators in one process (the session's and a `running_emulator`'s): each one's
    engines' gateways count as this host's while it runs, whichever was made last, and a
    stopped one's no longer."""
    from emulator import app as app_module
    from emulator.access import host_addresses
    from emulator.runtime.fake import FakeRuntime

    addresses = iter(["203.0.113.1", "203.0.113.2"])
    monkeypatch.setattr(app_module, "_docker_runtime",
                        lambda keeper, settings, environment=None, bridge_claims=None,
                        own_container=None: FakeRuntime(gateway=next(addresses)))
    first, second = (create_app(Settings(keep_resources=True, auto_container_instance=False))
                     for _ in range(2))
    assert not {"203.0.113.1", "203.0.113.2"} & set(host_addresses.known_gateways())  # not started
    first.start()
    try:
        second.start()
        try:
            assert {"203.0.113.1", "203.0.113.2"} <= set(host_addresses.known_gateways())
        finally:
            second.stop()
        assert "203.0.113.1" in host_addresses.known_gateways()
        assert "203.0.113.2" not in host_addresses.known_gateways()
    finally:
        first.stop()
    assert "203.0.113.1" not in host_addresses.known_gateways()
