"""Several Docker Engines as container instances (issue 15): the machine's engine and two extra
ones (tests/extra_engines.py), each a container instance with its own zone and resources; tasks
placed by ECS's strategies and constraints land on the engines' own `docker ps`; Fargate tasks
spread by zone; an engine that stops answering loses its tasks, replaced on the others."""

from __future__ import annotations

import json
import os
import subprocess
import time
from types import SimpleNamespace

import pytest
import requests

from emulator.config import Settings
from emulator.pytest_plugin import EmulatorHandle, start_server
from emulator.runtime import labels
from emulator.runtime.base import RuntimeClosed
from tests.busybox import SERVE
from tests.test_cli import BIN, clean_env, free_port, start  # noqa: F401  (start: a fixture)
from tests.extra_engines import ExtraEngine, make_certs, needs_root_and_dockerd
from tests.groups import HOST

pytestmark = [needs_root_and_dockerd, HOST]

CLUSTER = "engines"
LOST_AFTER_S = 2


@pytest.fixture(scope="module")
def engines(busybox_image):
    extra = [ExtraEngine("engine-b", 2), ExtraEngine("engine-c", 3)]
    try:
        for engine in extra:
            engine.start()
            engine.load(busybox_image)
        yield {"b": extra[0], "c": extra[1]}
    finally:
        for engine in extra:
            engine.remove()


@pytest.fixture(scope="module")
def emulator(engines):
    settings = Settings(host="127.0.0.1", port=0, strict_responses=True,
                        link_local_credentials=False, steady_after_s=1.0,
                        engines=tuple((name, e.host) for name, e in engines.items()),
                        engine_lost_after_s=LOST_AFTER_S)
    server = start_server(settings)
    try:
        yield EmulatorHandle(server)
    finally:
        server.stop()
        for engine in engines.values():  # what it made on the extra engines is gone with it
            api = engine.api()
            assert api.containers(all=True, filters={"label": [labels.INSTANCE]}) == []
            api.close()


@pytest.fixture
def ecs(emulator, busybox_image):
    emulator.reset()
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "main", "image": busybox_image,
                                             "memory": 32, "command": SERVE}])
    ecs.register_task_definition(
        family="fargate", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "main", "image": busybox_image,
                                             "command": SERVE}])
    return ecs


def _wait(what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not (value := what()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.25)
    return value


def _instances(ecs) -> dict[str, dict]:
    """Container instances by zone letter."""
    arns = ecs.list_container_instances(cluster=CLUSTER)["containerInstanceArns"]
    found = ecs.describe_container_instances(cluster=CLUSTER, containerInstances=arns)
    return {_zone(i)[-1]: i for i in found["containerInstances"]}


def _zone(instance) -> str:
    return next(a["value"] for a in instance["attributes"] if a["name"] == "ecs.availability-zone")


def _run(ecs, count=1, **params) -> list[dict]:
    response = ecs.run_task(cluster=CLUSTER, taskDefinition="web", launchType="EC2",
                            count=count, **params)
    return response["tasks"], response["failures"]


def _running(ecs, arns) -> list[dict]:
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]
    return tasks if all(t["lastStatus"] == "RUNNING" for t in tasks) else []


def _on_engine(api) -> set[str]:
    """Task ARNs whose containers run on an engine, as its own `docker ps` shows them."""
    return {c["Labels"][labels.TASK_ARN]
            for c in api.containers(filters={"label": [labels.TASK_ARN]})}


@pytest.fixture
def apis(engines, docker_client):
    extra = {name: engine.api() for name, engine in engines.items()}
    yield {"a": docker_client.api, **extra}
    for api in extra.values():
        api.close()


