"""The awslogs log driver: task output in CloudWatch Logs (moto), read back through boto3 and the
AWS CLI; plus the pure pieces (multiline joining, strftime patterns, batching) without Docker."""

import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from emulator.engine.hooks import TaskSetupError
from emulator.engine.task_log_shipper import (
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    EventJoiner,
    LogShipper,
    batches,
    split_message,
    strftime_regex,
)
from emulator.engine.task_logs import awslogs_options
from emulator.runtime.docker_streams import MAX_LINE_BYTES, log_lines, parse_timestamp
from tests.waiting import wait_for, wait_for_task


CLUSTER = "logs"  # the name the `cluster` fixture (conftest.py) gives the cluster


@pytest.fixture
def logs(clean_emulator):
    return clean_emulator.client("logs")


def awslogs(group, prefix="app", **options):
    values = {"awslogs-group": group, "awslogs-region": "us-east-1", **options}
    if prefix:
        values["awslogs-stream-prefix"] = prefix
    return {"logDriver": "awslogs", "options": values}


def run_script(ecs, cluster, image, script, log_configuration, name="main"):
    arn = ecs.register_task_definition(family="logs", containerDefinitions=[{
        "name": name, "image": image, "memory": 64, "command": ["sh", "-c", script],
        "logConfiguration": log_configuration,
    }])["taskDefinition"]["taskDefinitionArn"]
    response = ecs.run_task(cluster=cluster, taskDefinition=arn)
    assert response["failures"] == []
    return response["tasks"][0]["taskArn"]


def messages(logs, group, stream):
    events = logs.get_log_events(logGroupName=group, logStreamName=stream,
                                 startFromHead=True)["events"]
    return [event["message"] for event in events]


# -- real Docker ------------------------------------------------------------------------------

@pytest.mark.docker
def test_stdout_and_stderr_arrive_in_order_while_the_task_runs(ecs, cluster, logs, busybox_image,
                                                                docker_client):
    logs.create_log_group(logGroupName="/ecs/app")
    script = ("echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three; echo; echo four; "
              "trap 'echo stopping; exit 0' TERM; while true; do sleep 1; done")
    arn = run_script(ecs, cluster, busybox_image, script, awslogs("/ecs/app", prefix="web"))
    task_id = arn.rsplit("/", 1)[1]
    stream = f"web/main/{task_id}"

    seen = wait_for(lambda: messages(logs, "/ecs/app", stream) if _has_stream(logs, "/ecs/app")
                    else [], lambda found: len(found) >= 4)
    assert seen == ["one", "two", "three", "four"]  # the empty line is no event, as on ECS
    task = wait_for_task(ecs, cluster, arn, "RUNNING")
    assert task["lastStatus"] == "RUNNING"  # shipped while it runs, not at the end

    # Each event carries the time Docker stamped on its line, in milliseconds.
    events = logs.get_log_events(logGroupName="/ecs/app", logStreamName=stream,
                                 startFromHead=True)["events"]
    docker_lines = docker_client.containers.get(task["containers"][0]["runtimeId"]).logs(
        timestamps=True).decode().splitlines()
    docker_stamps = [int(parse_timestamp(line.split(" ", 1)[0]) * 1000) for line in docker_lines
                     if line.split(" ", 1)[1:] != [""]]
    assert [event["timestamp"] for event in events] == docker_stamps

    ecs.stop_task(cluster=cluster, task=arn)
    wait_for_task(ecs, cluster, arn, "STOPPED")
    # What it printed while stopping is there too: the log is read to its end before STOPPED.
    assert messages(logs, "/ecs/app", stream) == ["one", "two", "three", "four", "stopping"]


def _has_stream(logs, group):
    return bool(logs.describe_log_streams(logGroupName=group)["logStreams"])


