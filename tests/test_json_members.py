"""Members kept as JSON text between calls (emulator/aws/json_members.py): DescribeTasks answers
what it answered before the text was kept, byte for byte, and a change to a task shows at once,
wherever it is made (a status moved on, a list of the model grown in place). No Docker: the
tasks are never started (the fake runtime's engine is not)."""

import datetime as dt
import json

import pytest

from api_shapes import load_service
from api_shapes.serialize import Encoded
from emulator import app as app_module
from emulator.app import create_app
from emulator.aws import json_members
from emulator.aws.context import RequestContext
from emulator.aws.json_members import MemberCache, encode, encode_plain
from emulator.cloudformation.resource import EXTENSION
from emulator.config import Settings
from emulator.runtime.fake import FakeRuntime
from emulator.runtime.status import ContainerStatus, TaskStatus

CTX = RequestContext(account="123456789012", region="us-east-1")
ECS = load_service("ecs")


@pytest.fixture
def ecs(monkeypatch):
    monkeypatch.setattr(app_module, "_docker_runtime",
                        lambda keeper, settings, environment=None, bridge_claims=None,
                        own_container=None: FakeRuntime())
    app = create_app(Settings(keep_resources=True, strict_responses=True))
    service = app.moto.extensions[EXTENSION].ecs
    service.invoke("CreateCluster", {"clusterName": "c"}, CTX)
    service.invoke("RegisterTaskDefinition", {"family": "f", "containerDefinitions": [
        {"name": "main", "image": "busybox", "memory": 64,
         "portMappings": [{"containerPort": 80, "hostPort": 0}]},
        {"name": "side", "image": "busybox", "memory": 32, "essential": False}]}, CTX)
    return service


def _described(ecs, arns: list[str], include=None) -> tuple[str, str]:
    """DescribeTasks' body as a request gets it, and as the plain encoding of the same call's
    dict output (what every answer was before members were kept)."""
    params = {"cluster": "c", "tasks": arns, **({"include": include} if include else {})}
    reply = ecs.handle("DescribeTasks", json.dumps(params).encode(), CTX)
    assert reply.status == 200, reply.body
    assert reply.spliced
    return encode(reply.body, reply.spliced), encode_plain(ecs.invoke("DescribeTasks", params,
                                                                      CTX))


