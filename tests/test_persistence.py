"""ECS_EMULATOR_PERSIST: a user's environment survives `kill -9` of the emulator, and its running
tasks are adopted, not restarted. One environment, built once, through two restarts."""

from __future__ import annotations

import base64
import json
import signal
import time
from types import SimpleNamespace

import pytest
import requests
from botocore.config import Config

from emulator.pytest_plugin import EmulatorHandle
from emulator.runtime.labels import INSTANCE
from tests.test_cli import BIN, free_port, start  # noqa: F401  (start is a fixture)
from tests.waiting import patience, wait_for

pytestmark = pytest.mark.docker

SERVE = ["sh", "-c", "echo secret=$SECRET; trap 'exit 0' TERM; while true; do sleep 1; done"]
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
ASSUME = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


class Emulator:
    """`ecs-emulator serve` on one data directory, started again on the same port."""

    def __init__(self, start, data_dir, port):
        self._start, self.port = start, port
        self.env = {"ECS_EMULATOR_PERSIST": "1", "ECS_EMULATOR_DATA_DIR": str(data_dir)}
        self.handle = EmulatorHandle(SimpleNamespace(emulator=None, port=port))
        self.running = None
        self.instance = None

    def up(self):
        self.running = self._start([str(BIN / "ecs-emulator"), "serve", "--port", str(self.port)],
                                   self.port, **self.env)
        self.running.wait_until_healthy()
        return self

    def client(self, service):
        # The first call after a start restores moto's saved state, importing moto first: on a
        # loaded machine longer than botocore's 60 s, which would send the call again.
        return self.handle.client(service, config=Config(read_timeout=patience(60)))


def containers(docker_client, instance) -> dict:
    """name -> (id, status) of the instance's containers."""
    # (one removed between the list and its inspect is gone, not a 404)
    found = docker_client.containers.list(all=True, ignore_removed=True,
                                          filters={"label": f"{INSTANCE}={instance}"})
    return {c.name: (c.id, c.status) for c in found}


def service_tasks(ecs, status="RUNNING") -> dict:
    arns = ecs.list_tasks(cluster="dev", serviceName="web", desiredStatus=status)["taskArns"]
    tasks = ecs.describe_tasks(cluster="dev", tasks=arns)["tasks"] if arns else []
    return {t["taskArn"]: t for t in tasks}


def settle_writes(state_dir, running) -> None:
    """Wait until the saved ECS state shows the tasks `running` (ARNs) RUNNING: the keeper
    writes what the engine changed by itself a moment later (within keeper.ECS_DELAY_S, as the
    README's "What is durable when" says), and a kill -9 before that may find a task still
    starting, which is the documented limit, not what this test is about."""
    from emulator.runtime.status import TaskStatus

    wait_for(lambda: saved_tasks(state_dir / "ecs"),
             lambda saved: all(arn in saved and saved[arn].known == TaskStatus.RUNNING
                               for arn in running), timeout=10)


def steady(ecs, count=3):
    def fetch():
        service = ecs.describe_services(cluster="dev", services=["web"])["services"][0]
        return service, service_tasks(ecs)
    return wait_for(fetch, lambda v: v[0]["runningCount"] == count and len(v[1]) == count
                    and all(t["lastStatus"] == "RUNNING" for t in v[1].values()), timeout=90)


