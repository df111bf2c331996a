"""The pieces of persistence without Docker: snapshots keep state and leave machinery out, files
are replaced whole, requests are told reads from writes, and ECS state comes back whole."""

from __future__ import annotations

import collections
import io
import pickle
import threading

import pytest

from emulator.ecs.model import Cluster
from emulator.ecr.store import EcrState
from emulator.ecs.store import EcsState
from emulator.persistence import snapshot
from emulator.persistence.keeper import Keeper, PartsNotWritten
from emulator.persistence.parts import EcrPart, EcsPart
from emulator.persistence.requests import DurableRequests


class Counted(collections.defaultdict):
    """A defaultdict whose __init__ wants arguments pickle cannot know (as moto's SSM has)."""

    def __init__(self, region):
        super().__init__(list)
        self.region = region


def test_snapshot_keeps_state_and_remakes_machinery():
    live = object()
    counted = Counted("eu-west-1")
    counted["a"].append(1)
    value = {"lock": threading.Lock(), "rlock": threading.RLock(), "event": threading.Event(),
             "lost": collections.defaultdict(lambda: 0, {"x": 1}), "counted": counted,
             "live": live, "data": [1, "two", {"three": 3.0}]}
    data = snapshot.dumps(value, lambda obj: ("live",) if obj is live else None)
    back = snapshot.loads(data, lambda pid: live if pid == ("live",) else None)
    assert back["live"] is live and back["data"] == value["data"]
    assert back["lock"].acquire(blocking=False) and not back["event"].is_set()
    assert isinstance(back["lost"], snapshot.LostFactory) and back["lost"] == {"x": 1}
    assert type(back["counted"]) is Counted and back["counted"].region == "eu-west-1"
    assert back["counted"]["a"] == [1] and back["counted"]["new"] == []


def test_a_snapshot_of_an_older_build_gets_the_fields_added_since():
    cluster = Cluster(name="old", arn="arn:aws:ecs:us-east-1:000000000000:cluster/old")
    del cluster.__dict__["settings"]  # as a build before the field was added would have pickled it
    back = snapshot.loads(snapshot.dumps(cluster))
    assert back.name == "old" and back.settings == Cluster(name="x", arn="y").settings != []


def test_a_thread_is_refused_and_another_format_is_not_read():
    with pytest.raises(pickle.PicklingError):
        snapshot.dumps({"thread": threading.Thread(target=print)})
    data = snapshot.dumps({"x": 1}).replace(b"\n1\n", b"\n99\n", 1)
    with pytest.raises(snapshot.SnapshotError, match="format 99"):
        snapshot.loads(data)
    with pytest.raises(snapshot.SnapshotError):
        snapshot.loads(b"something else")


def test_a_file_is_replaced_whole(tmp_path):
    path = tmp_path / "part"
    snapshot.write_atomically(path, b"one")
    snapshot.write_atomically(path, b"two")
    assert path.read_bytes() == b"two" and [p.name for p in tmp_path.iterdir()] == ["part"]


def test_ecs_state_comes_back_with_fields_no_code_names(tmp_path):
    state = EcsState()
    store = state.store_for("123456789012", "us-east-1")
    store.clusters["dev"] = Cluster(name="dev",
                                    arn="arn:aws:ecs:us-east-1:123456789012:cluster/dev")
    # A field added to a model by someone else tomorrow: nothing in persistence names it.
    store.clusters["dev"].protection = {"enabled": True}
    keeper = Keeper(tmp_path)
    keeper.add_parts([EcsPart(state)], load_moto=lambda: None)
    keeper.write(["ecs"])
    again = EcsState()
    restored = Keeper(tmp_path)
    restored.add_parts([EcsPart(again)], load_moto=lambda: None)
    assert restored.restore()
    back = again.store_for("123456789012", "us-east-1")
    assert back.clusters["dev"].protection == {"enabled": True}
    woken = []
    again.listeners.append(lambda: woken.append(True))
    with again.lock:
        back.changed()  # the store's hook is the new state's, not a copy of the old one's
    assert woken == [True]


class Recorder:
    def __init__(self):
        self.written = []

    def write(self, names):
        self.written.append(list(names))

    def moto_names(self, service):
        return [f"moto-{service}"]

    def forget_moto(self):
        pass

    def all_names(self):
        return ["everything"]


