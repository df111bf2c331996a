"""Removing networks that Docker says "have active endpoints" (runtime/docker_cleanup.py), on a
stand-in for the Docker API that answers as dockerd 20.10 did on this machine after mass
removals: an endpoint whose container is gone is listed as "ep-<id>" and goes only when its
name is force-disconnected; a network may list no endpoint yet keep a count of them (moby#42119);
a live emulator's network is never touched."""

from __future__ import annotations

import logging
import subprocess

import docker.errors
import pytest

from emulator.runtime import docker_cleanup, labels


def active_endpoints(name: str) -> docker.errors.APIError:
    return docker.errors.APIError(
        "403", explanation=f"error while removing network: network {name} id x has active endpoints")


class StubApi:
    """Networks by id: {"Name", "Labels", "Containers" (as inspect lists them), "count" (what
    dockerd counts: removal is refused while above 0)}."""

    def __init__(self, networks: dict[str, dict]):
        self.nets = networks
        self.calls: list[tuple] = []

    def containers(self, all=False, filters=None):
        return []

    def volumes(self, filters=None):
        return {"Volumes": []}

    def networks(self, filters=None):
        wanted = [f.split("=", 1) for f in (filters or {}).get("label", [])]
        return [{"Id": ident, "Name": net["Name"], "Labels": net["Labels"]}
                for ident, net in self.nets.items()
                if all(k in net["Labels"] and (len(f) == 1 or net["Labels"][k] == f[1])
                       for f in wanted for k in [f[0]])]

    def inspect_network(self, ident):
        if ident not in self.nets:
            raise docker.errors.NotFound("no such network")
        net = self.nets[ident]
        return {"Name": net["Name"], "Containers": dict(net["Containers"])}

    def disconnect_container_from_network(self, container, ident, force=False):
        self.calls.append(("disconnect", container, ident, force))
        net = self.nets[ident]
        # dockerd looks an endpoint up by its container while that lives, else (with force)
        # by its name: never by "ep-<id>", nor by the id of a container that is gone
        key = next((k for k, e in net["Containers"].items()
                    if (k == container and not k.startswith("ep-") and not e.get("gone"))
                    or ((k.startswith("ep-") or e.get("gone")) and e["Name"] == container)),
                   None)
        if key is None:
            raise docker.errors.NotFound(f"endpoint {container} not found")
        del net["Containers"][key]
        net["count"] -= 1

    def remove_network(self, ident):
        self.calls.append(("remove", ident))
        net = self.nets[ident]
        if net["count"] > 0:
            raise active_endpoints(net["Name"])
        del self.nets[ident]


def dead_owner() -> dict[str, str]:
    process = subprocess.Popen(["true"])
    process.wait()
    return {**labels.owner_labels("dead"), labels.PID: str(process.pid), labels.PID_START: "1"}


def network(name: str, owner: dict, containers: dict | None = None, count: int | None = None):
    containers = containers or {}
    return {"Name": name, "Labels": owner, "Containers": containers,
            "count": len(containers) if count is None else count}


def test_a_dead_emulators_stale_endpoint_is_disconnected_by_name_and_its_network_removed():
    stale = {"ep-81b239d99038": {"Name": "ecs-bench-awsvpc-55f7d8379093-sandbox",
                                 "EndpointID": "81b239d99038"}}
    live = labels.owner_labels("alive")
    api = StubApi({"dead-net": network("ecs-emulator-dead", dead_owner(), stale),
                   "live-net": network("ecs-emulator-alive", live,
                                       {"c1": {"Name": "a-running-task"}})})
    assert docker_cleanup.remove_orphans(api) == 1
    assert ("disconnect", "ecs-bench-awsvpc-55f7d8379093-sandbox", "dead-net", True) in api.calls
    assert list(api.nets) == ["live-net"]
    assert not [call for call in api.calls if "live-net" in call]


def test_an_own_network_is_retried_while_its_endpoints_go(monkeypatch):
    monkeypatch.setattr(docker_cleanup, "NETWORK_RETRY_S", 0)
    owner = labels.owner_labels("me")
    api = StubApi({"net": network("ecs-emulator-me", owner, count=2)})
    removals_seen = []
    real_remove = api.remove_network

    def remove_network(ident):  # a container removal under way ends between two tries
        removals_seen.append(ident)
        if len(removals_seen) == 3:
            api.nets[ident]["count"] = 0
        real_remove(ident)

    api.remove_network = remove_network
    assert docker_cleanup.remove_labelled(api, {labels.INSTANCE: "me"}) == 1
    assert api.nets == {} and len(removals_seen) == 3