def test_describe_tasks_answers_the_same_text_and_each_change_at_once(ecs):
    ran = ecs.invoke("RunTask", {"cluster": "c", "taskDefinition": "f", "count": 3,
                                 "tags": [{"key": "k", "value": "v"}]}, CTX)["tasks"]
    missing = "0" * 32  # an id of a task's length (another is refused: test_ecs_fidelity.py)
    arns = [t["taskArn"] for t in ran] + [missing]
    store = ecs.state.store_for(CTX.account, CTX.region)
    task = store.tasks[arns[0]]

    first, plain = _described(ecs, arns)
    assert first == plain
    assert json.loads(first)["failures"] == [{"arn": missing, "reason": "MISSING"}]
    assert _described(ecs, arns) == (first, plain)  # kept: the same text again

    changes = [
        lambda: task.advance(TaskStatus.RUNNING),  # a status and a timestamp
        lambda: setattr(task.containers[0], "known", ContainerStatus.RUNNING),
        # lists the model shares with the render, grown or changed in place
        lambda: task.containers[0].network_bindings.append(
            {"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 49153, "protocol": "tcp"}),
        lambda: task.containers[0].network_bindings[0].update(hostPort=49154),
        lambda: task.tags.append({"key": "k2", "value": "v2"}),  # shown with TAGS only
        lambda: setattr(task, "pull_started_at", dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)),
    ]
    seen = {first}
    for change in changes:
        with ecs.state.lock:
            change()
        for include in (None, ["TAGS"]):
            text, plain = _described(ecs, arns, include)
            assert text == plain
            seen.add(text)
    # every change but the tags' showed without TAGS, and the tags' with it
    assert len(seen) == 1 + 2 * len(changes) - 1
    started = json.loads(_described(ecs, arns[:1])[0])["tasks"][0]
    assert started["lastStatus"] == "RUNNING"
    assert started["containers"][0]["networkBindings"][0]["hostPort"] == 49154
    assert started["pullStartedAt"] == dt.datetime(2026, 1, 1,
                                                   tzinfo=dt.timezone.utc).timestamp()


def test_internal_callers_get_dicts():
    """invoke() (CloudFormation's resources) reads results as dicts: no Encoded member."""
    from emulator.aws.json_service import Call

    wire = {"taskArn": "a"}
    assert Call(CTX, {}, None).encoded("Task", "a", wire) is wire


def test_encode_splices_members_where_they_stand():
    task = {"taskArn": "arn:t", "createdAt": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
            "stoppedReason": None, "overrides": {"containerOverrides": [{"name": "é"}]}}
    cache = MemberCache(ECS)
    member = cache.encoded("Task", "t", task)
    serialized = ECS.serialize_shape("Task", task)
    body = {"tasks": [member, serialized], "failures": [{"arn": "x", "reason": "MISSING"}],
            "task": member, "nextToken": "n"}
    expected = {"tasks": [serialized, serialized], "failures": body["failures"],
                "task": serialized, "nextToken": "n"}
    assert encode(body, spliced=True) == encode_plain(expected)
    # the serializer passes an encoded member on as it is
    assert ECS.serialize_output("StopTask", {"task": member}) == {"task": member}
    with pytest.raises(TypeError):  # deeper than a top-level list: a fault of ours, not text
        encode({"outer": {"tasks": [member]}}, spliced=True)


def test_the_cache_is_bounded_and_keeps_the_latest():
    cache = MemberCache(ECS, limit=3)
    texts = {key: cache.encoded("Task", key, {"taskArn": key}) for key in "abcd"}
    assert len(cache._entries) == 3 and "a" not in cache._entries
    assert cache.encoded("Task", "d", {"taskArn": "d"}) is texts["d"]
    assert isinstance(texts["a"], Encoded) and json.loads(texts["a"].text) == {"taskArn": "a"}
    assert json_members.LIMIT >= 100  # a DescribeTasks of its most tasks fits


@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, None, True, "\u00e9\u2028\"x"], "b": {}}, "a key\n", 3, 1.0, -0.0, 10 ** 30,
    float("inf"), [], {"nested": [{"k": [{}]}]},
], ids=["object", "string", "int", "float", "negative-zero", "big-int", "infinity", "list",
        "nested"])
def test_encode_plain_is_json_dumps_compact(value):
    """encode_plain, which makes json's C encoder once, writes what json.dumps writes."""
    assert encode_plain(value) == json.dumps(value, separators=(",", ":"))


def test_encode_plain_refuses_what_json_cannot_encode():
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode_plain({"x": object()})


@pytest.mark.parametrize("body", [
    b'{"a":1}', b"{}", b'{"x":"\xc3\xa9"}', b'{"s":"\\ud800"}', b' {"a":1}', b"[1]",
    b"\xef\xbb\xbf{}", '{"a":1}'.encode("utf-16-le"), '{"a":1}'.encode("utf-16"),
    b'{"a":', b"{\xff}", b"{",
], ids=["object", "empty", "utf-8", "lone-surrogate-escape", "leading-space", "list", "utf-8-bom",
        "utf-16-le", "utf-16-bom", "truncated", "invalid-utf-8", "brace-only"])
def test_request_bodies_decode_as_json_loads_decodes_them(body):
    """json_service._decoded's shortcut for plain UTF-8 bodies: json.loads' value or error."""
    from emulator.aws.json_service import _decoded

    def outcome(decode):
        try:
            return "value", decode(body)
        except ValueError as error:
            return "error", type(error)

    assert outcome(_decoded) == outcome(json.loads)
