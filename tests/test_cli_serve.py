"""What `ecs-emulator serve` prints: one readable line per API call (ours and moto's, each once)
and one per task state change; --quiet drops the API lines."""

from __future__ import annotations

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
        "name": "main", "image": busybox_image, "memory": 32, "command": ["true"]}])
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


def test_quiet_serve_logs_no_calls(start):  # noqa: F811
    port = free_port()
    running = start([str(BIN / "ecs-emulator"), "serve", "--port", str(port), "--quiet"], port)
    running.wait_until_healthy()
    client(running, "ecs").create_cluster(clusterName="quiet")
    client(running, "logs").create_log_group(logGroupName="quiet")
    assert running.stop() == 0
    tags = {tag for tag, _ in lines_of(running.output())}
    assert "api" not in tags and "server" in tags
