"""What `ecs-emulator serve` prints: one readable line per API call (ours and moto's, each once)
and one per task state change; --quiet drops the API lines."""

from __future__ import annotations

import os
import re

import boto3
import pytest

from tests.test_cli import BIN, free_port, start  # noqa: F401  (start is a fixture)
from tests.waiting import wait_for_task

LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (\S+)\s+(.*)$")


def client(running, service):
    return boto3.client(service, endpoint_url=running.url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def lines_of(output: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in map(LINE.match, output.splitlines()) if m]


@pytest.mark.docker
def test_serve_logs_each_call_once_and_each_task_state(start, busybox_image):  # noqa: F811
    port = free_port()
    running = start([str(BIN / "ecs-emulator"), "serve", "--port", str(port)], port)
    running.wait_until_healthy()
    ecs = client(running, "ecs")
    ecs.create_cluster(clusterName="logged")
    client(running, "logs").create_log_group(logGroupName="logged")  # moto, JSON protocol
    client(running, "ec2").describe_vpcs()  # moto, query protocol (Action in a form body)
    definition = ecs.register_task_definition(family="logged", containerDefinitions=[{
        # a second's run: a container that exits at once may be gone before RUNNING is seen
        "name": "main", "image": busybox_image, "memory": 32, "command": ["sleep", "1"]}])
    arn = ecs.run_task(cluster="logged", taskDefinition=definition["taskDefinition"][
        "taskDefinitionArn"])["tasks"][0]["taskArn"]
    wait_for_task(ecs, "logged", arn, "STOPPED")
    assert running.stop() == 0
    lines = lines_of(running.output())
    api = [text for tag, text in lines if tag == "api"]
    for operation in ("ecs.CreateCluster", "logs.CreateLogGroup", "ec2.DescribeVpcs",
                      "ecs.RunTask", "GET /_emulator/health"):
        matching = [text for text in api if text.startswith(operation + " ")]
        assert matching, f"no line for {operation} in {api}"
        assert re.fullmatch(re.escape(operation) + r" 200 \d+\.\dms", matching[0])
    assert len([text for text in api if text.startswith("ecs.CreateCluster ")]) == 1
    task_id = arn.rsplit("/", 1)[1]
    states = [text.split()[2] for tag, text in lines
              if tag == "task" and text.startswith(f"task {task_id} ")]
    assert states[0] == "PENDING" and "RUNNING" in states and states[-1] == "STOPPED"


def test_what_a_caller_sends_reaches_the_log_escaped(start):  # noqa: F811
    """A path, X-Amz-Target or Action with escape sequences or line ends (a task can send any)
    moves no terminal and forges no line of the log."""
    import requests

    port = free_port()
    running = start([str(BIN / "ecs-emulator"), "serve", "--port", str(port)], port)
    running.wait_until_healthy()
    url = running.url
    forged = "16:16:00.000 api   ecs.DeleteCluster 200 0.1ms"
    requests.get(f"{url}/%1b%5b31mRED%1b%5b0m%1b%5d0;TITLE%07%0a{forged}", timeout=30)
    requests.post(url, data="{}", timeout=30, headers={
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.Nope\x1b[33mYELLOW",
        "Content-Type": "application/x-amz-json-1.1"})
    scope = "Credential=test/20261206/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"
    requests.post(url, data="Action=List%0a16:16:01.000 task  FORGED%1b[5mBLINK%c2%9b", timeout=30,
                  headers={"Authorization": f"AWS4-HMAC-SHA256 {scope}",
                           "Content-Type": "application/x-www-form-urlencoded"})
    assert running.stop() == 0
    output = running.output()
    assert not set(output) & {chr(c) for c in [*range(0x0a), *range(0x0b, 0x20),
                                                *range(0x7f, 0xa0)]}
    api = [text for tag, text in lines_of(output) if tag == "api"]
    assert not [text for text in api if text.startswith("ecs.DeleteCluster")]
    assert "FORGED" not in [tag for tag, _ in lines_of(output)]
    assert [text for text in api if text.startswith(
        "GET /\\x1b[31mRED\\x1b[0m\\x1b]0;TITLE\\x07\\x0a16:16:00.000 api")]
    assert [text for text in api if "ecs.Nope\\x1b[33mYELLOW" in text]
    assert [text for text in api if text.startswith(
        "sqs.List\\x0a16:16:01.000 task  FORGED\\x1b[5mBLINK\\x9b")]


def test_a_traceback_keeps_its_lines_and_loses_its_controls():
    import logging
    import sys

    from emulator.cli_commands.serve_logging import ReadableFormatter

    try:
        raise ValueError("bad \x1b]52;c;aGk=\x07 name")
    except ValueError:
        record = logging.LogRecord("emulator.engine", logging.ERROR, __file__, 1,
                                   "failed for %s", ("t\x1b[2J\nask",), sys.exc_info())
    text = ReadableFormatter().format(record)
    first, *rest = text.splitlines()
    assert first.endswith("engine ERROR failed for t\\x1b[2J\\x0aask")
    assert rest[0] == "    Traceback (most recent call last):"
    assert rest[-1] == "    ValueError: bad \\x1b]52;c;aGk=\\x07 name"
    assert "\x1b" not in text and "\x07" not in text


def test_a_traceback_quoting_a_line_end_forges_no_line():
    import logging
    import sys

    from emulator.cli_commands.serve_logging import ReadableFormatter

    forged = "16:16:00.000 api   ecs.DeleteCluster 200 0.1ms"
    try:
        raise ValueError(f"no such name 'x\n{forged}'")
    except ValueError:
        record = logging.LogRecord("emulator.engine", logging.ERROR, __file__, 1, "failed",
                                   (), sys.exc_info())
    first, *rest = ReadableFormatter().format(record).split("\n")
    assert rest and all(line.startswith("    ") for line in rest)
    assert f"    {forged}'" in rest


def test_quiet_serve_logs_no_calls(start):  # noqa: F811
    port = free_port()
    running = start([str(BIN / "ecs-emulator"), "serve", "--port", str(port), "--quiet"], port)
    running.wait_until_healthy()
    client(running, "ecs").create_cluster(clusterName="quiet")
    client(running, "logs").create_log_group(logGroupName="quiet")
    # Whether this run asks for the control token (ECS_EMULATOR_CONTROL_TOKEN=on, or Docker
    # Desktop's containers reaching loopback): a control path's answer without it says.
    import requests

    asked = requests.get(f"{running.url}/_emulator/tasks", timeout=30).status_code == 403
    assert running.stop() == 0
    output = running.output()
    tags = {tag for tag, _ in lines_of(output)}
    assert "api" not in tags and "server" in tags
    # Where the token is not asked for (the Docker network's gateway is this host's), the
    # start-up line's dashboard link carries none (a kept log would hold it for nothing).
    if asked:
        assert f"dashboard: {running.url}/_emulator/ui/#token=" in output
    else:
        assert f"dashboard: {running.url}/_emulator/ui/;" in output
        assert "#token=" not in output


def test_log_lines_come_in_batches_and_a_warning_at_once():
    import io
    import logging
    import time

    from emulator.cli_commands.serve_logging import BatchingHandler, ReadableFormatter

    stream = io.StringIO()
    handler = BatchingHandler(stream)
    handler.setFormatter(ReadableFormatter())
    log = logging.getLogger("emulator.requests.batching-test")
    log.propagate, log.level = False, logging.INFO
    log.addHandler(handler)
    try:
        log.info("first")
        log.info("second")
        deadline = time.monotonic() + 5
        while "second" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.005)
        log.info("third")
        log.warning("trouble")  # written at once, after the line before it
        assert [text for _, text in lines_of(stream.getvalue())] == [
            "first", "second", "third", "WARNING trouble"]
    finally:
        log.removeHandler(handler)


def test_cheroot_is_imported_without_leaving_a_stand_in_for_importlib_metadata():
    import subprocess
    import sys

    # A fresh interpreter: this one has importlib.metadata already (pytest imports it).
    code = ("import sys, emulator.http_server, cheroot\n"
            "assert 'importlib.metadata' not in sys.modules\n"
            "import importlib.metadata\n"
            "assert importlib.metadata.version('cheroot') == cheroot.__version__ != 'unknown'\n"
            "assert importlib.metadata.distribution('cheroot').files\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_cheroot_is_imported_without_ssl_or_jaraco_functools_which_load_as_usual_afterwards():
    import subprocess
    import sys

    # A fresh interpreter: this one has ssl already (requests imports it).
    code = ("import sys, emulator.http_server, cheroot._compat\n"
            "from cheroot.workers.threadpool import pass_none, ThreadPool\n"
            "unloaded = {'ssl', '_ssl', 'jaraco.functools', 'more_itertools'} & set(sys.modules)\n"
            "assert not unloaded, unloaded\n"
            "assert cheroot._compat.IS_ABOVE_OPENSSL10 is None  # (read by cheroot's tests only)\n"
            "calls = []\n"
            "def close(conn, *rest, **named):\n"
            "    calls.append((conn, rest, named)); return 'closed'\n"
            "wrapped = pass_none(close)\n"
            "assert wrapped(None, 1) is None and wrapped('conn', 1, x=2) == 'closed'\n"
            "assert calls == [('conn', (1,), {'x': 2})] and wrapped.__name__ == 'close'\n"
            "import ssl, jaraco.functools, more_itertools\n"
            "assert ssl.OPENSSL_VERSION_INFO >= (1, 1) and sys.modules['ssl'] is ssl\n"
            "assert jaraco.functools.pass_none is not pass_none and jaraco.functools.compose\n"
            "import http.client, urllib3\n"
            "assert http.client.HTTPSConnection\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


LATER_CHEROOT = {
    # A later cheroot that asks the stand-ins for more: what differs from the one we know.
    "a name jaraco.functools's stand-in lacks": (
        "__init__.py", "from jaraco.functools import compose\n",
        "assert cheroot.compose is jaraco.functools.compose\n"
        "assert 'ssl' not in sys.modules  # (the other stand-ins still served)\n"),
    "a name importlib.metadata's stand-in lacks": (
        "__init__.py", "from importlib.metadata import distribution\n",
        "assert cheroot.distribution is importlib.metadata.distribution\n"),
    "ssl, with no ImportError taken": (
        "_compat.py", "import ssl\n",
        "import ssl\n"
        "assert cheroot._compat.ssl is ssl and ssl.OPENSSL_VERSION_INFO >= (1, 1)\n"),
}


@pytest.mark.parametrize("change", list(LATER_CHEROOT))
def test_a_later_cheroot_that_asks_the_stand_ins_for_more_is_still_imported(tmp_path, change):
    """cheroot_import's stand-ins fit today's cheroot; one that imports more from them (here a
    cheroot of our making, found first on the path) is imported all the same, at worst as
    without them, and importlib.metadata and jaraco.functools are then the real ones."""
    import subprocess
    import sys

    changed_file, line, checks = LATER_CHEROOT[change]
    files = {
        "__init__.py": "from importlib import metadata\n"
                       "__version__ = metadata.version('cheroot')\n",
        "_compat.py": "try:\n    import ssl\nexcept ImportError:\n    ssl = None\n",
        "workers/__init__.py": "",
        "workers/threadpool.py": "from jaraco.functools import pass_none\n",
    }
    files[changed_file] += line
    for name, text in files.items():
        (tmp_path / "cheroot" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "cheroot" / name).write_text(text)
    (tmp_path / "cheroot-99.0.dist-info").mkdir()
    (tmp_path / "cheroot-99.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: cheroot\nVersion: 99.0\n")
    code = ("import sys, emulator.cheroot_import, cheroot, cheroot._compat\n"
            "import cheroot.workers.threadpool, importlib.metadata, jaraco.functools\n"
            "assert cheroot.__file__.startswith(sys.argv[1]) and cheroot.__version__ == '99.0'\n"
            "assert importlib.metadata.__file__ and jaraco.functools.__file__  # the real ones\n"
            "assert importlib.metadata.version('cheroot') == '99.0'\n"
            "assert cheroot.workers.threadpool.pass_none is not None\n" + checks)
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=60,
                   env={**os.environ, "PYTHONPATH": str(tmp_path)})