def test_each_engine_is_a_container_instance_with_its_own_zone_and_resources(ecs, apis):
    _run(ecs)
    instances = _instances(ecs)
    assert sorted(instances) == ["a", "b", "c"]
    for letter, instance in instances.items():
        info = apis[letter].info()
        cpu = next(r["integerValue"] for r in instance["registeredResources"] if r["name"] == "CPU")
        assert cpu == info["NCPU"] * 1024
        assert instance["agentConnected"] is True
        assert _zone(instance) == f"us-east-1{letter}"
    assert len({i["ec2InstanceId"] for i in instances.values()}) == 3


def test_spread_binpack_and_member_of_are_seen_on_the_engines(ecs, apis):
    spread, _ = _run(ecs, 3, placementStrategy=[{"type": "spread", "field": "instanceId"}])
    _wait(lambda: _running(ecs, [t["taskArn"] for t in spread]))
    assert [len(_on_engine(api) & {t["taskArn"] for t in spread}) for api in apis.values()] \
        == [1, 1, 1]

    packed, _ = _run(ecs, 2, placementStrategy=[{"type": "binpack", "field": "memory"}])
    _wait(lambda: _running(ecs, [t["taskArn"] for t in packed]))
    holding = [name for name, api in apis.items() if _on_engine(api) & {t["taskArn"] for t in packed}]
    assert len(holding) == 1

    only_c, _ = _run(ecs, 2, placementConstraints=[
        {"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1c"}])
    _wait(lambda: _running(ecs, [t["taskArn"] for t in only_c]))
    assert {t["taskArn"] for t in only_c} <= _on_engine(apis["c"])
    assert {t["availabilityZone"] for t in only_c} == {"us-east-1c"}


def test_distinct_instance_fails_as_aws_says_when_engines_run_out(ecs, apis):
    tasks, failures = _run(ecs, 4, placementConstraints=[{"type": "distinctInstance"}])
    assert len(tasks) == 3
    assert failures and all(f["reason"] == "DistinctInstance placement constraint unsatisfied."
                            for f in failures)
    _wait(lambda: _running(ecs, [t["taskArn"] for t in tasks]))
    assert [len(_on_engine(api) & {t["taskArn"] for t in tasks}) for api in apis.values()] \
        == [1, 1, 1]