@pytest.mark.docker
def test_last_line_of_a_fast_exit_is_there_when_the_task_is_stopped(ecs, cluster, logs,
                                                                    busybox_image):
    logs.create_log_group(logGroupName="quick")
    script = "for i in $(seq 1 200); do echo line-$i; done; echo bye >&2"
    arn = run_script(ecs, cluster, busybox_image, script, awslogs("quick"))
    stopped = wait_for_task(ecs, cluster, arn, "STOPPED")
    assert stopped["stopCode"] == "EssentialContainerExited"

    found = messages(logs, "quick", f"app/main/{arn.rsplit('/', 1)[1]}")  # read at once
    # Events are in the order of Docker's timestamps, taken as each stream's copier reads, so
    # the stderr line may land among the last stdout lines; each stream keeps its own order.
    assert [line for line in found if line != "bye"] == [f"line-{i}" for i in range(1, 201)]
    assert found.count("bye") == 1


@pytest.mark.docker
def test_a_line_that_never_ends_is_shipped_in_pieces_while_the_task_runs(ecs, cluster, logs,
                                                                         busybox_image):
    # A container's code decides when its line ends: one that never does was held whole in the
    # emulator's memory (and nothing of it shipped) until the container stopped.
    logs.create_log_group(logGroupName="endless")
    size = 3 * MAX_LINE_BYTES
    script = (f"head -c {size} /dev/zero | tr '\\0' a; "
              "trap 'exit 0' TERM; while true; do sleep 1; done")
    arn = run_script(ecs, cluster, busybox_image, script, awslogs("endless"))
    stream = f"app/main/{arn.rsplit('/', 1)[1]}"

    def shipped():
        return sum(map(len, messages(logs, "endless", stream))) if _has_stream(logs, "endless") \
            else 0
    wait_for(shipped, lambda count: count >= 2 * MAX_LINE_BYTES, timeout=60)
    assert wait_for_task(ecs, cluster, arn, "RUNNING")["lastStatus"] == "RUNNING"

    ecs.stop_task(cluster=cluster, task=arn)
    wait_for_task(ecs, cluster, arn, "STOPPED")
    found = messages(logs, "endless", stream)
    assert "".join(found) == "a" * size  # every byte, none twice, no timestamp among them
    assert max(map(len, found)) <= MAX_EVENT_BYTES


@pytest.mark.docker
def test_create_group_makes_the_group(ecs, cluster, logs, busybox_image):
    assert logs.describe_log_groups(logGroupNamePrefix="made")["logGroups"] == []
    arn = run_script(ecs, cluster, busybox_image, "echo hello",
                     awslogs("made-by-ecs", **{"awslogs-create-group": "true"}))
    wait_for_task(ecs, cluster, arn, "STOPPED")

    groups = logs.describe_log_groups(logGroupNamePrefix="made")["logGroups"]
    assert [group["logGroupName"] for group in groups] == ["made-by-ecs"]
    assert messages(logs, "made-by-ecs", f"app/main/{arn.rsplit('/', 1)[1]}") == ["hello"]


@pytest.mark.docker
def test_missing_group_fails_the_task_before_its_containers_exist(ecs, cluster, logs,
                                                                  busybox_image, docker_client):
    arn = run_script(ecs, cluster, busybox_image, "echo never", awslogs("nowhere"))
    stopped = wait_for_task(ecs, cluster, arn, "STOPPED")

    assert stopped["stopCode"] == "TaskFailedToStart"
    reason = stopped["stoppedReason"]
    assert reason.startswith("ResourceInitializationError: failed to validate logger args: ")
    assert "The specified log group does not exist" in reason
    assert "runtimeId" not in stopped["containers"][0]
    assert docker_client.containers.list(
        all=True, filters={"label": f"ecs-emulator.task-arn={arn}"}) == []
    assert logs.describe_log_groups()["logGroups"] == []


@pytest.mark.docker
def test_group_in_another_region(ecs, cluster, clean_emulator, busybox_image):
    ireland = clean_emulator.client("logs", region="eu-west-1")
    ireland.create_log_group(logGroupName="far")
    arn = run_script(ecs, cluster, busybox_image, "echo over there",
                     awslogs("far", **{"awslogs-region": "eu-west-1"}))
    wait_for_task(ecs, cluster, arn, "STOPPED")

    assert messages(ireland, "far", f"app/main/{arn.rsplit('/', 1)[1]}") == ["over there"]
    here = clean_emulator.client("logs")
    assert here.describe_log_groups()["logGroups"] == []