def build(emulator, image, docker_client) -> dict:
    """Cluster, ECR image, secret, execution role, log group with events, service of three."""
    ecs, ecr = emulator.client("ecs"), emulator.client("ecr")
    ecs.create_cluster(clusterName="dev")
    uri = push(ecr, ecr.create_repository(repositoryName="app")["repository"]["repositoryUri"],
               image, docker_client)
    secret = emulator.client("secretsmanager").create_secret(
        Name="db", SecretString="s3cr3t")["ARN"]
    role = emulator.client("iam").create_role(
        RoleName="exec", AssumeRolePolicyDocument=ASSUME)["Role"]["Arn"]
    logs = emulator.client("logs")
    logs.create_log_group(logGroupName="app")
    logs.create_log_stream(logGroupName="app", logStreamName="deploy")
    logs.put_log_events(logGroupName="app", logStreamName="deploy", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "deployed v1"}])
    ecs.register_task_definition(
        family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", executionRoleArn=role,
        containerDefinitions=[{
            "name": "web", "image": f"{uri}:v1", "command": SERVE,
            "secrets": [{"name": "SECRET", "valueFrom": secret}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "app", "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "web"}}}])
    ecs.create_service(cluster="dev", serviceName="web", taskDefinition="web", desiredCount=3,
                       launchType="FARGATE", networkConfiguration=NETWORK)
    return {"uri": uri, "secret": secret, "role": role}


def push(ecr, uri, image, docker_client) -> str:
    token = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    docker_client.images.get(image).tag(uri, tag="v1")
    for line in docker_client.images.push(uri, tag="v1", stream=True, decode=True,
                                          auth_config={"username": user, "password": password}):
        assert "error" not in line, line
    docker_client.images.remove(f"{uri}:v1")
    return uri


def describe_all(emulator) -> dict:
    """What a user sees of the environment (what must be the same after a restart)."""
    ecs, ecr = emulator.client("ecs"), emulator.client("ecr")
    service = ecs.describe_services(cluster="dev", services=["web"])["services"][0]
    return {
        "cluster": ecs.describe_clusters(clusters=["dev"])["clusters"][0]["clusterArn"],
        "definition": ecs.describe_task_definition(taskDefinition="web:1")["taskDefinition"],
        "service": (service["serviceArn"], service["desiredCount"], service["taskDefinition"],
                    [d["id"] for d in service["deployments"]]),
        "images": [(i["imageDigest"], i["imageTags"]) for i in
                   ecr.describe_images(repositoryName="app")["imageDetails"]],
        "secret": emulator.client("secretsmanager").get_secret_value(
            SecretId="db")["SecretString"],
        "role": emulator.client("iam").get_role(RoleName="exec")["Role"]["Arn"],
        "deploy log": [e["message"] for e in emulator.client("logs").get_log_events(
            logGroupName="app", logStreamName="deploy")["events"]],
    }


def test_state_and_running_tasks_survive_kill_9(start, tmp_path, busybox_image,  # noqa: F811
                                                 docker_client):
    emulator = Emulator(start, tmp_path, free_port()).up()
    build(emulator, busybox_image, docker_client)
    ecs = emulator.client("ecs")
    _, tasks = steady(ecs)
    emulator.instance = (tmp_path / "state" / "instance").read_text()
    before = describe_all(emulator)
    runtime_ids = {arn: t["containers"][0]["runtimeId"] for arn, t in tasks.items()}
    try:
        # 1. kill -9 right after a push, start again: the same tasks, the same containers, no
        #    new task; what ECR recorded of the push (its scan on push) was written before the
        #    push was answered.
        settle_writes(tmp_path / "state", tasks)
        ecr = emulator.client("ecr")
        push(ecr, ecr.create_repository(repositoryName="scanned", imageScanningConfiguration={
            "scanOnPush": True})["repository"]["repositoryUri"], busybox_image, docker_client)
        emulator.running.stop(signal.SIGKILL)
        emulator.up()
        assert describe_all(emulator) == before
        assert ecr.describe_image_scan_findings(repositoryName="scanned", imageId={
            "imageTag": "v1"})["imageScanStatus"]["status"] == "COMPLETE"
        service, tasks = steady(ecs)
        stopped = service_tasks(ecs, "STOPPED")
        assert not stopped, [(t["stopCode"], t["stoppedReason"]) for t in stopped.values()]
        assert {arn: t["containers"][0]["runtimeId"] for arn, t in tasks.items()} == runtime_ids
        # An adopted task's container reaches its metadata at once: what it calls (its engine's
        # gateway listener) opens at the start, not at the next new task's.
        arn, runtime_id = sorted(runtime_ids.items())[0]
        code, out = docker_client.containers.get(runtime_id).exec_run(
            ["sh", "-c", 'wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/task"'])
        assert code == 0 and json.loads(out)["TaskARN"] == arn, out
        live = containers(docker_client, emulator.instance)
        assert {i for i, status in live.values() if status == "running"} >= set(
            runtime_ids.values())
        # The adopted tasks' log is still shipped (the container's line once, not twice).
        stream = next(s["logStreamName"] for s in emulator.client("logs").describe_log_streams(
            logGroupName="app", logStreamNamePrefix="web/")["logStreams"])
        assert [e["message"] for e in emulator.client("logs").get_log_events(
            logGroupName="app", logStreamName=stream)["events"]] == ["secret=s3cr3t"]

        # 2. kill -9, one task's container dies while the emulator is down: STOPPED with the
        #    exit code Docker saw, and replaced; the other two kept.
        settle_writes(tmp_path / "state", tasks)
        emulator.running.stop(signal.SIGKILL)
        victim = sorted(runtime_ids)[0]
        docker_client.containers.get(runtime_ids[victim]).kill()
        emulator.up()
        stopped = wait_for(lambda: service_tasks(ecs, "STOPPED"),
                           lambda found: victim in found and
                           found[victim]["lastStatus"] == "STOPPED")[victim]
        assert stopped["stopCode"] == "EssentialContainerExited"
        assert stopped["containers"][0]["exitCode"] == 137
        _, tasks = steady(ecs)
        assert victim not in tasks and set(runtime_ids) - {victim} <= set(tasks)

        # 3. kill -9 just as the state file lagged two tasks' starts (the keeper writes task
        #    states a moment after they change): both are RUNNING again, the same containers,
        #    the one saved before its network had it read back from Docker.
        settle_writes(tmp_path / "state", tasks)
        emulator.running.stop(signal.SIGKILL)
        provisioning, activating = sorted(tasks)[:2]
        ip = eni_ip(tasks[provisioning])
        saved_starting(tmp_path / "state" / "ecs", provisioning, activating)
        emulator.up()
        _, again = steady(ecs)
        assert {provisioning, activating} <= set(again)
        assert [t["containers"][0]["runtimeId"] for t in (again[provisioning],
                again[activating])] == [tasks[provisioning]["containers"][0]["runtimeId"],
                                        tasks[activating]["containers"][0]["runtimeId"]]
        assert eni_ip(again[provisioning]) == ip and again[provisioning]["startedAt"]
        assert set(service_tasks(ecs, "STOPPED")) == {victim}

        # 4. A reset and a stop leave nothing of this emulator on the Docker Engine.
        assert requests.post(f"http://127.0.0.1:{emulator.port}/_emulator/reset",
                             timeout=patience(60)).status_code == 200
        assert not containers(docker_client, emulator.instance)
        assert not list((tmp_path / "state").glob("moto-*"))  # the saved state is emptied too
        assert emulator.running.stop() == 0
        label = {"label": f"{INSTANCE}={emulator.instance}"}
        assert not docker_client.networks.list(filters=label)
        assert not docker_client.volumes.list(filters=label)
    finally:
        if emulator.running is not None:
            emulator.running.kill()
        remove_everything(docker_client, emulator.instance)
        # The tasks' image, which the emulator pulled from its registry: a tag of the test
        # image under this run's port, left on the Docker Engine for good otherwise.
        for image in docker_client.api.images(name=f"127.0.0.1:{emulator.port}/app"):
            for tag in image.get("RepoTags") or ():
                docker_client.api.remove_image(tag)


def eni_ip(task: dict) -> str:
    details = task["attachments"][0]["details"]
    return next(d["value"] for d in details if d["name"] == "privateIPv4Address")


class _Reference:
    """A live object a snapshot refers to (stores hold the live state's `notify`), read back as
    a placeholder and written back as the same reference."""

    def __init__(self, pid):
        self.pid = pid

    def notify(self):
        pass


def _saved(path) -> dict:
    from emulator.persistence import snapshot

    return snapshot.loads(path.read_bytes(), _Reference)


def saved_tasks(path, value: dict | None = None) -> dict:
    """arn -> task, as the saved ECS state at `path` (read as `value`) holds them."""
    value = _saved(path) if value is None else value
    return {arn: task for store in value["stores"].values() for arn, task in store.tasks.items()}


def saved_starting(path, provisioning: str, activating: str) -> None:
    """Rewrite the saved ECS state as if the file had last seen one task PROVISIONING (before
    its network was written) and another ACTIVATING."""
    from emulator.persistence import snapshot
    from emulator.runtime.status import TaskStatus

    value = _saved(path)
    tasks = saved_tasks(path, value)
    task = tasks[provisioning]
    task.known, task.started_at, task.connectivity_at = TaskStatus.PROVISIONING, None, None
    task.private_ip, task.attachments = None, []
    for container in task.containers:
        container.network_bindings = []
    tasks[activating].known = TaskStatus.ACTIVATING
    snapshot.write_atomically(path, snapshot.dumps(
        value, lambda obj: obj.pid if isinstance(obj, _Reference) else None))


def remove_everything(docker_client, instance) -> None:
    """What a failed test may leave (a removal already under way is Docker's to finish)."""
    import docker.errors

    label = {"label": f"{INSTANCE}={instance}"}
    for resource in (docker_client.containers.list(all=True, ignore_removed=True, filters=label)
                     + docker_client.networks.list(filters=label)):
        try:
            resource.remove(**({"force": True} if hasattr(resource, "kill") else {}))
        except docker.errors.APIError:
            pass