def test_fargate_tasks_spread_over_the_engines_zones(ecs, apis):
    ecs.create_service(cluster=CLUSTER, serviceName="f", taskDefinition="fargate",
                       desiredCount=3, launchType="FARGATE", networkConfiguration={
                           "awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    arns = _wait(lambda: len(a := ecs.list_tasks(cluster=CLUSTER, serviceName="f")["taskArns"])
                 == 3 and a)
    tasks = _wait(lambda: _running(ecs, arns))
    assert sorted(t["availabilityZone"] for t in tasks) == [
        "us-east-1a", "us-east-1b", "us-east-1c"]
    for letter, api in apis.items():
        [task] = [t for t in tasks if t["availabilityZone"].endswith(letter)]
        # the task's container and its pause sandbox: both on its engine
        roles = [c["Labels"].get(labels.CONTAINER_NAME) for c in api.containers(
            filters={"label": [f"{labels.TASK_ARN}={task['taskArn']}"]})]
        assert sorted(roles) == ["main", "~sandbox"]
    ecs.delete_service(cluster=CLUSTER, service="f", force=True)


def test_a_lost_engine_loses_its_tasks_and_the_service_replaces_them(ecs, apis, engines):
    ecs.create_service(cluster=CLUSTER, serviceName="s", taskDefinition="web", desiredCount=3,
                       launchType="EC2",
                       placementStrategy=[{"type": "spread", "field": "instanceId"}])

    def steady():
        arns = ecs.list_tasks(cluster=CLUSTER, serviceName="s")["taskArns"]
        return len(arns) == 3 and _running(ecs, arns)

    before = _wait(steady)
    [on_c] = [t for t in before if t["availabilityZone"] == "us-east-1c"]
    engines["c"].freeze()
    try:
        _wait(lambda: _instances(ecs)["c"]["agentConnected"] is False, timeout=10)
        lost = _wait(lambda: (t := ecs.describe_tasks(cluster=CLUSTER, tasks=[on_c["taskArn"]])
                              ["tasks"][0])["lastStatus"] == "STOPPED" and t)
        assert lost["stopCode"] == "TerminationNotice"
        assert lost["stoppedReason"] == (
            f"Task lost: the Docker Engine at {engines['c'].host} of its container instance "
            f"has not answered for {LOST_AFTER_S} s")
        after = _wait(steady)
        assert sorted(t["availabilityZone"] for t in after) != sorted(
            t["availabilityZone"] for t in before)
        assert all(not t["availabilityZone"].endswith("c") for t in after)
    finally:
        engines["c"].thaw()
    _wait(lambda: _instances(ecs)["c"]["agentConnected"] is True, timeout=10)
    # What the lost task left on its engine (its container ran on) is removed once the engine
    # is back.
    _wait(lambda: not _on_engine_all(apis["c"]), timeout=15)
    ecs.delete_service(cluster=CLUSTER, service="s", force=True)


def _on_engine_all(api) -> list:
    return api.containers(all=True, filters={"label": [labels.TASK_ARN]})


def test_draining_an_engine_moves_a_services_tasks_off_it_within_its_limits(ecs, apis):
    ecs.create_service(cluster=CLUSTER, serviceName="d", taskDefinition="web", desiredCount=3,
                       launchType="EC2",
                       placementStrategy=[{"type": "spread", "field": "instanceId"}])

    def live():
        arns = ecs.list_tasks(cluster=CLUSTER, serviceName="d")["taskArns"]
        return ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []

    before = _wait(lambda: len(t := live()) == 3 and all(x["lastStatus"] == "RUNNING" for x in t)
                   and t)
    [on_b] = [t for t in before if t["availabilityZone"] == "us-east-1b"]
    ecs.update_container_instances_state(cluster=CLUSTER, status="DRAINING",
                                         containerInstances=[on_b["containerInstanceArn"]])
    deadline = time.monotonic() + 30
    while True:
        tasks = live()
        # minimumHealthyPercent 100, maximumPercent 200: never fewer than 3 running, at most 6
        assert sum(1 for t in tasks if t["lastStatus"] == "RUNNING") >= 3, [
            (t["taskArn"][-6:], t["lastStatus"], t["availabilityZone"], t.get("stoppedReason"))
            for t in tasks]
        assert len(tasks) <= 6
        if on_b["taskArn"] not in {t["taskArn"] for t in tasks} and len(tasks) == 3 and all(
                t["lastStatus"] == "RUNNING" for t in tasks):
            break
        assert time.monotonic() < deadline, tasks
        time.sleep(0.1)
    assert all(not t["availabilityZone"].endswith("b") for t in tasks)
    assert not (_on_engine(apis["b"]) & {t["taskArn"] for t in tasks})
    drained = ecs.describe_tasks(cluster=CLUSTER, tasks=[on_b["taskArn"]])["tasks"][0]
    assert drained["stopCode"] == "ServiceSchedulerInitiated"
    ecs.delete_service(cluster=CLUSTER, service="d", force=True)


def test_every_engine_pulls_an_ecr_image_from_the_emulators_registry(emulator, ecs, apis,
                                                                     busybox_image):
    import base64

    ecr = emulator.client("ecr")
    uri = ecr.create_repository(repositoryName="app")["repository"]["repositoryUri"]
    token = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    local = apis["a"]
    local.tag(busybox_image, uri, tag="v1")
    for line in local.push(uri, tag="v1", stream=True, decode=True,
                           auth_config={"username": user, "password": password}):
        assert "error" not in line, line
    local.remove_image(f"{uri}:v1")  # so that every engine, the machine's too, must pull
    try:
        ecs.register_task_definition(family="ecr", containerDefinitions=[
            {"name": "main", "image": f"{uri}:v1", "memory": 32, "command": SERVE}])
        response = ecs.run_task(cluster=CLUSTER, taskDefinition="ecr", launchType="EC2",
                                count=3, placementStrategy=[{"type": "spread",
                                                             "field": "instanceId"}])
        arns = [t["taskArn"] for t in response["tasks"]]
        tasks = _wait(lambda: _running(ecs, arns), timeout=60)
        [digest] = [i["imageDigest"] for i in ecr.describe_images(repositoryName="app")
                    ["imageDetails"]]
        assert {t["containers"][0]["imageDigest"] for t in tasks} == {digest}
        for api in apis.values():
            assert api.images(name=uri), "the engine pulled the image itself"
            assert len(_on_engine(api) & set(arns)) == 1
        for arn in arns:
            ecs.stop_task(cluster=CLUSTER, task=arn)
        _wait(lambda: all(t["lastStatus"] == "STOPPED" for t in ecs.describe_tasks(
            cluster=CLUSTER, tasks=arns)["tasks"]))
    finally:
        for api in apis.values():
            try:
                api.remove_image(f"{uri}:v1", force=True)
            except Exception:  # never pulled there (the test failed before)
                pass


def _push(emulator, api, image: str, repository: str) -> str:
    """Push `image` to our ECR as `repository`:v1 from the machine's engine; its URI."""
    import base64

    ecr = emulator.client("ecr")
    uri = ecr.create_repository(repositoryName=repository)["repository"]["repositoryUri"]
    token = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    api.tag(image, uri, tag="v1")
    for line in api.push(uri, tag="v1", stream=True, decode=True,
                         auth_config={"username": user, "password": password}):
        assert "error" not in line, line
    api.remove_image(f"{uri}:v1")
    return uri


@pytest.fixture
def cli(emulator, monkeypatch, tmp_path, capfd):
    """`ecs-emulator ARGS...` against the module's emulator: (exit code, stdout, stderr)."""
    from emulator.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    def run(*args: str):
        capfd.readouterr()
        code = main(list(args))
        out, err = capfd.readouterr()
        return code, out, err

    return run


def test_an_engine_added_with_tls_takes_tasks_pulls_at_its_registry_address_then_is_removed(
        emulator, ecs, apis, busybox_image, cli, tmp_path):
    certs = make_certs(tmp_path / "certs")
    strangers = make_certs(tmp_path / "strangers")[1]  # a client of another CA
    [first], _ = _run(ecs)  # the cluster has its three instances before the fourth engine comes
    assert len(_instances(ecs)) == 3
    ecs.stop_task(cluster=CLUSTER, task=first["taskArn"])
    added = ExtraEngine("engine-d", 6, tls=certs[0])
    added.start()
    try:
        added.load(busybox_image)
        host = added.tls_host
        code, _, err = cli("engines", "add", "d", host)  # TLS asked for, none given
        assert code == 1 and 'does not answer: 400 Client Error' in err, err
        code, _, err = cli("engines", "add", "d", host, "--tlsverify", "--cert-path",
                           str(tmp_path / "none"))
        assert code == 1 and "has no ca.pem, cert.pem, key.pem" in err, err
        code, _, err = cli("engines", "add", "d", host, "--tlsverify", "--cert-path",
                           str(strangers))
        assert code == 1 and "does not answer: [SSL: CERTIFICATE_VERIFY_FAILED]" in err, err
        port = emulator.endpoint_url.rsplit(":", 1)[1]
        assert cli("engines", "add", "d", host, "--tlsverify", "--cert-path", str(certs[1]),
                   "--registry", f"localhost:{port}")[0] == 0
        code, _, err = cli("engines", "add", "d", host)
        assert code == 1 and "an engine named 'd' is there already" in err
        code, out, _ = cli("engines")
        listed = out.splitlines()
        assert listed[0].split() == ["NAME", "DOCKER_HOST", "ZONE", "ANSWERS", "TLS"]
        assert listed[-1].split() == ["d", host, "d", "yes", "verify"]

        # An ECR image: engine d pulls it at the address it was given, the others at 127.0.0.1.
        uri = _push(emulator, apis["a"], busybox_image, "app")
        ecs.register_task_definition(family="ecr", containerDefinitions=[
            {"name": "main", "image": f"{uri}:v1", "memory": 32, "command": SERVE}])
        ecs.create_service(cluster=CLUSTER, serviceName="s", taskDefinition="ecr",
                           desiredCount=4, launchType="EC2",
                           placementStrategy=[{"type": "spread", "field": "instanceId"}])

        def steady():
            arns = ecs.list_tasks(cluster=CLUSTER, serviceName="s")["taskArns"]
            return len(arns) == 4 and _running(ecs, arns)

        tasks = _wait(steady, timeout=60)
        assert sorted(_instances(ecs)) == ["a", "b", "c", "d"]
        api = added.api()
        try:
            [on_d] = _on_engine(api) & {t["taskArn"] for t in tasks}
            assert api.images(name=f"localhost:{port}/app")
        finally:
            api.close()
        on_d_instance = _instances(ecs)["d"]["containerInstanceArn"]

        # Removing it: refused for the default, a name not known, and while tasks run there.
        code, _, err = cli("engines", "remove", "default")
        assert code == 1 and "HTTP 400" in err and "cannot be removed" in err, err
        code, _, err = cli("engines", "remove", "zz")
        assert code == 1 and "HTTP 404" in err and "no engine named 'zz'" in err, err
        code, _, err = cli("engines", "remove", "d")
        assert code == 1 and "HTTP 409" in err and "1 tasks still run on the engine 'd'" in err
        # Forced: its task stops, the service replaces it on the others, its instance goes.
        assert cli("engines", "remove", "d", "--force")[0] == 0
        stopped = ecs.describe_tasks(cluster=CLUSTER, tasks=[on_d])["tasks"][0]
        assert (stopped["lastStatus"], stopped["stopCode"], stopped["stoppedReason"]) == (
            "STOPPED", "TerminationNotice",
            "Task stopped: its Docker Engine d was removed from the emulator")
        after = _wait(steady, timeout=30)
        assert {t["availabilityZone"][-1] for t in after} == {"a", "b", "c"}
        assert sorted(_instances(ecs)) == ["a", "b", "c"]  # d is not registered again
        assert on_d_instance not in ecs.list_container_instances(
            cluster=CLUSTER)["containerInstanceArns"]
        [gone] = ecs.describe_container_instances(
            cluster=CLUSTER, containerInstances=[on_d_instance])["containerInstances"]
        assert (gone["status"], gone["agentConnected"]) == ("INACTIVE", False)
        assert [line.split()[0] for line in cli("engines")[1].splitlines()[1:]] == [
            "default", "b", "c"]
        # Its stopped task is still read (metadata, stats, the dashboard's log): answered
        # without its engine, whose client stays closed rather than being made again and
        # left open (a connection pool per read).
        key, url = on_d.rsplit("/", 1)[1], emulator.endpoint_url
        assert requests.get(f"{url}/v4/{key}-main/stats", timeout=10).status_code == 404
        assert requests.get(f"{url}/v4/{key}-main/task", timeout=10).json()["TaskARN"] == on_d
        log = requests.get(f"{url}/_emulator/ui/api/tasks/{key}/logs/main", timeout=10)
        assert (log.status_code, log.json()["gone"]) == (200, True)
        removed = emulator.emulator.engine.engines.removed["d"].runtime
        assert removed._client is None
        with pytest.raises(RuntimeClosed, match="its engine d was removed from the emulator"):
            removed.api
        api = added.api()
        try:  # nothing of ours is left on it
            assert api.containers(all=True, filters={"label": [labels.INSTANCE]}) == []
        finally:
            api.close()
        ecs.delete_service(cluster=CLUSTER, service="s", force=True)
        _wait(lambda: not ecs.list_tasks(cluster=CLUSTER, serviceName="s")["taskArns"])
    finally:
        added.remove()
        for api in apis.values():  # by name: the image is the test image under another name
            for image in api.images(name=f"127.0.0.1:{port}/app"):
                for tag in image["RepoTags"] or ():
                    api.remove_image(tag)


def test_the_engines_control_endpoint_answers_clear_errors(emulator, engines):
    emulator_engines = engines
    import requests

    url = f"{emulator.endpoint_url}/_emulator/engines"
    for body, status, code, says in (
            ({"name": "x"}, 400, "InvalidParameterException", 'give {"name": NAME'),
            ({"name": "x", "dockerHost": "unix:///x", "tlsVerify": "yes"}, 400,
             "InvalidParameterException", '"tlsVerify": true|false'),
            ({"name": "x", "dockerHost": "unix:///x", "tlsVerify": True}, 400,
             "InvalidParameterException", "TLS is for tcp:// addresses"),
            ({"name": "x", "dockerHost": "unix:///nowhere.sock"}, 400,
             "InvalidParameterException", "'x' at unix:///nowhere.sock does not answer")):
        answer = requests.post(url, json=body, timeout=10)
        assert (answer.status_code, answer.json()["__type"]) == (status, code), answer.text
        assert says in answer.json()["message"]
    # One daemon is one engine: engine b's dockerd, or the default engine's, by another name
    default_host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    for host, known in ((emulator_engines["b"].host, "'b'"), (default_host, "'default'")):
        answer = requests.post(url, json={"name": "twin", "dockerHost": host}, timeout=10)
        assert (answer.status_code, answer.json()["__type"]) == (
            409, "ResourceInUseException"), answer.text
        assert f"same daemon as the engine {known}" in answer.json()["message"]
    answer = requests.delete(f"{url}/nothing-here", timeout=10)
    assert (answer.status_code, answer.json()["__type"]) == (404, "ResourceNotFoundException")
    answer = requests.delete(f"{url}/default?force=true", timeout=10)
    assert (answer.status_code, answer.json()["__type"]) == (400, "InvalidParameterException")
    assert [e["name"] for e in requests.get(url, timeout=10).json()["engines"]] == [
        "default", "b", "c"]


def _kept_then_removed_on_stop(api, task: dict, container_id: str, second, tmp_path) -> None:
    """The restarted emulator kept the task's one container (no second made), and its stop
    removes everything of its instance from engine b."""
    assert [c["Id"] for c in api.containers(
        filters={"label": [f"{labels.TASK_ARN}={task['taskArn']}"]})] == [container_id]
    assert second.stop() == 0
    instance = (tmp_path / "state" / "instance").read_text().strip()
    assert api.containers(all=True, filters={"label": [f"{labels.INSTANCE}={instance}"]}) == []


def _run_on_b(ecs, cluster: str, image: str) -> dict:
    """A cluster, a one-container definition, and a task of it placed on engine b's zone."""
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "main", "image": image, "memory": 32, "command": SERVE}])
    [task] = ecs.run_task(cluster=cluster, taskDefinition="web", launchType="EC2",
                          placementConstraints=[{"type": "memberOf", "expression":
                                                 "attribute:ecs.availability-zone == us-east-1b"}]
                          )["tasks"]
    return task