@pytest.mark.docker
def test_without_prefix_the_stream_is_named_by_the_container_id(ecs, cluster, logs,
                                                                busybox_image):
    logs.create_log_group(logGroupName="bare")
    arn = run_script(ecs, cluster, busybox_image, "echo by id", awslogs("bare", prefix=None))
    stopped = wait_for_task(ecs, cluster, arn, "STOPPED")

    container_id = stopped["containers"][0]["runtimeId"]
    assert re.fullmatch("[0-9a-f]{64}", container_id)
    streams = logs.describe_log_streams(logGroupName="bare")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [container_id]
    assert messages(logs, "bare", container_id) == ["by id"]


@pytest.mark.docker
def test_multiline_pattern_joins_a_stack_trace(ecs, cluster, logs, busybox_image):
    logs.create_log_group(logGroupName="trace")
    script = ("echo 'INFO start'; echo 'ERROR boom'; echo '  at a()'; echo '  at b()'; "
              "echo 'INFO done'")
    arn = run_script(ecs, cluster, busybox_image, script,
                     awslogs("trace", **{"awslogs-multiline-pattern": "^(INFO|ERROR)"}))
    wait_for_task(ecs, cluster, arn, "STOPPED")

    assert messages(logs, "trace", f"app/main/{arn.rsplit('/', 1)[1]}") == [
        "INFO start\n", "ERROR boom\n  at a()\n  at b()\n", "INFO done\n"]


@pytest.mark.docker
def test_a_pattern_that_backtracks_does_not_hold_the_emulator(ecs, cluster, logs, busybox_image):
    """`(a+)+$` against 40 `a`s and a `!`: 2**40 steps for a backtracking engine, run in the
    emulator's process (Python's re held it, and every request, for days); RE2, as Docker's."""
    logs.create_log_group(logGroupName="greedy")
    script = f"echo start; echo {'a' * 40}!; echo aaaa"
    arn = run_script(ecs, cluster, busybox_image, script,
                     awslogs("greedy", **{"awslogs-multiline-pattern": "(a+)+$"}))
    wait_for_task(ecs, cluster, arn, "STOPPED")

    assert messages(logs, "greedy", f"app/main/{arn.rsplit('/', 1)[1]}") == [
        f"start\n{'a' * 40}!\n", "aaaa\n"]


@pytest.mark.docker
def test_aws_cli_shows_the_lines(ecs, cluster, logs, clean_emulator, busybox_image):
    logs.create_log_group(logGroupName="/ecs/tail")
    arn = run_script(ecs, cluster, busybox_image, "echo first words; echo last words",
                     awslogs("/ecs/tail"))
    wait_for_task(ecs, cluster, arn, "STOPPED")

    # `aws logs tail` is AWS CLI v2's; v1 (what PyPI has) reads them with filter-log-events,
    # the call `tail` makes.
    if _aws("--version").stdout.startswith("aws-cli/2"):
        result = _aws("logs", "tail", "/ecs/tail", "--since", "1h", "--format", "short",
                      "--endpoint-url", clean_emulator.endpoint_url, "--region", "us-east-1")
        lines = [line.split(" ", 1)[1] for line in result.stdout.splitlines()]
    else:
        result = _aws("logs", "filter-log-events", "--log-group-name", "/ecs/tail",
                      "--query", "events[].message", "--output", "json",
                      "--endpoint-url", clean_emulator.endpoint_url, "--region", "us-east-1")
        lines = json.loads(result.stdout)
    assert lines == ["first words", "last words"]


