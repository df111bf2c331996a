"""ECS Exec with AWS's own tools: `aws ecs execute-command` (the AWS CLI) starts AWS's
session-manager-plugin, which opens the session's WebSocket on the emulator and speaks the Session
Manager data-channel protocol to it; the command runs in the task's container with a TTY.

The CLI runs in a pseudo-terminal, as a user's would. The plugin is the linux/amd64 build in
../shared/tools/session-manager-plugin/ (users install it from AWS), or the one SESSION_MANAGER_PLUGIN
names.
"""

from __future__ import annotations

import logging
import fcntl
import os
import shutil
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.waiting import wait_for, wait_for_task

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parent.parent
_BUNDLED = Path("shared") / "tools" / "session-manager-plugin" / "session-manager-plugin"


def _find_plugin() -> Path:
    """SESSION_MANAGER_PLUGIN, else the build beside the checkout (this machine's and CI's
    ../shared/tools), else /work/shared/tools for a clone made elsewhere, else one on PATH."""
    if os.environ.get("SESSION_MANAGER_PLUGIN"):
        return Path(os.environ["SESSION_MANAGER_PLUGIN"])
    candidates = [REPO.parent / _BUNDLED, Path("/work") / _BUNDLED]
    on_path = shutil.which("session-manager-plugin")
    candidates += [Path(on_path)] if on_path else []
    return next((c for c in candidates if os.access(c, os.X_OK)), candidates[0])


PLUGIN = _find_plugin()
AWS = Path(sys.executable).with_name("aws")
CLUSTER = "exec"
GROUP = "/ecs/exec-sessions"
BUCKET = "exec-session-logs"
NOT_ENABLED = ("The execute command failed because execute command was not enabled when the task "
               "was run or the execute command agent isn’t running. Wait and try again or run a "
               "new task with execute command enabled and try again.")

needs_plugin = pytest.mark.skipif(not os.access(PLUGIN, os.X_OK),
                                  reason=f"no session-manager-plugin at {PLUGIN}")


@pytest.fixture(scope="module")
def world(ecs_emulator, busybox_image):
    """A cluster whose exec sessions are logged to CloudWatch Logs and S3, and two running tasks
    of one definition: one run with enableExecuteCommand, one without."""
    ecs_emulator.reset()
    ecs = ecs_emulator.client("ecs")
    ecs_emulator.client("logs").create_log_group(logGroupName=GROUP)
    ecs_emulator.client("s3").create_bucket(Bucket=BUCKET)
    ecs.create_cluster(clusterName=CLUSTER, configuration={"executeCommandConfiguration": {
        "logging": "OVERRIDE", "logConfiguration": {
            "cloudWatchLogGroupName": GROUP, "s3BucketName": BUCKET, "s3KeyPrefix": "exec"}}})
    definition = ecs.register_task_definition(family="shell", containerDefinitions=[{
        "name": "app", "image": busybox_image, "memory": 64,
        "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}],
    )["taskDefinition"]["taskDefinitionArn"]
    enabled = ecs.run_task(cluster=CLUSTER, taskDefinition=definition,
                           enableExecuteCommand=True)["tasks"][0]["taskArn"]
    disabled = ecs.run_task(cluster=CLUSTER, taskDefinition=definition)["tasks"][0]["taskArn"]
    for arn in (enabled, disabled):
        wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    yield {"ecs": ecs, "enabled": enabled, "disabled": disabled, "emulator": ecs_emulator}
    ecs_emulator.reset()


def execute_command(world, task: str, command: str, typed: list[tuple[str, str]] = (),
                    timeout: float = 60.0, cluster: str = CLUSTER) -> tuple[int, str]:
    """`aws ecs execute-command ... --interactive` in a pseudo-terminal: (exit status, what the
    terminal showed). `typed` is (text to wait for, keys to type then) in order."""
    endpoint = world["emulator"].endpoint_url
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="test",
               AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
               PATH=os.pathsep.join([str(PLUGIN.parent), str(AWS.parent), os.environ["PATH"]]))
    main, side = os.openpty()
    # A terminal of a size, as a user's is (the plugin sends no size for a 0x0 one).
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [str(AWS), "ecs", "execute-command", "--cluster", cluster, "--task", task,
         "--interactive", "--command", command],
        stdin=side, stdout=side, stderr=side, env=env, close_fds=True, start_new_session=True)
    os.close(side)
    shown, pending = b"", list(typed)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # the other side closed: everything was read
                    break
                if not chunk:
                    break
                shown += chunk
            if pending and pending[0][0] in shown.decode(errors="replace"):
                os.write(main, pending.pop(0)[1].encode())
            if not ready and process.poll() is not None:
                break
        else:
            process.kill()
            raise AssertionError(f"execute-command did not end; the terminal showed {shown!r}")
        return process.wait(timeout=10), shown.decode(errors="replace")
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()


