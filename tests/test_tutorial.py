"""The ECS CLI's Fargate tutorial, replayed offline in real processes: the AWS CLI for IAM,
CloudFormation and EC2, `ecs-emulator` with the ECS CLI's words for the rest, and the web page
fetched from the running task. Everything is gone at the end.

The tutorial's image (amazon/amazon-ecs-sample) is not available offline; busybox's httpd serves
a page written first. httpd as PID 1 ignores SIGTERM, so the shell traps it and the compose file
sets a short stop_grace_period: teardown is quick.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.waiting import page_text, wait_for

BIN = Path(sys.executable).parent
REGION = "ap-southeast-2"
STACK = "amazon-ecs-cli-setup-tutorial"
PAGE = "<h1>Amazon ECS Sample App</h1>"

ASSUME_ROLE = {"Version": "2012-10-17", "Statement": [{
    "Sid": "", "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


class Shell:
    """Runs commands as the tutorial's reader would: in the project directory, HOME apart."""

    def __init__(self, workdir: Path, endpoint: str):
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AWS_", "ECS_EMULATOR_"))}
        self.env.update(HOME=str(workdir / "home"), AWS_ENDPOINT_URL=endpoint,
                        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                        AWS_DEFAULT_REGION=REGION)

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(list(argv), cwd=self.workdir, env=self.env, capture_output=True,
                              text=True, timeout=300)
        if check:
            assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
        return done

    def ecs_cli(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(str(BIN / "ecs-emulator"), *argv, check=check)

    def aws(self, *argv: str) -> dict:
        done = self.run(str(BIN / "aws"), *argv, "--output", "json")
        return json.loads(done.stdout) if done.stdout.strip() else {}


@pytest.fixture
def shell(clean_emulator, tmp_path):
    (tmp_path / "home").mkdir()
    return Shell(tmp_path, clean_emulator.endpoint_url)


def service_rows(shell: Shell) -> list[list[str]]:
    done = shell.ecs_cli("compose", "--project-name", "tutorial", "service", "ps",
                         "--cluster-config", "tutorial")
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["Name", "State", "Ports", "TaskDefinition", "Health"]
    return [line.split() for line in lines[1:]]


def write_project(shell: Shell, subnets: list[str], security_group: str) -> None:
    script = (f"trap 'exit 0' TERM; mkdir -p /www && echo '{PAGE}' > /www/index.html"
              " && echo serving the sample app && httpd -f -p 80 -h /www & wait")
    (shell.workdir / "docker-compose.yml").write_text(textwrap.dedent(f"""\
        version: '3'
        services:
          web:
            image: ecs-emulator-test/busybox:latest
            entrypoint: ["sh", "-c"]
            command: ["{script}"]
            stop_grace_period: 2s
            ports:
              - "80:80"
            logging:
              driver: awslogs
              options:
                awslogs-group: tutorial
                awslogs-region: {REGION}
                awslogs-stream-prefix: web
        """))
    (shell.workdir / "ecs-params.yml").write_text(textwrap.dedent(f"""\
        version: 1
        task_definition:
          task_execution_role: ecsTaskExecutionRole
          ecs_network_mode: awsvpc
          task_size:
            mem_limit: 0.5GB
            cpu_limit: 256
        run_params:
          network_configuration:
            awsvpc_configuration:
              subnets:
                - "{subnets[0]}"
                - "{subnets[1]}"
              security_groups:
                - "{security_group}"
              assign_public_ip: ENABLED
        """))


@pytest.mark.docker
def test_the_ecs_cli_fargate_tutorial_offline(shell, busybox_image, docker_client):
    # Step 1: the task execution role.
    (shell.workdir / "task-execution-assume-role.json").write_text(json.dumps(ASSUME_ROLE))
    role = shell.aws("iam", "create-role", "--role-name", "ecsTaskExecutionRole",
                     "--assume-role-policy-document", "file://task-execution-assume-role.json")
    assert role["Role"]["Arn"].endswith(":role/ecsTaskExecutionRole")
    shell.aws("iam", "attach-role-policy", "--role-name", "ecsTaskExecutionRole",
              "--policy-arn",
              "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")

    # Step 2: configure the ECS CLI.
    shell.ecs_cli("configure", "--cluster", "tutorial", "--default-launch-type", "FARGATE",
                  "--config-name", "tutorial", "--region", REGION)

    # Step 3: the cluster and its VPC.
    up = shell.ecs_cli("up", "--cluster-config", "tutorial")
    vpc = re.search(r"^VPC created: (vpc-\w+)$", up.stdout, re.M).group(1)
    subnets = re.findall(r"^Subnet created: (subnet-\w+)$", up.stdout, re.M)
    assert len(subnets) == 2 and "Cluster creation succeeded." in up.stdout
    resources = shell.aws("cloudformation", "describe-stack-resources", "--stack-name", STACK,
                          "--logical-resource-id", "Vpc")["StackResources"]
    assert resources[0]["PhysicalResourceId"] == vpc
    groups = shell.aws("ec2", "describe-security-groups", "--filters",
                       f"Name=vpc-id,Values={vpc}",
                       "Name=description,Values=default VPC security group")["SecurityGroups"]
    security_group = groups[0]["GroupId"]
    shell.aws("ec2", "authorize-security-group-ingress", "--group-id", security_group,
              "--protocol", "tcp", "--port", "80", "--cidr", "0.0.0.0/0", "--region", REGION)

    # Steps 4-6: the compose file, ecs-params, and the service.
    write_project(shell, subnets, security_group)
    up = shell.ecs_cli("compose", "--project-name", "tutorial", "service", "up",
                       "--create-log-groups", "--cluster-config", "tutorial")
    assert "Created an ECS service" in up.stderr
    assert "ECS Service has reached a stable state" in up.stderr

    # Step 7: the running containers, and the page at the address ps shows.
    [(name, state, ports, definition, health)] = service_rows(shell)
    assert (state, definition) == ("RUNNING", "tutorial:1")
    assert name.startswith("tutorial/") and name.endswith("/web")
    address = ports.split("->")[0]
    assert address.startswith("127.0.0.1:") and ports.endswith("->80/tcp")
    assert wait_for(lambda: page_text(f"http://{address}/"), lambda page: page is not None).strip() \
        == PAGE

    # Step 8: the task's logs, once and followed.
    task_id = name.split("/")[1]
    logs = wait_for(lambda: shell.ecs_cli("logs", "--task-id", task_id, "--cluster-config",
                                          "tutorial").stdout,
                    lambda out: "serving the sample app" in out)
    assert logs.splitlines() == ["serving the sample app"]
    follow_logs(shell, task_id)

    # Step 9: scale to two; both answer.
    shell.ecs_cli("compose", "--project-name", "tutorial", "service", "scale", "2",
                  "--cluster-config", "tutorial")
    rows = [row for row in service_rows(shell) if row[1] == "RUNNING"]
    assert len(rows) == 2
    addresses = {row[2].split("->")[0] for row in rows}
    assert len(addresses) == 2
    for each in addresses:
        assert wait_for(lambda: page_text(f"http://{each}/"), lambda p: p is not None).strip() == PAGE

    # Step 10: clean up.
    down = shell.ecs_cli("compose", "--project-name", "tutorial", "service", "down",
                         "--cluster-config", "tutorial")
    assert "Deleted ECS service" in down.stderr
    down = shell.ecs_cli("down", "--force", "--cluster-config", "tutorial")
    assert "Deleted cluster" in down.stderr

    # Nothing is left behind.
    gone = shell.run(str(BIN / "aws"), "cloudformation", "describe-stacks", "--stack-name",
                     STACK, check=False)
    assert gone.returncode != 0 and "does not exist" in gone.stderr
    vpcs = shell.aws("ec2", "describe-vpcs", "--filters", f"Name=vpc-id,Values={vpc}")
    assert vpcs["Vpcs"] == []
    assert tutorial_containers(docker_client) == []


def follow_logs(shell: Shell, task_id: str) -> None:
    """`logs --follow` prints what is there and keeps going; Ctrl-C ends it."""
    process = subprocess.Popen(
        [str(BIN / "ecs-emulator"), "logs", "--task-id", task_id, "--follow",
         "--cluster-config", "tutorial"],
        cwd=shell.workdir, env=shell.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        assert process.stdout.readline().strip() == "serving the sample app"
        assert process.poll() is None  # still following
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) in (0, 130)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def tutorial_containers(docker_client) -> list[str]:
    """Containers of this test's tasks (other tests may share the Docker Engine)."""
    # The list's own labels (not containers.list, which inspects each one and answers 404 for
    # a container another emulator removes meanwhile).
    labelled = docker_client.api.containers(all=True, filters={"label": "ecs-emulator.task-arn"})
    return [c["Names"][0].lstrip("/") for c in labelled
            if f":ecs:{REGION}:" in c["Labels"]["ecs-emulator.task-arn"]
            and "/tutorial/" in c["Labels"]["ecs-emulator.task-arn"]]