def _aws(*args) -> subprocess.CompletedProcess:
    aws = Path(sys.executable).parent / "aws"
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "testing",
                   "AWS_SECRET_ACCESS_KEY": "testing", "AWS_PAGER": ""}
    environment.pop("AWS_PROFILE", None)
    result = subprocess.run([str(aws), *args], capture_output=True, text=True, env=environment,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result


# -- options ----------------------------------------------------------------------------------

def test_options_refuse_what_docker_refuses():
    def options(**values):
        return awslogs_options({"logConfiguration": {"logDriver": "awslogs", "options": values}},
                               "us-east-1")

    with pytest.raises(TaskSetupError, match="awslogs-group"):
        options(**{"awslogs-region": "us-east-1"})
    with pytest.raises(TaskSetupError, match="unknown log opt 'awslogs-groop'"):
        options(**{"awslogs-group": "g", "awslogs-groop": "g"})
    with pytest.raises(TaskSetupError, match="ParseBool"):
        options(**{"awslogs-group": "g", "awslogs-create-group": "yes"})
    with pytest.raises(TaskSetupError, match="could not parse multiline pattern"):
        options(**{"awslogs-group": "g", "awslogs-multiline-pattern": "(unclosed"})
    for perl_only in ("^(?=INFO)", "(a)\\1"):  # Go's regexp (RE2) has neither
        with pytest.raises(TaskSetupError, match="could not parse multiline pattern"):
            options(**{"awslogs-group": "g", "awslogs-multiline-pattern": perl_only})
    accepted = options(**{"awslogs-group": "g", "mode": "non-blocking", "max-buffer-size": "4m",
                          "awslogs-create-group": "True"})
    assert accepted.region == "us-east-1" and accepted.create_group
    assert accepted.stream_name("t1", "web", "c0ffee") == "c0ffee"
    assert awslogs_options({"logConfiguration": {"logDriver": "json-file"}}, "us-east-1") is None


def test_datetime_format_wins_over_the_multiline_pattern():
    found = awslogs_options({"logConfiguration": {"logDriver": "awslogs", "options": {
        "awslogs-group": "g", "awslogs-multiline-pattern": "^INFO",
        "awslogs-datetime-format": "\\[%Y-%m-%d %H:%M:%S%L\\]"}}}, "us-east-1")
    assert found.pattern.search("[2024-05-01 12:34:56.789] hello")
    assert not found.pattern.search("INFO hello")


def test_a_lone_surrogate_in_the_multiline_pattern_is_a_replacement_character():
    """RE2 cannot take it (UnicodeEncodeError, past the error the task would stop with); Go's
    JSON decoder makes it U+FFFD for Docker's awslogs."""
    found = awslogs_options({"logConfiguration": {"logDriver": "awslogs", "options": {
        "awslogs-group": "g", "awslogs-multiline-pattern": "^x\ud800"}}}, "us-east-1")
    assert found.pattern.search("x\ufffd and the rest")
    assert not found.pattern.search("x and the rest")


# -- joining and batching ---------------------------------------------------------------------

def test_strftime_regex_is_dockers():
    pattern = re.compile(strftime_regex("%b %d, %Y %I:%M:%S %p"))
    assert pattern.search("May 01, 2024 09:05:59 PM something")
    assert not pattern.search("    at com.example.Main")


def test_joiner_without_a_pattern_makes_an_event_per_line():
    joiner = EventJoiner(None)
    assert joiner.feed(1, "a") == [(1, "a")]
    assert joiner.feed(2, "") == []
    assert joiner.pending_since is None


def test_joiner_with_a_pattern_joins_until_the_next_match():
    joiner = EventJoiner(re.compile("^START"))
    assert joiner.feed(1, "orphan") == []
    assert joiner.feed(2, "START one") == [(1, "orphan\n")]
    assert joiner.feed(3, "  more") == []
    assert joiner.pending_since == 2
    assert joiner.feed(4, "START two") == [(2, "START one\n  more\n")]
    assert joiner.flush() == [(4, "START two\n")]
    assert joiner.flush() == []


def test_long_messages_are_split_at_the_event_limit_on_character_boundaries():
    text = "é" * MAX_EVENT_BYTES  # two bytes each
    pieces = split_message(text)
    assert "".join(pieces) == text
    assert all(len(piece.encode()) <= MAX_EVENT_BYTES for piece in pieces)


def test_batches_are_in_time_order_and_within_limits():
    events = [(3, "c"), (1, "a"), (2, "b"), (1, "a2")]
    assert [[e["message"] for e in batch] for batch in batches(events)] == [["a", "a2", "b", "c"]]
    many = [(i, "x") for i in range(MAX_BATCH_EVENTS + 1)]
    assert [len(batch) for batch in batches(many)] == [MAX_BATCH_EVENTS, 1]
    big = [(i, "y" * 200_000) for i in range(6)]
    assert [len(batch) for batch in batches(big)] == [5, 1]


# -- the shipper without Docker ---------------------------------------------------------------

class _Runtime:
    def __init__(self, lines):
        self.lines = lines

    def logs(self, container_id, since=None, follow=False):
        yield from self.lines


class _Backend:
    def __init__(self):
        self.streams, self.puts = [], []

    def ensure_log_stream(self, group, stream):
        self.streams.append((group, stream))

    def put_log_events(self, group, stream, events):
        self.puts.append(events)


def test_shipper_puts_every_line_and_flushes_the_last_joined_event():
    lines = [(1.0, "stdout", "START a"), (1.001, "stderr", "  detail"), (2.5, "stdout", "START b")]
    backend = _Backend()
    shipper = LogShipper(_Runtime(lines), "c" * 64, backend, "g", "s", re.compile("^START"))
    shipper.start()
    assert shipper.join(timeout=30)
    assert backend.streams == [("g", "s")]
    assert [(e["timestamp"], e["message"]) for batch in backend.puts for e in batch] == [
        (1000, "START a\n  detail\n"), (2500, "START b\n")]


def test_shipper_creates_the_stream_of_a_silent_container():
    backend = _Backend()
    shipper = LogShipper(_Runtime([]), "c" * 64, backend, "g", "quiet", None)
    shipper.start()
    assert shipper.join(timeout=30)
    assert backend.streams == [("g", "quiet")] and backend.puts == []


def test_shipper_puts_a_joined_event_when_no_line_comes_to_end_it(monkeypatch):
    import emulator.engine.task_log_shipper as shipper_module

    monkeypatch.setattr(shipper_module, "MULTILINE_FLUSH_S", 0.2)
    release = threading.Event()

    class Waiting(_Runtime):
        def logs(self, container_id, since=None, follow=False):
            yield from self.lines
            release.wait(30)  # the container runs on, silent

    backend = _Backend()
    shipper = LogShipper(Waiting([(1.0, "stdout", "START a"), (1.1, "stdout", "  more")]),
                         "c" * 64, backend, "g", "s", re.compile("^START"))
    shipper.start()
    try:
        puts = wait_for(lambda: list(backend.puts), lambda found: found, timeout=30)
    finally:
        release.set()
    assert shipper.join(timeout=30)
    assert puts == [[{"timestamp": 1000, "message": "START a\n  more\n"}]]


def _frame(payload: bytes, stream: int = 1) -> bytes:
    """One frame of Docker's multiplexed log body."""
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_a_line_without_end_comes_out_in_pieces_with_its_timestamp():
    stamp = b"2026-12-07T02:00:00.5Z "
    # The cut falls inside the "é" (two bytes), after the timestamp: it goes before it.
    text = ("x" * (MAX_LINE_BYTES - len(stamp) - 1) + "\u00e9" + "y" * MAX_LINE_BYTES).encode()
    chunks = [_frame((stamp if at == 0 else b"2026-12-07T02:00:09Z ") + text[at:at + 16384])
              for at in range(0, len(text), 16384)]
    seen = []
    for line in log_lines(iter(chunks), tty=False):
        seen.append(line)
        if len(seen) == 2:
            break  # given out before the line ends: nothing more needs to be read
    assert [(stamp_s, stream) for stamp_s, stream, _ in seen] == [
        (parse_timestamp("2026-12-07T02:00:00.5Z"), "stdout")] * 2
    assert len(seen[0][2].encode()) <= MAX_LINE_BYTES
    assert seen[0][2] + seen[1][2] == text.decode()[:len(seen[0][2]) + len(seen[1][2])]
    assert seen[0][2].endswith("x") and seen[1][2].startswith("\u00e9")  # no character cut


def test_a_tty_lines_carriage_return_at_a_cut_is_kept():
    # A terminal ends lines in "\r\n": only a line's end loses its "\r", not a piece's.
    stamp = b"2026-12-07T02:00:00Z "
    head = stamp + b"a" * (MAX_LINE_BYTES - len(stamp) - 1) + b"\r"  # the cut falls after "\r"
    lines = [text for _, _, text in log_lines(iter([head + b"bb", b"b\r\n"]), tty=True)]
    assert lines == [head[len(stamp):].decode(), "bbb"]


def test_a_line_is_cut_even_when_its_timestamp_is_longer_than_the_limit(monkeypatch):
    # Each cut handed the timestamp on to the rest: a limit below its length never shortened
    # what was held, and the loop never ended.
    import emulator.runtime.docker_streams as streams_module

    monkeypatch.setattr(streams_module, "MAX_LINE_BYTES", 8)
    chunks = [_frame(b"2026-12-07T02:00:00Z abcdefghij")]
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(log_lines(iter(chunks), tty=False)),
                              daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive()
    assert "".join(text for _, _, text in seen) == "abcdefghij"
    assert {stamp for stamp, _, _ in seen} == {parse_timestamp("2026-12-07T02:00:00Z")}


def test_the_shipper_reads_ahead_only_so_many_bytes():
    import emulator.engine.task_log_shipper as shipper_module

    line = "z" * MAX_LINE_BYTES
    read, release = [], threading.Event()

    class Endless(_Runtime):
        def logs(self, container_id, since=None, follow=False):
            for index in range(10_000):
                read.append(index)
                yield (1.0, "stdout", line)

    class Stuck(_Backend):
        def put_log_events(self, group, stream, events):
            release.wait(30)  # CloudWatch Logs behind: the reader must wait, not hold it all

    shipper = LogShipper(Endless([]), "c" * 64, Stuck(), "g", "s", None)
    shipper.start()
    try:
        time.sleep(1.0)
        # Read so far: the lines queued (a line past the bound at most), the writer's batch
        # (a batch's bytes, and the line that filled it) and the reader's line in hand.
        assert len(read) * MAX_LINE_BYTES <= shipper_module._QUEUE_BYTES + 4 * MAX_LINE_BYTES
    finally:
        release.set()


def test_an_adopted_container_ships_on_from_its_streams_last_event_not_from_the_start():
    # moto sets a stream's lastEventTimestamp only when it is described: read the events.
    from moto.logs.models import LogsBackend

    from emulator.engine.task_logs import _shipped_until

    backend = LogsBackend("us-east-1", "123456789012")
    backend.create_log_group("app", {})
    backend.create_log_stream("app", "web/main/abc")
    now_ms = int(time.time() * 1000)  # moto rejects events older than 14 days
    backend.put_log_events("app", "web/main/abc", [{"timestamp": now_ms,
                                                    "message": "secret=s3cr3t"}])
    options = awslogs_options({"name": "main", "logConfiguration": {
        "logDriver": "awslogs", "options": {"awslogs-group": "app",
                                            "awslogs-stream-prefix": "web"}}}, "us-east-1")
    assert _shipped_until(backend, options, "web/main/abc") == (now_ms + 1) / 1000
    assert _shipped_until(backend, options, "web/main/other") is None


def test_a_stream_keeps_its_newest_events_only_up_to_a_bound(monkeypatch):
    # moto holds every event in the emulator's memory: a task logging in a loop grew it forever.
    import emulator.engine.task_log_shipper as shipper_module
    from moto.logs.models import LogsBackend

    monkeypatch.setattr(shipper_module, "STREAM_KEEP_BYTES", 4000)
    backend = LogsBackend("us-east-1", "123456789012")
    backend.create_log_group("chatty", {})
    now = time.time()  # moto refuses events older than 14 days
    lines = [(now + index / 1000, "stdout", f"line-{index:05d}" + "." * 90)
             for index in range(200)]  # 100 characters each: 20,000 in all
    shipper = LogShipper(_Runtime(lines), "c" * 64, backend, "chatty", "s", None)
    shipper.start()
    assert shipper.join(timeout=30)

    kept = [event.message for event in backend.groups["chatty"].streams["s"].events]
    cost = sum(len(message) + shipper_module.EVENT_MEMORY_BYTES for message in kept)
    assert 2000 < cost <= 4000  # trimmed to three quarters of the bound when it passed it
    assert kept == [line for _, _, line in lines[-len(kept):]]  # the newest, in order
    described = backend.groups["chatty"].streams["s"].to_describe_dict()
    assert described["storedBytes"] == sum(map(len, kept))


def _trimmable_stream(clean_emulator, logs, monkeypatch, group):
    """moto's stream `group`/s (made through the emulator) and a put that trims it to its
    newest 15 events of 6 characters, as the shipper trims what it writes."""
    import emulator.engine.task_log_shipper as shipper_module
    from moto.backends import get_backend

    account = clean_emulator.client("sts").get_caller_identity()["Account"]
    backend = get_backend("logs")[account]["us-east-1"]
    monkeypatch.setattr(shipper_module, "STREAM_KEEP_BYTES",
                        20 * (shipper_module.EVENT_MEMORY_BYTES + 6))
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now_ms = int(time.time() * 1000)

    def put(first, end):
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
            {"timestamp": now_ms + index, "message": f"m{index:05d}"}
            for index in range(first, end)])
        shipper_module.keep_newest(backend, group, "s")

    return backend.groups[group].streams["s"], put