def test_a_restarted_persisted_emulator_adopts_a_task_on_another_engine(
        engines, start, tmp_path, busybox_image):
    """ECS_EMULATOR_PERSIST with engine b configured: after a kill -9 the task that ran on b is
    RUNNING again with the same container, which kept running on b (adoption lists each
    engine's own containers); a clean stop then leaves nothing on b."""
    port = free_port()
    env = {"ECS_EMULATOR_PERSIST": "1", "ECS_EMULATOR_DATA_DIR": str(tmp_path),
           "ECS_EMULATOR_ENGINES": f"b={engines['b'].host}"}
    argv = [str(BIN / "ecs-emulator"), "serve", "--port", str(port)]
    first = start(argv, port, **env)
    first.wait_until_healthy()
    ecs = EmulatorHandle(SimpleNamespace(emulator=None, port=port)).client("ecs")
    task = _run_on_b(ecs, "adopt", busybox_image)

    def running():
        found = ecs.describe_tasks(cluster="adopt", tasks=[task["taskArn"]])["tasks"][0]
        return found["lastStatus"] == "RUNNING" and found

    container_id = _wait(running)["containers"][0]["runtimeId"]
    time.sleep(0.5)  # the task's RUNNING reaches the state file (keeper.ECS_DELAY_S)
    first.kill()
    second = start(argv, port, **env)
    second.wait_until_healthy()
    api = engines["b"].api()
    try:
        assert _wait(running)["containers"][0]["runtimeId"] == container_id
        _kept_then_removed_on_stop(api, task, container_id, second, tmp_path)
    finally:
        api.close()


