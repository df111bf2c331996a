"""Stack benchmark: a plain CloudFormation template deployed until its service is steady, against
the same resources made by direct API calls, in the same run.

    .venv/bin/python scripts/bench/stacks.py [--rounds 5] [--output results/stacks.md]

The resources (as a new user's template has them): a VPC, a subnet, a log group, an IAM role, a
cluster, a Fargate task definition (awslogs) and a service of 2 tasks (awsvpc, the busybox test
image). In the table "raw" is the direct side: boto3 CreateVpc, CreateSubnet, CreateLogGroup,
CreateRole, CreateCluster, RegisterTaskDefinition, CreateService, then DescribeServices every
50 ms until runningCount 2 with one deployment. "ours" is the stack side, two rows:
- cli: `aws cloudformation deploy` (the AWS CLI v1 from the project's .venv, a new process: its
  start-up, about 0.5 s, is in the figure) until it exits, which it does once the stack is
  complete (the service steady);
- boto3: CreateStack until DescribeStacks says CREATE_COMPLETE: CloudFormation's own work plus
  the tasks' start, without the CLI's start-up.
Between passes everything is deleted (the stack, or the service and cluster) and the tasks are
waited for to stop. Target: the stack at most 1.5x the direct calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api  # noqa: E402  (siblings, found through the path set above)
import figures  # noqa: E402
import servers  # noqa: E402
from docker_peer import COMMAND, IMAGE  # noqa: E402
from figures import Row  # noqa: E402

ROWS = ("cli", "boto3")
COUNT = 2
POLL_S = 0.05
AWS_CLI = servers.REPO / ".venv" / "bin" / "aws"
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


def template() -> dict:
    return {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24"}},
        "Logs": {"Type": "AWS::Logs::LogGroup"},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"], "Cpu": "256",
            "Memory": "512", "ExecutionRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "ContainerDefinitions": [{"Name": "main", "Image": IMAGE, "Command": COMMAND,
                                      "LogConfiguration": {"LogDriver": "awslogs", "Options": {
                                          "awslogs-group": {"Ref": "Logs"},
                                          "awslogs-region": "us-east-1",
                                          "awslogs-stream-prefix": "bench"}}}]}},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDef"},
            "LaunchType": "FARGATE", "DesiredCount": COUNT,
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": [{"Ref": "Subnet"}]}}}},
    }}


class Sides:
    def __init__(self, server: servers.Server, workdir: Path):
        import boto3

        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                         region_name="us-east-1")
        self.client = lambda name: session.client(name, endpoint_url=server.endpoint)
        self.ecs, self.cfn = self.client("ecs"), self.client("cloudformation")
        self.ec2, self.logs, self.iam = self.client("ec2"), self.client("logs"), self.client("iam")
        self.template_path = workdir / "template.json"
        self.template_path.write_text(json.dumps(template()))
        self.env = {**os.environ, "AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "test",
                    "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
        self.polls = {}  # figures.run reads it: no polling figures here
        self.serial = 0

    def direct(self) -> float:
        self.serial += 1
        name = f"direct-{self.serial}"
        began = time.perf_counter()
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        self.logs.create_log_group(logGroupName=name)
        role = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
        self.ecs.create_cluster(clusterName=name)
        definition = self.ecs.register_task_definition(
            family=name, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", executionRoleArn=role["Role"]["Arn"],
            containerDefinitions=[{"name": "main", "image": IMAGE, "command": COMMAND,
                                   "logConfiguration": {"logDriver": "awslogs", "options": {
                                       "awslogs-group": name, "awslogs-region": "us-east-1",
                                       "awslogs-stream-prefix": "bench"}}}],
        )["taskDefinition"]["taskDefinitionArn"]
        self.ecs.create_service(cluster=name, serviceName=name, taskDefinition=definition,
                                desiredCount=COUNT, launchType="FARGATE", networkConfiguration={
                                    "awsvpcConfiguration": {"subnets": [subnet]}})
        self._wait_steady(name, name)
        seconds = time.perf_counter() - began
        tasks = self.ecs.list_tasks(cluster=name)["taskArns"]
        self.ecs.delete_service(cluster=name, service=name, force=True)
        self._wait_stopped(name, tasks)
        self.ecs.delete_cluster(cluster=name)
        return seconds

    def stack_cli(self) -> float:
        self.serial += 1
        name = f"cli-{self.serial}"
        began = time.perf_counter()
        done = subprocess.run([str(AWS_CLI), "cloudformation", "deploy", "--stack-name", name,
                               "--template-file", str(self.template_path),
                               "--capabilities", "CAPABILITY_IAM"],
                              env=self.env, capture_output=True, text=True, timeout=300)
        seconds = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"bench: deploy failed: {done.stderr[-500:]}")
        self._delete_stack(name)
        return seconds

    def stack_boto3(self) -> float:
        self.serial += 1
        name = f"api-{self.serial}"
        began = time.perf_counter()
        self.cfn.create_stack(StackName=name, TemplateBody=self.template_path.read_text(),
                              Capabilities=["CAPABILITY_IAM"])
        while True:
            status = self.cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
            if status == "CREATE_COMPLETE":
                break
            if not status.endswith("IN_PROGRESS"):
                raise SystemExit(f"bench: stack {name} {status}")
            time.sleep(POLL_S)
        seconds = time.perf_counter() - began
        self._delete_stack(name)
        return seconds

    def _delete_stack(self, name: str) -> None:
        self.cfn.delete_stack(StackName=name)  # returns once tasks stopped and all is gone

    def _wait_steady(self, cluster: str, service: str) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = self.ecs.describe_services(cluster=cluster, services=[service])["services"][0]
            if found["runningCount"] == COUNT and len(found["deployments"]) == 1:
                return
            time.sleep(POLL_S)
        raise SystemExit(f"bench: service {service} not steady")

    def _wait_stopped(self, cluster: str, tasks: list[str]) -> None:
        deadline = time.monotonic() + 120
        while tasks and time.monotonic() < deadline:
            found = self.ecs.describe_tasks(cluster=cluster, tasks=tasks)["tasks"]
            if all(t["lastStatus"] == "STOPPED" for t in found):
                return
            time.sleep(POLL_S)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def measure(rounds: int, keys: list[str]):
    server = servers.Server(servers.SPECS["ours"], servers.log_dir())
    server.start()
    if not api.wait_until_up(server):
        raise SystemExit(f"bench: our server did not start:\n{server.log_tail()}")
    rows = {"cli": Row(f"aws cloudformation deploy until steady ({COUNT} tasks)", 1.5),
            "boto3": Row(f"CreateStack until CREATE_COMPLETE ({COUNT} tasks)", 1.5)}
    try:
        with tempfile.TemporaryDirectory() as workdir:
            sides = Sides(server, Path(workdir))
            stacks = {"cli": sides.stack_cli, "boto3": sides.stack_boto3}
            sides.direct()  # warm-up: moto's imports, IAM's managed policies, the first network
            for key in keys:
                stacks[key]()
            for index in range(rounds):
                for key in keys:
                    row = rows[key]
                    no_polls = figures_polls()
                    figures.measure_pair(row, lambda: sides.direct(), stacks[key], no_polls,
                                         index % 2 == 0)
                    say(f"round {index + 1}/{rounds} {row.name}: direct "
                        f"{row.raw[-1] * 1000:.0f} ms, stack {row.ours[-1] * 1000:.0f} ms")
            return [rows[key] for key in keys], sides
    finally:
        server.stop()


def figures_polls():
    from ours_ecs import Polls

    return Polls()


def main(argv: list[str] | None = None) -> int:
    return figures.run(argv, doc=__doc__, rows=ROWS, measure=measure,
                       title="Stack benchmark: a CloudFormation stack vs direct API calls "
                             "(raw = direct calls, ours = the stack)",
                       script=__file__, output="stacks.md", say=say)


if __name__ == "__main__":
    sys.exit(main())