def test_get_log_events_tokens_read_on_after_a_stream_drops_its_oldest(clean_emulator, logs,
                                                                       monkeypatch):
    # moto's tokens are positions in the stream: dropping its first events moved them, and a
    # follower holding nextForwardToken skipped events or read nothing ever after.
    stream, put = _trimmable_stream(clean_emulator, logs, monkeypatch, "followed")

    def read(token=None, **kwargs):
        page = logs.get_log_events(logGroupName="followed", logStreamName="s", startFromHead=True,
                                   **({"nextToken": token} if token else {}), **kwargs)
        return [event["message"] for event in page["events"]], page

    put(0, 18)
    first_five, early = read(limit=5)
    read_all, late = read()
    assert (first_five, read_all[-1]) == ([f"m{i:05d}" for i in range(5)], "m00017")
    put(18, 30)  # drops m00000..m00014
    assert stream.events[0].message == "m00015"

    news, page = read(late["nextForwardToken"])
    assert news == [f"m{i:05d}" for i in range(18, 30)]  # every new event, none skipped
    # A reader behind what was dropped reads on from the oldest kept event.
    behind, _ = read(early["nextForwardToken"])
    assert behind == [f"m{i:05d}" for i in range(15, 30)]
    put(30, 32)
    assert read(page["nextForwardToken"])[0] == ["m00030", "m00031"]
    # Backward from the first kept event: nothing older is left.
    _, oldest = read(early["nextForwardToken"], limit=1)
    assert read(oldest["nextBackwardToken"])[0] == []