def test_one_daemon_under_two_names_stops_the_start_naming_both(engines):
    """ECS_EMULATOR_ENGINES naming engine b's dockerd twice: removing either name would sweep
    the other's tasks, so the emulator does not start, and says why."""
    port = free_port()
    env = clean_env(ECS_EMULATOR_ENGINES=f"b={engines['b'].host} twin={engines['b'].host}")
    done = subprocess.run([str(BIN / "ecs-emulator"), "serve", "--port", str(port)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "'twin'" in done.stderr and "same daemon as the engine 'b'" in done.stderr


def test_a_restarts_task_on_an_engine_added_at_run_time_is_adopted_when_added_again(
        engines, start, tmp_path, busybox_image):
    """Engine b was added at run time (`engines add`); after a kill -9 the next start does not
    know it: b's task waits (RUNNING, not stopped, its container left alone), and once `engines
    add b` brings b back the task is adopted with its same container."""
    import requests

    port = free_port()
    env = {"ECS_EMULATOR_PERSIST": "1", "ECS_EMULATOR_DATA_DIR": str(tmp_path)}
    argv = [str(BIN / "ecs-emulator"), "serve", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/_emulator/engines"
    first = start(argv, port, **env)
    first.wait_until_healthy()
    assert requests.post(url, json={"name": "b", "dockerHost": engines["b"].host},
                         timeout=30).status_code == 201
    ecs = EmulatorHandle(SimpleNamespace(emulator=None, port=port)).client("ecs")
    task = _run_on_b(ecs, "late", busybox_image)

    def described():
        return ecs.describe_tasks(cluster="late", tasks=[task["taskArn"]])["tasks"][0]

    container_id = _wait(lambda: described()["lastStatus"] == "RUNNING" and described()
                         )["containers"][0]["runtimeId"]
    time.sleep(0.5)  # the task's RUNNING reaches the state file (keeper.ECS_DELAY_S)
    first.kill()
    second = start(argv, port, **env)
    second.wait_until_healthy()
    api = engines["b"].api()
    try:
        assert described()["lastStatus"] == "RUNNING"
        assert requests.post(url, json={"name": "b", "dockerHost": engines["b"].host},
                             timeout=30).status_code == 201
        assert _wait(lambda: described()["containers"][0]["runtimeId"] == container_id)
        assert described()["lastStatus"] == "RUNNING"
        # What its container calls (b's gateway listener) is open again: its metadata answers.
        probe = api.exec_create(container_id, ["sh", "-c",
                                               'wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/task"'])
        out = api.exec_start(probe["Id"])
        assert api.exec_inspect(probe["Id"])["ExitCode"] == 0, out
        assert json.loads(out)["TaskARN"] == task["taskArn"]
        _kept_then_removed_on_stop(api, task, container_id, second, tmp_path)
    finally:
        api.close()