def test_an_endpoint_listed_under_its_gone_containers_id_goes_by_name_and_is_logged(
        caplog, monkeypatch):
    """A stale sandbox keeps its container's id as the endpoint's key after the container went:
    asked by that id, dockerd finds no container and no endpoint of that name (404); by the
    endpoint's name, with force, it deletes it, and the network can go."""
    monkeypatch.setattr(docker_cleanup, "NETWORK_RETRY_S", 0)
    stale = {"3f2a9c": {"Name": "ecs-web-1a2b3c4d5e6f-main", "EndpointID": "77e1", "gone": True}}
    api = StubApi({"net": network("ecs-emulator-me", labels.owner_labels("me"), stale)})
    with caplog.at_level(logging.INFO, logger=docker_cleanup.log.name):
        assert docker_cleanup.remove_labelled(api, {labels.INSTANCE: "me"}) == 1
    assert api.nets == {}
    assert [c for c in api.calls if c[0] == "disconnect"] == [
        ("disconnect", "3f2a9c", "net", True),
        ("disconnect", "ecs-web-1a2b3c4d5e6f-main", "net", True)]
    said = " / ".join(r.getMessage() for r in caplog.records)
    assert "force-disconnected ecs-web-1a2b3c4d5e6f-main" in said
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_network_docker_will_not_remove_is_reported_not_raised(caplog, monkeypatch):
    """Whatever dockerd answers, a sweep (a reset, an engine's removal, the emulator's stop)
    goes on to the rest and says what it left."""
    owner = labels.owner_labels("me")
    api = StubApi({"a": network("ecs-emulator-a", owner), "b": network("ecs-emulator-b", owner)})
    real_remove = api.remove_network

    def remove_network(ident):
        if ident == "a":
            raise docker.errors.APIError("500", explanation="error while removing network: boom")
        real_remove(ident)

    api.remove_network = remove_network
    with caplog.at_level(logging.WARNING, logger=docker_cleanup.log.name):
        assert docker_cleanup.remove_labelled(api, {labels.INSTANCE: "me"}) == 1
    assert list(api.nets) == ["a"]
    assert "could not remove a: error while removing network: boom" in caplog.text


def test_a_count_docker_keeps_but_lists_nothing_for_is_said_once(caplog, monkeypatch):
    monkeypatch.setattr(docker_cleanup, "NETWORK_RETRY_S", 0)
    api = StubApi({"drifted": network("ecs-emulator-drifted", dead_owner(), count=2)})
    with caplog.at_level(logging.WARNING, logger=docker_cleanup.log.name):
        assert docker_cleanup.remove_orphans(api) == 0
        assert docker_cleanup.remove_orphans(api) == 0  # every emulator's start tries again
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "ecs-emulator-drifted" in said[0] and "moby/moby#42119" in said[0]
    assert "drifted" in api.nets


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.setattr(docker_cleanup, "_warned", set())



class Conflict:  # the response of a 409, as the SDK reads it
    status_code = 409
    reason = "Conflict"


def test_a_container_whose_removal_is_under_way_is_left_to_it_quietly(caplog):
    """A sweep beside a runner's teardown (an engine's removal) meets Docker's 409 for a
    removal already in progress: not a warning."""
    api = StubApi({})
    api.containers = lambda all=False, filters=None: [{"Id": "c1"}]

    def remove_container(ident, force=False, v=False):
        raise docker.errors.APIError("409 Client Error", response=Conflict(), explanation=(
            f"removal of container {ident} is already in progress"))

    api.remove_container = remove_container
    with caplog.at_level(logging.DEBUG, logger=docker_cleanup.log.name):
        assert docker_cleanup.remove_labelled(api, {labels.INSTANCE: "me"}) == 0
    assert [r.levelno for r in caplog.records] == [logging.DEBUG] * docker_cleanup.CONTAINER_PASSES


@pytest.mark.parametrize("own", ["4d1f0c2b9a8e", "4d1f0c2b9a8e" + "7" * 52, "ecs-emulator"])
def test_the_emulators_own_container_leaves_its_network_quietly(caplog, own):
    """Run as a container, the emulator joined its tasks' network (own_container.py): at its stop
    (or at the start after a `docker restart`, an orphan's) it leaves it, unforced and unlogged,
    known by its short id (its host name), its id or its name; a stranger is still forced off
    and named."""
    owned = {"4d1f0c2b9a8e" + "7" * 52: {"Name": "ecs-emulator"},
             "9e9e9e9e9e9e" + "1" * 52: {"Name": "someone-elses"}}
    api = StubApi({"net": network("ecs-emulator-me", labels.owner_labels("me"), owned)})
    with caplog.at_level(logging.DEBUG, logger=docker_cleanup.log.name):
        assert docker_cleanup.remove_labelled(api, {labels.INSTANCE: "me"}, own=own) == 1
    assert api.nets == {}
    assert [c for c in api.calls if c[0] == "disconnect"] == [
        ("disconnect", "4d1f0c2b9a8e" + "7" * 52, "net", False),
        ("disconnect", "9e9e9e9e9e9e" + "1" * 52, "net", True)]
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert [line for line in said if "force-disconnected" in line] == [
        "network ecs-emulator-me: force-disconnected 9e9e9e9e9e9e" + "1" * 52
        + " to remove the network",
        "removed network net (try 1 of 5; force-disconnected first: 9e9e9e9e9e9e" + "1" * 52 + ")"]


def test_a_short_name_is_not_taken_for_an_id():
    """ECS_EMULATOR_OWN_CONTAINER names a container: a name that happens to begin an id is not
    that container."""
    owned = {"abc" + "0" * 61: {"Name": "a-task"}}
    api = StubApi({"net": network("ecs-emulator-me", labels.owner_labels("me"), owned)})
    docker_cleanup.remove_labelled(api, {labels.INSTANCE: "me"}, own="abc")
    assert ("disconnect", "abc" + "0" * 61, "net", True) in api.calls