def test_get_log_events_tokens_within_a_start_time_read_on_after_a_drop(clean_emulator, logs,
                                                                         monkeypatch):
    # Positions count the events from startTime on (`ecs-emulator logs --since --follow`).
    stream, put = _trimmable_stream(clean_emulator, logs, monkeypatch, "since")
    put(0, 18)
    start_ms = stream.events[0].timestamp

    def read(since, token=None):
        page = logs.get_log_events(logGroupName="since", logStreamName="s", startFromHead=True,
                                   startTime=start_ms + since,
                                   **({"nextToken": token} if token else {}))
        return [event["message"] for event in page["events"]], page["nextForwardToken"]

    after_drop, after_token = read(16)
    inside_drop, inside_token = read(10)
    assert after_drop[-1] == inside_drop[-1] == "m00017"
    put(18, 30)  # drops m00000..m00014
    # From after the dropped events: exactly the new ones.
    assert read(16, after_token)[0] == [f"m{i:05d}" for i in range(18, 30)]
    # From inside them: none missed (the kept ones read again: how many of the dropped ones
    # were after startTime is not known).
    again = read(10, inside_token)[0]
    assert again[-12:] == [f"m{i:05d}" for i in range(18, 30)]
    assert set(again) <= {f"m{i:05d}" for i in range(15, 30)}