def written_by(method: str, path: str = "/", target: str = "", body: bytes = b"", **extra):
    recorder = Recorder()
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "HTTP_X_AMZ_TARGET": target,
               "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), **extra}
    seen = []

    def app(environ, start_response):
        seen.append(environ["wsgi.input"].read())
        return [b"{}"]

    DurableRequests(app, recorder, "ECS", "ECR")(environ, lambda *a: None)
    assert seen == [body]  # what the classification read, the app still reads
    return recorder.written


IAM_SCOPE = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iam/aws4_request, Signed"


@pytest.mark.parametrize("request_, written", [
    (dict(method="POST", target="ECS.DescribeServices"), []),
    (dict(method="POST", target="ECS.RunTask"), [["ecs", "hooks"]]),
    (dict(method="POST", target="ECR.PutImage"), [["ecr"]]),
    (dict(method="POST", target="ECR.BatchGetImage"), []),
    (dict(method="POST", target="ECR.UploadLayerPart"), []),  # registry storage only
    (dict(method="GET", path="/v2/app/manifests/1"), []),
    (dict(method="PUT", path="/v2/app/manifests/1"), []),  # ECR's state did not change
    (dict(method="POST", path="/_emulator/reset"), [["everything"]]),
    (dict(method="POST", body=b"Action=GetRole&RoleName=r", CONTENT_TYPE=
          "application/x-www-form-urlencoded", HTTP_AUTHORIZATION=IAM_SCOPE), []),
    (dict(method="POST", body=b"Action=CreateRole&RoleName=r", CONTENT_TYPE=
          "application/x-www-form-urlencoded", HTTP_AUTHORIZATION=IAM_SCOPE), [["moto-iam"]]),
    (dict(method="POST", target="AmazonSSM.PutParameter", HTTP_AUTHORIZATION=IAM_SCOPE.replace(
        "/iam/", "/ssm/")), [["moto-ssm"]]),
    # a stack's resources are ours: its cluster is written with it
    (dict(method="POST", body=b"Action=CreateStack&StackName=s", CONTENT_TYPE=
          "application/x-www-form-urlencoded", HTTP_AUTHORIZATION=IAM_SCOPE.replace(
              "/iam/", "/cloudformation/")), [["ecs", "hooks", "ecr", "moto-cloudformation"]]),
    (dict(method="POST", body=b"Action=DescribeStacks", CONTENT_TYPE=
          "application/x-www-form-urlencoded", HTTP_AUTHORIZATION=IAM_SCOPE.replace(
              "/iam/", "/cloudformation/")), []),
])
def test_a_mutating_request_writes_the_parts_it_may_change(request_, written):
    assert written_by(**request_) == written


class CountedEcrPart(EcrPart):
    captures = 0

    def capture(self) -> bytes:
        self.captures += 1
        return super().capture()


class Unpicklable:
    """A part whose state cannot be pickled at the moment (moto's, with a function in it)."""

    name = "broken"

    def capture(self) -> bytes:
        return snapshot.dumps({"f": lambda: None}, lambda obj: None)


def test_a_part_that_cannot_be_written_costs_the_others_nothing(tmp_path, caplog):
    """Every part is written on its own: one failing (logged) does not skip the parts named
    after it, and the caller still hears of the failure."""
    state = EcsState()
    state.store_for("123456789012", "us-east-1")
    ecr = EcrState()
    keeper = Keeper(tmp_path)
    keeper.add_parts([Unpicklable(), EcsPart(state), EcrPart(ecr)], load_moto=lambda: None)
    with pytest.raises(PartsNotWritten) as raised:
        keeper.write(["broken", "ecs", "ecr"])
    assert [name for name, _ in raised.value.failed] == ["broken"]
    assert (tmp_path / "ecs").exists() and (tmp_path / "ecr").exists()
    assert not (tmp_path / "broken").exists()
    assert any("broken" in record.getMessage() for record in caplog.records)