@needs_plugin
def test_echo_runs_in_the_container_and_the_session_ends_as_on_aws(world, caplog):
    caplog.set_level(logging.INFO, logger="emulator.exec")
    status, shown = execute_command(world, world["enabled"], "echo hello-from-exec")
    assert status == 0, shown
    assert "Starting session with SessionId: ecs-execute-command-" in shown
    assert "hello-from-exec" in shown
    session_id = shown.split("Starting session with SessionId: ")[1].split()[0]
    assert f"Exiting session with sessionId: {session_id}." in shown
    assert any(f"exec session {session_id} ended: exit status 0" in r.message
               for r in caplog.records)

    # The cluster's executeCommandConfiguration: the output went to CloudWatch Logs and S3.
    logs = world["emulator"].client("logs")
    events = wait_for(
        lambda: logs.get_log_events(logGroupName=GROUP, logStreamName=session_id)["events"]
        if session_id in [s["logStreamName"] for s in logs.describe_log_streams(
            logGroupName=GROUP)["logStreams"]] else [],
        lambda found: found, timeout=10)
    assert [e["message"] for e in events] == ["hello-from-exec"]
    body = world["emulator"].client("s3").get_object(
        Bucket=BUCKET, Key=f"exec/{session_id}.log")["Body"].read()
    assert b"hello-from-exec" in body


@needs_plugin
def test_a_failing_command_still_ends_the_cli_with_0_as_on_aws(world, caplog):
    # AWS does not pass the command's exit status back (amazon-ecs-agent#2846): the CLI exits 0.
    # The emulator's log says what it was.
    caplog.set_level(logging.INFO, logger="emulator.exec")
    status, shown = execute_command(world, world["enabled"], "sh -c 'echo failing >&2; exit 3'")
    assert status == 0, shown
    assert "failing" in shown and "Exiting session with sessionId" in shown
    assert any(r.message.endswith("ended: exit status 3") for r in caplog.records)


@needs_plugin
def test_an_interactive_shell_takes_keystrokes(world):
    # The TTY has the terminal's size (40 rows, 120 columns: execute_command's pseudo-terminal).
    status, shown = execute_command(world, world["enabled"], "/bin/sh", typed=[
        ("#", "echo $((6*7))-answer\r"), ("42-answer", "stty size\r"), ("40 120", "exit\r")])
    assert status == 0, shown
    assert "42-answer" in shown and "40 120" in shown
    assert "Exiting session with sessionId" in shown


@needs_plugin
def test_two_sessions_at_once(world):
    # The first session stays open (a shell waiting) while the second runs start to end.
    first = {}

    def first_session():
        first["result"] = execute_command(world, world["enabled"], "/bin/sh", typed=[
            ("#", "touch /tmp/first-open\r"), ("second-done", "")])

    import threading

    opener = threading.Thread(target=first_session)
    opener.start()
    ecs = world["ecs"]
    status, shown = execute_command(
        world, world["enabled"],
        "sh -c 'while [ ! -e /tmp/first-open ]; do sleep 0.1; done; echo second-ran'")
    assert status == 0 and "second-ran" in shown, shown
    assert opener.is_alive()  # the first session is still open
    opener.join(timeout=1)
    # End the first from the emulator's side: its terminal goes, the plugin exits.
    world["emulator"].emulator.ecs.exec_sessions.close_all()
    opener.join(timeout=30)
    assert not opener.is_alive()
    assert "Starting session" in first["result"][1]
    assert ecs.describe_tasks(cluster=CLUSTER, tasks=[world["enabled"]])["tasks"][0][
        "lastStatus"] == "RUNNING"