def test_filter_log_events_pages_on_from_a_dropped_event(clean_emulator, logs, monkeypatch):
    # A page token names the last event given; one that was dropped since ended the listing.
    stream, put = _trimmable_stream(clean_emulator, logs, monkeypatch, "filtered")
    put(0, 18)
    page = logs.filter_log_events(logGroupName="filtered", limit=5)
    assert [event["message"] for event in page["events"]][-1] == "m00004"
    put(18, 30)  # drops m00000..m00014
    messages_seen, token = [], page["nextToken"]
    while token:
        page = logs.filter_log_events(logGroupName="filtered", limit=5, nextToken=token)
        messages_seen += [event["message"] for event in page["events"]]
        token = page.get("nextToken")
    assert messages_seen == [f"m{i:05d}" for i in range(15, 30)]


def test_a_trim_counts_stored_bytes_from_the_events_it_keeps(clean_emulator, logs, monkeypatch):
    # moto's PutLogEvents adds to storedBytes without a lock: a trim that subtracted from it
    # raced it, and one lost update left the count wrong for good.
    stream, put = _trimmable_stream(clean_emulator, logs, monkeypatch, "counted")
    put(0, 18)
    stream.stored_bytes += 1000  # as a put racing a trim would have left it
    put(18, 30)
    described = logs.describe_log_streams(logGroupName="counted")["logStreams"][0]
    assert stream.events and described["storedBytes"] == 6 * len(stream.events)