def test_a_request_whose_part_cannot_be_written_logs_it_once(tmp_path, caplog):
    """The keeper logs each part it could not write; the request's wrapper, which answers the
    request all the same, does not log that failure again."""
    state = EcsState()
    state.store_for("123456789012", "us-east-1")
    keeper = Keeper(tmp_path)
    keeper.add_parts([Unpicklable(), EcsPart(state)], load_moto=lambda: None)
    keeper.all_names = lambda: ["broken", "ecs"]
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/_emulator/reset",
               "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"}
    answer = DurableRequests(lambda environ, start_response: [b"{}"], keeper, "ECS", "ECR")(
        environ, lambda *a: None)
    assert answer == [b"{}"]
    assert (tmp_path / "ecs").exists() and not (tmp_path / "broken").exists()
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert len(errors) == 1 and "broken" in errors[0].getMessage()


def test_registry_writes_snapshot_ecr_only_when_ecr_changed(tmp_path):
    """A push's layer chunks and blob uploads do not pickle ECR's state; its manifest does."""
    ecr = EcrState()
    part = CountedEcrPart(ecr)
    keeper = Keeper(tmp_path)
    keeper.add_parts([part], load_moto=lambda: None)

    def registry(environ, start_response):  # ECR's hooks count a manifest put or deleted
        if "/manifests/" in environ["PATH_INFO"] and environ["REQUEST_METHOD"] != "GET":
            with ecr.lock:
                ecr.store_for("123456789012", "us-east-1")
                ecr.changed()
        return [b""]

    durable = DurableRequests(registry, keeper, "ECS", "ECR", lambda: ecr.changes)

    def call(method, path):
        durable({"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO()},
                lambda *a: None)

    call("POST", "/v2/app/blobs/uploads/")
    for _ in range(20):
        call("PATCH", "/v2/app/blobs/uploads/u1")
    call("PUT", "/v2/app/blobs/uploads/u1")
    call("DELETE", "/v2/app/blobs/sha256:ab")
    assert part.captures == 0 and not (tmp_path / "ecr").exists()
    call("PUT", "/v2/app/manifests/v1")
    assert part.captures == 1 and (tmp_path / "ecr").exists()
    call("GET", "/v2/app/manifests/v1")
    call("DELETE", "/v2/app/manifests/sha256:cd")
    assert part.captures == 2


def adopted(known, docker: dict, web: dict | None = None, saved_bindings=(), sandbox_id=None):
    """A task of two containers (web essential, sidecar not) persisted at `known` (each with
    `saved_bindings`; in a pool sandbox: `sandbox_id`), reconciled with what Docker says now:
    name -> ContainerState, or absent. (task, caught up)."""
    from emulator.config import Settings
    from emulator.ecs.model import TaskDefinition
    from emulator.ecs.task_model import Task, TaskContainer
    from emulator.engine.task_engine import TaskEngine
    from emulator.persistence.adoption import _reconcile
    from emulator.runtime.status import TaskStatus

    definition = TaskDefinition(family="f", revision=1, arn="arn:td", spec={},
                                compatibilities=["EC2"], requires_attributes=[],
                                registered_by="me")
    containers = [TaskContainer(name="web", arn="arn:c1",
                                definition={"essential": True, **(web or {})}),
                  TaskContainer(name="sidecar", arn="arn:c2", definition={"essential": False})]
    task = Task(arn="arn:task", id="t", cluster_name="c", cluster_arn="arn:c",
                definition=definition, launch_type="EC2", capacity_provider=None,
                containers=containers, overrides={}, cpu=None, memory=None,
                network_mode="bridge", known=TaskStatus[known], sandbox_id=sandbox_id)
    for container in containers:
        container.started = TaskStatus[known] >= TaskStatus.RUNNING
        container.network_bindings = [dict(b) for b in saved_bindings]
    state = EcsState()
    engine = TaskEngine(state, lambda: None, Settings())
    found = {name: {"Id": f"id-{name}"} for name in docker}
    with state.lock:
        caught_up = _reconcile(engine, task, found, docker)
    return task, caught_up


def docker_state(running: bool, exit_code=None, oom=False, health=None, status=None,
                 published=()):
    from emulator.runtime.base import ContainerState

    return ContainerState(id="x", status=status or ("running" if running else "exited"),
                          running=running, exit_code=exit_code, oom_killed=oom, health=health,
                          error="", ip_address=None, published=published)


def test_an_adopted_bridge_tasks_bindings_are_dockers_now_not_those_saved():
    """Saved bindings may be stale (a container restarted since publishes another port): a
    running container's are read from Docker; a stopped one keeps its last, as ECS shows them
    (the front doors dial only a running one's). A pool sandbox's are kept: it holds them."""
    from emulator.runtime.base import PublishedPort

    saved = [{"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 32768, "protocol": "tcp"}]
    now = (PublishedPort(80, "tcp", "0.0.0.0", 32999),)
    task, _ = adopted("RUNNING", {"web": docker_state(True, published=now),
                                  "sidecar": docker_state(False, exit_code=0)},
                      saved_bindings=saved)
    web, sidecar = task.containers
    assert [b["hostPort"] for b in web.network_bindings] == [32999]
    assert sidecar.network_bindings == saved
    task, _ = adopted("RUNNING", {"web": docker_state(True), "sidecar": docker_state(True)},
                      saved_bindings=saved, sandbox_id="pause")
    assert task.containers[0].network_bindings == saved


def test_a_running_task_whose_containers_run_is_adopted_as_it_is():
    task, caught_up = adopted("RUNNING", {"web": docker_state(True),
                                         "sidecar": docker_state(True)})
    assert task.desired.name == "RUNNING" and not caught_up
    assert [c.runtime_id for c in task.containers] == ["id-web", "id-sidecar"]


def test_an_essential_container_that_died_meanwhile_stops_its_task_as_docker_saw_it():
    task, _ = adopted("RUNNING", {"web": docker_state(False, 137, oom=True),
                                  "sidecar": docker_state(True)})
    web = task.containers[0]
    assert task.desired.name == "STOPPED" and task.stop_code == "EssentialContainerExited"
    assert web.exit_code == 137 and web.reason.startswith("OutOfMemoryError")


def test_a_task_the_state_file_saw_starting_is_running_if_docker_says_so():
    _, caught_up = adopted("PENDING", {"web": docker_state(True), "sidecar": docker_state(True)})
    assert caught_up
    task, caught_up = adopted("PENDING", {"web": docker_state(True)})  # sidecar never made
    assert not caught_up and task.stop_code == "TaskFailedToStart"


@pytest.mark.parametrize("known", ["PROVISIONING", "PENDING", "ACTIVATING"])
def test_a_task_saved_starting_whose_essential_containers_run_is_running(known):
    # The file may lag the task by a moment: any step of its start, even before its network.
    task, caught_up = adopted(known, {"web": docker_state(True),
                                      "sidecar": docker_state(False, exit_code=0)})
    assert caught_up and task.desired.name == "RUNNING" and task.stop_code is None
    sidecar = task.containers[1]  # a non-essential container that had done its work
    assert sidecar.known.name == "STOPPED" and sidecar.exit_code == 0


def test_a_task_saved_starting_with_a_container_never_started_failed_to_start():
    task, caught_up = adopted("PENDING", {"web": docker_state(True),
                                          "sidecar": docker_state(False, status="created")})
    assert not caught_up and task.stop_code == "TaskFailedToStart"
    assert task.containers[1].exit_code is None  # never ran: no exit to report


@pytest.mark.parametrize("known", ["ACTIVATING", "RUNNING"])
@pytest.mark.parametrize("docker_health, health", [
    ("healthy", "HEALTHY"), ("unhealthy", "UNHEALTHY"), ("starting", "UNKNOWN")])
def test_an_adopted_task_reports_the_health_docker_sees_now(known, docker_health, health):
    check = {"healthCheck": {"command": ["CMD-SHELL", "true"]}}
    task, caught_up = adopted(known, {"web": docker_state(True, health=docker_health),
                                      "sidecar": docker_state(True)}, web=check)
    assert caught_up == (known == "ACTIVATING")
    assert task.containers[0].health.name == health and task.health.name == health


def test_resources_of_a_state_directory_are_orphans_only_once_it_is_gone(tmp_path):
    from emulator.runtime import labels

    owned = labels.owner_labels("abc", str(tmp_path))
    assert labels.PID not in owned  # no process owns them: the next run on the state adopts them
    (tmp_path / labels.STATE_MARK).write_text("abc")
    assert not labels.owner_is_gone(owned)
    assert not labels.owner_is_gone({**owned, labels.HOST: "another-host"})
    (tmp_path / labels.STATE_MARK).unlink()
    assert labels.owner_is_gone(owned)