@needs_plugin
def test_the_cli_is_refused_when_exec_was_not_enabled(world):
    status, shown = execute_command(world, world["disabled"], "echo never")
    assert status == 255, shown
    assert "An error occurred (InvalidParameterException) when calling the ExecuteCommand" in shown
    assert "execute command was not enabled when the task was run" in shown
    assert "never" not in shown.split("ExecuteCommand")[-1]


def test_execute_command_rules(world):
    ecs = world["ecs"]

    def refusal(**params):
        with pytest.raises(ClientError) as excinfo:
            ecs.execute_command(cluster=CLUSTER, command="true", **params)
        return excinfo.value.response["Error"]

    error = refusal(task=world["disabled"], interactive=True)
    assert error == {"Code": "InvalidParameterException", "Message": NOT_ENABLED}
    assert refusal(task=world["enabled"], interactive=False)["Message"] == (
        "Interactive is the only mode supported currently.")
    assert refusal(task="0" * 32, interactive=True)["Code"] == "InvalidParameterException"
    assert refusal(task=world["enabled"], container="nope", interactive=True)[
        "Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.execute_command(cluster="nowhere", task=world["enabled"], command="true",
                            interactive=True)
    assert excinfo.value.response["Error"]["Code"] == "ClusterNotFoundException"

    answer = ecs.execute_command(cluster=CLUSTER, task=world["enabled"], command="true",
                                 interactive=True)
    assert answer["taskArn"] == world["enabled"] and answer["containerName"] == "app"
    assert answer["interactive"] is True
    session = answer["session"]
    assert session["sessionId"].startswith("ecs-execute-command-")
    host = world["emulator"].endpoint_url.split("://")[1]
    assert session["streamUrl"] == (
        f"ws://{host}/v1/data-channel/{session['sessionId']}?role=publish_subscribe")
    assert len(session["tokenValue"]) > 64

    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=[world["enabled"], world["disabled"]])["tasks"]
    by_arn = {t["taskArn"]: t for t in tasks}
    agents = by_arn[world["enabled"]]["containers"][0]["managedAgents"]
    assert [(a["name"], a["lastStatus"]) for a in agents] == [("ExecuteCommandAgent", "RUNNING")]
    assert "managedAgents" not in by_arn[world["disabled"]]["containers"][0]


@needs_plugin
def test_a_session_ends_when_its_task_stops(world):
    # Last in this module: it stops the task the others use.
    ecs, result = world["ecs"], {}

    def session():
        result["value"] = execute_command(world, world["enabled"], "/bin/sh",
                                          typed=[("#", "echo ready-to-stop\r")])

    import threading

    worker = threading.Thread(target=session)
    worker.start()
    sessions = world["emulator"].emulator.ecs.exec_sessions
    wait_for(lambda: [s for s in sessions.active() if s.channel is not None
                      and b"ready-to-stop\r\n" in s.channel.transcript],
             lambda found: found, timeout=30)
    ecs.stop_task(cluster=CLUSTER, task=world["enabled"])
    worker.join(timeout=60)
    status, shown = result["value"]
    assert status == 0 and "Exiting session with sessionId" in shown, shown
    stopped = wait_for_task(ecs, CLUSTER, world["enabled"], "STOPPED")
    assert stopped["containers"][0]["managedAgents"][0]["lastStatus"] == "STOPPED"
    with pytest.raises(ClientError) as excinfo:
        ecs.execute_command(cluster=CLUSTER, task=world["enabled"], command="true",
                            interactive=True)
    assert excinfo.value.response["Error"]["Message"] == NOT_ENABLED