def test_a_trimmed_stream_is_still_saved_and_reads_on_after_a_restore():
    # Persistence pickles moto's backends: what a trim keeps on a stream must pickle, and
    # tokens given before a save read on after a restore.
    import pickle

    from moto.logs.models import LogsBackend

    from emulator.aws import moto_log_trim

    moto_log_trim.install()
    backend = LogsBackend("us-east-1", "123456789012")
    backend.create_log_group("saved", {})
    backend.create_log_stream("saved", "s")
    now_ms = int(time.time() * 1000)
    backend.put_log_events("saved", "s", [{"timestamp": now_ms + index, "message": f"m{index}"}
                                          for index in range(10)])
    _, _, token = backend.get_log_events("saved", None, "s", None, None, 100, None, True)
    stream = backend.groups["saved"].streams["s"]
    moto_log_trim.drop_oldest(stream, 4)
    backend.put_log_events("saved", "s", [{"timestamp": now_ms + 10, "message": "m10"}])
    restored = LogsBackend("us-east-1", "123456789012")
    restored.__dict__.update(pickle.loads(pickle.dumps(backend.__dict__)))
    events, _, _ = restored.get_log_events("saved", None, "s", None, None, 100, token, True)
    assert [event["message"] for event in events] == ["m10"]


def test_a_failed_trim_leaves_the_shipper_shipping(monkeypatch):
    # The writer thread put and trimmed; a trim's exception ended it, and the reader waited
    # for room forever.
    import emulator.engine.task_log_shipper as shipper_module

    first_put = threading.Event()

    class Paced(_Runtime):
        def logs(self, container_id, since=None, follow=False):
            yield (1.0, "stdout", "first")
            first_put.wait(10)
            yield (2.0, "stdout", "second")

    class Signalling(_Backend):
        def put_log_events(self, group, stream, events):
            super().put_log_events(group, stream, events)
            first_put.set()

    def broken(backend, group, stream):
        raise RuntimeError("trim failed")

    monkeypatch.setattr(shipper_module, "keep_newest", broken)
    backend = Signalling()
    shipper = LogShipper(Paced([]), "c" * 64, backend, "g", "s", None)
    shipper.start()
    assert shipper.join(timeout=30)
    assert [event["message"] for batch in backend.puts for event in batch] == ["first", "second"]


def test_log_events_dropped_or_deleted_leave_the_emulators_memory(logs):
    # moto kept every model instance it made: a deleted group's events (or those a stream
    # dropped) stayed in memory until a reset (aws/moto_memory.py).
    import gc

    from moto.logs.models import LogEvent

    def live_events():
        gc.collect()
        return sum(isinstance(thing, LogEvent) for thing in gc.get_objects())

    before = live_events()
    logs.create_log_group(logGroupName="gone")
    logs.create_log_stream(logGroupName="gone", logStreamName="s")
    now_ms = int(time.time() * 1000)
    logs.put_log_events(logGroupName="gone", logStreamName="s", logEvents=[
        {"timestamp": now_ms, "message": f"event {index}"} for index in range(500)])
    assert live_events() >= before + 500
    logs.delete_log_group(logGroupName="gone")
    assert live_events() < before + 50  # other tests' streams may ship meanwhile
